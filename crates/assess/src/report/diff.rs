//! Comparison of two JSON reports: what improved and what regressed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rampart_catalog::{Fr, RequirementId};

use crate::engine::Assessment;
use crate::error::InputError;

/// Reads a JSON report written by `--format json`.
///
/// # Errors
/// [`InputError`] with `origin`, line and column for malformed JSON or a report of another
/// format version.
pub fn parse_report(text: &str, origin: &str) -> Result<Assessment, InputError> {
    let version = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("schema_version").and_then(serde_json::Value::as_u64));
    if let Some(v) = version.filter(|v| *v != u64::from(crate::REPORT_VERSION)) {
        return Err(InputError::file(
            origin,
            format!(
                "report schema_version {v} is not one this version reads (expected {})",
                crate::REPORT_VERSION
            ),
        ));
    }
    serde_json::from_str(text).map_err(|e| InputError {
        origin: origin.to_owned(),
        line: e.line().max(1),
        column: e.column().max(1),
        message: format!("not a rampart assess JSON report: {e}"),
    })
}

/// One change between two reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Whether it is a regression: a lower SL-C, a new gap, a requirement that no longer
    /// counts.
    pub regression: bool,
    /// Whether it is an improvement (the opposite); a change that is neither, such as a new
    /// SL-T, is only reported.
    pub improvement: bool,
    /// What changed, for people.
    pub text: String,
}

/// The changes from `old` to `new`: SL-C per FR, gaps opened and closed, requirements whose
/// status changed. Regressions first, each group in the standard's order.
pub fn diff(old: &Assessment, new: &Assessment) -> Vec<Change> {
    let mut changes = Vec::new();
    for fr in Fr::ALL {
        let (o, n) = (old.sl_c.get(fr), new.sl_c.get(fr));
        if o != n {
            changes.push(Change {
                regression: n < o,
                improvement: n > o,
                text: format!("{fr} {} SL-C {o} → {n}", fr.abbreviation()),
            });
        }
        let (o, n) = (old.sl_t.get(fr), new.sl_t.get(fr));
        if o != n {
            changes.push(Change {
                regression: false,
                improvement: false,
                text: format!("{fr} {} SL-T {o} → {n}", fr.abbreviation()),
            });
        }
    }
    let gaps = |a: &Assessment| -> BTreeMap<RequirementId, String> {
        a.gaps
            .iter()
            .map(|g| (g.id, format!("{} SL {}", g.fr, g.level)))
            .collect()
    };
    let (old_gaps, new_gaps) = (gaps(old), gaps(new));
    for (id, place) in &new_gaps {
        if !old_gaps.contains_key(id) {
            changes.push(Change {
                regression: true,
                improvement: false,
                text: format!("new gap {id} ({place})"),
            });
        }
    }
    for (id, place) in &old_gaps {
        if !new_gaps.contains_key(id) {
            changes.push(Change {
                regression: false,
                improvement: true,
                text: format!("gap closed {id} ({place})"),
            });
        }
    }
    let statuses = |a: &Assessment| -> BTreeMap<RequirementId, (String, bool)> {
        a.requirements
            .iter()
            .chain(&a.constraints)
            .map(|r| (r.id, (r.status.to_string(), r.counts)))
            .collect()
    };
    let (old_s, new_s) = (statuses(old), statuses(new));
    for (id, (status, counts)) in &new_s {
        match old_s.get(id) {
            Some((old_status, old_counts)) if old_status != status => changes.push(Change {
                regression: *old_counts && !counts,
                improvement: !old_counts && *counts,
                text: format!("{id}: {old_status} → {status}"),
            }),
            None => changes.push(Change {
                regression: !counts,
                improvement: false,
                text: format!("{id}: new in the report ({status})"),
            }),
            _ => {}
        }
    }
    changes.sort_by_key(|c| (!c.regression, !c.improvement));
    changes
}

/// The changes as text; the last line says whether anything regressed.
pub fn render(old_name: &str, new_name: &str, changes: &[Change]) -> String {
    let mut out = String::new();
    let regressions = changes.iter().filter(|c| c.regression).count();
    if changes.is_empty() {
        let _ = writeln!(out, "no change between {old_name} and {new_name}");
        return out;
    }
    for c in changes {
        let label = match (c.regression, c.improvement) {
            (true, _) => "regressed:",
            (false, true) => "improved: ",
            (false, false) => "changed:  ",
        };
        let _ = writeln!(out, "{label} {}", c.text);
    }
    let _ = writeln!(
        out,
        "{} change(s), {regressions} regression(s) from {old_name} to {new_name}",
        changes.len()
    );
    out
}
