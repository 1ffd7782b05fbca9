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

/// What a CSAF VEX document says about itself.
#[derive(Debug, Clone)]
pub struct CsafVexOptions {
    /// `/document/tracking/id`.
    pub tracking_id: String,
    /// `/document/title`.
    pub title: String,
    /// `/document/publisher/name`.
    pub publisher: String,
    /// `/document/publisher/namespace` (a URL of the publisher).
    pub namespace: String,
    /// The release date, RFC 3339 (`2026-12-07T06:00:00Z`).
    pub date: String,
    /// The generator's version (`/document/tracking/generator/engine/version`).
    pub engine_version: String,
}

/// A CSAF 2.0 document of the `csaf_vex` profile: one product per matched component (its
/// purl and model numbers as helpers, and a BOM-Link to the SBOM in `x_generic_uris` when
/// the SBOM has a serial number), one vulnerability per CVE (or advisory id without one),
/// each product in the status the match (or its VEX statement) gives, with the impact
/// statement (a flag with the justification and a threat of category `impact`) of every
/// `known_not_affected` product and the action statement (the advisory's remediations) of
/// every `known_affected` one, as the profile's tests 6.1.27.9 and 6.1.27.10 require.
/// `None` when there is no match: a `csaf_vex` document needs a vulnerability.
pub fn csaf_vex(
    matches: &[Match],
    inventory: &Inventory,
    options: &CsafVexOptions,
) -> Option<String> {
    use std::collections::BTreeMap;

    if matches.is_empty() {
        return None;
    }
    let mut sorted = matches.to_vec();
    sort_for_json(&mut sorted);
    // Products: the matched components, in inventory order.
    let mut products = Vec::new();
    for c in &inventory.components {
        if !sorted.iter().any(|m| m.component == c.bom_ref) {
            continue;
        }
        let mut helper = serde_json::Map::new();
        if let Some(purl) = &c.purl {
            helper.insert("purl".to_owned(), json!(purl.to_string()));
        }
        if !c.model_numbers.is_empty() {
            helper.insert("model_numbers".to_owned(), json!(c.model_numbers));
        }
        if let Some((serial, version)) = &inventory.serial {
            helper.insert(
                "x_generic_uris".to_owned(),
                json!([{
                    "namespace": "https://cyclonedx.org/capabilities/bomlink/",
                    "uri": format!("urn:cdx:{}/{version}#{}", serial.trim_start_matches("urn:uuid:"), c.bom_ref),
                }]),
            );
        }
        let name = match &c.version {
            Some(v) => format!("{} {v}", c.name),
            None => c.name.clone(),
        };
        let mut product = json!({ "product_id": c.bom_ref, "name": name });
        if !helper.is_empty() {
            product["product_identification_helper"] = serde_json::Value::Object(helper);
        }
        products.push(product);
    }
    // Vulnerabilities: grouped by CVE, else advisory id; a component in several matches of
    // one vulnerability takes the most severe status.
    let mut groups: BTreeMap<String, Vec<&Match>> = BTreeMap::new();
    for m in &sorted {
        groups
            .entry(m.cve.clone().unwrap_or_else(|| m.advisory.clone()))
            .or_default()
            .push(m);
    }
    let mut vulnerabilities = Vec::new();
    for (key, group) in groups {
        let mut per_component: BTreeMap<&str, &Match> = BTreeMap::new();
        for m in &group {
            let status = effective_status(m);
            per_component
                .entry(m.component.as_str())
                .and_modify(|e| {
                    if status < effective_status(e) {
                        *e = m;
                    }
                })
                .or_insert(m);
        }
        let mut status: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut flags: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut threats = Vec::new();
        let mut remediations = Vec::new();
        let mut scores = Vec::new();
        for (component, m) in &per_component {
            let s = effective_status(m);
            status.entry(s.as_str()).or_default().push(component);
            match s {
                Status::KnownNotAffected => {
                    let note = m.vex.as_ref();
                    let label = note
                        .and_then(|n| n.justification.as_deref())
                        .map_or("vulnerable_code_not_present", csaf_justification);
                    flags.entry(label).or_default().push(component);
                    let details = note
                        .map(|n| n.detail.clone())
                        .filter(|d| !d.trim().is_empty())
                        .unwrap_or_else(|| {
                            format!("Not affected according to {}: {}", m.advisory, m.reason)
                        });
                    threats.push(json!({ "category": "impact", "details": details, "product_ids": [component] }));
                }
                Status::KnownAffected => {
                    let mut any = false;
                    for r in &m.remediations {
                        let mut entry = json!({ "category": r.category, "details": r.details, "product_ids": [component] });
                        if let Some(url) = &r.url {
                            entry["url"] = json!(url);
                        }
                        remediations.push(entry);
                        any = true;
                    }
                    if let Some(note) = m.vex.as_ref().filter(|n| !n.detail.trim().is_empty()) {
                        remediations.push(json!({ "category": "mitigation", "details": note.detail, "product_ids": [component] }));
                        any = true;
                    }
                    if !any {
                        remediations.push(json!({
                            "category": "none_available",
                            "details": format!("{} gives no remediation.", m.advisory),
                            "product_ids": [component],
                        }));
                    }
                }
                Status::Fixed | Status::UnderInvestigation => {}
            }
            if let (Some(score), Some(vector)) = (m.cvss, m.cvss_vector.as_deref()) {
                let version = if vector.starts_with("CVSS:3.1/") {
                    Some("3.1")
                } else if vector.starts_with("CVSS:3.0/") {
                    Some("3.0")
                } else {
                    None
                };
                if let Some(version) = version {
                    scores.push(json!({
                        "products": [component],
                        "cvss_v3": {
                            "version": version,
                            "vectorString": vector,
                            "baseScore": score,
                            "baseSeverity": severity(Some(score)).to_ascii_uppercase(),
                        },
                    }));
                }
            }
        }
        let first = group[0];
        let mut vulnerability = json!({
            "notes": [{
                "category": "description",
                "title": "Vulnerability description",
                "text": if first.title.is_empty() { key.clone() } else { first.title.clone() },
            }],
            "product_status": status,
        });
        match &first.cve {
            Some(cve) => vulnerability["cve"] = json!(cve),
            None => {
                vulnerability["ids"] = json!([{ "system_name": format!("{:?}", first.source).to_lowercase(), "text": first.advisory }]);
            }
        }
        if !flags.is_empty() {
            vulnerability["flags"] = json!(
                flags
                    .iter()
                    .map(|(label, ids)| json!({ "label": label, "product_ids": ids }))
                    .collect::<Vec<_>>()
            );
        }
        if !threats.is_empty() {
            vulnerability["threats"] = json!(threats);
        }
        if !remediations.is_empty() {
            vulnerability["remediations"] = json!(remediations);
        }
        if !scores.is_empty() {
            vulnerability["scores"] = json!(scores);
        }
        vulnerabilities.push(vulnerability);
    }
    let doc = json!({
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "lang": "en",
            "title": options.title,
            "publisher": { "category": "user", "name": options.publisher, "namespace": options.namespace },
            "notes": [{
                "category": "summary",
                "title": "About this document",
                "text": "The status of the components of an SBOM for the vulnerabilities of the advisories \
                         they were matched against by rampart vuln (fail-closed matching; analyst \
                         decisions as VEX).",
            }],
            "tracking": {
                "id": options.tracking_id,
                "status": "final",
                "version": "1",
                "initial_release_date": options.date,
                "current_release_date": options.date,
                "revision_history": [{ "date": options.date, "number": "1", "summary": "Initial version." }],
                "generator": { "engine": { "name": "rampart vuln", "version": options.engine_version } },
            },
        },
        "product_tree": { "full_product_names": products },
        "vulnerabilities": vulnerabilities,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    Some(text)
}

/// The status a match stands at: its VEX statement's, else its own.
fn effective_status(m: &Match) -> Status {
    m.vex.as_ref().map_or(m.status, |n| n.status)
}

/// The CSAF flag label for a CycloneDX justification (CSAF labels map to themselves).
fn csaf_justification(label: &str) -> &str {
    match label {
        "code_not_present" | "requires_dependency" => "vulnerable_code_not_present",
        "code_not_reachable" => "vulnerable_code_not_in_execute_path",
        "requires_configuration" | "requires_environment" => {
            "vulnerable_code_cannot_be_controlled_by_adversary"
        }
        "protected_by_compiler"
        | "protected_at_runtime"
        | "protected_at_perimeter"
        | "protected_by_mitigating_control" => "inline_mitigations_already_exist",
        other => other,
    }
}
