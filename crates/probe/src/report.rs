//! Renderings of the evidence: a table for people and SARIF 2.1.0 for code-scanning tools.
//! (The JSON evidence itself is [`Evidence::to_json`].)

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::checks::spec;
use crate::evidence::{Evidence, Outcome};

/// The SARIF schema URI written in `$schema`.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// One line per check: outcome, check, target, requirements, observation; then a count.
pub fn table(evidence: &Evidence) -> String {
    let mut out = String::new();
    let width = |f: fn(&crate::CheckResult) -> usize, min: usize| {
        evidence.checks.iter().map(f).max().unwrap_or(0).max(min)
    };
    let id_width = width(|c| c.id.len(), 5);
    let target_width = width(|c| c.target.len(), 6);
    let req_width = width(|c| c.requirements.join(", ").len(), 12);
    let _ = writeln!(
        out,
        "{:<10}  {:<id_width$}  {:<target_width$}  {:<req_width$}  OBSERVATION",
        "OUTCOME", "CHECK", "TARGET", "REQUIREMENTS"
    );
    for c in &evidence.checks {
        let _ = writeln!(
            out,
            "{:<10}  {:<id_width$}  {:<target_width$}  {:<req_width$}  {}",
            c.outcome.as_str(),
            c.id,
            c.target,
            c.requirements.join(", "),
            c.observation
        );
    }
    let count = |o: Outcome| evidence.checks.iter().filter(|c| c.outcome == o).count();
    let _ = writeln!(
        out,
        "\n{} met, {} not met, {} not tested{}",
        count(Outcome::Met),
        count(Outcome::NotMet),
        count(Outcome::NotTested),
        if evidence.intrusive {
            " (intrusive checks allowed)"
        } else {
            " (read-only checks)"
        }
    );
    out
}

/// The SARIF log: one rule per check, one result per check and target — `fail`/`error`
/// when not met, `pass` when met, `open` when not tested — located at the target's URI and
/// carrying its requirement ids (in the message and in `properties.requirements`).
pub fn sarif(evidence: &Evidence) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut results = Vec::new();
    for c in &evidence.checks {
        let index = if let Some(i) = rules.iter().position(|r| r["id"] == c.id.as_str()) {
            i
        } else {
            let (summary, failure) = spec(&c.id).map_or(("", ""), |s| (s.summary, s.failure));
            rules.push(json!({
                "id": c.id,
                "name": c.id,
                "shortDescription": { "text": if failure.is_empty() { c.id.as_str() } else { failure } },
                "fullDescription": { "text": if summary.is_empty() { c.id.as_str() } else { summary } },
                "helpUri": "https://example.invalid/rampart/docs/probe.md",
                "properties": { "tags": ["iec62443-4-2", "security", "probe"], "requirements": c.requirements },
            }));
            rules.len() - 1
        };
        let (kind, level) = match c.outcome {
            Outcome::Met => ("pass", "none"),
            Outcome::NotMet => ("fail", "error"),
            Outcome::NotTested => ("open", "note"),
        };
        results.push(json!({
            "ruleId": c.id,
            "ruleIndex": index,
            "kind": kind,
            "level": level,
            "message": { "text": format!("{} [{}]: {}", c.target, c.requirements.join(", "), c.observation) },
            "locations": [{ "physicalLocation": { "artifactLocation": { "uri": c.target } } }],
            "partialFingerprints": { "probe/v1": format!("{}|{}", c.target, c.id) },
            "properties": {
                "requirements": c.requirements,
                "outcome": c.outcome.as_str(),
                "elapsed_ms": c.elapsed_ms,
                "bound_ms": c.bound_ms,
            },
        }));
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rampart probe",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/rampart",
                "rules": rules,
            } },
            "invocations": [{ "executionSuccessful": true, "endTimeUtc": evidence.generated_at }],
            "results": results,
        }],
    })
}

/// The SARIF log as pretty-printed text.
pub fn sarif_text(evidence: &Evidence) -> String {
    let mut text = serde_json::to_string_pretty(&sarif(evidence)).unwrap_or_default();
    text.push('\n');
    text
}
