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

/// Reads a CSAF document, or every `*.json` file under a directory (recursively, sorted;
/// `provider-metadata.json`, ROLIE feeds and other non-CSAF JSON files — those without a
/// `document` member — are skipped).
///
/// # Errors
/// [`InputError`] for the first file that cannot be read or fails the checks.
pub fn csaf(path: &Path) -> Result<Vec<Advisory>, InputError> {
    let mut out = Vec::new();
    for file in files(path, &["json"])? {
        let body = text(&file, MAX_ADVISORY_BYTES)?;
        let origin = file.display().to_string();
        if path.is_dir() && !looks_like_csaf(&body) {
            continue;
        }
        out.push(crate::csaf::read(&body, &origin)?);
    }
    Ok(out)
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
