//! Update bundles: the `rampart` binary for one target triple, its SBOM and release notes, and
//! a manifest that names each file with its length and SHA-256, signed by the maker's release
//! key — one file, read as a stream, every length capped before anything is allocated.
//!
//! # Format (version 1)
//! ```text
//! magic            8 bytes  "RMPBNDL1"
//! manifest length  u32 big-endian, at most MANIFEST_MAX
//! manifest         JSON (`Manifest`), kept byte for byte: the signature covers these bytes
//! signature length u16 big-endian, at most SIGNATURE_MAX
//! signature        JSON (`ManifestSignature`): key id and Ed25519 signature, hex
//! files            each file of `manifest.files`, in order, exactly `length` bytes
//! ```
//! Nothing may follow the last file. A reader checks the signature against the release keys it
//! trusts before it reads a single file byte, then hashes each file as it streams it out.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};

use rampart_vault::crypto::Sha256;
use rampart_vault::{DeviceKey, DevicePublicKey, Signature};
use serde::{Deserialize, Serialize};

/// The first bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"RMPBNDL1";
/// The largest manifest accepted (a manifest lists a handful of files).
pub const MANIFEST_MAX: u32 = 64 * 1024;
/// The largest signature record accepted.
pub const SIGNATURE_MAX: u16 = 4 * 1024;
/// The largest file a bundle may carry (the release binary is far below this).
pub const FILE_MAX: u64 = 512 * 1024 * 1024;
/// The most files one bundle may carry.
pub const FILES_MAX: usize = 16;
/// The manifest's `format` value.
pub const FORMAT: &str = "rampart-update-bundle";
/// The manifest's `format_version` this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// What a file of a bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    /// The `rampart` executable the launcher runs.
    Binary,
    /// The software bill of materials (CycloneDX JSON) of that binary.
    Sbom,
    /// Release notes, for the operator.
    ReleaseNotes,
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its name in the slot directory: a plain file name.
    pub name: String,
    /// What it is for.
    pub role: FileRole,
    /// Its exact length in bytes.
    pub length: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// The signed description of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The product, `rampart`.
    pub product: String,
    /// The release's version (semantic versioning).
    pub version: semver::Version,
    /// The monotonic security version: a device never installs a bundle below the security
    /// version of the slot it has committed (anti-rollback).
    pub security_version: u64,
    /// The target triple the binary was built for.
    pub target: String,
    /// When the bundle was built (RFC 3339).
    pub created: jiff::Timestamp,
    /// The files, in the order they follow the signature.
    pub files: Vec<FileEntry>,
}

/// The signature over a manifest's exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSignature {
    /// The signing release key: SHA-256 of its 32 public-key bytes, hex.
    pub keyid: String,
    /// The Ed25519 signature, hex.
    pub sig: String,
}

/// Why a bundle or a slot was refused. Each names what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being read or written.
        context: String,
        /// The cause.
        source: io::Error,
    },
    /// The bytes are not a bundle of a version this code reads.
    #[error("not an update bundle: {0}")]
    NotABundle(String),
    /// The manifest is malformed or contradicts itself.
    #[error("bad manifest: {0}")]
    BadManifest(String),
    /// No trusted release key made the signature.
    #[error("manifest signature: {0}")]
    Signature(String),
    /// A file does not match its manifest entry.
    #[error("file {name}: {reason}")]
    FileMismatch {
        /// The file's name.
        name: String,
        /// What differs.
        reason: String,
    },
}

impl BundleError {
    fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> BundleError {
        let context = context.into();
        move |source| BundleError::Io { context, source }
    }
}

/// A release key's identifier: SHA-256 of its public key bytes, hex.
pub fn key_id(key: DevicePublicKey) -> String {
    rampart_vault::crypto::sha256_hex(key.to_bytes())
}

impl Manifest {
    /// Checks what a manifest must hold whoever signed it: format, version, file names and
    /// limits, one binary.
    ///
    /// # Errors
    /// [`BundleError::BadManifest`] naming the first problem.
    pub fn check(&self) -> Result<(), BundleError> {
        let bad = |m: String| Err(BundleError::BadManifest(m));
        if self.format != FORMAT {
            return bad(format!("format is '{}', expected '{FORMAT}'", self.format));
        }
        if self.format_version != FORMAT_VERSION {
            return bad(format!(
                "format_version {} is not supported (this build reads {FORMAT_VERSION})",
                self.format_version
            ));
        }
        if self.files.is_empty() || self.files.len() > FILES_MAX {
            return bad(format!(
                "{} files: a bundle carries 1 to {FILES_MAX}",
                self.files.len()
            ));
        }
        let mut names = BTreeSet::new();
        for file in &self.files {
            if !is_plain_file_name(&file.name) {
                return bad(format!(
                    "file name '{}' is not a plain file name (letters, digits, '.', '-', '_'; \
                     not starting with '.')",
                    file.name
                ));
            }
            if !names.insert(file.name.as_str()) {
                return bad(format!("file '{}' is listed twice", file.name));
            }
            if file.length > FILE_MAX {
                return bad(format!(
                    "file '{}' is {} bytes, more than the {FILE_MAX} a bundle may carry",
                    file.name, file.length
                ));
            }
            if file.sha256.len() != 64
                || !file
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return bad(format!(
                    "file '{}': sha256 must be 64 lowercase hex digits",
                    file.name
                ));
            }
        }
        let binaries = self
            .files
            .iter()
            .filter(|f| f.role == FileRole::Binary)
            .count();
        if binaries != 1 {
            return bad(format!("{binaries} binaries: a bundle carries exactly one"));
        }
        if reserved_name(&self.files) {
            return bad(format!(
                "a file may not be named '{MANIFEST_FILE}' or '{SIGNATURE_FILE}'"
            ));
        }
        Ok(())
    }

    /// The binary's entry.
    pub fn binary(&self) -> &FileEntry {
        // `check` guarantees exactly one; a manifest is only handed out after `check`.
        self.files
            .iter()
            .find(|f| f.role == FileRole::Binary)
            .unwrap_or(&self.files[0])
    }
}

/// The manifest's name in a slot directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The signature's name in a slot directory.
pub const SIGNATURE_FILE: &str = "manifest.sig.json";

fn reserved_name(files: &[FileEntry]) -> bool {
    files
        .iter()
        .any(|f| f.name == MANIFEST_FILE || f.name == SIGNATURE_FILE)
}

fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A manifest whose signature checked out, with its exact bytes.
#[derive(Clone)]
pub struct VerifiedManifest {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The bytes the signature covers.
    pub bytes: Vec<u8>,
    /// The signature record's bytes.
    pub signature_bytes: Vec<u8>,
    /// The release key that signed it.
    pub keyid: String,
}

impl fmt::Debug for VerifiedManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedManifest")
            .field("version", &self.manifest.version)
            .field("security_version", &self.manifest.security_version)
            .field("keyid", &self.keyid)
            .finish_non_exhaustive()
    }
}

impl VerifiedManifest {
    /// SHA-256 of the manifest's bytes, hex: what the boot state records for a slot.
    pub fn digest(&self) -> String {
        rampart_vault::crypto::sha256_hex(&self.bytes)
    }
}

/// Parses manifest bytes and checks their signature against the trusted release keys.
///
/// # Errors
/// [`BundleError::BadManifest`] or [`BundleError::Signature`].
pub fn verify_manifest(
    manifest_bytes: &[u8],
    signature_bytes: &[u8],
    trusted: &[DevicePublicKey],
) -> Result<VerifiedManifest, BundleError> {
    let signature: ManifestSignature = serde_json::from_slice(signature_bytes)
        .map_err(|e| BundleError::Signature(format!("unreadable signature record: {e}")))?;
    let key = trusted
        .iter()
        .find(|k| key_id(**k) == signature.keyid)
        .ok_or_else(|| {
            BundleError::Signature(format!(
                "signed by key {}, which is not a trusted release key",
                signature.keyid
            ))
        })?;
    let sig = hex::decode(&signature.sig)
        .ok()
        .and_then(|b| Signature::from_slice(&b))
        .ok_or_else(|| BundleError::Signature("signature is not 64 bytes of hex".into()))?;
    if !key.verify_signature(manifest_bytes, &sig) {
        return Err(BundleError::Signature(format!(
            "does not verify under release key {}",
            signature.keyid
        )));
    }
    // Parsed only after the signature holds: unsigned bytes never reach the JSON parser's
    // richer paths (and an attacker cannot probe it through a device).
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| BundleError::BadManifest(format!("{e}")))?;
    manifest.check()?;
    Ok(VerifiedManifest {
        manifest,
        bytes: manifest_bytes.to_vec(),
        signature_bytes: signature_bytes.to_vec(),
        keyid: signature.keyid,
    })
}

/// Signs manifest bytes with a release key.
pub fn sign_manifest(manifest_bytes: &[u8], key: &DeviceKey) -> Vec<u8> {
    let record = ManifestSignature {
        keyid: key_id(key.public_key()),
        sig: hex::encode(key.sign(manifest_bytes)),
    };
    serde_json::to_vec(&record).unwrap_or_default()
}

/// A file to put into a bundle.
pub struct BundleFile<'a> {
    /// Its name in the slot.
    pub name: String,
    /// What it is for.
    pub role: FileRole,
    /// Its content, read twice: once to hash, once to copy.
    pub open: Box<dyn Fn() -> io::Result<Box<dyn Read>> + 'a>,
}

/// What the maker says of a release.
#[derive(Debug, Clone)]
pub struct Release {
    /// The version.
    pub version: semver::Version,
    /// The security version.
    pub security_version: u64,
    /// The target triple.
    pub target: String,
    /// The build time.
    pub created: jiff::Timestamp,
}

/// Writes a bundle: hashes each file, signs the manifest, then streams the files.
///
/// # Errors
/// [`BundleError::Io`] on a read or write failure, [`BundleError::BadManifest`] if the files
/// do not make a valid bundle.
pub fn write_bundle(
    out: &mut dyn Write,
    release: &Release,
    files: &[BundleFile<'_>],
    key: &DeviceKey,
) -> Result<VerifiedManifest, BundleError> {
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let mut reader = (file.open)().map_err(BundleError::io(format!("read {}", file.name)))?;
        let (length, sha256) = hash_stream(&mut reader, FILE_MAX)
            .map_err(BundleError::io(format!("read {}", file.name)))?;
        entries.push(FileEntry {
            name: file.name.clone(),
            role: file.role,
            length,
            sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        product: "rampart".into(),
        version: release.version.clone(),
        security_version: release.security_version,
        target: release.target.clone(),
        created: release.created,
        files: entries,
    };
    manifest.check()?;
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BundleError::BadManifest(e.to_string()))?;
    let signature = sign_manifest(&manifest_bytes, key);
    let io = BundleError::io("write bundle");
    let mut header = || -> io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(
            &u32::try_from(manifest_bytes.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        )?;
        out.write_all(&manifest_bytes)?;
        out.write_all(
            &u16::try_from(signature.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        )?;
        out.write_all(&signature)
    };
    header().map_err(io)?;
    for (file, entry) in files.iter().zip(&manifest.files) {
        let reader = (file.open)().map_err(BundleError::io(format!("read {}", file.name)))?;
        let mut sink = Sink::new(&mut *out);
        copy_exact(reader, &mut sink, entry)?;
    }
    Ok(VerifiedManifest {
        keyid: key_id(key.public_key()),
        bytes: manifest_bytes,
        signature_bytes: signature,
        manifest,
    })
}

/// Length and SHA-256 (hex) of everything `reader` yields, failing past `cap` bytes.
pub(crate) fn hash_stream(reader: &mut dyn Read, cap: u64) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > cap {
            return Err(io::Error::other(format!("larger than {cap} bytes")));
        }
        hasher.update(&buf[..n]);
    }
    Ok((total, hex::encode(hasher.finish())))
}

struct Sink<'a> {
    out: &'a mut dyn Write,
}

impl<'a> Sink<'a> {
    fn new(out: &'a mut dyn Write) -> Sink<'a> {
        Sink { out }
    }
}

/// Copies exactly `entry.length` bytes from `reader` to `out`, hashing them; fails if the
/// reader ends early, has more, or the hash differs.
fn copy_exact(
    mut reader: impl Read,
    out: &mut Sink<'_>,
    entry: &FileEntry,
) -> Result<(), BundleError> {
    let mismatch = |reason: String| BundleError::FileMismatch {
        name: entry.name.clone(),
        reason,
    };
    let mut hasher = Sha256::new();
    let mut remaining = entry.length;
    let mut buf = vec![0u8; 64 * 1024];
    while remaining > 0 {
        let want = usize::try_from(remaining.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = reader
            .read(&mut buf[..want])
            .map_err(BundleError::io(format!("read {}", entry.name)))?;
        if n == 0 {
            return Err(mismatch(format!(
                "ends {remaining} bytes short of its length {}",
                entry.length
            )));
        }
        hasher.update(&buf[..n]);
        out.out
            .write_all(&buf[..n])
            .map_err(BundleError::io(format!("write {}", entry.name)))?;
        remaining -= n as u64;
    }
    let actual = hex::encode(hasher.finish());
    if !rampart_vault::crypto::ct_eq(actual.as_bytes(), entry.sha256.as_bytes()) {
        return Err(mismatch(format!(
            "SHA-256 is {actual}, the manifest says {}",
            entry.sha256
        )));
    }
    Ok(())
}

/// Reads a bundle's header: magic, manifest and signature, verified against `trusted`. The
/// reader is left at the first file.
///
/// # Errors
/// [`BundleError::NotABundle`] for a bad magic or lengths over the caps, else as
/// [`verify_manifest`].
pub fn read_header(
    reader: &mut dyn Read,
    trusted: &[DevicePublicKey],
) -> Result<VerifiedManifest, BundleError> {
    let (manifest_bytes, signature_bytes) = read_header_unverified(reader)?;
    verify_manifest(&manifest_bytes, &signature_bytes, trusted)
}

/// Reads the header's raw parts without checking the signature (for fuzzing and `inspect`).
///
/// # Errors
/// [`BundleError::NotABundle`] naming what is wrong.
pub fn read_header_unverified(reader: &mut dyn Read) -> Result<(Vec<u8>, Vec<u8>), BundleError> {
    let short = |what: &str| {
        let what = what.to_owned();
        move |e: io::Error| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                BundleError::NotABundle(format!("ends inside the {what}"))
            } else {
                BundleError::Io {
                    context: format!("read the bundle's {what}"),
                    source: e,
                }
            }
        }
    };
    let mut magic = [0u8; 8];
    reader.read_exact(&mut magic).map_err(short("magic"))?;
    if &magic != MAGIC {
        return Err(BundleError::NotABundle(
            "the first 8 bytes are not 'RMPBNDL1'".into(),
        ));
    }
    let mut len4 = [0u8; 4];
    reader
        .read_exact(&mut len4)
        .map_err(short("manifest length"))?;
    let manifest_len = u32::from_be_bytes(len4);
    if manifest_len == 0 || manifest_len > MANIFEST_MAX {
        return Err(BundleError::NotABundle(format!(
            "manifest length {manifest_len} is outside 1..={MANIFEST_MAX}"
        )));
    }
    let mut manifest = vec![0u8; manifest_len as usize];
    reader
        .read_exact(&mut manifest)
        .map_err(short("manifest"))?;
    let mut len2 = [0u8; 2];
    reader
        .read_exact(&mut len2)
        .map_err(short("signature length"))?;
    let signature_len = u16::from_be_bytes(len2);
    if signature_len == 0 || signature_len > SIGNATURE_MAX {
        return Err(BundleError::NotABundle(format!(
            "signature length {signature_len} is outside 1..={SIGNATURE_MAX}"
        )));
    }
    let mut signature = vec![0u8; usize::from(signature_len)];
    reader
        .read_exact(&mut signature)
        .map_err(short("signature"))?;
    Ok((manifest, signature))
}

/// Streams the files that follow a verified header, each through `open` (which returns the
/// writer for a file name), checking length and hash; fails if anything follows the last file.
/// A file whose hash fails has been written in part: the caller writes into a staging place
/// and discards it on error.
///
/// # Errors
/// [`BundleError::FileMismatch`] or [`BundleError::Io`].
pub fn read_files(
    reader: &mut dyn Read,
    manifest: &Manifest,
    open: &mut dyn FnMut(&FileEntry) -> io::Result<Box<dyn Write>>,
) -> Result<(), BundleError> {
    for entry in &manifest.files {
        let mut writer = open(entry).map_err(BundleError::io(format!("create {}", entry.name)))?;
        let mut sink = Sink::new(&mut writer);
        copy_exact(&mut *reader, &mut sink, entry)?;
        writer
            .flush()
            .map_err(BundleError::io(format!("write {}", entry.name)))?;
    }
    let mut extra = [0u8; 1];
    match reader.read(&mut extra) {
        Ok(0) => Ok(()),
        Ok(_) => Err(BundleError::NotABundle(
            "bytes follow the last file of the manifest".into(),
        )),
        Err(e) => Err(BundleError::Io {
            context: "read the bundle's end".into(),
            source: e,
        }),
    }
}

/// Reads a whole bundle without keeping its files: verifies signature, lengths and hashes.
///
/// # Errors
/// As [`read_header`] and [`read_files`].
pub fn verify_bundle(
    reader: &mut dyn Read,
    trusted: &[DevicePublicKey],
) -> Result<VerifiedManifest, BundleError> {
    let verified = read_header(reader, trusted)?;
    read_files(reader, &verified.manifest, &mut |_| {
        Ok(Box::new(io::sink()))
    })?;
    Ok(verified)
}

#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
pub(crate) mod tests;
