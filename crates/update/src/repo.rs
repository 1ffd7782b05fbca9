//! The maker's side (NDR 3.10 RE 1, NDR 3.12): a TUF repository of update bundles, built with
//! `tough`'s editor, in a directory any static web server can serve.
//!
//! ```text
//! REPO/metadata/N.root.json, root.json      every root version, and the latest
//! REPO/metadata/N.targets.json, N.snapshot.json, timestamp.json   (consistent snapshots)
//! REPO/targets/SHA256.NAME                  the bundles
//! REPO/trust/root.json, release-keys.json   what a device is provisioned with
//! KEYS/ROLE-N.key                           Ed25519 private keys (PKCS#8 PEM, 0600), kept
//!                                           apart from the repository (offline for root)
//! ```
//! Every change re-signs targets, snapshot and timestamp with new versions. Metadata is
//! written beside its final place, synced, and renamed in the order a client reads it
//! backwards: versioned targets and snapshot first, `timestamp.json` last, so a client never
//! sees a timestamp that names metadata not yet published. Keys are rotated one role at a
//! time; a root change is signed by the threshold of the old root and of the new one.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::num::NonZeroU64;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use rampart_vault::{DeviceKey, DevicePublicKey};
use serde::{Deserialize, Serialize};
use tough::editor::RepositoryEditor;
use tough::editor::signed::SignedRole;
use tough::key_source::KeySource;
use tough::schema::key::{Ed25519Key, Ed25519Scheme, Key};
use tough::schema::{
    KeyHolder, RoleKeys, RoleType, Root, Signed, Snapshot, Target, Targets, Timestamp,
};
use tough::sign::Sign;

use crate::bundle::{self, VerifiedManifest};

/// The TUF specification version written into metadata.
pub const SPEC_VERSION: &str = "1.0.31";

/// A top-level role of the repository, or the release key that signs bundle manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Signs root metadata: which keys hold every role.
    Root,
    /// Signs targets metadata: which bundles exist, their lengths and hashes.
    Targets,
    /// Signs the snapshot: the versions of all targets metadata.
    Snapshot,
    /// Signs the timestamp: freshness.
    Timestamp,
    /// Signs each bundle's manifest (what the device's launcher checks before it runs a slot).
    Release,
}

impl Role {
    /// Every role, in key-file order.
    pub const ALL: [Role; 5] = [
        Role::Root,
        Role::Targets,
        Role::Snapshot,
        Role::Timestamp,
        Role::Release,
    ];

    /// Its lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Targets => "targets",
            Role::Snapshot => "snapshot",
            Role::Timestamp => "timestamp",
            Role::Release => "release",
        }
    }

    fn tuf(self) -> Option<RoleType> {
        match self {
            Role::Root => Some(RoleType::Root),
            Role::Targets => Some(RoleType::Targets),
            Role::Snapshot => Some(RoleType::Snapshot),
            Role::Timestamp => Some(RoleType::Timestamp),
            Role::Release => None,
        }
    }

    /// How long its metadata is valid by default.
    pub fn default_expiry(self) -> jiff::SignedDuration {
        let days = match self {
            Role::Root => 365,
            Role::Targets | Role::Release => 90,
            Role::Snapshot => 7,
            Role::Timestamp => 1,
        };
        jiff::SignedDuration::from_hours(24 * days)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("role '{s}': expected root, targets, snapshot, timestamp or release")
            })
    }
}

/// Why a repository operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
    /// The repository or key directory is not in the state the operation needs.
    #[error("{0}")]
    State(String),
    /// tough refused to build or sign.
    #[error("TUF editor: {0}")]
    Tuf(String),
    /// The bundle is not a valid bundle of this repository's release key.
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> RepoError {
    let context = context.into();
    move |source| RepoError::Io { context, source }
}

fn tuf_err(e: impl fmt::Display) -> RepoError {
    RepoError::Tuf(e.to_string())
}

/// How many keys a role has and how many must sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// Keys generated for the role.
    pub keys: u32,
    /// Signatures required.
    pub threshold: u32,
}

/// What `init` creates.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Keys and threshold per TUF role (the release key is always one key).
    pub thresholds: BTreeMap<Role, Threshold>,
    /// Validity per role (defaults from [`Role::default_expiry`]).
    pub expiry: BTreeMap<Role, jiff::SignedDuration>,
    /// The time of the operation.
    pub now: jiff::Timestamp,
}

impl InitOptions {
    /// One key per role, default expiries.
    pub fn new(now: jiff::Timestamp) -> InitOptions {
        InitOptions {
            thresholds: BTreeMap::new(),
            expiry: BTreeMap::new(),
            now,
        }
    }

    fn threshold(&self, role: Role) -> Threshold {
        self.thresholds.get(&role).copied().unwrap_or(Threshold {
            keys: 1,
            threshold: 1,
        })
    }
}

/// The repository's expiry settings, kept in `REPO/repo.json` so later operations use them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RepoSettings {
    format: String,
    /// Validity per role, in seconds.
    expiry_seconds: BTreeMap<Role, i64>,
}

impl RepoSettings {
    fn expiry(&self, role: Role) -> jiff::SignedDuration {
        self.expiry_seconds.get(&role).map_or_else(
            || role.default_expiry(),
            |s| jiff::SignedDuration::from_secs(*s),
        )
    }
}

/// What a device is provisioned with: the pinned release keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseKeys {
    /// Always `rampart-release-keys`.
    pub format: String,
    /// Ed25519 public keys, hex.
    pub keys: Vec<String>,
}

impl ReleaseKeys {
    /// The keys, parsed.
    ///
    /// # Errors
    /// A message naming the key that is not 32 bytes of hex.
    pub fn public_keys(&self) -> Result<Vec<DevicePublicKey>, String> {
        if self.format != "rampart-release-keys" {
            return Err(format!(
                "format '{}' is not 'rampart-release-keys'",
                self.format
            ));
        }
        self.keys
            .iter()
            .map(|hex_key| {
                let bytes: [u8; 32] = hex::decode(hex_key)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| format!("release key '{hex_key}' is not 64 hex digits"))?;
                DevicePublicKey::from_bytes(&bytes)
                    .map_err(|e| format!("release key '{hex_key}': {e}"))
            })
            .collect()
    }
}

/// Reads the release keys pinned on a device (`DATA/update/trust/release-keys.json`).
///
/// # Errors
/// A message naming the file and what is wrong (missing, too large, not valid).
pub fn read_release_keys(path: &Path) -> Result<Vec<DevicePublicKey>, String> {
    let bytes = rampart_vault::read_capped(path, 64 * 1024).map_err(|e| {
        if e.is_not_found() {
            format!(
                "{} is missing: provision the device first (`rampart update trust`)",
                path.display()
            )
        } else {
            format!("{}: {e}", path.display())
        }
    })?;
    let record: ReleaseKeys =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let keys = record
        .public_keys()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if keys.is_empty() {
        return Err(format!("{}: no release keys", path.display()));
    }
    Ok(keys)
}

/// A maker's repository and key directory.
#[derive(Debug, Clone)]
pub struct MakerRepo {
    repo: PathBuf,
    keys: PathBuf,
}

/// One key of the key directory.
#[derive(Debug, Clone)]
struct KeyFile {
    role: Role,
    index: u32,
    path: PathBuf,
}

/// An Ed25519 key from the key directory, signing through the vault.
#[derive(Debug)]
struct VaultKeySource {
    path: PathBuf,
}

struct VaultSigner {
    key: DeviceKey,
}

#[tough::async_trait]
impl KeySource for VaultKeySource {
    async fn as_sign(
        &self,
    ) -> Result<Box<dyn Sign>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        let key = DeviceKey::load(&self.path)?;
        Ok(Box::new(VaultSigner { key }))
    }

    async fn write(
        &self,
        _value: &str,
        _key_id_hex: &str,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        Err("keys are written by `rampart update repo init|rotate`, not by the editor".into())
    }
}

#[tough::async_trait]
impl Sign for VaultSigner {
    fn tuf_key(&self) -> Key {
        tuf_key(self.key.public_key())
    }

    async fn sign(
        &self,
        msg: &[u8],
        _rng: &(dyn rampart_vault::crypto::BackendSecureRandom + Sync),
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(self.key.sign(msg).to_vec())
    }
}

/// The TUF key of a release key: always Ed25519, since [`DeviceKey`] makes them.
fn tuf_key(public: DevicePublicKey) -> Key {
    Key::Ed25519 {
        keyval: Ed25519Key {
            public: public.to_bytes().into(),
            _extra: HashMap::new(),
        },
        scheme: Ed25519Scheme::Ed25519,
        _extra: HashMap::new(),
    }
}

/// The current targets metadata, with the versions of targets, snapshot and timestamp.
type Current = (Signed<Targets>, [u64; 3]);

/// Versions and expiry of the repository's metadata after an operation.
#[derive(Debug, Clone, Serialize)]
pub struct RepoStatus {
    /// Version per role.
    pub versions: BTreeMap<String, u64>,
    /// Expiry per role.
    pub expires: BTreeMap<String, jiff::Timestamp>,
    /// The targets: name → length and SHA-256.
    pub targets: BTreeMap<String, TargetSummary>,
    /// Keys per role: (key id, threshold).
    pub keys: BTreeMap<String, (Vec<String>, u64)>,
}

/// One target of the repository.
#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    /// Its length.
    pub length: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its custom metadata (for bundles: version, security version, target triple).
    pub custom: serde_json::Value,
}

const METADATA: &str = "metadata";
const TARGETS: &str = "targets";
const TRUST: &str = "trust";
const SETTINGS: &str = "repo.json";

/// Runs one of tough's futures to completion on a current-thread runtime of its own — on a
/// thread of its own when the caller is itself inside a tokio runtime (the management plane),
/// where blocking on a nested runtime would panic.
fn block_on<T: Send>(future: impl std::future::Future<Output = T> + Send) -> Result<T, RepoError> {
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err("start the signing runtime"))
            .map(|rt| rt.block_on(future))
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(run)
            .join()
            .map_err(|_| RepoError::Tuf("the signing thread panicked".into()))?
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RepoError> {
    let bytes = rampart_vault::read_capped(path, 16 * 1024 * 1024)
        .map_err(|e| RepoError::State(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| RepoError::State(format!("{}: not valid: {e}", path.display())))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    rampart_vault::write_atomic(path, bytes, 0o644)
        .map_err(|e| RepoError::State(format!("write {}: {e}", path.display())))
}

fn add_days(
    now: jiff::Timestamp,
    by: jiff::SignedDuration,
) -> Result<jiff_tough::Timestamp, RepoError> {
    let out_of_range = |e: &dyn fmt::Display| RepoError::State(format!("expiry out of range: {e}"));
    let at = now.checked_add(by).map_err(|e| out_of_range(&e))?;
    jiff_tough::Timestamp::from_second(at.as_second()).map_err(|e| out_of_range(&e))
}

fn from_tough(at: jiff_tough::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(at.as_second()).unwrap_or(jiff::Timestamp::MIN)
}

fn nonzero(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}

impl MakerRepo {
    /// The repository at `repo`, signing with the keys in `keys`.
    pub fn new(repo: impl Into<PathBuf>, keys: impl Into<PathBuf>) -> MakerRepo {
        MakerRepo {
            repo: repo.into(),
            keys: keys.into(),
        }
    }

    fn metadata(&self) -> PathBuf {
        self.repo.join(METADATA)
    }

    /// Creates the key directory (0700), one Ed25519 key per role key, a root of version 1
    /// signed by its threshold, empty targets, snapshot and timestamp, and the device
    /// provisioning files under `trust/`.
    ///
    /// # Errors
    /// [`RepoError::State`] if the repository or the keys exist already, else as the steps.
    pub fn init(&self, options: &InitOptions) -> Result<RepoStatus, RepoError> {
        if self.metadata().join("root.json").exists() {
            return Err(RepoError::State(format!(
                "{} holds a repository already",
                self.repo.display()
            )));
        }
        if fs::read_dir(&self.keys).is_ok_and(|mut d| d.next().is_some()) {
            return Err(RepoError::State(format!(
                "key directory {} is not empty",
                self.keys.display()
            )));
        }
        for (role, t) in &options.thresholds {
            if t.threshold == 0 || t.threshold > t.keys || t.keys > 16 {
                return Err(RepoError::State(format!(
                    "{role}: threshold {} of {} keys (1 <= threshold <= keys <= 16)",
                    t.threshold, t.keys
                )));
            }
            if *role == Role::Release && t.keys != 1 {
                return Err(RepoError::State("the release role has one key".into()));
            }
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.keys)
            .map_err(io_err(format!("create {}", self.keys.display())))?;
        for dir in [METADATA, TARGETS, TRUST] {
            fs::create_dir_all(self.repo.join(dir))
                .map_err(io_err(format!("create {}", self.repo.join(dir).display())))?;
        }
        let settings = RepoSettings {
            format: "rampart-tuf-repository".into(),
            expiry_seconds: options
                .expiry
                .iter()
                .map(|(r, d)| (*r, d.as_secs()))
                .collect(),
        };
        write_file(
            &self.repo.join(SETTINGS),
            &serde_json::to_vec_pretty(&settings).map_err(tuf_err)?,
        )?;

        let mut keys = HashMap::new();
        let mut roles = HashMap::new();
        for role in [Role::Root, Role::Targets, Role::Snapshot, Role::Timestamp] {
            let t = options.threshold(role);
            let mut ids = Vec::new();
            for index in 1..=t.keys {
                let key = self.generate_key(role, index)?;
                let tk = tuf_key(key);
                let id = tk.key_id().map_err(tuf_err)?;
                keys.insert(id.clone(), tk);
                ids.push(id);
            }
            roles.insert(
                role.tuf().unwrap_or(RoleType::Root),
                RoleKeys {
                    keyids: ids,
                    threshold: nonzero(u64::from(t.threshold)),
                    _extra: HashMap::new(),
                },
            );
        }
        let release = self.generate_key(Role::Release, 1)?;
        let root = Root {
            spec_version: SPEC_VERSION.into(),
            consistent_snapshot: true,
            version: NonZeroU64::MIN,
            expires: add_days(options.now, settings.expiry(Role::Root))?,
            keys,
            roles,
            _extra: HashMap::new(),
        };
        let signed = block_on(self.sign_root(&root, None))??;
        self.write_root(&signed)?;
        self.write_release_keys(&[release])?;
        self.resign(None, options.now)
    }

    fn generate_key(&self, role: Role, index: u32) -> Result<DevicePublicKey, RepoError> {
        let key = DeviceKey::generate()
            .map_err(|e| RepoError::State(format!("generate a {role} key: {e}")))?;
        let path = self.keys.join(format!("{role}-{index}.key"));
        key.export_pkcs8(&path)
            .map_err(|e| RepoError::State(format!("store {}: {e}", path.display())))?;
        Ok(key.public_key())
    }

    /// The key files in use, by role (retired ones excluded).
    fn key_files(&self) -> Result<Vec<KeyFile>, RepoError> {
        let mut files = Vec::new();
        let entries =
            fs::read_dir(&self.keys).map_err(io_err(format!("read {}", self.keys.display())))?;
        for entry in entries {
            let entry = entry.map_err(io_err(format!("read {}", self.keys.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".key") else {
                continue;
            };
            let Some((role, index)) = stem.rsplit_once('-') else {
                continue;
            };
            let (Ok(role), Ok(index)) = (role.parse::<Role>(), index.parse::<u32>()) else {
                continue;
            };
            files.push(KeyFile {
                role,
                index,
                path: entry.path(),
            });
        }
        files.sort_by_key(|k| (k.role, k.index));
        Ok(files)
    }

    fn sources(&self, role: Option<Role>) -> Result<Vec<Box<dyn KeySource>>, RepoError> {
        Ok(self
            .key_files()?
            .into_iter()
            .filter(|k| k.role != Role::Release && role.is_none_or(|r| r == k.role))
            .map(|k| Box::new(VaultKeySource { path: k.path }) as Box<dyn KeySource>)
            .collect())
    }

    /// The release key that signs bundle manifests.
    ///
    /// # Errors
    /// [`RepoError::State`] if the key directory has none.
    pub fn release_key(&self) -> Result<DeviceKey, RepoError> {
        let file = self
            .key_files()?
            .into_iter()
            .filter(|k| k.role == Role::Release)
            .max_by_key(|k| k.index)
            .ok_or_else(|| {
                RepoError::State(format!("no release key in {}", self.keys.display()))
            })?;
        DeviceKey::load(&file.path)
            .map_err(|e| RepoError::State(format!("{}: {e}", file.path.display())))
    }

    /// Signs `root` with the root keys it lists and, for a rotation, with the previous root's
    /// keys too; checks both thresholds.
    async fn sign_root(
        &self,
        root: &Root,
        previous: Option<&Root>,
    ) -> Result<SignedRole<Root>, RepoError> {
        let rng = rampart_vault::crypto::backend_random();
        let all = self.sources(Some(Role::Root))?;
        let mut signed = SignedRole::new(root.clone(), &KeyHolder::Root(root.clone()), &all, &rng)
            .await
            .map_err(tuf_err)?;
        if let Some(previous) = previous {
            let old_keys = self.retired_sources(Role::Root)?;
            let mut sources = all;
            sources.extend(old_keys);
            let by_old = SignedRole::new(
                root.clone(),
                &KeyHolder::Root(previous.clone()),
                &sources,
                &rng,
            )
            .await
            .map_err(tuf_err)?;
            signed = signed
                .add_old_signatures(by_old.signed().signatures.clone())
                .map_err(tuf_err)?;
            check_root_threshold(previous, signed.signed(), "the previous root")?;
        }
        check_root_threshold(root, signed.signed(), "the new root")?;
        Ok(signed)
    }

    fn retired_sources(&self, role: Role) -> Result<Vec<Box<dyn KeySource>>, RepoError> {
        let mut sources: Vec<Box<dyn KeySource>> = Vec::new();
        let entries =
            fs::read_dir(&self.keys).map_err(io_err(format!("read {}", self.keys.display())))?;
        for entry in entries {
            let entry = entry.map_err(io_err(format!("read {}", self.keys.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{role}-")) && name.ends_with(".key.retiring") {
                sources.push(Box::new(VaultKeySource { path: entry.path() }));
            }
        }
        Ok(sources)
    }

    fn write_root(&self, signed: &SignedRole<Root>) -> Result<(), RepoError> {
        let version = signed.signed().signed.version;
        let bytes = signed.buffer();
        write_file(&self.metadata().join(format!("{version}.root.json")), bytes)?;
        write_file(&self.metadata().join("root.json"), bytes)?;
        write_file(&self.repo.join(TRUST).join("root.json"), bytes)
    }

    fn write_release_keys(&self, keys: &[DevicePublicKey]) -> Result<(), RepoError> {
        let record = ReleaseKeys {
            format: "rampart-release-keys".into(),
            keys: keys.iter().map(|k| hex::encode(k.to_bytes())).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&record).map_err(tuf_err)?;
        write_file(&self.repo.join(TRUST).join("release-keys.json"), &bytes)
    }

    /// The current root.
    fn root(&self) -> Result<Signed<Root>, RepoError> {
        read_json(&self.metadata().join("root.json"))
    }

    fn settings(&self) -> Result<RepoSettings, RepoError> {
        read_json(&self.repo.join(SETTINGS))
    }

    /// The current targets metadata and the versions of targets, snapshot and timestamp.
    fn current(&self) -> Result<Option<Current>, RepoError> {
        let timestamp_path = self.metadata().join("timestamp.json");
        if !timestamp_path.exists() {
            return Ok(None);
        }
        let timestamp: Signed<Timestamp> = read_json(&timestamp_path)?;
        let snapshot_version = timestamp
            .signed
            .meta
            .get("snapshot.json")
            .map(|m| m.version.get())
            .ok_or_else(|| RepoError::State("timestamp.json names no snapshot".into()))?;
        let snapshot: Signed<Snapshot> = read_json(
            &self
                .metadata()
                .join(format!("{snapshot_version}.snapshot.json")),
        )?;
        let targets_version = snapshot
            .signed
            .meta
            .get("targets.json")
            .map(|m| m.version.get())
            .ok_or_else(|| RepoError::State("the snapshot names no targets".into()))?;
        let targets: Signed<Targets> = read_json(
            &self
                .metadata()
                .join(format!("{targets_version}.targets.json")),
        )?;
        Ok(Some((
            targets,
            [
                targets_version,
                snapshot_version,
                timestamp.signed.version.get(),
            ],
        )))
    }

    /// Re-signs targets, snapshot and timestamp with the next versions and fresh expiries,
    /// with `add` as a new or replaced target; publishes them in a client-safe order.
    fn resign(
        &self,
        add: Option<(String, Target)>,
        now: jiff::Timestamp,
    ) -> Result<RepoStatus, RepoError> {
        let settings = self.settings()?;
        let current = self.current()?;
        let [targets_v, snapshot_v, timestamp_v] = current.as_ref().map_or([0; 3], |c| c.1);
        let sources = self.sources(None)?;
        let staging = self.repo.join(".staging");
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .map_err(io_err(format!("remove {}", staging.display())))?;
        }
        block_on(async {
            let mut editor = RepositoryEditor::new(self.metadata().join("root.json"))
                .await
                .map_err(tuf_err)?;
            if let Some((targets, _)) = current {
                for (name, target) in targets.signed.targets {
                    editor.add_target(name, target).map_err(tuf_err)?;
                }
            }
            if let Some((name, target)) = add {
                editor.add_target(name.as_str(), target).map_err(tuf_err)?;
            }
            editor
                .targets_version(nonzero(targets_v + 1))
                .map_err(tuf_err)?
                .targets_expires(add_days(now, settings.expiry(Role::Targets))?)
                .map_err(tuf_err)?
                .snapshot_version(nonzero(snapshot_v + 1))
                .snapshot_expires(add_days(now, settings.expiry(Role::Snapshot))?)
                .timestamp_version(nonzero(timestamp_v + 1))
                .timestamp_expires(add_days(now, settings.expiry(Role::Timestamp))?);
            let signed = editor.sign(&sources).await.map_err(tuf_err)?;
            signed.write(&staging).await.map_err(tuf_err)
        })??;
        Self::publish_staged(&staging, &self.metadata())?;
        fs::remove_dir_all(&staging).map_err(io_err(format!("remove {}", staging.display())))?;
        self.status()
    }

    /// Moves staged metadata into `dest`: everything but `timestamp.json` first (versioned
    /// names, new files), each synced; `timestamp.json` last, atomically.
    fn publish_staged(staging: &Path, dest: &Path) -> Result<(), RepoError> {
        let mut names: Vec<String> = fs::read_dir(staging)
            .map_err(io_err(format!("read {}", staging.display())))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names.iter().filter(|n| n.as_str() != "timestamp.json") {
            if name.ends_with(".root.json") && dest.join(name).exists() {
                continue;
            }
            let bytes = fs::read(staging.join(name))
                .map_err(io_err(format!("read {}", staging.join(name).display())))?;
            write_file(&dest.join(name), &bytes)?;
        }
        let timestamp = staging.join("timestamp.json");
        let bytes =
            fs::read(&timestamp).map_err(io_err(format!("read {}", timestamp.display())))?;
        write_file(&dest.join("timestamp.json"), &bytes)
    }

    /// Adds a bundle as a target: checks it is a complete bundle signed by this repository's
    /// release key, copies it to `targets/SHA256.NAME`, and re-signs.
    ///
    /// # Errors
    /// [`RepoError::Bundle`] if the bundle does not verify; else as the steps.
    pub fn add_bundle(
        &self,
        bundle_path: &Path,
        name: Option<&str>,
        now: jiff::Timestamp,
    ) -> Result<(String, VerifiedManifest, RepoStatus), RepoError> {
        let trusted = self.release_keys()?;
        self.add_bundle_signed_by(bundle_path, name, &trusted, now)
    }

    /// Adds a bundle signed by one of `trusted` — an asset owner approving the supplier's
    /// bundle in the owner's own repository (NDR 3.13): the owner checks it against the
    /// supplier's release keys, then lists the very same bytes under its own keys.
    ///
    /// # Errors
    /// As [`MakerRepo::add_bundle`].
    pub fn add_bundle_signed_by(
        &self,
        bundle_path: &Path,
        name: Option<&str>,
        trusted: &[DevicePublicKey],
        now: jiff::Timestamp,
    ) -> Result<(String, VerifiedManifest, RepoStatus), RepoError> {
        let trusted = trusted.to_vec();
        let mut file = fs::File::open(bundle_path)
            .map_err(io_err(format!("open {}", bundle_path.display())))?;
        let verified = bundle::verify_bundle(&mut file, &trusted)?;
        let manifest = &verified.manifest;
        let name = name.map_or_else(
            || format!("rampart-{}-{}.bundle", manifest.version, manifest.target),
            str::to_owned,
        );
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
            || name.starts_with('.')
        {
            return Err(RepoError::State(format!(
                "target name '{name}': letters, digits, '.', '-', '_', '+' only"
            )));
        }
        let mut target = block_on(Target::from_path(bundle_path))?.map_err(tuf_err)?;
        target.custom.insert(
            "rampart".into(),
            serde_json::json!({
                "kind": "update-bundle",
                "version": manifest.version.to_string(),
                "security_version": manifest.security_version,
                "target": manifest.target,
            }),
        );
        let sha256 = hex::encode(&*target.hashes.sha256);
        let dest = self.repo.join(TARGETS).join(format!("{sha256}.{name}"));
        let bytes =
            fs::read(bundle_path).map_err(io_err(format!("read {}", bundle_path.display())))?;
        write_file(&dest, &bytes)?;
        let status = self.resign(Some((name.clone(), target)), now)?;
        Ok((name, verified, status))
    }

    /// Re-signs targets, snapshot and timestamp with new versions and fresh expiries (run
    /// before the timestamp expires, or after keys changed).
    ///
    /// # Errors
    /// As the steps.
    pub fn sign(&self, now: jiff::Timestamp) -> Result<RepoStatus, RepoError> {
        self.resign(None, now)
    }

    /// Rotates the keys of `role`: new keys (as many, same threshold), a new root version
    /// signed by the old and the new root thresholds, the old key files retired, and all
    /// metadata re-signed. The release key rotates by adding the new key to
    /// `trust/release-keys.json` (devices keep accepting bundles of the old one until they are
    /// re-provisioned).
    ///
    /// # Errors
    /// As the steps.
    pub fn rotate(&self, role: Role, now: jiff::Timestamp) -> Result<RepoStatus, RepoError> {
        let files = self.key_files()?;
        let next_index = files
            .iter()
            .filter(|k| k.role == role)
            .map(|k| k.index)
            .max()
            .unwrap_or(0)
            + 1;
        if role == Role::Release {
            let mut keys = self.release_keys()?;
            let key = self.generate_key(Role::Release, next_index)?;
            keys.insert(0, key);
            self.write_release_keys(&keys)?;
            for old in files.iter().filter(|k| k.role == Role::Release) {
                retire(&old.path, "retired")?;
            }
            return self.status();
        }
        let settings = self.settings()?;
        let previous = self.root()?.signed;
        let tuf_role = role.tuf().unwrap_or(RoleType::Root);
        let old = previous
            .roles
            .get(&tuf_role)
            .cloned()
            .ok_or_else(|| RepoError::State(format!("the root lists no {role} role")))?;
        let mut root = previous.clone();
        root.version = nonzero(previous.version.get() + 1);
        root.expires = add_days(now, settings.expiry(Role::Root))?;
        let count = u32::try_from(old.keyids.len()).unwrap_or(1);
        let mut ids = Vec::new();
        // The old keys of the role sign the transition (root) and are retired after it.
        for old_file in files.iter().filter(|k| k.role == role) {
            retire(&old_file.path, "retiring")?;
        }
        for index in next_index..next_index + count {
            let key = self.generate_key(role, index)?;
            let tk = tuf_key(key);
            let id = tk.key_id().map_err(tuf_err)?;
            root.keys.insert(id.clone(), tk);
            ids.push(id);
        }
        for old_id in &old.keyids {
            let still_used = root
                .roles
                .iter()
                .any(|(r, keys)| *r != tuf_role && keys.keyids.contains(old_id));
            if !still_used {
                root.keys.remove(old_id);
            }
        }
        root.roles.insert(
            tuf_role,
            RoleKeys {
                keyids: ids,
                threshold: old.threshold,
                _extra: HashMap::new(),
            },
        );
        let signed = block_on(self.sign_root(&root, Some(&previous)))??;
        self.write_root(&signed)?;
        for old_file in files.iter().filter(|k| k.role == role) {
            let retiring = retiring_path(&old_file.path, "retiring");
            retire(&retiring, "retired")?;
        }
        self.resign(None, now)
    }

    /// The release keys devices are provisioned with.
    ///
    /// # Errors
    /// [`RepoError::State`] if `trust/release-keys.json` is missing or invalid.
    pub fn release_keys(&self) -> Result<Vec<DevicePublicKey>, RepoError> {
        let record: ReleaseKeys = read_json(&self.repo.join(TRUST).join("release-keys.json"))?;
        record.public_keys().map_err(RepoError::State)
    }

    /// Versions, expiries, keys and targets of the repository.
    ///
    /// # Errors
    /// [`RepoError::State`] if the metadata is missing or invalid.
    pub fn status(&self) -> Result<RepoStatus, RepoError> {
        let root = self.root()?;
        let mut status = RepoStatus {
            versions: BTreeMap::new(),
            expires: BTreeMap::new(),
            targets: BTreeMap::new(),
            keys: BTreeMap::new(),
        };
        status
            .versions
            .insert("root".into(), root.signed.version.get());
        status
            .expires
            .insert("root".into(), from_tough(root.signed.expires));
        for (role, keys) in &root.signed.roles {
            status.keys.insert(
                role.to_string(),
                (
                    keys.keyids.iter().map(hex::encode).collect(),
                    keys.threshold.get(),
                ),
            );
        }
        if let Some((targets, [t, s, ts])) = self.current()? {
            status.versions.insert("targets".into(), t);
            status.versions.insert("snapshot".into(), s);
            status.versions.insert("timestamp".into(), ts);
            status
                .expires
                .insert("targets".into(), from_tough(targets.signed.expires));
            for (name, target) in &targets.signed.targets {
                status.targets.insert(
                    name.raw().to_owned(),
                    TargetSummary {
                        length: target.length,
                        sha256: hex::encode(&*target.hashes.sha256),
                        custom: serde_json::to_value(&target.custom).unwrap_or_default(),
                    },
                );
            }
        }
        Ok(status)
    }

    /// Copies the repository to a served directory `to`: targets first, then versioned
    /// metadata, `timestamp.json` last, each written atomically — a client polling `to`
    /// never sees metadata naming a file that is not there yet.
    ///
    /// # Errors
    /// As the steps.
    pub fn publish(&self, to: &Path) -> Result<usize, RepoError> {
        let mut copied = 0;
        for dir in [TARGETS, METADATA] {
            let dest = to.join(dir);
            fs::create_dir_all(&dest).map_err(io_err(format!("create {}", dest.display())))?;
            let source = self.repo.join(dir);
            let mut names: Vec<String> = fs::read_dir(&source)
                .map_err(io_err(format!("read {}", source.display())))?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "timestamp.json")
                .collect();
            names.sort();
            for name in names {
                let bytes = fs::read(source.join(&name))
                    .map_err(io_err(format!("read {}", source.join(&name).display())))?;
                if fs::read(dest.join(&name)).is_ok_and(|b| b == bytes) {
                    continue;
                }
                write_file(&dest.join(&name), &bytes)?;
                copied += 1;
            }
        }
        let bytes = fs::read(self.metadata().join("timestamp.json"))
            .map_err(io_err("read timestamp.json"))?;
        write_file(&to.join(METADATA).join("timestamp.json"), &bytes)?;
        Ok(copied + 1)
    }
}

fn retiring_path(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

fn retire(path: &Path, suffix: &str) -> Result<(), RepoError> {
    let base = path
        .to_string_lossy()
        .trim_end_matches(".retiring")
        .to_owned();
    let to = retiring_path(Path::new(&base), suffix);
    fs::rename(path, &to).map_err(io_err(format!("retire {}", path.display())))
}

fn check_root_threshold(by: &Root, signed: &Signed<Root>, whose: &str) -> Result<(), RepoError> {
    let Some(role) = by.roles.get(&RoleType::Root) else {
        return Err(RepoError::State(format!("{whose} lists no root role")));
    };
    let count = signed
        .signatures
        .iter()
        .filter(|s| role.keyids.contains(&s.keyid))
        .count() as u64;
    if count < role.threshold.get() {
        return Err(RepoError::State(format!(
            "{count} signatures by {whose}'s keys, its threshold is {} (missing root keys?)",
            role.threshold
        )));
    }
    Ok(())
}
