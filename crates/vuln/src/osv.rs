//! OSV JSON records (<https://ossf.github.io/osv-schema/>): one record, or an array of them.
//!
//! Each `affected[]` entry becomes a product identified by its package (a purl, from
//! `package.purl` or from the ecosystem and name); its versions are `SEMVER` and `ECOSYSTEM`
//! ranges (events `introduced`, `fixed`, `last_affected`) and the `versions` list. A `GIT`
//! range without a `versions` list says nothing Rampart can compare with an SBOM version:
//! such products match as `under_investigation`.

use serde::Deserialize;

use crate::advisory::{Advisory, Product, Remediation, Score, Source, Status, Vulnerability};
use crate::error::InputError;
use crate::ids::Purl;
use crate::version::{Constraint, Op, Range, Version};

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    affected: Vec<Affected>,
    #[serde(default)]
    severity: Vec<Severity>,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Deserialize)]
struct Affected {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<Severity>,
}

#[derive(Deserialize)]
struct Package {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

#[derive(Deserialize)]
struct Severity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

/// Reads an OSV record, or a JSON array of records; `origin` names the text in errors.
/// Withdrawn records are skipped.
///
/// # Errors
/// [`InputError`]: not JSON, or not of the OSV shape (with serde's line and column).
pub fn read(text: &str, origin: &str) -> Result<Vec<Advisory>, InputError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| InputError::syntax(origin, &e))?;
    let records: Vec<Record> = if value.is_array() {
        serde_json::from_value(value).map_err(|e| InputError::syntax(origin, &e))?
    } else {
        vec![serde_json::from_value(value).map_err(|e| InputError::syntax(origin, &e))?]
    };
    let mut out = Vec::new();
    for (i, record) in records.into_iter().enumerate() {
        if record.withdrawn.is_some() {
            continue;
        }
        if record.id.trim().is_empty() {
            return Err(InputError::invalid(
                origin,
                &format!("/{i}/id"),
                "an OSV record needs an id",
            ));
        }
        out.push(advisory(record, origin));
    }
    Ok(out)
}

fn advisory(record: Record, origin: &str) -> Advisory {
    let mut products = Vec::new();
    let mut statuses = Vec::new();
    let mut scores = Vec::new();
    let mut remediations = Vec::new();
    let mut warnings = Vec::new();
    for (i, affected) in record.affected.iter().enumerate() {
        let id = format!("affected-{i}");
        let (full_name, purl) = match &affected.package {
            Some(p) => {
                let purl = p
                    .purl
                    .as_deref()
                    .and_then(Purl::parse)
                    .or_else(|| ecosystem_purl(&p.ecosystem, &p.name));
                (format!("{} ({})", p.name, p.ecosystem), purl)
            }
            None => (id.clone(), None),
        };
        let mut product = Product::named(&id, &full_name);
        if let Some(p) = &affected.package {
            product.name = Some(p.name.clone());
        }
        product.purls.extend(purl);
        let (range, fixed) = range_of(affected);
        if let Range::Unparsed(text) = &range {
            warnings.push(format!(
                "affected[{i}]: {text}; matches as under_investigation"
            ));
        }
        product.range = range;
        for s in &affected.severity {
            scores.push(score(s, vec![id.clone()]));
        }
        if !fixed.is_empty() {
            remediations.push(Remediation {
                category: "vendor_fix".to_owned(),
                details: format!("Upgrade to {}", fixed.join(" or ")),
                url: None,
                products: vec![id.clone()],
            });
        }
        statuses.push((id, Status::KnownAffected));
        products.push(product);
    }
    for s in &record.severity {
        scores.push(score(s, Vec::new()));
    }
    let advisory_url = record
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .map(|r| r.url.clone());
    for r in &mut remediations {
        r.url.clone_from(&advisory_url);
    }
    let cve = record
        .aliases
        .iter()
        .find(|a| a.starts_with("CVE-"))
        .cloned()
        .or_else(|| record.id.starts_with("CVE-").then(|| record.id.clone()));
    let mut ids = vec![record.id.clone()];
    ids.extend(
        record
            .aliases
            .iter()
            .filter(|a| Some(*a) != cve.as_ref())
            .cloned(),
    );
    let title = record
        .summary
        .clone()
        .or_else(|| {
            record
                .details
                .as_ref()
                .map(|d| d.lines().next().unwrap_or_default().to_owned())
        })
        .unwrap_or_default();
    Advisory {
        id: record.id,
        source: Source::Osv,
        title: title.clone(),
        origin: origin.to_owned(),
        products,
        vulnerabilities: vec![Vulnerability {
            cve,
            ids,
            title,
            statuses,
            scores,
            remediations,
        }],
        warnings,
    }
}

fn score(s: &Severity, products: Vec<String>) -> Score {
    let base = if s.kind.starts_with("CVSS_V3") {
        crate::cvss::base_score_v3(&s.score)
    } else {
        None
    };
    Score {
        products,
        base_score: base,
        vector: Some(s.score.clone()),
    }
}

/// The purl of an OSV package from its ecosystem and name.
pub(crate) fn ecosystem_purl(ecosystem: &str, name: &str) -> Option<Purl> {
    let base = ecosystem.split(':').next().unwrap_or_default();
    let ty = match base {
        "crates.io" => "cargo",
        "npm" => "npm",
        "PyPI" => "pypi",
        "Go" => "golang",
        "Maven" => "maven",
        "NuGet" => "nuget",
        "RubyGems" => "gem",
        "Packagist" => "composer",
        "Hex" => "hex",
        "Pub" => "pub",
        "Debian" => "deb",
        "Alpine" => "apk",
        _ => return None,
    };
    let (namespace, name) = match (ty, name.rsplit_once(['/', ':'])) {
        ("maven" | "golang" | "npm" | "composer", Some((ns, n))) => (Some(ns.replace(':', "/")), n),
        _ => (None, name),
    };
    if name.is_empty() {
        return None;
    }
    Some(Purl {
        ty: ty.to_owned(),
        namespace,
        name: name.to_owned(),
        version: None,
    })
}

/// The versions of an `affected` entry, and the fixed versions (for the remediation).
fn range_of(affected: &Affected) -> (Range, Vec<String>) {
    let mut constraints: Vec<Constraint> = affected
        .versions
        .iter()
        .map(|v| Constraint {
            op: Op::Eq,
            text: v.clone(),
            version: Version::parse(v),
        })
        .collect();
    let mut fixed = Vec::new();
    let mut opaque = Vec::new();
    for r in &affected.ranges {
        if r.kind == "GIT" {
            opaque.push("a GIT commit range");
            continue;
        }
        let bound = |op: Op, text: &str| Constraint {
            op,
            text: text.to_owned(),
            version: Version::parse(text),
        };
        let mut open_from_zero = false;
        for e in &r.events {
            if let Some(v) = &e.introduced {
                if v == "0" {
                    open_from_zero = true;
                } else {
                    constraints.push(bound(Op::Ge, v));
                }
            }
            if let Some(v) = &e.fixed {
                constraints.push(bound(Op::Lt, v));
                fixed.push(v.clone());
            }
            if let Some(v) = &e.last_affected {
                constraints.push(bound(Op::Le, v));
            }
            if let Some(v) = e.limit.as_ref().filter(|v| *v != "*") {
                constraints.push(bound(Op::Lt, v));
            }
        }
        // `introduced: 0` with no end: every version.
        if open_from_zero
            && r.events
                .iter()
                .all(|e| e.fixed.is_none() && e.last_affected.is_none())
        {
            return (Range::All, fixed);
        }
    }
    if constraints.is_empty() {
        if opaque.is_empty() {
            // No ranges and no versions: the record says the whole package is affected.
            return (Range::All, fixed);
        }
        return (Range::Unparsed(opaque.join(", ")), fixed);
    }
    (Range::Constraints(constraints), fixed)
}
