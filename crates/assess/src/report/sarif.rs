//! SARIF 2.1.0: each gap is an `error` result anchored at the requirement's entry in the
//! profile (or, for a requirement the profile does not list, at its `[component]` table),
//! since code-scanning consumers drop results without a physical location. Waived gaps are
//! results with an accepted external suppression; unmet CCSCs are warnings.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::engine::{Assessment, Gap};
use crate::profile::Location;

/// The SARIF schema URI written in `$schema`.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF log.
pub fn sarif(a: &Assessment) -> Value {
    let uri = artifact_uri(&a.profile.path);
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_index = |id: String, name: String, help: String| -> usize {
        if let Some(i) = rules.iter().position(|r| r["id"] == id.as_str()) {
            return i;
        }
        rules.push(json!({
            "id": id,
            "name": name,
            "shortDescription": { "text": name },
            "fullDescription": { "text": help },
            "helpUri": "https://example.invalid/rampart/docs/assess.md",
            "properties": { "tags": ["iec62443-4-2", "security"] },
        }));
        rules.len() - 1
    };
    let location = |l: Location| {
        json!([{
            "physicalLocation": {
                "artifactLocation": { "uri": uri, "index": 0 },
                "region": { "startLine": l.line.max(1), "startColumn": l.column.max(1) },
            }
        }])
    };
    let mut results = Vec::new();
    let mut gap_result = |g: &Gap, waived: bool| {
        let index = rule_index(
            g.id.oscal_id(),
            format!("{} {}", g.id, g.title),
            format!(
                "IEC 62443-4-2 {} ({}), required from SL {} for a {}.",
                g.id,
                g.fr,
                g.level,
                a.component.component_type.name()
            ),
        );
        let mut result = json!({
            "ruleId": g.id.oscal_id(),
            "ruleIndex": index,
            "level": "error",
            "kind": "fail",
            "message": { "text": format!(
                "{} {} keeps SL-C of {} below {} (SL-T {}): {}",
                g.id, g.title, g.fr, g.level, a.sl_t.get(g.fr), g.reason
            ) },
            "locations": location(g.location),
            "partialFingerprints": { "requirement/v1": format!("{}|{}", a.component.product, g.id) },
            "properties": { "fr": g.fr.to_string(), "level": g.level, "status": g.status.as_str() },
        });
        if let Some(w) = &g.waiver {
            if waived {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": format!("{} (waived until {})", w.justification, w.expires),
                }]);
            } else {
                result["message"]["text"] = Value::String(format!(
                    "{} — its waiver expired on {}",
                    result["message"]["text"].as_str().unwrap_or_default(),
                    w.expires
                ));
            }
        }
        results.push(result);
    };
    for g in &a.gaps {
        gap_result(g, false);
    }
    for g in &a.waived {
        gap_result(g, true);
    }
    for r in a.constraints.iter().filter(|r| !r.counts) {
        let index = rule_index(
            r.id.oscal_id(),
            format!("{} {}", r.id, r.title),
            format!(
                "IEC 62443-4-2 common component security constraint {}.",
                r.id
            ),
        );
        results.push(json!({
            "ruleId": r.id.oscal_id(),
            "ruleIndex": index,
            "level": "warning",
            "kind": "fail",
            "message": { "text": format!(
                "{} {} is {}: {}",
                r.id, r.title, r.status, r.reason.as_deref().unwrap_or("not met")
            ) },
            "locations": location(r.location),
            "partialFingerprints": { "requirement/v1": format!("{}|{}", a.component.product, r.id) },
        }));
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rampart assess",
                "version": a.tool.version,
                "informationUri": "https://example.invalid/rampart",
                "rules": rules,
            } },
            "automationDetails": { "id": format!("rampart-assess/{}/", a.component.product) },
            "artifacts": [{ "location": { "uri": uri }, "roles": ["analysisTarget"], "mimeType": "application/toml" }],
            "invocations": [{ "executionSuccessful": true, "endTimeUtc": a.generated_at }],
            "results": results,
            "properties": {
                "sl_t": a.sl_t,
                "sl_c": a.sl_c,
                "sl_c_with_countermeasures": a.sl_c_with_countermeasures,
            },
        }],
    })
}

/// The SARIF log as pretty-printed text.
pub fn sarif_text(a: &Assessment) -> String {
    let mut text = serde_json::to_string_pretty(&sarif(a)).unwrap_or_default();
    text.push('\n');
    text
}

/// A relative URI reference for a file path: forward slashes, reserved bytes percent-encoded.
fn artifact_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
