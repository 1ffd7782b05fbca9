//! Start-up and run-time integrity (CR 3.4 RE 1 and RE 2, CR 3.14 / NDR 3.14): a manifest of
//! what the component starts from — its binary, configuration, policy and PKI trust anchors —
//! signed with the device key, re-measured before any listener opens and again at run time,
//! and a measurement event log a verifier can replay.
//!
//! - [`Target`]: what is measured (a file, a directory's member list, or an optional file).
//! - [`measure`]: one [`Measurement`] per target — kind, length, SHA-256 — never following a
//!   symlink (a symlink is measured as one, and so is a finding).
//! - [`Manifest::seal`] / [`SignedManifest::to_bytes`]: the signed manifest
//!   (`DATA/integrity/manifest.json`); [`SignedManifest::parse`] reads one with every length
//!   capped.
//! - [`check`]: the verdict — signature, sequence against the audited floor (an older signed
//!   manifest is a rollback), slot name, and every entry re-measured — as a list of
//!   [`Finding`]s, empty when everything matches.
//! - [`MeasurementLog`]: the TCG-style event log (`DATA/integrity/measurements.log`), each line
//!   extending a running digest `H(prev || H(event))`, rotated at a bounded size, and
//!   [`replay`] that checks it.

#[doc(hidden)]
pub mod fuzzing;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use rampart_vault::crypto::Sha256;
use rampart_vault::{DevicePublicKey, DeviceSigningKey};
use serde::{Deserialize, Serialize};

/// The manifest's `format`.
pub const MANIFEST_FORMAT: &str = "rampart-integrity-manifest";
/// The largest manifest read, in bytes.
pub const MANIFEST_MAX: u64 = 1024 * 1024;
/// The most entries a manifest may hold.
pub const ENTRIES_MAX: usize = 1024;
/// The most members a measured directory may hold.
pub const MEMBERS_MAX: usize = 4096;
/// The log is rotated (to `measurements.log.1`) once it grows beyond this many bytes.
pub const LOG_MAX: u64 = 1024 * 1024;
/// The longest log line read, in bytes.
pub const LOG_LINE_MAX: usize = 4096;
/// The largest file measured, in bytes (a binary, a policy): bounds the time of a check.
pub const FILE_MAX: u64 = 1024 * 1024 * 1024;

/// Errors of sealing, reading and logging (not findings: a finding is a verdict).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The manifest cannot be read as one.
    #[error("integrity manifest {what}: {reason}")]
    BadManifest {
        /// Where.
        what: String,
        /// Why.
        reason: String,
    },
    /// A file cannot be sealed as it is (a symlink, not a regular file, unreadable).
    #[error("cannot seal {name} ({path}): {reason}")]
    Unsealable {
        /// The entry's logical name.
        name: String,
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The measurement log cannot be read, written or replayed.
    #[error("measurement log {path}: {reason}")]
    Log {
        /// The log file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing through the vault failed.
    #[error(transparent)]
    Vault(#[from] rampart_vault::VaultError),
}

/// What a target is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A regular file that must exist.
    File,
    /// A regular file that may be absent (then its absence is sealed, and its appearance is a
    /// finding).
    OptionalFile,
    /// A directory: its member names are measured (a file added or removed is a finding).
    Directory,
}

/// One thing the component trusts at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Logical name, e.g. `binary`, `policy`, `trust-anchor:ca.crt`.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// What it must be.
    pub expect: Expect,
}

impl Target {
    /// A target.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>, expect: Expect) -> Target {
        Target {
            name: name.into(),
            path: path.into(),
            expect,
        }
    }
}

/// What was found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory (length = member count, SHA-256 over the sorted member names).
    Directory,
    /// Nothing.
    Absent,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else (a device, a FIFO, a socket).
    Other,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::File => "regular file",
            Kind::Directory => "directory",
            Kind::Absent => "absent",
            Kind::Symlink => "symlink",
            Kind::Other => "not a regular file",
        })
    }
}

/// One measured entry, as the manifest and the log record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// Logical name.
    pub name: String,
    /// The path measured.
    pub path: String,
    /// What was there.
    pub kind: Kind,
    /// Bytes (files) or members (directories); 0 otherwise.
    pub length: u64,
    /// SHA-256, hex: of the content (files), of the sorted member names each followed by a
    /// newline (directories); empty otherwise.
    pub sha256: String,
    /// A directory's member names, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// Measures every target, in order. Never follows a symlink; an unreadable target is
/// measured as [`Kind::Other`] with the reason in `sha256`'s place left empty.
pub fn measure(targets: &[Target]) -> Vec<Measurement> {
    targets.iter().map(measure_one).collect()
}

fn measure_one(target: &Target) -> Measurement {
    let mut m = Measurement {
        name: target.name.clone(),
        path: target.path.display().to_string(),
        kind: Kind::Absent,
        length: 0,
        sha256: String::new(),
        members: Vec::new(),
    };
    let meta = match fs::symlink_metadata(&target.path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return m,
        Err(_) => {
            m.kind = Kind::Other;
            return m;
        }
        Ok(meta) => meta,
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        m.kind = Kind::Symlink;
    } else if kind.is_dir() {
        match dir_members(&target.path) {
            Ok(members) => {
                m.kind = Kind::Directory;
                m.length = members.len() as u64;
                let mut hasher = Sha256::new();
                for name in &members {
                    hasher.update(name.as_bytes());
                    hasher.update(b"\n");
                }
                m.sha256 = hex::encode(hasher.finish());
                m.members = members;
            }
            Err(_) => m.kind = Kind::Other,
        }
    } else if kind.is_file() {
        match hash_regular(&target.path, &meta) {
            Ok((length, sha256)) => {
                m.kind = Kind::File;
                m.length = length;
                m.sha256 = sha256;
            }
            Err(_) => m.kind = Kind::Other,
        }
    } else {
        m.kind = Kind::Other;
    }
    m
}

fn dir_members(path: &Path) -> io::Result<Vec<String>> {
    let mut members = Vec::new();
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        if members.len() >= MEMBERS_MAX {
            return Err(io::Error::other("too many members"));
        }
        members.push(entry.file_name().to_string_lossy().into_owned());
    }
    members.sort();
    Ok(members)
}

/// Hashes a regular file opened without following a symlink swapped in after `before`.
fn hash_regular(path: &Path, before: &fs::Metadata) -> io::Result<(u64, String)> {
    let file = File::open(path)?;
    let after = file.metadata()?;
    if after.dev() != before.dev() || after.ino() != before.ino() || !after.is_file() {
        return Err(io::Error::other("replaced while being opened"));
    }
    let mut reader = file.take(FILE_MAX + 1);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    if total > FILE_MAX {
        return Err(io::Error::other("too large to measure"));
    }
    Ok((total, hex::encode(hasher.finish())))
}

/// The signed part of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Always 1.
    pub format_version: u32,
    /// Monotonic: each seal takes the next number; never below the audited floor.
    pub sequence: u64,
    /// The A/B slot the component ran from when sealed (`RAMPART_SLOT`), if any.
    pub slot: Option<String>,
    /// When it was sealed (RFC 3339).
    pub created: jiff::Timestamp,
    /// The device's public key (hex) that signs it.
    pub device_key: String,
    /// Every measured entry.
    pub entries: Vec<Measurement>,
}

/// A manifest and its Ed25519 signature (by the device key) over [`Manifest::signed_bytes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedManifest {
    /// The signed content.
    pub signed: Manifest,
    /// The signature, hex.
    pub signature: String,
}

impl Manifest {
    /// Seals measurements: refuses a symlink or anything but a regular file, a directory, or
    /// the absence of an optional file, since what is sealed must be what a check accepts.
    ///
    /// # Errors
    /// [`IntegrityError::Unsealable`] naming the entry; [`IntegrityError::Vault`] if a
    /// TPM-held device key cannot sign.
    pub fn seal(
        targets: &[Target],
        measured: Vec<Measurement>,
        sequence: u64,
        slot: Option<String>,
        created: jiff::Timestamp,
        key: &DeviceSigningKey,
    ) -> Result<SignedManifest, IntegrityError> {
        for (target, m) in targets.iter().zip(&measured) {
            let ok = matches!(
                (target.expect, m.kind),
                (Expect::File | Expect::OptionalFile, Kind::File)
                    | (Expect::OptionalFile, Kind::Absent)
                    | (Expect::Directory, Kind::Directory)
            );
            if !ok {
                return Err(IntegrityError::Unsealable {
                    name: m.name.clone(),
                    path: m.path.clone(),
                    reason: format!("it is {} (expected {:?})", m.kind, target.expect),
                });
            }
        }
        let signed = Manifest {
            format: MANIFEST_FORMAT.into(),
            format_version: 1,
            sequence,
            slot,
            created,
            device_key: key.public_key().to_hex(),
            entries: measured,
        };
        let signature = hex::encode(key.sign(&signed.signed_bytes()?)?);
        Ok(SignedManifest { signed, signature })
    }

    /// The bytes the signature covers: the manifest's JSON (fields in declaration order).
    ///
    /// # Errors
    /// [`IntegrityError::BadManifest`] if it cannot be serialised.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, IntegrityError> {
        let mut bytes = b"rampart-integrity-manifest-v1\0".to_vec();
        serde_json::to_writer(&mut bytes, self).map_err(|e| IntegrityError::BadManifest {
            what: "(serialising)".into(),
            reason: e.to_string(),
        })?;
        Ok(bytes)
    }

    /// The SHA-256 (hex) of the signed bytes: names this manifest in the audit trail.
    ///
    /// # Errors
    /// As [`Manifest::signed_bytes`].
    pub fn digest(&self) -> Result<String, IntegrityError> {
        Ok(rampart_vault::crypto::sha256_hex(self.signed_bytes()?))
    }
}

impl SignedManifest {
    /// Parses a manifest file's bytes (at most [`MANIFEST_MAX`]); `what` names it in errors.
    /// Does not verify the signature ([`check`] does).
    ///
    /// # Errors
    /// [`IntegrityError::BadManifest`] naming what is wrong.
    pub fn parse(bytes: &[u8], what: &str) -> Result<SignedManifest, IntegrityError> {
        let bad = |reason: String| IntegrityError::BadManifest {
            what: what.to_owned(),
            reason,
        };
        if bytes.len() as u64 > MANIFEST_MAX {
            return Err(bad(format!("larger than {MANIFEST_MAX} bytes")));
        }
        let manifest: SignedManifest =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let signed = &manifest.signed;
        if signed.format != MANIFEST_FORMAT || signed.format_version != 1 {
            return Err(bad(format!(
                "format {} version {} (expected {MANIFEST_FORMAT} version 1)",
                signed.format, signed.format_version
            )));
        }
        if signed.entries.len() > ENTRIES_MAX {
            return Err(bad(format!("more than {ENTRIES_MAX} entries")));
        }
        if let Some(e) = signed
            .entries
            .iter()
            .find(|e| e.members.len() > MEMBERS_MAX)
        {
            return Err(bad(format!("{}: more than {MEMBERS_MAX} members", e.name)));
        }
        let mut names: Vec<&str> = signed.entries.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        if let Some(twice) = names.windows(2).find_map(|w| {
            if let [a, b] = w {
                (a == b).then_some(*a)
            } else {
                None
            }
        }) {
            return Err(bad(format!("entry {twice} twice")));
        }
        if signature_bytes(&manifest.signature).is_none() {
            return Err(bad("the signature is not 64 bytes of hex".into()));
        }
        Ok(manifest)
    }

    /// Reads and parses the manifest at `path`; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// [`IntegrityError::BadManifest`] for an unreadable, oversized or malformed file.
    pub fn read(path: &Path) -> Result<Option<SignedManifest>, IntegrityError> {
        match rampart_vault::read_capped(path, MANIFEST_MAX) {
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(IntegrityError::BadManifest {
                what: path.display().to_string(),
                reason: e.to_string(),
            }),
            Ok(bytes) => SignedManifest::parse(&bytes, &path.display().to_string()).map(Some),
        }
    }

    /// The file's bytes (pretty JSON, newline-terminated).
    ///
    /// # Errors
    /// [`IntegrityError::BadManifest`] if it cannot be serialised.
    pub fn to_bytes(&self) -> Result<Vec<u8>, IntegrityError> {
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|e| IntegrityError::BadManifest {
                what: "(serialising)".into(),
                reason: e.to_string(),
            })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Writes it atomically (temporary file, fsync, rename), mode 0600.
    ///
    /// # Errors
    /// [`IntegrityError`] for I/O.
    pub fn write(&self, path: &Path) -> Result<(), IntegrityError> {
        rampart_vault::write_atomic(path, &self.to_bytes()?, 0o600)?;
        Ok(())
    }

    /// Whether the signature verifies with `key`.
    pub fn signature_verifies(&self, key: DevicePublicKey) -> bool {
        let Some(signature) = signature_bytes(&self.signature) else {
            return false;
        };
        match self.signed.signed_bytes() {
            Ok(bytes) => key.verify(&bytes, &signature),
            Err(_) => false,
        }
    }
}

fn signature_bytes(text: &str) -> Option<[u8; 64]> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

/// One reason a check fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Finding {
    /// The signature does not verify with the device key (another key, or edited).
    Signature {
        /// What was expected.
        detail: String,
    },
    /// The manifest is older than the newest one sealed (a replayed manifest).
    Rollback {
        /// Its sequence number.
        sequence: u64,
        /// The newest sequence the audit trail records.
        floor: u64,
    },
    /// The slot the component runs from is not the one sealed.
    Slot {
        /// Sealed.
        sealed: Option<String>,
        /// Now (`RAMPART_SLOT`).
        running: Option<String>,
    },
    /// A measured entry is not what was sealed.
    Changed {
        /// Logical name.
        name: String,
        /// Path.
        path: String,
        /// What differs.
        detail: String,
    },
    /// The set of things measured is not the sealed set (e.g. another configuration file).
    Entries {
        /// What differs.
        detail: String,
    },
}

impl Finding {
    /// The file or entry it names, for alerts.
    pub fn subject(&self) -> String {
        match self {
            Finding::Signature { .. } | Finding::Rollback { .. } => "manifest".into(),
            Finding::Slot { .. } => "slot".into(),
            Finding::Changed { path, .. } => path.clone(),
            Finding::Entries { .. } => "entries".into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Signature { detail } => write!(f, "manifest signature: {detail}"),
            Finding::Rollback { sequence, floor } => write!(
                f,
                "manifest sequence {sequence} is older than the newest sealed ({floor}): an \
                 older signed manifest was put back (rollback)"
            ),
            Finding::Slot { sealed, running } => write!(
                f,
                "sealed for slot {} but running from slot {}",
                sealed.as_deref().unwrap_or("(none)"),
                running.as_deref().unwrap_or("(none)")
            ),
            Finding::Changed { name, path, detail } => write!(f, "{name} ({path}): {detail}"),
            Finding::Entries { detail } => write!(f, "measured entries: {detail}"),
        }
    }
}

/// What a check is given besides the manifest.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The device's public key.
    pub key: DevicePublicKey,
    /// The newest sealed sequence the (signed, hash-chained) audit trail records, if any.
    pub floor: Option<u64>,
    /// The slot running now (`RAMPART_SLOT`), if any.
    pub slot: Option<&'a str>,
}

/// Checks a manifest against fresh measurements: signature, sequence, slot, then every
/// entry (kind, length, SHA-256, directory members). Returns every finding, empty when the
/// component is as sealed.
pub fn check(
    manifest: &SignedManifest,
    expected: &Expected<'_>,
    measured: &[Measurement],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let signed = &manifest.signed;
    let key_hex = expected.key.to_hex();
    if !rampart_vault::crypto::ct_eq(signed.device_key.as_bytes(), key_hex.as_bytes()) {
        findings.push(Finding::Signature {
            detail: format!(
                "signed by key {}, not by this device's key {key_hex}",
                signed.device_key
            ),
        });
    } else if !manifest.signature_verifies(expected.key) {
        findings.push(Finding::Signature {
            detail: "does not verify with this device's key (the manifest was edited)".into(),
        });
    }
    if let Some(floor) = expected.floor
        && signed.sequence < floor
    {
        findings.push(Finding::Rollback {
            sequence: signed.sequence,
            floor,
        });
    }
    if signed.slot.as_deref() != expected.slot {
        findings.push(Finding::Slot {
            sealed: signed.slot.clone(),
            running: expected.slot.map(str::to_owned),
        });
    }
    let sealed_names: Vec<&str> = signed.entries.iter().map(|e| e.name.as_str()).collect();
    let now_names: Vec<&str> = measured.iter().map(|e| e.name.as_str()).collect();
    let missing: Vec<&&str> = sealed_names
        .iter()
        .filter(|n| !now_names.contains(n))
        .collect();
    let extra: Vec<&&str> = now_names
        .iter()
        .filter(|n| !sealed_names.contains(n))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        findings.push(Finding::Entries {
            detail: format!("sealed but not measured now: {missing:?}; measured now but not sealed: {extra:?} (a different configuration, policy file or slot)"),
        });
    }
    for now in measured {
        let Some(sealed) = signed.entries.iter().find(|e| e.name == now.name) else {
            continue;
        };
        if let Some(detail) = compare(sealed, now) {
            findings.push(Finding::Changed {
                name: now.name.clone(),
                path: now.path.clone(),
                detail,
            });
        }
    }
    findings
}

fn compare(sealed: &Measurement, now: &Measurement) -> Option<String> {
    if sealed.path != now.path {
        return Some(format!("sealed at {}, now at {}", sealed.path, now.path));
    }
    if sealed.kind != now.kind {
        return Some(format!("was a {}, is now {}", sealed.kind, now.kind));
    }
    match now.kind {
        Kind::File => {
            if now.length < sealed.length {
                Some(format!(
                    "truncated: {} bytes, sealed with {}",
                    now.length, sealed.length
                ))
            } else if now.length != sealed.length
                || !rampart_vault::crypto::ct_eq(now.sha256.as_bytes(), sealed.sha256.as_bytes())
            {
                Some(format!(
                    "content changed: {} bytes SHA-256 {}, sealed {} bytes SHA-256 {}",
                    now.length, now.sha256, sealed.length, sealed.sha256
                ))
            } else {
                None
            }
        }
        Kind::Directory => {
            let added: Vec<&String> = now
                .members
                .iter()
                .filter(|m| !sealed.members.contains(m))
                .collect();
            let removed: Vec<&String> = sealed
                .members
                .iter()
                .filter(|m| !now.members.contains(m))
                .collect();
            if added.is_empty()
                && removed.is_empty()
                && rampart_vault::crypto::ct_eq(now.sha256.as_bytes(), sealed.sha256.as_bytes())
            {
                None
            } else {
                Some(format!(
                    "files added: {added:?}; files removed: {removed:?}"
                ))
            }
        }
        Kind::Absent => None,
        Kind::Symlink | Kind::Other => Some(format!("is a {} (never trusted)", now.kind)),
    }
}

/// One line of the measurement log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    /// 0 for the first measurement ever logged, then consecutive (across rotations).
    pub index: u64,
    /// Why it was measured: `seal`, `start`, `recheck`, `verify`.
    pub reason: String,
    /// The entry's logical name.
    pub name: String,
    /// What was found there (`kind`).
    pub kind: Kind,
    /// Its SHA-256 (hex; empty when not a regular file or directory).
    pub sha256: String,
    /// The running digest before this line (hex).
    pub prev: String,
    /// `SHA-256(prev || SHA-256(event))`, the event being `index NUL reason NUL name NUL kind
    /// NUL sha256` (hex).
    pub running: String,
}

impl LogLine {
    fn event_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.index.to_string().as_bytes());
        h.update(b"\0");
        h.update(self.reason.as_bytes());
        h.update(b"\0");
        h.update(self.name.as_bytes());
        h.update(b"\0");
        h.update(
            serde_json::to_string(&self.kind)
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update(b"\0");
        h.update(self.sha256.as_bytes());
        h.finish()
    }

    fn expected_running(&self) -> Option<String> {
        let prev = hex::decode(&self.prev).ok()?;
        if prev.len() != 32 {
            return None;
        }
        let mut h = Sha256::new();
        h.update(&prev);
        h.update(self.event_digest());
        Some(hex::encode(h.finish()))
    }

    /// Parses one line (at most [`LOG_LINE_MAX`] bytes).
    ///
    /// # Errors
    /// The reason, as text.
    pub fn parse(line: &str) -> Result<LogLine, String> {
        if line.len() > LOG_LINE_MAX {
            return Err(format!("longer than {LOG_LINE_MAX} bytes"));
        }
        serde_json::from_str(line).map_err(|e| e.to_string())
    }
}

/// The all-zero digest a log starts from.
pub const LOG_START: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The measurement event log: `DIR/measurements.log`, rotated to `measurements.log.1`.
#[derive(Debug, Clone)]
pub struct MeasurementLog {
    path: PathBuf,
}

impl MeasurementLog {
    /// The log at `path`.
    pub fn new(path: impl Into<PathBuf>) -> MeasurementLog {
        MeasurementLog { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn rotated(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".1");
        PathBuf::from(name)
    }

    /// The last line of the log (or, when the log was just rotated, of the rotated file).
    fn last(&self) -> Result<Option<LogLine>, IntegrityError> {
        for path in [self.path.clone(), self.rotated()] {
            let lines = read_lines(&path)?;
            if let Some(last) = lines.last() {
                return LogLine::parse(last)
                    .map(Some)
                    .map_err(|reason| IntegrityError::Log {
                        path: path.clone(),
                        reason: format!("last line: {reason}"),
                    });
            }
        }
        Ok(None)
    }

    /// Appends one line per measurement, extending the running digest, and fsyncs; rotates
    /// first when the log is over [`LOG_MAX`]. Returns the running digest after the last.
    ///
    /// # Errors
    /// [`IntegrityError::Log`] for I/O or a log whose last line cannot be read.
    pub fn append(&self, reason: &str, measured: &[Measurement]) -> Result<String, IntegrityError> {
        let io_err = |e: io::Error| IntegrityError::Log {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        let parent = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs::create_dir_all(parent).map_err(io_err)?;
        // One writer at a time (the running gateway and `rampart integrity seal`): an
        // exclusive lock on the log's directory, held over rotation, reading the last line
        // and appending.
        let dir_lock = File::open(parent).map_err(io_err)?;
        dir_lock.lock().map_err(io_err)?;
        if fs::metadata(&self.path).is_ok_and(|m| m.len() > LOG_MAX) {
            fs::rename(&self.path, self.rotated()).map_err(io_err)?;
        }
        let (mut index, mut prev) = match self.last()? {
            Some(line) => (line.index + 1, line.running),
            None => (0, LOG_START.to_owned()),
        };
        let mut text = String::new();
        for m in measured {
            let mut line = LogLine {
                index,
                reason: reason.to_owned(),
                name: m.name.clone(),
                kind: m.kind,
                sha256: m.sha256.clone(),
                prev: prev.clone(),
                running: String::new(),
            };
            line.running = line.expected_running().unwrap_or_default();
            prev.clone_from(&line.running);
            index += 1;
            text.push_str(
                &serde_json::to_string(&line).map_err(|e| IntegrityError::Log {
                    path: self.path.clone(),
                    reason: e.to_string(),
                })?,
            );
            text.push('\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err)?;
        file.write_all(text.as_bytes()).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        drop(dir_lock);
        Ok(prev)
    }
}

fn read_lines(path: &Path) -> Result<Vec<String>, IntegrityError> {
    match rampart_vault::read_capped_text(path, LOG_MAX * 2) {
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(IntegrityError::Log {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        Ok(text) => Ok(text.lines().map(str::to_owned).collect()),
    }
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Lines replayed.
    pub lines: Vec<LogLine>,
    /// The running digest after the last line.
    pub running: String,
}

/// Replays a log's text: every line parses, indexes are consecutive, each line's `prev` is
/// the previous line's `running` (the first line's is [`LOG_START`] when its index is 0), and
/// each `running` is `H(prev || H(event))`.
///
/// # Errors
/// The first line that fails, with its number (1-based) and why.
pub fn replay(text: &str) -> Result<Replay, String> {
    let mut lines = Vec::new();
    let mut running: Option<String> = None;
    let mut index: Option<u64> = None;
    for (n, raw) in text.lines().enumerate() {
        let at = n + 1;
        let line = LogLine::parse(raw).map_err(|e| format!("line {at}: {e}"))?;
        if let Some(i) = index
            && line.index != i + 1
        {
            return Err(format!(
                "line {at}: index {} follows {i} (a line was removed or inserted)",
                line.index
            ));
        }
        let expected_prev = match &running {
            Some(r) => Some(r.as_str()),
            None if line.index == 0 => Some(LOG_START),
            None => None,
        };
        if let Some(prev) = expected_prev
            && line.prev != prev
        {
            return Err(format!(
                "line {at}: prev {} is not the running digest before it ({prev})",
                line.prev
            ));
        }
        match line.expected_running() {
            Some(r) if r == line.running => {}
            _ => {
                return Err(format!(
                    "line {at}: running digest {} is not H(prev || H(event)) (the line was edited)",
                    line.running
                ));
            }
        }
        index = Some(line.index);
        running = Some(line.running.clone());
        lines.push(line);
    }
    Ok(Replay {
        lines,
        running: running.unwrap_or_else(|| LOG_START.to_owned()),
    })
}

#[cfg(test)]
mod tests;
