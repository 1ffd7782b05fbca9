//! A TUF 1.0 client (The Update Framework, specification 1.0.x, section 5 "Detailed client
//! workflow"), written for Rampart.
//!
//! Why not `tough`'s client: it re-serializes metadata into its datastore and writes the
//! files in place, non-atomically. Rampart needs the trusted metadata kept **byte for byte as
//! served** (the conformance suite and an auditor compare it with the repository) and every
//! write **atomic** (a power cut during a refresh must leave the old trusted file or the new
//! one, never a mix). The maker's side still uses `tough`'s editor.
//!
//! # What is verified
//! - **Root** (5.3): the trusted root is the one in the metadata directory. Newer roots are
//!   fetched one version at a time (`N+1.root.json`, at most [`MAX_ROOT_ROTATIONS`]), each
//!   signed by a threshold of the old root's root keys **and** of its own, with version
//!   exactly N+1; a 404 ends the rotation. The final root must not be expired. When the
//!   timestamp or snapshot keys change, the trusted timestamp and snapshot are deleted
//!   (fast-forward attack recovery).
//! - **Timestamp** (5.4): at most [`DEFAULT_TIMESTAMP_MAX`] bytes; threshold of the root's
//!   timestamp keys; a version below the trusted one is a rollback, an equal version keeps
//!   the trusted file (not rewritten); the snapshot version it names never decreases; not
//!   expired.
//! - **Snapshot** (5.5): length and hashes as the timestamp gives them; threshold; version
//!   exactly the timestamp's; no role listed by the trusted snapshot disappears or goes back
//!   in version; not expired. `VERSION.snapshot.json` when the root sets `consistent_snapshot`.
//! - **Targets** (5.6) and **delegated targets** (5.7): length and hashes as the snapshot
//!   gives them; threshold of the delegating role's keys; version exactly the snapshot's; not
//!   expired. Target search is pre-order depth-first over the delegations whose `paths` or
//!   `path_hash_prefixes` (or succinct hash bins, TAP 15) match, honouring `terminating`,
//!   with a visited set and at most [`MAX_DELEGATIONS`] roles.
//! - **Target files**: read up to their declared length (one byte more fails), every
//!   declared hash this client knows (sha256, sha512) must match, and a target declaring only
//!   unknown algorithms is refused. With consistent snapshots, files are fetched as
//!   `DIR/HASH.NAME`.
//! - **Signatures** cover the OLPC canonical JSON of `signed`; keys `ed25519`/`ed25519`,
//!   `ecdsa` or `ecdsa-sha2-nistp256`/`ecdsa-sha2-nistp256` and `rsa`/`rsassa-pss-sha256`
//!   (verified through `rampart_vault::crypto::signature`); a key counts once, only if the
//!   role lists it; keys of other types are ignored (they only fail the threshold).
//! - **Time**: expiry against a [`rampart_clock::Clock`], read once at the start of a
//!   refresh.
//!
//! # Storage
//! Metadata is written to the metadata directory only after it is verified, atomically
//! (temporary file, fsync, rename, fsync of the directory), byte for byte as fetched, under
//! `root.json`, `timestamp.json`, `snapshot.json`, `targets.json` and `ROLE.json` for
//! delegated roles with the name percent-encoded ([`encode_name`]). Temporary files never end
//! in `.json`; leftovers of a crash are removed when the directory is loaded.

mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod metadata;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rampart_clock::Clock;
use rampart_vault::crypto::signature::Sha512;

pub use error::TufError;
use metadata::{Envelope, MetaFile, MetaList, RoleKeys, Root, TargetFile, Targets};

use crate::fetch::{FetchError, Fetcher};

/// Bytes accepted for a root file.
pub const DEFAULT_ROOT_MAX: u64 = 512 * 1024;
/// Bytes accepted for `timestamp.json`.
pub const DEFAULT_TIMESTAMP_MAX: u64 = 16 * 1024;
/// Bytes accepted for `snapshot.json` when the timestamp gives no length.
pub const DEFAULT_SNAPSHOT_MAX: u64 = 2 * 1024 * 1024;
/// Bytes accepted for a targets role when the snapshot gives no length.
pub const DEFAULT_TARGETS_MAX: u64 = 5 * 1024 * 1024;
/// Root versions followed in one refresh.
pub const MAX_ROOT_ROTATIONS: u64 = 32;
/// Targets roles visited in one target search.
pub const MAX_DELEGATIONS: usize = 32;

/// A target as its targets role describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    /// Length in bytes.
    pub length: u64,
    /// Hashes, algorithm → lower-case hex.
    pub hashes: BTreeMap<String, String>,
    /// The role's `custom` object.
    pub custom: Option<serde_json::Value>,
}

/// Version and expiry of a trusted role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStatus {
    /// The version.
    pub version: u64,
    /// The expiry, as written in the metadata.
    pub expires: String,
}

/// The trusted top-level metadata, for status displays and audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedVersions {
    /// The trusted root.
    pub root: RoleStatus,
    /// The trusted timestamp, if any.
    pub timestamp: Option<RoleStatus>,
    /// The trusted snapshot, if any.
    pub snapshot: Option<RoleStatus>,
    /// The trusted targets, if any.
    pub targets: Option<RoleStatus>,
}

/// Verified metadata: the envelope as received and its parsed `signed`.
#[derive(Debug, Clone)]
struct Trusted<T> {
    envelope: Envelope,
    signed: T,
}

/// A TUF repository as seen from a client: the trusted metadata in a directory, and where to
/// fetch newer metadata and targets.
///
/// Blocking; see [`crate::fetch`] for calling it from async code.
pub struct Repository<F: Fetcher> {
    dir: PathBuf,
    metadata_url: String,
    target_url: String,
    fetcher: F,
    clock: Arc<dyn Clock>,
    root: Trusted<Root>,
    timestamp: Option<Trusted<MetaList>>,
    snapshot: Option<Trusted<MetaList>>,
    targets: Option<Trusted<Targets>>,
    /// Delegated roles verified in this session, by name.
    delegated: Mutex<BTreeMap<String, Trusted<Targets>>>,
    /// The time of the last successful refresh's start, once there is one.
    refreshed_at: Option<jiff::Timestamp>,
}

impl<F: Fetcher> std::fmt::Debug for Repository<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("dir", &self.dir)
            .field("metadata_url", &self.metadata_url)
            .field("target_url", &self.target_url)
            .field("versions", &self.trusted_versions())
            .finish_non_exhaustive()
    }
}

/// Percent-encodes `name` for a URL path segment or a file name: every byte outside the
/// unreserved set `A-Z a-z 0-9 - . _ ~` becomes `%XX` (so `a/b` is `a%2Fb`).
pub fn encode_name(name: &str) -> String {
    encode(name, false)
}

fn encode(name: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn join(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

fn storage(path: &Path) -> impl FnOnce(String) -> TufError + '_ {
    move |reason| TufError::Storage {
        path: path.to_owned(),
        reason,
    }
}

fn parse_expires(role: &str, expires: &str) -> Result<jiff::Timestamp, TufError> {
    expires
        .parse::<jiff::Timestamp>()
        .map_err(|e| TufError::BadMetadata {
            role: role.to_owned(),
            reason: format!("expires {expires:?} is not an RFC 3339 time: {e}"),
        })
}

fn check_expiry(
    role: &str,
    version: u64,
    expires: &str,
    now: jiff::Timestamp,
) -> Result<(), TufError> {
    if now >= parse_expires(role, expires)? {
        return Err(TufError::Expired {
            role: role.to_owned(),
            version,
            expires: expires.to_owned(),
        });
    }
    Ok(())
}

/// The digests of a byte stream, computed while it is written through.
struct Digesting<'a> {
    inner: &'a mut (dyn Write + Send),
    sha256: rampart_vault::crypto::Sha256,
    sha512: Sha512,
    length: u64,
}

impl Write for Digesting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.sha512.update(&buf[..n]);
        self.length += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The digests of a whole file.
struct Digests {
    sha256: [u8; 32],
    sha512: [u8; 64],
    length: u64,
}

impl Digests {
    fn of(bytes: &[u8]) -> Digests {
        let mut sink = std::io::sink();
        let mut digesting = Digesting {
            inner: &mut sink,
            sha256: rampart_vault::crypto::Sha256::new(),
            sha512: Sha512::new(),
            length: 0,
        };
        // Writing to a sink cannot fail.
        let _ = digesting.write_all(bytes);
        digesting.finish()
    }
}

impl Digesting<'_> {
    fn finish(self) -> Digests {
        Digests {
            sha256: self.sha256.finish(),
            sha512: self.sha512.finish(),
            length: self.length,
        }
    }
}

/// Checks `hashes` against `digests`: every known algorithm must match, and at least one must
/// be known.
fn check_hashes(
    what: &str,
    hashes: &BTreeMap<String, String>,
    digests: &Digests,
) -> Result<(), TufError> {
    let mut known = 0;
    for (algorithm, hex) in hashes {
        let actual: &[u8] = match algorithm.as_str() {
            "sha256" => &digests.sha256,
            "sha512" => &digests.sha512,
            _ => continue,
        };
        known += 1;
        let expected = metadata::hex_decode(hex).unwrap_or_default();
        if !rampart_vault::crypto::ct_eq(&expected, actual) {
            return Err(TufError::HashMismatch {
                what: what.to_owned(),
                algorithm: algorithm.clone(),
            });
        }
    }
    if known == 0 {
        return Err(TufError::NoKnownHash {
            what: what.to_owned(),
            algorithms: hashes.keys().cloned().collect(),
        });
    }
    Ok(())
}

/// Whether `hashes` names at least one algorithm this client knows.
fn knows_a_hash(hashes: &BTreeMap<String, String>) -> bool {
    hashes.keys().any(|a| a == "sha256" || a == "sha512")
}

/// Checks fetched metadata bytes against the length and hashes its parent role gives.
fn check_meta_bytes(role: &str, bytes: &[u8], meta: &MetaFile) -> Result<(), TufError> {
    if let Some(length) = meta.length
        && bytes.len() as u64 != length
    {
        return Err(TufError::LengthMismatch {
            what: role.to_owned(),
            expected: length,
            actual: bytes.len() as u64,
        });
    }
    if let Some(hashes) = &meta.hashes {
        check_hashes(role, hashes, &Digests::of(bytes))?;
    }
    Ok(())
}

fn verify_root(raw: Vec<u8>) -> Result<Trusted<Root>, TufError> {
    let envelope = Envelope::parse("root", raw)?;
    let signed: Root = envelope.signed("root", "root")?;
    signed.check()?;
    envelope.verify("root", &signed.keys, signed.role("root"))?;
    parse_expires("root", &signed.expires)?;
    Ok(Trusted { envelope, signed })
}

/// Parses and verifies a targets role against the keys that delegate to it.
fn verify_targets(
    role: &str,
    raw: Vec<u8>,
    keys: &BTreeMap<String, metadata::Key>,
    role_keys: &RoleKeys,
) -> Result<Trusted<Targets>, TufError> {
    let envelope = Envelope::parse(role, raw)?;
    let signed: Targets = envelope.signed(role, "targets")?;
    envelope.verify(role, keys, role_keys)?;
    signed.check(role)?;
    parse_expires(role, &signed.expires)?;
    Ok(Trusted { envelope, signed })
}

fn verify_meta_list(role: &str, raw: Vec<u8>, root: &Root) -> Result<Trusted<MetaList>, TufError> {
    let envelope = Envelope::parse(role, raw)?;
    let signed: MetaList = envelope.signed(role, role)?;
    envelope.verify(role, &root.keys, root.role(role))?;
    if role == "timestamp" {
        signed.snapshot_meta()?;
    }
    parse_expires(role, &signed.expires)?;
    Ok(Trusted { envelope, signed })
}

/// Reads a metadata file of the directory, `None` if it does not exist.
fn read_local(path: &Path, max: u64) -> Result<Option<Vec<u8>>, TufError> {
    match rampart_vault::read_capped(path, max) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(storage(path)(e.to_string())),
    }
}

impl<F: Fetcher> Repository<F> {
    /// Initialises `metadata_dir` (created if missing) with a trusted root, after checking
    /// that it is a well-formed root signed by a threshold of its own root keys. The root is
    /// stored byte for byte as given; its expiry is not checked (a refresh rotates it).
    ///
    /// # Errors
    /// [`TufError::BadMetadata`], [`TufError::ThresholdNotMet`], [`TufError::Storage`].
    pub fn init(metadata_dir: &Path, trusted_root: &[u8]) -> Result<(), TufError> {
        let root = verify_root(trusted_root.to_vec())?;
        std::fs::create_dir_all(metadata_dir).map_err(|e| storage(metadata_dir)(e.to_string()))?;
        persist(metadata_dir, "root.json", &root.envelope.raw)
    }

    /// Loads the trusted metadata of `metadata_dir`: `root.json` (trusted as it is), and the
    /// timestamp, snapshot and targets if they still verify against it (kept for rollback
    /// checks; ones that do not verify are ignored). Removes temporary files a crash left.
    ///
    /// # Errors
    /// [`TufError::Storage`] if `root.json` is missing or unreadable, [`TufError::BadMetadata`]
    /// if it is malformed.
    pub fn load(
        metadata_dir: &Path,
        metadata_base_url: &str,
        target_base_url: &str,
        fetcher: F,
        clock: Arc<dyn Clock>,
    ) -> Result<Repository<F>, TufError> {
        remove_leftovers(metadata_dir)?;
        let root_path = metadata_dir.join("root.json");
        let raw = read_local(&root_path, DEFAULT_ROOT_MAX)?
            .ok_or_else(|| storage(&root_path)("no trusted root (run init first)".into()))?;
        // The trusted root is trusted as it is, but it must still be a root that signs itself:
        // a damaged or unsigned file fails here, before any request.
        let root = verify_root(raw)?;
        let mut repository = Repository {
            dir: metadata_dir.to_owned(),
            metadata_url: metadata_base_url.to_owned(),
            target_url: target_base_url.to_owned(),
            fetcher,
            clock,
            root,
            timestamp: None,
            snapshot: None,
            targets: None,
            delegated: Mutex::new(BTreeMap::new()),
            refreshed_at: None,
        };
        repository.load_local_top_level()?;
        Ok(repository)
    }

    /// (Re)loads the local timestamp, snapshot and targets that verify against the root.
    fn load_local_top_level(&mut self) -> Result<(), TufError> {
        let root = &self.root.signed;
        self.timestamp = read_local(&self.dir.join("timestamp.json"), DEFAULT_TIMESTAMP_MAX)?
            .and_then(|raw| verify_meta_list("timestamp", raw, root).ok());
        self.snapshot = read_local(&self.dir.join("snapshot.json"), DEFAULT_SNAPSHOT_MAX)?
            .and_then(|raw| verify_meta_list("snapshot", raw, root).ok());
        self.targets = read_local(&self.dir.join("targets.json"), DEFAULT_TARGETS_MAX)?
            .and_then(|raw| verify_targets("targets", raw, &root.keys, root.role("targets")).ok());
        Ok(())
    }

    fn fetch_meta(&self, role: &str, file: &str, max: u64) -> Result<Vec<u8>, TufError> {
        let url = join(&self.metadata_url, file);
        self.fetcher
            .fetch_bytes(&url, max)
            .map_err(|e| fetch_error(role, max, e))
    }

    /// Updates the trusted metadata from the repository (specification 5.3 to 5.6): root,
    /// timestamp, snapshot, targets. Delegated roles are fetched on demand by
    /// [`Repository::target`].
    ///
    /// # Errors
    /// The first check that fails; nothing unverified has been stored.
    pub fn refresh(&mut self) -> Result<(), TufError> {
        self.refreshed_at = None;
        let now = self.clock.now();
        self.update_root(now)?;
        self.update_timestamp(now)?;
        self.update_snapshot(now)?;
        self.update_targets(now)?;
        self.delegated
            .lock()
            .map_err(|_| storage(&self.dir)("poisoned".into()))?
            .clear();
        self.refreshed_at = Some(now);
        Ok(())
    }

    fn update_root(&mut self, now: jiff::Timestamp) -> Result<(), TufError> {
        let mut rotated = false;
        for step in 0..=MAX_ROOT_ROTATIONS {
            let next = self.root.signed.version.saturating_add(1);
            let raw = match self.fetch_meta("root", &format!("{next}.root.json"), DEFAULT_ROOT_MAX)
            {
                Ok(raw) => raw,
                Err(TufError::Fetch { reason, .. }) if reason == NOT_FOUND => break,
                Err(e) => return Err(e),
            };
            if step == MAX_ROOT_ROTATIONS {
                return Err(TufError::TooManyRotations {
                    max: MAX_ROOT_ROTATIONS,
                });
            }
            let envelope = Envelope::parse("root", raw)?;
            let signed: Root = envelope.signed("root", "root")?;
            signed.check()?;
            let old = &self.root.signed;
            envelope.verify("root", &old.keys, old.role("root"))?;
            envelope.verify("root", &signed.keys, signed.role("root"))?;
            if signed.version != next {
                return Err(TufError::VersionMismatch {
                    role: "root".into(),
                    expected: next,
                    new: signed.version,
                });
            }
            parse_expires("root", &signed.expires)?;
            let keyids = |root: &Root, role: &str| -> BTreeSet<String> {
                root.role(role).keyids.iter().cloned().collect()
            };
            let fast_forward = ["timestamp", "snapshot"]
                .iter()
                .any(|role| keyids(old, role) != keyids(&signed, role));
            persist(&self.dir, "root.json", &envelope.raw)?;
            if fast_forward {
                // 5.3.11: new timestamp or snapshot keys: forget the old files, so that a
                // version an attacker once pushed up cannot block the real ones.
                remove(&self.dir, "timestamp.json")?;
                remove(&self.dir, "snapshot.json")?;
            }
            self.root = Trusted { envelope, signed };
            rotated = true;
        }
        if rotated {
            // The other roles' keys may have changed, and files may have been deleted: keep
            // only what is on disk and verifies now (before the expiry check, so that a failed
            // refresh leaves memory as the disk is).
            self.load_local_top_level()?;
        }
        let root = &self.root.signed;
        check_expiry("root", root.version, &root.expires, now)
    }

    fn update_timestamp(&mut self, now: jiff::Timestamp) -> Result<(), TufError> {
        let raw = self.fetch_meta("timestamp", "timestamp.json", DEFAULT_TIMESTAMP_MAX)?;
        let new = verify_meta_list("timestamp", raw, &self.root.signed)?;
        let new_snapshot = new.signed.snapshot_meta()?.version;
        if let Some(trusted) = &self.timestamp {
            if new.signed.version < trusted.signed.version {
                return Err(TufError::Rollback {
                    role: "timestamp".into(),
                    trusted: trusted.signed.version,
                    new: new.signed.version,
                });
            }
            if new.signed.version == trusted.signed.version {
                // The same version: keep the trusted file as it is (5.4.3).
                return check_expiry(
                    "timestamp",
                    trusted.signed.version,
                    &trusted.signed.expires,
                    now,
                );
            }
            let trusted_snapshot = trusted.signed.snapshot_meta()?.version;
            if new_snapshot < trusted_snapshot {
                return Err(TufError::Rollback {
                    role: "snapshot".into(),
                    trusted: trusted_snapshot,
                    new: new_snapshot,
                });
            }
        }
        check_expiry("timestamp", new.signed.version, &new.signed.expires, now)?;
        persist(&self.dir, "timestamp.json", &new.envelope.raw)?;
        self.timestamp = Some(new);
        Ok(())
    }

    fn update_snapshot(&mut self, now: jiff::Timestamp) -> Result<(), TufError> {
        let meta = self
            .timestamp
            .as_ref()
            .ok_or(TufError::NotRefreshed)?
            .signed
            .snapshot_meta()?
            .clone();
        if let Some(trusted) = &self.snapshot
            && trusted.signed.version == meta.version
        {
            // The trusted file is the one the timestamp names: nothing to fetch.
            return check_expiry(
                "snapshot",
                trusted.signed.version,
                &trusted.signed.expires,
                now,
            );
        }
        let file = if self.root.signed.consistent_snapshot {
            format!("{}.snapshot.json", meta.version)
        } else {
            "snapshot.json".to_owned()
        };
        let raw = self.fetch_meta(
            "snapshot",
            &file,
            meta.length.unwrap_or(DEFAULT_SNAPSHOT_MAX),
        )?;
        check_meta_bytes("snapshot", &raw, &meta)?;
        let new = verify_meta_list("snapshot", raw, &self.root.signed)?;
        if new.signed.version != meta.version {
            return Err(TufError::VersionMismatch {
                role: "snapshot".into(),
                expected: meta.version,
                new: new.signed.version,
            });
        }
        if let Some(trusted) = &self.snapshot {
            if new.signed.version < trusted.signed.version {
                return Err(TufError::Rollback {
                    role: "snapshot".into(),
                    trusted: trusted.signed.version,
                    new: new.signed.version,
                });
            }
            for (name, old) in &trusted.signed.meta {
                let role = name.strip_suffix(".json").unwrap_or(name);
                let Some(current) = new.signed.meta.get(name) else {
                    return Err(TufError::RoleRemoved {
                        role: role.to_owned(),
                        version: new.signed.version,
                    });
                };
                if current.version < old.version {
                    return Err(TufError::Rollback {
                        role: role.to_owned(),
                        trusted: old.version,
                        new: current.version,
                    });
                }
            }
        }
        check_expiry("snapshot", new.signed.version, &new.signed.expires, now)?;
        persist(&self.dir, "snapshot.json", &new.envelope.raw)?;
        self.snapshot = Some(new);
        Ok(())
    }

    /// The snapshot's entry for a targets role.
    fn snapshot_entry(&self, role: &str) -> Result<MetaFile, TufError> {
        let snapshot = self.snapshot.as_ref().ok_or(TufError::NotRefreshed)?;
        snapshot
            .signed
            .meta
            .get(&format!("{role}.json"))
            .cloned()
            .ok_or_else(|| TufError::BadMetadata {
                role: "snapshot".into(),
                reason: format!(
                    "version {} does not list {role}.json",
                    snapshot.signed.version
                ),
            })
    }

    /// Loads a targets role named in the snapshot: the local copy if it verifies and has the
    /// snapshot's version, otherwise fetched, verified and stored.
    fn load_targets_role(
        &self,
        role: &str,
        local: Option<&Trusted<Targets>>,
        keys: &BTreeMap<String, metadata::Key>,
        role_keys: &RoleKeys,
        now: jiff::Timestamp,
    ) -> Result<Trusted<Targets>, TufError> {
        let meta = self.snapshot_entry(role)?;
        let file_name = if role == "targets" {
            "targets.json".to_owned()
        } else {
            format!("{}.json", encode_name(role))
        };
        let local = match local {
            Some(local) => Some(local.clone()),
            None => read_local(&self.dir.join(&file_name), DEFAULT_TARGETS_MAX)?
                .and_then(|raw| verify_targets(role, raw, keys, role_keys).ok()),
        };
        // A local copy is used if it has the snapshot's version and, when the snapshot gives
        // them, its length and hashes.
        if let Some(local) = local
            && local.signed.version == meta.version
            && check_meta_bytes(role, &local.envelope.raw, &meta).is_ok()
        {
            check_expiry(role, local.signed.version, &local.signed.expires, now)?;
            return Ok(local);
        }
        let remote = if self.root.signed.consistent_snapshot {
            format!("{}.{file_name}", meta.version)
        } else {
            file_name.clone()
        };
        let raw = self.fetch_meta(role, &remote, meta.length.unwrap_or(DEFAULT_TARGETS_MAX))?;
        check_meta_bytes(role, &raw, &meta)?;
        let new = verify_targets(role, raw, keys, role_keys)?;
        if new.signed.version != meta.version {
            return Err(TufError::VersionMismatch {
                role: role.to_owned(),
                expected: meta.version,
                new: new.signed.version,
            });
        }
        check_expiry(role, new.signed.version, &new.signed.expires, now)?;
        persist(&self.dir, &file_name, &new.envelope.raw)?;
        Ok(new)
    }

    fn update_targets(&mut self, now: jiff::Timestamp) -> Result<(), TufError> {
        let root = &self.root.signed;
        let targets = self.load_targets_role(
            "targets",
            self.targets.as_ref(),
            &root.keys,
            root.role("targets"),
            now,
        )?;
        self.targets = Some(targets);
        Ok(())
    }

    /// The target `name`, found by the pre-order depth-first search of the delegations
    /// (specification 5.7), fetching and verifying delegated roles as needed; `None` if no
    /// role trusted for it lists it.
    ///
    /// # Errors
    /// [`TufError::NotRefreshed`] before a successful [`Repository::refresh`]; any failure of a
    /// delegated role on the search path.
    pub fn target(&self, name: &str) -> Result<Option<TargetInfo>, TufError> {
        let now = self.refreshed_at.ok_or(TufError::NotRefreshed)?;
        let top = self.targets.as_ref().ok_or(TufError::NotRefreshed)?;
        let mut visited = BTreeSet::new();
        // (role, the targets metadata delegating to it, or None for the top-level role)
        let mut stack: Vec<(String, Option<Targets>, RoleKeys)> = vec![(
            "targets".to_owned(),
            None,
            self.root.signed.role("targets").clone(),
        )];
        while let Some((role, parent, role_keys)) = stack.pop() {
            if visited.len() >= MAX_DELEGATIONS {
                break;
            }
            if !visited.insert(role.clone()) {
                continue;
            }
            let current = match parent {
                None => top.clone(),
                Some(parent) => self.delegated_role(&role, &parent, &role_keys, now)?,
            };
            if let Some(target) = current.signed.targets.get(name) {
                return Ok(Some(TargetInfo {
                    length: target.length,
                    hashes: target.hashes.clone(),
                    custom: target.custom.clone(),
                }));
            }
            let Some(delegations) = &current.signed.delegations else {
                continue;
            };
            let mut children = Vec::new();
            for delegated in delegations.roles.iter().flatten() {
                if !delegated.matches(name) {
                    continue;
                }
                children.push((
                    delegated.name.clone(),
                    Some(current.signed.clone()),
                    delegated.keys.clone(),
                ));
                if delegated.terminating {
                    stack.clear();
                    break;
                }
            }
            if let Some(succinct) = &delegations.succinct_roles {
                // Hash bins are terminating: exactly one bin is responsible for a path.
                stack.clear();
                children.push((
                    succinct.bin_for(name),
                    Some(current.signed.clone()),
                    succinct.keys.clone(),
                ));
            }
            stack.extend(children.into_iter().rev());
        }
        Ok(None)
    }

    fn delegated_role(
        &self,
        role: &str,
        parent: &Targets,
        role_keys: &RoleKeys,
        now: jiff::Timestamp,
    ) -> Result<Trusted<Targets>, TufError> {
        let keys = parent
            .delegations
            .as_ref()
            .map(|d| &d.keys)
            .ok_or_else(|| TufError::BadMetadata {
                role: role.to_owned(),
                reason: "delegated without delegations".into(),
            })?;
        let cached = self
            .delegated
            .lock()
            .map_err(|_| storage(&self.dir)("poisoned".into()))?
            .get(role)
            .cloned();
        // A cached role was verified against this very delegation in this session only if
        // its keys verify it again: re-verify cheaply by re-checking the signatures.
        let cached = cached.filter(|c| c.envelope.verify(role, keys, role_keys).is_ok());
        let loaded = self.load_targets_role(role, cached.as_ref(), keys, role_keys, now)?;
        self.delegated
            .lock()
            .map_err(|_| storage(&self.dir)("poisoned".into()))?
            .insert(role.to_owned(), loaded.clone());
        Ok(loaded)
    }

    /// The URL of a target file: with consistent snapshots `DIR/HASH.NAME` (the sha256 hash
    /// if declared, else the sha512 one).
    pub fn target_url(&self, info: &TargetInfo, name: &str) -> String {
        let path = if self.root.signed.consistent_snapshot {
            let hash = info
                .hashes
                .get("sha256")
                .or_else(|| info.hashes.get("sha512"))
                .or_else(|| info.hashes.values().next())
                .cloned()
                .unwrap_or_default();
            match name.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/{hash}.{base}"),
                None => format!("{hash}.{name}"),
            }
        } else {
            name.to_owned()
        };
        join(&self.target_url, &encode(&path, true))
    }

    /// Fetches the target `name` into `dest`, verifying its length and hashes. `dest` may hold
    /// part of the file when this fails: write to a temporary file and keep it only on `Ok`.
    ///
    /// # Errors
    /// [`TufError::NoKnownHash`] before any fetch; [`TufError::Fetch`],
    /// [`TufError::LengthExceeded`], [`TufError::LengthMismatch`], [`TufError::HashMismatch`].
    pub fn download_target(
        &self,
        info: &TargetInfo,
        name: &str,
        dest: &mut (dyn Write + Send),
    ) -> Result<(), TufError> {
        if !knows_a_hash(&info.hashes) {
            return Err(TufError::NoKnownHash {
                what: name.to_owned(),
                algorithms: info.hashes.keys().cloned().collect(),
            });
        }
        let url = self.target_url(info, name);
        let mut digesting = Digesting {
            inner: dest,
            sha256: rampart_vault::crypto::Sha256::new(),
            sha512: Sha512::new(),
            length: 0,
        };
        self.fetcher
            .fetch(&url, info.length, &mut digesting)
            .map_err(|e| fetch_error(name, info.length, e))?;
        verify_digests(name, info, &digesting.finish())
    }

    /// The targets the top-level targets role lists (delegated roles are not walked), after a
    /// successful [`Repository::refresh`]; empty before one.
    pub fn top_level_targets(&self) -> Vec<(String, TargetInfo)> {
        if self.refreshed_at.is_none() {
            return Vec::new();
        }
        self.targets
            .as_ref()
            .map(|t| {
                t.signed
                    .targets
                    .iter()
                    .map(|(name, file)| (name.clone(), TargetInfo::from(file)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The fetcher.
    pub fn fetcher(&self) -> &F {
        &self.fetcher
    }

    /// The trusted versions and expiries.
    pub fn trusted_versions(&self) -> TrustedVersions {
        fn status(version: u64, expires: &str) -> RoleStatus {
            RoleStatus {
                version,
                expires: expires.to_owned(),
            }
        }
        TrustedVersions {
            root: status(self.root.signed.version, &self.root.signed.expires),
            timestamp: self
                .timestamp
                .as_ref()
                .map(|t| status(t.signed.version, &t.signed.expires)),
            snapshot: self
                .snapshot
                .as_ref()
                .map(|t| status(t.signed.version, &t.signed.expires)),
            targets: self
                .targets
                .as_ref()
                .map(|t| status(t.signed.version, &t.signed.expires)),
        }
    }
}

/// [`Repository::init`] without naming a fetcher type: initialises `metadata_dir` with a
/// trusted root that signs itself.
///
/// # Errors
/// As [`Repository::init`].
pub fn init(metadata_dir: &Path, trusted_root: &[u8]) -> Result<(), TufError> {
    Repository::<crate::fetch::FileFetcher>::init(metadata_dir, trusted_root)
}

/// Whether `bytes` are the target `info` describes (length and every known hash), e.g. a
/// file downloaded before.
///
/// # Errors
/// As the checks of [`Repository::download_target`].
pub fn verify_target(name: &str, info: &TargetInfo, bytes: &[u8]) -> Result<(), TufError> {
    verify_digests(name, info, &Digests::of(bytes))
}

fn verify_digests(name: &str, info: &TargetInfo, digests: &Digests) -> Result<(), TufError> {
    if digests.length != info.length {
        return Err(TufError::LengthMismatch {
            what: name.to_owned(),
            expected: info.length,
            actual: digests.length,
        });
    }
    check_hashes(name, &info.hashes, digests)
}

impl From<&TargetFile> for TargetInfo {
    fn from(target: &TargetFile) -> TargetInfo {
        TargetInfo {
            length: target.length,
            hashes: target.hashes.clone(),
            custom: target.custom.clone(),
        }
    }
}

const NOT_FOUND: &str = "not found (404)";

fn fetch_error(what: &str, max: u64, error: FetchError) -> TufError {
    match error {
        FetchError::NotFound { url } => TufError::Fetch {
            url,
            reason: NOT_FOUND.into(),
        },
        FetchError::TooLarge { .. } => TufError::LengthExceeded {
            what: what.to_owned(),
            max,
        },
        FetchError::Failed { url, reason } => TufError::Fetch { url, reason },
    }
}

/// Writes a verified file into the metadata directory, atomically.
fn persist(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), TufError> {
    let path = dir.join(name);
    rampart_vault::write_atomic(&path, bytes, 0o644).map_err(|e| storage(&path)(e.to_string()))
}

/// Removes a file of the metadata directory (absent is fine) and syncs the directory.
fn remove(dir: &Path, name: &str) -> Result<(), TufError> {
    let path = dir.join(name);
    match std::fs::remove_file(&path) {
        Ok(()) => std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| storage(dir)(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(storage(&path)(e.to_string())),
    }
}

/// Removes temporary files an interrupted atomic write left (`NAME.json.tmp-PID`).
fn remove_leftovers(dir: &Path) -> Result<(), TufError> {
    let entries = std::fs::read_dir(dir).map_err(|e| storage(dir)(e.to_string()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().contains(".json.tmp-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
