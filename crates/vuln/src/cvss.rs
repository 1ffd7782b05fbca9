//! CVSS base scores from vectors, for advisories that give only the vector (OSV, RustSec).

/// The CVSS v3.0/v3.1 base score of a vector (`CVSS:3.1/AV:N/…`); `None` when it is not a
/// valid v3 vector.
pub(crate) fn base_score_v3(vector: &str) -> Option<f64> {
    let vector: cvss::v3::Vector = vector.trim().parse().ok()?;
    Some(vector.score().value())
}
