//! Reports of a match: the versioned JSON report (`--format json`, its JSON Schema in
//! `schemas/vuln/matches.schema.json`), SARIF 2.1.0, and the order they list matches in.

use std::cmp::Ordering;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use crate::advisory::{Remediation, Source, Status};
use crate::inventory::Inventory;
use crate::matching::{Match, Rule};
use crate::vex::{VexNote, cyclonedx_justification};

/// The JSON report: every match, in [`sort_for_json`] order.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(
    title = "Rampart vulnerability matches",
    description = "The JSON report of `rampart vuln match --format json` (docs/vulnerabilities.md)."
)]
#[serde(deny_unknown_fields)]
pub struct MatchReport {
    /// One entry per component and vulnerability of an advisory that the matcher tied
    /// together.
    pub matches: Vec<MatchEntry>,
}

/// One component matched to one vulnerability of one advisory.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MatchEntry {
    /// The component's reference in the input SBOM (CycloneDX `bom-ref`, SPDX `SPDXID`).
    pub component: String,
    /// The component's name.
    pub component_name: String,
    /// The component's version, if the SBOM states one.
    pub component_version: Option<String>,
    /// The advisory's tracking id (CSAF `/document/tracking/id`, OSV `id`, RustSec `id`).
    pub advisory: String,
    /// The advisory's format.
    pub source: Source,
    /// The CVE id, if the vulnerability has one.
    #[schemars(regex(pattern = r"^CVE-[0-9]{4}-[0-9]{4,}$"))]
    pub cve: Option<String>,
    /// Other ids of the vulnerability (GHSA, RUSTSEC, OSV).
    pub ids: Vec<String>,
    /// The vulnerability's title.
    pub title: String,
    /// The decided status; `under_investigation` when the component might be affected.
    pub status: Status,
    /// The identity rule that tied the component to the advisory's product.
    pub rule: Rule,
    /// The confidence of the match (0–1); below the threshold an affected match is
    /// `under_investigation`.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
    /// The highest CVSS base score the advisory gives for the matched products.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub cvss: Option<f64>,
    /// Its vector string.
    pub cvss_vector: Option<String>,
    /// The full names of the advisory's products the decision rests on.
    pub products: Vec<String>,
    /// Why: the rule, the names and the versions compared.
    pub reason: String,
    /// What the advisory says to do (CSAF categories `vendor_fix`, `mitigation`,
    /// `workaround`, `none_available`, `no_fix_planned`).
    pub remediations: Vec<Remediation>,
    /// The VEX statement that applies (`--vex`); a `known_not_affected` or `fixed` one
    /// covers the match.
    pub vex: Option<VexNote>,
    /// Whether the match needs action: affected or under investigation and not covered by
    /// VEX. The command exits 1 when any match is open.
    pub open: bool,
}

impl From<&Match> for MatchEntry {
    fn from(m: &Match) -> MatchEntry {
        MatchEntry {
            component: m.component.clone(),
            component_name: m.component_name.clone(),
            component_version: m.component_version.clone(),
            advisory: m.advisory.clone(),
            source: m.source,
            cve: m.cve.clone(),
            ids: m.ids.clone(),
            title: m.title.clone(),
            status: m.status,
            rule: m.rule,
            confidence: m.confidence,
            cvss: m.cvss,
            cvss_vector: m.cvss_vector.clone(),
            products: m.products.clone(),
            reason: m.reason.clone(),
            remediations: m.remediations.clone(),
            vex: m.vex.clone(),
            open: m.is_open(),
        }
    }
}

/// The JSON Schema of [`MatchReport`], as committed in `schemas/vuln/matches.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(MatchReport);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Sorts for the JSON report: by component, advisory, CVE — stable across runs.
pub fn sort_for_json(matches: &mut [Match]) {
    matches.sort_by(|a, b| {
        (&a.component, &a.advisory, &a.cve, &a.ids).cmp(&(
            &b.component,
            &b.advisory,
            &b.cve,
            &b.ids,
        ))
    });
}

/// Sorts for people: affected first, then by CVSS score (highest first, unscored last),
/// then as [`sort_for_json`].
pub fn sort_by_severity(matches: &mut [Match]) {
    matches.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then_with(|| match (a.cvss, b.cvss) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| {
                (&a.component, &a.advisory, &a.cve).cmp(&(&b.component, &b.advisory, &b.cve))
            })
    });
}

/// The JSON report, pretty-printed.
pub fn json(matches: &[Match]) -> String {
    let mut sorted = matches.to_vec();
    sort_for_json(&mut sorted);
    let report = MatchReport {
        matches: sorted.iter().map(MatchEntry::from).collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

/// The qualitative CVSS severity of a base score.
pub fn severity(score: Option<f64>) -> &'static str {
    match score {
        None => "unscored",
        Some(s) if s >= 9.0 => "critical",
        Some(s) if s >= 7.0 => "high",
        Some(s) if s >= 4.0 => "medium",
        Some(s) if s > 0.0 => "low",
        Some(_) => "none",
    }
}

/// The remediation to show first: a vendor fix, else a mitigation or workaround, else what
/// the advisory says about there being none.
pub fn first_remediation(remediations: &[Remediation]) -> Option<&Remediation> {
    [
        "vendor_fix",
        "mitigation",
        "workaround",
        "no_fix_planned",
        "none_available",
    ]
    .iter()
    .find_map(|cat| remediations.iter().find(|r| r.category == *cat))
    .or_else(|| remediations.first())
}

/// SARIF 2.1.0: one result per match that is affected or under investigation, located at
/// the SBOM (`sbom_uri`) and the component's reference.
pub fn sarif(matches: &[Match], sbom_uri: &str) -> String {
    let mut sorted: Vec<&Match> = matches.iter().filter(|m| m.is_open()).collect();
    sorted.sort_by(|a, b| {
        (&a.advisory, &a.cve, &a.component).cmp(&(&b.advisory, &b.cve, &b.component))
    });
    let rule_id = |m: &Match| match &m.cve {
        Some(cve) => format!("{}/{cve}", m.advisory),
        None => m.advisory.clone(),
    };
    let mut rules: Vec<serde_json::Value> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in &sorted {
        let id = rule_id(m);
        if seen.insert(id.clone()) {
            let mut rule = json!({
                "id": id,
                "shortDescription": { "text": if m.title.is_empty() { id.clone() } else { m.title.clone() } },
            });
            if let Some(score) = m.cvss {
                rule["properties"] = json!({ "security-severity": format!("{score:.1}") });
            }
            rules.push(rule);
        }
    }
    let results: Vec<serde_json::Value> = sorted
        .iter()
        .map(|m| {
            let fix = first_remediation(&m.remediations)
                .map(|r| format!(" Remediation ({}): {}", r.category, r.details))
                .unwrap_or_default();
            json!({
                "ruleId": rule_id(m),
                "level": if m.status == Status::KnownAffected { "error" } else { "warning" },
                "message": { "text": format!(
                    "{} {} is {} by {} ({}, rule {}, confidence {:.2}).{fix}",
                    m.component_name,
                    m.component_version.as_deref().unwrap_or(""),
                    m.status.as_str(),
                    m.cve.as_deref().unwrap_or(&m.advisory),
                    m.advisory,
                    m.rule,
                    m.confidence,
                ) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": sbom_uri } },
                    "logicalLocations": [{ "fullyQualifiedName": m.component, "kind": "module" }],
                }],
                "properties": {
                    "status": m.status.as_str(),
                    "rule": m.rule.as_str(),
                    "confidence": m.confidence,
                    "reason": m.reason,
                },
            })
        })
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rampart vuln",
                "informationUri": "https://example.invalid/rampart/docs/vulnerabilities.md",
                "rules": rules,
            } },
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}

/// CycloneDX 1.6 VEX: one `vulnerabilities[]` entry per match, its `affects` a BOM-Link to
/// the component in the input SBOM (`urn:cdx:<serial>/<version>#<bom-ref>`, or the bare
/// `bom-ref` when the SBOM has no serial number), its `analysis` from the VEX statement when
/// one applies, else from the match: `known_affected` → `exploitable`,
/// `under_investigation` → `in_triage`, `fixed` → `resolved`, `known_not_affected` →
/// `not_affected`.
pub fn cyclonedx_vex(matches: &[Match], inventory: &Inventory) -> String {
    let mut sorted = matches.to_vec();
    sort_for_json(&mut sorted);
    let link = |bom_ref: &str| match &inventory.serial {
        Some((serial, version)) => format!(
            "urn:cdx:{}/{version}#{bom_ref}",
            serial.trim_start_matches("urn:uuid:")
        ),
        None => bom_ref.to_owned(),
    };
    let vulnerabilities: Vec<serde_json::Value> = sorted
        .iter()
        .map(|m| {
            let (status, justification, detail) = match &m.vex {
                Some(note) => (
                    note.status,
                    note.justification.as_deref().map(cyclonedx_justification),
                    if note.detail.is_empty() {
                        m.reason.clone()
                    } else {
                        note.detail.clone()
                    },
                ),
                None => (m.status, None, m.reason.clone()),
            };
            let state = match status {
                Status::KnownAffected => "exploitable",
                Status::UnderInvestigation => "in_triage",
                Status::Fixed => "resolved",
                Status::KnownNotAffected => "not_affected",
            };
            let mut analysis = json!({ "state": state, "detail": detail });
            if let Some(j) = justification {
                analysis["justification"] = json!(j);
            }
            let mut entry = json!({
                "id": m.cve.clone().unwrap_or_else(|| m.advisory.clone()),
                "source": { "name": m.advisory },
                "description": m.title,
                "analysis": analysis,
                "affects": [ { "ref": link(&m.component) } ],
            });
            let aliases: Vec<&String> = m
                .ids
                .iter()
                .filter(|id| Some(*id) != m.cve.as_ref())
                .collect();
            if !aliases.is_empty() {
                entry["references"] = json!(
                    aliases
                        .iter()
                        .map(|id| json!({ "id": id, "source": { "name": m.advisory } }))
                        .collect::<Vec<_>>()
                );
            }
            if let Some(score) = m.cvss {
                let method = match m.cvss_vector.as_deref() {
                    Some(v) if v.starts_with("CVSS:3.1") => "CVSSv31",
                    Some(v) if v.starts_with("CVSS:3.0") => "CVSSv3",
                    Some(v) if v.starts_with("CVSS:4") => "CVSSv4",
                    Some(_) => "CVSSv2",
                    None => "other",
                };
                let mut rating = json!({
                    "score": score,
                    "severity": severity(Some(score)),
                    "method": method,
                });
                if let Some(v) = &m.cvss_vector {
                    rating["vector"] = json!(v);
                }
                entry["ratings"] = json!([rating]);
            }
            if let Some(r) = first_remediation(&m.remediations) {
                entry["recommendation"] = json!(format!("{}: {}", r.category, r.details));
            }
            entry
        })
        .collect();
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "tools": { "components": [ { "type": "application", "name": "rampart vuln" } ] },
        },
        "vulnerabilities": vulnerabilities,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
