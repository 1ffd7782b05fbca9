//! Renderings of the evidence: a table for people, SARIF 2.1.0 for code-scanning tools and
//! `JUnit` XML for CI. (The JSON evidence itself is [`Evidence::to_json`].)

use std::fmt::Write as _;

use serde_json::{Value, json};

use rampart_assess::report::escape_xml;

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

/// `JUnit` XML: one test suite per target, one test case per check named with its
/// requirements; `not_met` is a failure, `not_tested` is skipped, the observation is the
/// message.
pub fn junit(evidence: &Evidence) -> String {
    let mut suites = String::new();
    let (mut total, mut failed, mut skipped) = (0, 0, 0);
    for target in &evidence.targets {
        let mut cases = String::new();
        let (mut n, mut f, mut s) = (0, 0, 0);
        for c in evidence.checks.iter().filter(|c| &c.target == target) {
            n += 1;
            #[allow(clippy::cast_precision_loss)] // Milliseconds of a bounded check.
            let seconds = c.elapsed_ms as f64 / 1000.0;
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{} [{}]\" time=\"{seconds:.3}\">",
                escape_xml(target),
                escape_xml(&c.id),
                escape_xml(&c.requirements.join(", ")),
            );
            match c.outcome {
                Outcome::Met => {
                    let _ = write!(
                        cases,
                        "\n      <system-out>{}</system-out>\n    ",
                        escape_xml(&c.observation)
                    );
                }
                Outcome::NotMet => {
                    f += 1;
                    let _ = write!(
                        cases,
                        "\n      <failure message=\"{}\" type=\"not_met\">{} [{}]: {}</failure>\n    ",
                        escape_xml(&c.observation),
                        escape_xml(&c.id),
                        escape_xml(&c.requirements.join(", ")),
                        escape_xml(&c.observation)
                    );
                }
                Outcome::NotTested => {
                    s += 1;
                    let _ = write!(
                        cases,
                        "\n      <skipped message=\"not tested: {}\"/>\n    ",
                        escape_xml(&c.observation)
                    );
                }
            }
            cases.push_str("</testcase>\n");
        }
        total += n;
        failed += f;
        skipped += s;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{f}\" errors=\"0\" skipped=\"{s}\" timestamp=\"{}\">\n{cases}  </testsuite>\n",
            escape_xml(target),
            escape_xml(evidence.generated_at.trim_end_matches('Z')),
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"rampart probe\" tests=\"{total}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\">\n{suites}</testsuites>\n"
    )
}
