//! The file layer: inventories and advisories read from files and directories, each file
//! through the size-capped read of `rampart_vault`.

use std::path::{Path, PathBuf};

use rampart_vault::read_capped_text;

use crate::advisory::Advisory;
use crate::error::InputError;
use crate::inventory::Inventory;

/// The largest SBOM read.
pub const MAX_SBOM_BYTES: u64 = 64 << 20;
/// The largest advisory file read.
pub const MAX_ADVISORY_BYTES: u64 = 16 << 20;
/// The most files read from one directory tree.
pub const MAX_FILES: usize = 100_000;

fn text(path: &Path, limit: u64) -> Result<String, InputError> {
    read_capped_text(path, limit).map_err(|source| InputError::Read {
        origin: path.display().to_string(),
        source,
    })
}

/// Reads an SBOM file (CycloneDX or SPDX JSON).
///
/// # Errors
/// [`InputError`].
pub fn inventory(path: &Path) -> Result<Inventory, InputError> {
    Inventory::from_json(&text(path, MAX_SBOM_BYTES)?, &path.display().to_string())
}

/// Reads a CSAF document, a provider's ROLIE feed with its documents ([`rolie_feed`]), or
/// every `*.json` file under a directory (recursively, sorted; `provider-metadata.json`,
/// ROLIE feeds and other non-CSAF JSON files — those without `csaf_version` — are skipped).
///
/// # Errors
/// [`InputError`] for the first file that cannot be read or fails the checks.
pub fn csaf(path: &Path) -> Result<Vec<Advisory>, InputError> {
    csaf_signed(path, &Signatures::default())
}

/// [`csaf`], and with `signatures` naming keys, every document must have a valid `OpenPGP`
/// signature `DOC.asc` by one of them ([`check_signature`]).
///
/// # Errors
/// As [`csaf`], and a document without a valid signature by a trusted key.
pub fn csaf_signed(path: &Path, signatures: &Signatures) -> Result<Vec<Advisory>, InputError> {
    let mut out = Vec::new();
    for file in files(path, &["json"])? {
        let body = text(&file, MAX_ADVISORY_BYTES)?;
        let origin = file.display().to_string();
        if path.is_dir() && !looks_like_csaf(&body) {
            continue;
        }
        if !path.is_dir() && body.contains("\"feed\"") && !looks_like_csaf(&body) {
            return rolie_feed_signed(&file, &body, signatures);
        }
        check_hash_files(&file, body.as_bytes())?;
        check_signature(&file, body.as_bytes(), signatures)?;
        out.push(crate::csaf::read(&body, &origin)?);
    }
    Ok(out)
}

/// Reads a ROLIE feed (`{"feed": {"entry": [...]}}`, CSAF 2.0 section 7.1.20) and, offline,
/// every document it lists: an entry's `content.src` (else its `self` link) is a URL whose
/// path is looked up next to the feed — the longest tail of the path that names a file under
/// the feed's directory or one of its two parents (a mirror of the provider's directory).
/// An entry whose document is not there is an error: a feed read in part would miss
/// advisories silently. A document's `.sha256`/`.sha512` files, when the mirror has them,
/// must match it; its `OpenPGP` signature (`.asc`) is checked by [`rolie_feed_signed`].
///
/// # Errors
/// [`InputError`]: the feed is not ROLIE JSON, an entry has no URL, a document is missing
/// or fails to read.
pub fn rolie_feed(feed: &Path, body: &str) -> Result<Vec<Advisory>, InputError> {
    rolie_feed_signed(feed, body, &Signatures::default())
}

/// [`rolie_feed`], and with `signatures` naming keys, every document must have a valid
/// `OpenPGP` signature `DOC.asc` by one of them.
///
/// # Errors
/// As [`rolie_feed`], and a document without a valid signature by a trusted key.
pub fn rolie_feed_signed(
    feed: &Path,
    body: &str,
    signatures: &Signatures,
) -> Result<Vec<Advisory>, InputError> {
    let origin = feed.display().to_string();
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| InputError::syntax(&origin, &e))?;
    let entries = value
        .pointer("/feed/entry")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| {
            InputError::invalid(
                &origin,
                "/feed/entry",
                "a ROLIE feed lists its documents in feed.entry",
            )
        })?;
    if entries.len() > MAX_FILES {
        return Err(InputError::invalid(
            &origin,
            "/feed/entry",
            format!("more than {MAX_FILES} entries"),
        ));
    }
    let base = feed.parent().unwrap_or_else(|| Path::new("."));
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("/feed/entry/{i}");
        let url = entry
            .pointer("/content/src")
            .and_then(serde_json::Value::as_str)
            .or_else(|| {
                entry
                    .get("link")
                    .and_then(serde_json::Value::as_array)
                    .and_then(|links| {
                        links
                            .iter()
                            .find(|l| {
                                l.get("rel").and_then(serde_json::Value::as_str) == Some("self")
                            })
                            .and_then(|l| l.get("href").and_then(serde_json::Value::as_str))
                    })
            })
            .ok_or_else(|| {
                InputError::invalid(&origin, &at, "an entry needs content.src or a self link")
            })?;
        let file = local_copy(base, url).ok_or_else(|| {
            InputError::invalid(
                &origin,
                &at,
                format!("{url}: no copy of this document next to the feed"),
            )
        })?;
        let text = text(&file, MAX_ADVISORY_BYTES)?;
        check_hash_files(&file, text.as_bytes())?;
        check_signature(&file, text.as_bytes(), signatures)?;
        out.push(crate::csaf::read(&text, &file.display().to_string())?);
    }
    Ok(out)
}

/// The most of a `.sha256`/`.sha512` file that is read.
const MAX_HASH_FILE_BYTES: u64 = 4096;

/// Checks `document` against the hash files a CSAF provider publishes next to it
/// (`DOC.sha256`, `DOC.sha512`: the hex digest, then optionally the file name, as
/// `sha256sum` writes; CSAF 2.0 requirements 18 and 19). A hash file that is there must match:
/// a document that differs from what its provider hashed was changed on the way or in the
/// mirror, and is refused rather than matched.
///
/// # Errors
/// [`InputError`]: an unreadable hash file, one without a digest, or a digest that differs.
fn check_hash_files(document: &Path, bytes: &[u8]) -> Result<(), InputError> {
    let name = document
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    for (extension, digest) in [
        ("sha256", rampart_vault::crypto::sha256_hex(bytes)),
        (
            "sha512",
            rampart_vault::crypto::signature::sha512_hex(bytes),
        ),
    ] {
        let Some(name) = &name else { continue };
        let hash_file = document.with_file_name(format!("{name}.{extension}"));
        if !hash_file.is_file() {
            continue;
        }
        let origin = hash_file.display().to_string();
        let listed = text(&hash_file, MAX_HASH_FILE_BYTES)?;
        let stated = listed
            .split_whitespace()
            .next()
            .map(str::to_ascii_lowercase)
            .filter(|d| d.len() == digest.len() && d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                InputError::invalid(
                    &origin,
                    "/",
                    format!("no {extension} digest (hex, then the file name)"),
                )
            })?;
        if stated != digest {
            return Err(InputError::invalid(
                &document.display().to_string(),
                "/",
                format!(
                    "its {extension} is {digest}, but {origin} says {stated}: the document is \
                     not the one its provider published"
                ),
            ));
        }
    }
    Ok(())
}

/// The `OpenPGP` keys whose signatures CSAF documents must carry (`--openpgp-key`), and the
/// time to check expiry at; with no keys, signatures are not checked (the default).
#[derive(Debug, Clone, Default)]
pub struct Signatures {
    /// The trusted keys.
    pub keys: Vec<crate::openpgp::PublicKey>,
    /// Now, in seconds since 1970 (UTC).
    pub now: u64,
}

/// The most of a `.asc` signature file that is read.
const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// Reads a trusted `OpenPGP` public key: an armored v4 Ed25519 key with a valid
/// self-certification ([`crate::openpgp::PublicKey::from_armored`]).
///
/// # Errors
/// [`InputError`] naming the file and what is wrong with the key.
pub fn openpgp_key(path: &Path) -> Result<crate::openpgp::PublicKey, InputError> {
    let body = text(path, crate::openpgp::MAX_INPUT_BYTES as u64)?;
    crate::openpgp::PublicKey::from_armored(&body).map_err(|e| {
        InputError::invalid(
            &path.display().to_string(),
            "/",
            format!("not a usable OpenPGP public key: {e}"),
        )
    })
}

/// Checks the detached `OpenPGP` signature `DOC.asc` next to `document` against the trusted
/// keys (CSAF 2.0 requirement 19); nothing when no key is trusted. Fail-closed: a missing,
/// unreadable or invalid signature, or one by another key, refuses the document.
///
/// # Errors
/// [`InputError`] naming the document and why its signature is not accepted.
pub fn check_signature(
    document: &Path,
    bytes: &[u8],
    signatures: &Signatures,
) -> Result<(), InputError> {
    if signatures.keys.is_empty() {
        return Ok(());
    }
    let origin = document.display().to_string();
    let name = document
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let asc = document.with_file_name(format!("{name}.asc"));
    if !asc.is_file() {
        return Err(InputError::invalid(
            &origin,
            "/",
            format!(
                "no OpenPGP signature {}: trusted keys are given, so every CSAF document must be signed",
                asc.display()
            ),
        ));
    }
    let armored = text(&asc, MAX_SIGNATURE_BYTES)?;
    crate::openpgp::verify_detached(&signatures.keys, bytes, &armored, signatures.now)
        .map(|_| ())
        .map_err(|e| {
            InputError::invalid(
                &origin,
                "/",
                format!(
                    "its OpenPGP signature {} is not accepted: {e}",
                    asc.display()
                ),
            )
        })
}

/// The file under `base` (or its two parents) named by the longest tail of the URL's path.
fn local_copy(base: &Path, url: &str) -> Option<PathBuf> {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.contains(&"..") {
        return None;
    }
    let roots: Vec<&Path> = base.ancestors().take(3).collect();
    for k in (1..=segments.len()).rev() {
        let tail: PathBuf = segments[segments.len() - k..].iter().collect();
        for root in &roots {
            let candidate = root.join(&tail);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Reads OSV records from a file or every `*.json` file under a directory.
///
/// # Errors
/// [`InputError`].
pub fn osv(path: &Path) -> Result<Vec<Advisory>, InputError> {
    let mut out = Vec::new();
    for file in files(path, &["json"])? {
        let body = text(&file, MAX_ADVISORY_BYTES)?;
        out.extend(crate::osv::read(&body, &file.display().to_string())?);
    }
    Ok(out)
}

/// Reads a RustSec advisory database (its `crates/` directory, or any directory of
/// advisory `.md` files) or one advisory file.
///
/// # Errors
/// [`InputError`].
pub fn rustsec(path: &Path) -> Result<Vec<Advisory>, InputError> {
    let root = if path.join("crates").is_dir() {
        path.join("crates")
    } else {
        path.to_owned()
    };
    let mut out = Vec::new();
    for file in files(&root, &["md", "toml"])? {
        let body = text(&file, MAX_ADVISORY_BYTES)?;
        if let Some(advisory) = crate::rustsec::read(&body, &file.display().to_string())? {
            out.push(advisory);
        }
    }
    Ok(out)
}

/// Reads VEX statements: a TOML file of analyst decisions or CycloneDX VEX JSON.
///
/// # Errors
/// [`InputError`].
pub fn vex(path: &Path) -> Result<Vec<crate::vex::Statement>, InputError> {
    crate::vex::read(
        &text(path, MAX_ADVISORY_BYTES)?,
        &path.display().to_string(),
    )
}

/// Advisories and VEX statements read from one directory laid out by source, as a running
/// component keeps them (`DATA/advisories/`, docs/vulnerabilities.md).
#[derive(Debug, Default)]
pub struct Feeds {
    /// Every advisory read.
    pub advisories: Vec<Advisory>,
    /// Every VEX statement read.
    pub statements: Vec<crate::vex::Statement>,
}

/// Reads `root/csaf/` (CSAF documents or a provider's mirror), `root/osv/` (OSV records),
/// `root/rustsec/` (a RustSec database checkout) and `root/vex/` (VEX files: `*.toml`
/// analyst decisions, `*.json` CycloneDX VEX); a missing subdirectory (or `root`) gives
/// nothing from that source. When `root/openpgp/` holds trusted providers' public keys
/// (`*.asc`), every CSAF document must carry a valid signature `DOC.asc` by one of them, as
/// with [`csaf_signed`]; `now` (seconds since 1970) is when their expiry is checked.
///
/// # Errors
/// [`InputError`] for the first file that cannot be read or fails its checks (a CSAF
/// document without a trusted signature among them): a component checked against half its
/// advisories would be reported clean.
pub fn feed_directory(root: &Path, now: u64) -> Result<Feeds, InputError> {
    let mut feeds = Feeds::default();
    let mut signatures = Signatures {
        keys: Vec::new(),
        now,
    };
    let keys_dir = root.join("openpgp");
    if keys_dir.is_dir() {
        for file in files(&keys_dir, &["asc"])? {
            signatures.keys.push(openpgp_key(&file)?);
        }
    }
    let csaf_dir = root.join("csaf");
    if csaf_dir.is_dir() {
        feeds
            .advisories
            .extend(csaf_signed(&csaf_dir, &signatures)?);
    }
    let osv_dir = root.join("osv");
    if osv_dir.is_dir() {
        feeds.advisories.extend(osv(&osv_dir)?);
    }
    let rustsec_dir = root.join("rustsec");
    if rustsec_dir.is_dir() {
        feeds.advisories.extend(rustsec(&rustsec_dir)?);
    }
    let vex_dir = root.join("vex");
    if vex_dir.is_dir() {
        for file in files(&vex_dir, &["toml", "json"])? {
            feeds.statements.extend(vex(&file)?);
        }
    }
    Ok(feeds)
}

/// A CSAF document has a `document` object with a `csaf_version`; a cheap test before
/// parsing, for directories that also hold feeds and metadata.
fn looks_like_csaf(body: &str) -> bool {
    body.contains("\"csaf_version\"")
}

/// `path` itself when it is a file, else the files under it with one of `extensions`,
/// sorted, at most [`MAX_FILES`]; `README.md` and hidden entries are skipped.
fn files(path: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, InputError> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| InputError::List {
            origin: dir.display().to_string(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| InputError::List {
                origin: dir.display().to_string(),
                source,
            })?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.eq_ignore_ascii_case("README.md") {
                continue;
            }
            let file_type = entry.file_type().map_err(|source| InputError::List {
                origin: entry.path().display().to_string(),
                source,
            })?;
            let p = entry.path();
            if file_type.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
            {
                out.push(p);
                if out.len() > MAX_FILES {
                    return Err(InputError::invalid(
                        &path.display().to_string(),
                        "/",
                        format!("more than {MAX_FILES} advisory files"),
                    ));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
