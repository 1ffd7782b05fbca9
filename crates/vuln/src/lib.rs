//! Vulnerability management (IEC 62443-4-2 CR 3.2 and CR 7.8): inventories of components,
//! advisories, and matching the one against the other.
//!
//! - [`Inventory`]: the components of a product from a CycloneDX 1.4–1.6 or SPDX 2.3 JSON
//!   SBOM — purl, CPE, vendor, name, version, model numbers.
//! - Advisories, all read into one model ([`Advisory`], [`Product`], [`Vulnerability`]):
//!   [`csaf`] (CSAF 2.0, with the mandatory tests matching depends on), [`osv`] (OSV JSON)
//!   and [`rustsec`] (the RustSec advisory database).
//! - [`version`]: vendor version schemes and ranges (`vers:`, operators, CISA's free text).
//! - [`matching`]: the identity rules and the fail-closed decision, each match with its rule
//!   and confidence ([`match_inventory`]).
//! - [`vex`]: VEX statements (analyst decisions in TOML, CycloneDX VEX) applied to matches.
//! - [`report`]: the JSON report (`schemas/vuln/matches.schema.json`), SARIF and CycloneDX
//!   1.6 VEX.
//! - [`load`]: the thin file layer (size-capped reads, directories).
//!
//! # Security model
//! Inventories and advisories are files from outside: every read is size-capped, every
//! parser returns an [`InputError`] naming the file and the place, never panics, and bounds
//! what it builds (nesting depth, counts, text lengths). The matching core does no I/O.
//! Matching is fail-closed: a component that might be affected is reported
//! `under_investigation`, never `known_not_affected`.

#![forbid(unsafe_code)]
// Input from files never panics the process: errors are returned (clippy.toml allows
// unwrap, expect and panic in tests).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(missing_docs)]

pub mod advisory;
pub mod csaf;
mod cvss;
mod error;
pub mod ids;
pub mod inventory;
pub mod load;
pub mod matching;
pub mod names;
pub mod openpgp;
pub mod osv;
pub mod publish;
pub mod report;
pub mod rustsec;
pub mod version;
pub mod vex;

pub use advisory::{Advisory, Product, Remediation, Score, Source, Status, Vulnerability};
pub use error::InputError;
pub use inventory::{Component, Inventory, InventoryFormat, MODEL_NUMBER_PROPERTY};
pub use matching::{Match, Options, Rule, match_inventory};

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::version::Range;

    /// Reads `data` as a CSAF document and matches a fixed inventory against it. Never panics.
    pub fn csaf(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(advisory) = crate::csaf::read(text, "fuzz") {
            let _ = crate::match_inventory(&inventory(), &[advisory], &crate::Options::default());
        }
    }

    /// Reads `data` as OSV JSON and matches a fixed inventory against it. Never panics.
    pub fn osv(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(advisories) = crate::osv::read(text, "fuzz") {
            let _ = crate::match_inventory(&inventory(), &advisories, &crate::Options::default());
        }
    }

    /// Reads the first line of `data` as a range and the rest as versions to test, and every
    /// line as one product's range whose upper bounds may split into release lines (each bound
    /// then lies in its own line). Never panics.
    pub fn version_range(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let mut lines = text.lines();
        let range = Range::parse(lines.next().unwrap_or_default());
        let _ = range.to_string();
        let others: Vec<Range> = lines.clone().map(Range::parse).collect();
        for version in lines {
            let _ = range.contains(version);
            let _ = Range::exact(version).contains(version);
        }
        // Every line as one product's range: the release lines of their upper bounds, and
        // the line of each bound's own version in them.
        let bounds: Vec<&crate::version::Version> = std::iter::once(&range)
            .chain(&others)
            .filter_map(Range::upper_bound)
            .collect();
        if let Some(lines) = crate::version::ReleaseLines::of(&bounds) {
            for (i, bound) in bounds.iter().enumerate() {
                assert_eq!(lines.line_of(bound), Some(i), "a bound is in its own line");
                let _ = lines.describe(i);
            }
        }
    }

    /// Reads `data` as `OpenPGP` input: the first byte picks armored text or binary packets,
    /// a public key or a detached signature checked against a fixed key and document. No
    /// panic; armor round-trips; no signature verifies that the fixed key did not make.
    pub fn openpgp(data: &[u8]) {
        use crate::openpgp;
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let key = rampart_vault::DeviceKey::danger_insecure_from_seed(&[1; 32]);
        let public = openpgp::PublicKey::of(&key, 1_700_000_000);
        let text = String::from_utf8_lossy(rest);
        match mode % 4 {
            0 => {
                let _ = openpgp::PublicKey::from_armored(&text);
            }
            1 => {
                let _ = openpgp::PublicKey::from_packets(rest);
            }
            2 => {
                if let Ok(verified) = openpgp::verify_detached(
                    std::slice::from_ref(&public),
                    b"fuzz",
                    &text,
                    1_800_000_000,
                ) {
                    // Only a genuine signature by the fixed key verifies; it has its fingerprint.
                    assert_eq!(verified.fingerprint, public.fingerprint());
                }
            }
            _ => {
                let packets = openpgp::packets(rest).map(|p| p.iter().map(|p| p.body.len()).sum());
                if let Ok(total) = packets {
                    let total: usize = total;
                    assert!(total <= rest.len());
                }
                if let Ok(bytes) = openpgp::dearmor(&text, "SIGNATURE") {
                    let again = openpgp::dearmor(&openpgp::armor("SIGNATURE", &bytes), "SIGNATURE");
                    assert_eq!(again.ok(), Some(bytes));
                }
            }
        }
    }

    fn inventory() -> crate::Inventory {
        let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
            {"bom-ref":"a","name":"SIMATIC PCS 7","version":"V9.1","manufacturer":{"name":"Siemens AG"}},
            {"bom-ref":"b","name":"tokio","version":"1.20.0","purl":"pkg:cargo/tokio@1.20.0"},
            {"bom-ref":"c","name":"Q100","version":"V2.40","supplier":{"name":"Siemens"},
             "properties":[{"name":"rampart:model-number","value":"7KG9501-0AA31-2AA1"}]}]}"#;
        crate::Inventory::from_json(sbom, "fuzz").unwrap_or(crate::Inventory {
            format: crate::InventoryFormat::Spdx,
            components: Vec::new(),
            serial: None,
        })
    }
}
