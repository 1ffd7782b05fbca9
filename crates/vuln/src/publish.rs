//! The maker's side of vulnerability management (reporting and remediation): a CSAF 2.0
//! security advisory for the maker's own product, written from an advisory source file, and
//! the layout of a CSAF provider directory that aggregators and the `csaf` tools read.
//!
//! The advisory source is TOML ([`AdvisorySource`]): the document (tracking id, title,
//! publisher, TLP), the product (vendor, name, every released version, an optional purl
//! base), and each vulnerability (CVE, CVSS v3 vector, the affected and fixed versions, the
//! remediation — typically the update bundle that fixes it). [`write_advisory`] turns it into
//! CSAF JSON and reads it back through [`crate::csaf::read`], so a document this crate writes
//! passes the same mandatory tests as one it reads. [`provider_files`] lays out
//! `.well-known/csaf/`: `provider-metadata.json`, one folder per TLP label and year, the
//! documents with `.sha256` and `.sha512` files, `index.txt`, `changes.csv` and a ROLIE feed;
//! with the maker's `OpenPGP` key ([`trusted_provider_files`]) also a signature per document
//! and the public key, for the `csaf_trusted_provider` role. Pure: the caller writes the files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::InputError;

/// An advisory as the maker writes it (TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvisorySource {
    /// The document.
    pub document: DocumentSource,
    /// The maker's product.
    pub product: ProductSource,
    /// The vulnerabilities it reports.
    #[serde(rename = "vulnerability")]
    pub vulnerabilities: Vec<VulnerabilitySource>,
}

/// `[document]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSource {
    /// The tracking id, e.g. `RAMPART-SA-2026-0001`.
    pub id: String,
    /// The title.
    pub title: String,
    /// A summary of the advisory (the document's `summary` note).
    pub summary: String,
    /// The publisher's name.
    pub publisher: String,
    /// The publisher's namespace URL (`https://…`).
    pub namespace: String,
    /// TLP label: WHITE (default), GREEN, AMBER or RED.
    #[serde(default = "white")]
    pub tlp: String,
    /// The document's version (a revision number, default 1).
    #[serde(default = "one")]
    pub version: u32,
    /// First release (RFC 3339); default: now.
    pub initial_release: Option<String>,
}

fn white() -> String {
    "WHITE".into()
}

fn one() -> u32 {
    1
}

/// `[product]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSource {
    /// The vendor (the maker).
    pub vendor: String,
    /// The product name.
    pub name: String,
    /// Every released version the advisory speaks of.
    pub versions: Vec<String>,
    /// A purl without version (`pkg:generic/rampart`); each version's purl adds `@VERSION`.
    pub purl: Option<String>,
}

/// `[[vulnerability]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilitySource {
    /// The CVE id, if assigned.
    pub cve: Option<String>,
    /// A short title.
    pub title: String,
    /// What the vulnerability is.
    pub description: String,
    /// The CVSS v3.x vector.
    pub cvss_v3: String,
    /// The affected versions (each listed in `product.versions`).
    pub affected: Vec<String>,
    /// The versions that fix it (each listed in `product.versions`).
    pub fixed: Vec<String>,
    /// The remediation: what to do, e.g. "Install update bundle 1.2.0".
    pub remediation: String,
    /// Where the fix is, e.g. the update bundle's URL in the TUF repository.
    pub remediation_url: Option<String>,
}

fn bad(origin: &str, at: &str, message: impl Into<String>) -> InputError {
    InputError::invalid(origin, at, message.into())
}

/// The file name CSAF gives a document: the tracking id in lower case, every character
/// outside `a-z0-9+-` replaced by `_`, and `.json`.
pub fn file_name(tracking_id: &str) -> String {
    let stem: String = tracking_id
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{stem}.json")
}

/// Parses an advisory source.
///
/// # Errors
/// [`InputError`] naming the key and what is wrong.
pub fn read_source(text: &str, origin: &str) -> Result<AdvisorySource, InputError> {
    let source: AdvisorySource = toml::from_str(text)
        .map_err(|e| bad(origin, "/", format!("not a valid advisory source: {e}")))?;
    let versions: BTreeSet<&str> = source.product.versions.iter().map(String::as_str).collect();
    if versions.is_empty() {
        return Err(bad(origin, "/product/versions", "no version listed"));
    }
    if !["WHITE", "GREEN", "AMBER", "RED"].contains(&source.document.tlp.as_str()) {
        return Err(bad(
            origin,
            "/document/tlp",
            format!(
                "'{}': expected WHITE, GREEN, AMBER or RED",
                source.document.tlp
            ),
        ));
    }
    if !source.document.namespace.starts_with("https://") {
        return Err(bad(
            origin,
            "/document/namespace",
            "must be an https:// URL",
        ));
    }
    if source.vulnerabilities.is_empty() {
        return Err(bad(
            origin,
            "/vulnerability",
            "a security advisory reports at least one",
        ));
    }
    for (i, v) in source.vulnerabilities.iter().enumerate() {
        for version in v.affected.iter().chain(&v.fixed) {
            if !versions.contains(version.as_str()) {
                return Err(bad(
                    origin,
                    &format!("/vulnerability/{i}"),
                    format!("version '{version}' is not in product.versions"),
                ));
            }
        }
        if let Some(both) = v.affected.iter().find(|a| v.fixed.contains(a)) {
            return Err(bad(
                origin,
                &format!("/vulnerability/{i}"),
                format!("version '{both}' is both affected and fixed"),
            ));
        }
        if v.affected.is_empty() {
            return Err(bad(
                origin,
                &format!("/vulnerability/{i}/affected"),
                "empty",
            ));
        }
        if crate::cvss::base_score_v3(&v.cvss_v3).is_none() {
            return Err(bad(
                origin,
                &format!("/vulnerability/{i}/cvss_v3"),
                format!("'{}' is not a CVSS v3 vector", v.cvss_v3),
            ));
        }
        if let Some(cve) = &v.cve
            && !is_cve(cve)
        {
            return Err(bad(
                origin,
                &format!("/vulnerability/{i}/cve"),
                format!("'{cve}' is not CVE-YYYY-NNNN"),
            ));
        }
    }
    Ok(source)
}

fn is_cve(text: &str) -> bool {
    let mut parts = text.split('-');
    parts.next() == Some("CVE")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none()
}

fn severity(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        s if s > 0.0 => "LOW",
        _ => "NONE",
    }
}

/// Writes the CSAF 2.0 security advisory of `source` at `now`, and checks it by reading it
/// back with [`crate::csaf::read`].
///
/// # Errors
/// [`InputError`] if the result fails a mandatory test (a bug, or a source the checks above
/// let through).
pub fn write_advisory(source: &AdvisorySource, now: jiff::Timestamp) -> Result<String, InputError> {
    let released = match &source.document.initial_release {
        Some(text) => text.parse::<jiff::Timestamp>().map_err(|e| {
            bad(
                &source.document.id,
                "/document/initial_release",
                format!("'{text}': {e}"),
            )
        })?,
        None => now,
    };
    let product = &source.product;
    let ids: BTreeMap<&str, String> = product
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), format!("CSAFPID-{:04}", i + 1)))
        .collect();
    let version_branches: Vec<Value> = product
        .versions
        .iter()
        .map(|v| {
            let mut full = json!({
                "product_id": ids[v.as_str()],
                "name": format!("{} {} {v}", product.vendor, product.name),
            });
            if let Some(purl) = &product.purl {
                full["product_identification_helper"] = json!({ "purl": format!("{purl}@{v}") });
            }
            json!({ "category": "product_version", "name": v, "product": full })
        })
        .collect();
    let vulnerabilities: Vec<Value> = source
        .vulnerabilities
        .iter()
        .map(|v| {
            let affected: Vec<&String> = v.affected.iter().map(|a| &ids[a.as_str()]).collect();
            let fixed: Vec<&String> = v.fixed.iter().map(|f| &ids[f.as_str()]).collect();
            let score = crate::cvss::base_score_v3(&v.cvss_v3).unwrap_or(0.0);
            let version = if v.cvss_v3.starts_with("CVSS:3.0") { "3.0" } else { "3.1" };
            let mut remediation = json!({
                "category": "vendor_fix",
                "details": v.remediation,
                "product_ids": affected,
            });
            if let Some(url) = &v.remediation_url {
                remediation["url"] = json!(url);
            }
            let mut out = json!({
                "title": v.title,
                "notes": [{ "category": "description", "text": v.description, "title": "Description" }],
                "product_status": { "known_affected": affected },
                "scores": [{
                    "products": affected,
                    "cvss_v3": {
                        "version": version,
                        "vectorString": v.cvss_v3.trim(),
                        "baseScore": score,
                        "baseSeverity": severity(score),
                    }
                }],
                "remediations": [remediation],
            });
            if !fixed.is_empty() {
                out["product_status"]["fixed"] = json!(fixed);
            }
            if let Some(cve) = &v.cve {
                out["cve"] = json!(cve);
            }
            out
        })
        .collect();
    let doc = json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": source.document.title,
            "lang": "en",
            "publisher": {
                "category": "vendor",
                "name": source.document.publisher,
                "namespace": source.document.namespace,
            },
            "distribution": { "tlp": { "label": source.document.tlp } },
            "notes": [{ "category": "summary", "text": source.document.summary, "title": "Summary" }],
            "tracking": {
                "id": source.document.id,
                "status": "final",
                "version": source.document.version.to_string(),
                "initial_release_date": released.to_string(),
                "current_release_date": now.max(released).to_string(),
                "revision_history": [{
                    "number": source.document.version.to_string(),
                    "date": now.max(released).to_string(),
                    "summary": if source.document.version == 1 { "Initial version" } else { "Revised" },
                }],
                "generator": {
                    "engine": { "name": "rampart", "version": env!("CARGO_PKG_VERSION") },
                    "date": now.to_string(),
                },
            },
        },
        "product_tree": {
            "branches": [{
                "category": "vendor",
                "name": product.vendor,
                "branches": [{
                    "category": "product_name",
                    "name": product.name,
                    "branches": version_branches,
                }],
            }],
        },
        "vulnerabilities": vulnerabilities,
    });
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| bad(&source.document.id, "/", e.to_string()))?;
    crate::csaf::read(&text, &source.document.id)?;
    Ok(text)
}

/// One published advisory.
#[derive(Debug, Clone)]
pub struct Published {
    /// Its tracking id.
    pub id: String,
    /// Its TLP label.
    pub tlp: String,
    /// Its current release date.
    pub current_release: jiff::Timestamp,
    /// Its title.
    pub title: String,
    /// The document's bytes.
    pub text: String,
}

impl Published {
    /// Reads what a provider directory needs from a CSAF document (checked by
    /// [`crate::csaf::read`] first).
    ///
    /// # Errors
    /// [`InputError`] if it fails the reader's checks or lacks tracking data.
    pub fn from_document(text: &str, origin: &str) -> Result<Published, InputError> {
        crate::csaf::read(text, origin)?;
        let doc: Value = serde_json::from_str(text).map_err(|e| InputError::syntax(origin, &e))?;
        let get = |pointer: &str| -> Result<String, InputError> {
            doc.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(origin, pointer, "missing"))
        };
        Ok(Published {
            id: get("/document/tracking/id")?,
            tlp: get("/document/distribution/tlp/label").unwrap_or_else(|_| white()),
            current_release: get("/document/tracking/current_release_date")?
                .parse()
                .map_err(|e| {
                    bad(
                        origin,
                        "/document/tracking/current_release_date",
                        format!("{e}"),
                    )
                })?,
            title: get("/document/title")?,
            text: text.to_owned(),
        })
    }
}

/// The provider: who publishes and where.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The base URL the directory is served at (`https://…`, without `/.well-known/csaf`).
    pub base_url: String,
    /// The publisher's name.
    pub publisher: String,
    /// The publisher's namespace URL.
    pub namespace: String,
}

/// The maker's `OpenPGP` signing key for a trusted provider directory: the private key (held
/// offline by the maker, docs/vulnerabilities.md) and its armored certificate, which is
/// published next to the documents.
#[derive(Debug)]
pub struct Signer<'a> {
    /// The Ed25519 private key.
    pub key: &'a rampart_vault::DeviceKey,
    /// Its certificate as published (`-----BEGIN PGP PUBLIC KEY BLOCK-----`).
    pub certificate: &'a str,
    /// The certificate, read.
    pub public: &'a crate::openpgp::PublicKey,
}

/// The files of a CSAF provider directory for `advisories`, relative to the served root:
/// `.well-known/csaf/provider-metadata.json`, `.well-known/csaf/<tlp>/<year>/<id>.json` with
/// `.sha256` and `.sha512`, `index.txt`, `changes.csv` and `<tlp>-feed.json` (ROLIE) per TLP
/// label. Role `csaf_provider`: documents are not OpenPGP-signed; [`trusted_provider_files`]
/// signs them.
pub fn provider_files(
    provider: &Provider,
    advisories: &[Published],
    now: jiff::Timestamp,
) -> Vec<(String, Vec<u8>)> {
    // Without a signer nothing can fail.
    trusted_provider_files(provider, advisories, now, None).unwrap_or_default()
}

/// [`provider_files`], and with a `signer` the directory of a `csaf_trusted_provider` (CSAF
/// 2.0 section 7.1.19 and 7.2.2): a detached `OpenPGP` signature `DOC.json.asc` next to every
/// document (and `provider-metadata.json.asc`), a `signature` link in each ROLIE entry, the
/// certificate at `.well-known/csaf/openpgp/<FINGERPRINT>.asc`, listed in the metadata's
/// `public_openpgp_keys`.
///
/// # Errors
/// [`InputError`] if the signer's private key is not the key of its certificate, or `now`
/// is outside what an `OpenPGP` v4 time can say (1970 to 2106).
pub fn trusted_provider_files(
    provider: &Provider,
    advisories: &[Published],
    now: jiff::Timestamp,
    signer: Option<&Signer<'_>>,
) -> Result<Vec<(String, Vec<u8>)>, InputError> {
    let sign = |bytes: &[u8]| -> Result<Option<Vec<u8>>, InputError> {
        signer
            .map(|s| {
                let signed_at = u32::try_from(now.as_second()).map_err(|_| {
                    bad("the clock", "/", format!("{now} is not an OpenPGP v4 time"))
                })?;
                crate::openpgp::sign_detached(s.key, s.public, bytes, signed_at)
                    .map(String::into_bytes)
                    .map_err(|e| bad("the OpenPGP key", "/", e.to_string()))
            })
            .transpose()
    };
    let base = provider.base_url.trim_end_matches('/');
    let mut files = Vec::new();
    let mut by_tlp: BTreeMap<String, Vec<&Published>> = BTreeMap::new();
    for a in advisories {
        by_tlp.entry(a.tlp.to_lowercase()).or_default().push(a);
    }
    let mut feeds = Vec::new();
    for (tlp, list) in &mut by_tlp {
        // Newest first in changes.csv and the feed.
        list.sort_by(|a, b| {
            b.current_release
                .cmp(&a.current_release)
                .then(a.id.cmp(&b.id))
        });
        let mut index = String::new();
        let mut changes = String::new();
        let mut entries = Vec::new();
        for a in list.iter() {
            let year = jiff::tz::Offset::UTC.to_datetime(a.current_release).year();
            let relative = format!("{year}/{}", file_name(&a.id));
            let path = format!(".well-known/csaf/{tlp}/{relative}");
            let bytes = a.text.as_bytes().to_vec();
            let name = file_name(&a.id);
            let sha256 = rampart_vault::crypto::sha256_hex(&bytes);
            let sha512 = rampart_vault::crypto::signature::sha512_hex(&bytes);
            files.push((
                format!("{path}.sha256"),
                format!("{sha256}  {name}\n").into_bytes(),
            ));
            files.push((
                format!("{path}.sha512"),
                format!("{sha512}  {name}\n").into_bytes(),
            ));
            let signature = sign(&bytes)?;
            if let Some(signature) = signature {
                files.push((format!("{path}.asc"), signature));
            }
            files.push((path, bytes));
            index.push_str(&relative);
            index.push('\n');
            let _ = writeln!(changes, "\"{relative}\",\"{}\"", a.current_release);
            let url = format!("{base}/.well-known/csaf/{tlp}/{relative}");
            let mut links = vec![json!({ "rel": "self", "href": url })];
            if signer.is_some() {
                links.push(json!({ "rel": "hash", "href": format!("{url}.sha256") }));
                links.push(json!({ "rel": "hash", "href": format!("{url}.sha512") }));
                links.push(json!({ "rel": "signature", "href": format!("{url}.asc") }));
            }
            entries.push(json!({
                "id": a.id,
                "title": a.title,
                "link": links,
                "published": a.current_release.to_string(),
                "updated": a.current_release.to_string(),
                "content": { "type": "application/json", "src": url },
                "format": { "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json", "version": "2.0" },
            }));
        }
        let feed_url = format!("{base}/.well-known/csaf/{tlp}/{tlp}-feed.json");
        let feed = json!({
            "feed": {
                "id": format!("{}-{tlp}", provider.publisher.to_lowercase().replace(' ', "-")),
                "title": format!("{} CSAF feed (TLP:{})", provider.publisher, tlp.to_uppercase()),
                "link": [{ "rel": "self", "href": feed_url }],
                "category": [{ "scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf" }],
                "updated": now.to_string(),
                "entry": entries,
            }
        });
        files.push((
            format!(".well-known/csaf/{tlp}/index.txt"),
            index.into_bytes(),
        ));
        files.push((
            format!(".well-known/csaf/{tlp}/changes.csv"),
            changes.into_bytes(),
        ));
        files.push((
            format!(".well-known/csaf/{tlp}/{tlp}-feed.json"),
            serde_json::to_vec_pretty(&feed).unwrap_or_default(),
        ));
        feeds.push(json!({
            "summary": format!("TLP:{} advisories", tlp.to_uppercase()),
            "tlp_label": tlp.to_uppercase(),
            "url": feed_url,
        }));
    }
    let mut metadata = json!({
        "canonical_url": format!("{base}/.well-known/csaf/provider-metadata.json"),
        "distributions": [{ "rolie": { "feeds": feeds } }],
        "last_updated": now.to_string(),
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "publisher": {
            "category": "vendor",
            "name": provider.publisher,
            "namespace": provider.namespace,
        },
        "role": "csaf_provider",
    });
    if let Some(signer) = signer {
        let fingerprint = signer.public.fingerprint();
        let relative = format!(".well-known/csaf/openpgp/{fingerprint}.asc");
        metadata["role"] = json!("csaf_trusted_provider");
        metadata["public_openpgp_keys"] = json!([{
            "fingerprint": fingerprint,
            "url": format!("{base}/{relative}"),
        }]);
        files.push((relative, signer.certificate.as_bytes().to_vec()));
    }
    let metadata = serde_json::to_vec_pretty(&metadata).unwrap_or_default();
    if let Some(signature) = sign(&metadata)? {
        files.push((
            ".well-known/csaf/provider-metadata.json.asc".to_owned(),
            signature,
        ));
    }
    files.push((
        ".well-known/csaf/provider-metadata.json".to_owned(),
        metadata,
    ));
    Ok(files)
}

#[cfg(test)]
mod tests;
