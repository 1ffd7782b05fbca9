//! The RustSec advisory database format: one Markdown file per advisory whose TOML front
//! matter (in a ```` ```toml ```` block) holds `[advisory]` and `[versions]`.
//!
//! A version is affected when it matches neither a `patched` nor an `unaffected`
//! requirement (Cargo semver requirements). Withdrawn advisories are skipped, and so are the
//! informational kinds that state no vulnerability (`unmaintained`, `notice`);
//! `informational = "unsound"` advisories are kept, as undefined behaviour is a
//! vulnerability until shown otherwise.

use serde::Deserialize;

use crate::advisory::{Advisory, Product, Remediation, Score, Source, Status, Vulnerability};
use crate::error::InputError;
use crate::ids::Purl;
use crate::version::Range;

#[derive(Deserialize)]
struct Front {
    advisory: Meta,
    #[serde(default)]
    versions: Versions,
}

#[derive(Deserialize)]
struct Meta {
    id: String,
    package: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<toml::Value>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize, Default)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Reads one RustSec advisory file (Markdown with TOML front matter, or the TOML alone);
/// `Ok(None)` for a withdrawn or informational (unmaintained, notice) advisory.
///
/// # Errors
/// [`InputError`]: no front matter, TOML errors (with line and column), or a version
/// requirement that is not Cargo semver.
pub fn read(text: &str, origin: &str) -> Result<Option<Advisory>, InputError> {
    let (toml_text, body) = front_matter(text).ok_or_else(|| {
        InputError::invalid(origin, "front matter", "no ```toml block at the start")
    })?;
    let front: Front = toml::from_str(toml_text).map_err(|e| InputError::syntax(origin, &e))?;
    let meta = front.advisory;
    if meta.withdrawn.is_some()
        || matches!(
            meta.informational.as_deref().map(str::trim),
            Some("unmaintained" | "notice")
        )
    {
        return Ok(None);
    }
    let mut reqs = Vec::new();
    for (field, list) in [
        ("patched", &front.versions.patched),
        ("unaffected", &front.versions.unaffected),
    ] {
        for (i, r) in list.iter().enumerate() {
            let req = semver::VersionReq::parse(r).map_err(|e| {
                InputError::invalid(
                    origin,
                    &format!("versions.{field}[{i}]"),
                    format!("{r:?}: {e}"),
                )
            })?;
            reqs.push(req);
        }
    }
    let title = meta
        .title
        .clone()
        .or_else(|| {
            body.lines()
                .find_map(|l| l.strip_prefix("# "))
                .map(|t| t.trim().to_owned())
        })
        .unwrap_or_default();
    let id = "package".to_owned();
    let mut product = Product::named(&id, &meta.package);
    product.name = Some(meta.package.clone());
    product.purls.push(Purl {
        ty: "cargo".to_owned(),
        namespace: None,
        name: meta.package.clone(),
        version: None,
    });
    product.range = if reqs.is_empty() {
        Range::All
    } else {
        Range::SemverOutside(reqs)
    };
    let remediations = if front.versions.patched.is_empty() {
        vec![Remediation {
            category: "none_available".to_owned(),
            details: format!("No patched version of {}", meta.package),
            url: meta.url.clone(),
            products: Vec::new(),
        }]
    } else {
        vec![Remediation {
            category: "vendor_fix".to_owned(),
            details: format!(
                "Upgrade {} to {}",
                meta.package,
                front.versions.patched.join(" or ")
            ),
            url: meta.url.clone(),
            products: Vec::new(),
        }]
    };
    let cve = meta.aliases.iter().find(|a| a.starts_with("CVE-")).cloned();
    let mut ids = vec![meta.id.clone()];
    ids.extend(
        meta.aliases
            .iter()
            .filter(|a| Some(*a) != cve.as_ref())
            .cloned(),
    );
    let scores = meta
        .cvss
        .iter()
        .map(|v| Score {
            products: Vec::new(),
            base_score: crate::cvss::base_score_v3(v),
            vector: Some(v.clone()),
        })
        .collect();
    Ok(Some(Advisory {
        id: meta.id.clone(),
        source: Source::Rustsec,
        title: title.clone(),
        origin: origin.to_owned(),
        products: vec![product],
        vulnerabilities: vec![Vulnerability {
            cve,
            ids,
            title,
            statuses: vec![(id, Status::KnownAffected)],
            scores,
            remediations,
        }],
        warnings: Vec::new(),
    }))
}

/// The TOML of the front matter and the Markdown after it.
fn front_matter(text: &str) -> Option<(&str, &str)> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if let Some(rest) = trimmed.strip_prefix("```toml") {
        let end = rest.find("\n```")?;
        return Some((&rest[..end], &rest[end + 4..]));
    }
    // A bare `.toml` advisory (the database's older layout).
    trimmed.starts_with("[advisory]").then_some((trimmed, ""))
}
