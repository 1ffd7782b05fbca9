//! A/B slots, the boot state and anti-rollback (NDR 3.10, CR 3.4, NDR 3.14).
//!
//! Two slot directories, `slots/a` and `slots/b`, each hold one verified bundle's files with
//! its signed manifest. The boot state (`boot-state.json`, replaced atomically) says which slot
//! is **committed** (known good), which one is on **trial** (installed, not yet committed, with
//! its boot attempts), and the **security-version floor**: the security version of the last
//! committed slot, below which nothing installs or boots.
//!
//! # Invariants
//! - An install writes only the slot that is not committed, into a staging directory first;
//!   the slot directory is replaced by one rename, and the boot state names the new slot only
//!   after that. A crash at any point leaves the committed slot and a boot state that names it.
//! - A slot boots only after its manifest signature (a trusted release key), its manifest
//!   digest (the one the boot state recorded at install), every file's length and SHA-256, and
//!   the absence of any other file have been checked; the binary is hashed from the very file
//!   descriptor that is then executed.
//! - The floor only rises, and only when a slot commits, so a failed trial can still fall back.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rampart_vault::DevicePublicKey;
use serde::{Deserialize, Serialize};

use crate::bundle::{
    self, BundleError, FileEntry, FileRole, MANIFEST_FILE, Manifest, SIGNATURE_FILE,
    VerifiedManifest,
};
use crate::crash;

/// The boot state's `format` value.
pub const BOOT_STATE_FORMAT: &str = "rampart-boot-state";
/// Boot attempts a trial slot gets before the launcher falls back (NDR 3.14 / issue #16).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// The most history entries the boot state keeps (oldest dropped first).
pub const HISTORY_MAX: usize = 64;
/// The boot state's size cap on read.
const BOOT_STATE_MAX: u64 = 256 * 1024;

/// One of the two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotName {
    /// Slot A.
    A,
    /// Slot B.
    B,
}

impl SlotName {
    /// The other slot.
    #[must_use]
    pub fn other(self) -> SlotName {
        match self {
            SlotName::A => SlotName::B,
            SlotName::B => SlotName::A,
        }
    }

    /// `a` or `b`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotName::A => "a",
            SlotName::B => "b",
        }
    }
}

impl fmt::Display for SlotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SlotName {
    type Err = String;
    fn from_str(s: &str) -> Result<SlotName, String> {
        match s {
            "a" | "A" => Ok(SlotName::A),
            "b" | "B" => Ok(SlotName::B),
            other => Err(format!("slot '{other}': expected 'a' or 'b'")),
        }
    }
}

/// Where a slot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlotState {
    /// The known-good slot the launcher boots when no trial is pending.
    Committed,
    /// Installed and waiting for its trial boots and commit.
    Trial,
    /// Committed before the current one; a manual rollback may return to it.
    Previous,
    /// A trial that was not committed in time, or failed verification; never booted again.
    Failed,
}

/// What the boot state knows of a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotRecord {
    /// Its release version.
    pub version: semver::Version,
    /// Its security version.
    pub security_version: u64,
    /// The SHA-256 of its manifest's bytes, recorded at install: binds the slot directory's
    /// content to this record, so swapping or renaming slot directories is caught.
    pub manifest_sha256: String,
    /// Where it stands.
    pub state: SlotState,
    /// When it was installed.
    pub installed: jiff::Timestamp,
    /// Boot attempts since install (trial slots).
    #[serde(default)]
    pub attempts: u32,
    /// Attempts allowed before fallback (trial slots).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

fn default_max_attempts() -> u32 {
    DEFAULT_MAX_ATTEMPTS
}

/// One line of the boot state's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// When.
    pub at: jiff::Timestamp,
    /// What happened: `installed`, `committed`, `fallback`, `rolled-back`, `boot`.
    pub event: String,
    /// The slot it happened to.
    pub slot: SlotName,
    /// That slot's version.
    pub version: semver::Version,
    /// Why, for fallbacks and refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The launcher's and installer's shared record (`boot-state.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootState {
    /// Always [`BOOT_STATE_FORMAT`].
    pub format: String,
    /// Always 1.
    pub format_version: u32,
    /// The security-version floor: the highest security version ever committed.
    pub security_version_floor: u64,
    /// What is known of each slot.
    pub slots: BTreeMap<SlotName, SlotRecord>,
    /// The latest events, oldest first, at most [`HISTORY_MAX`].
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

impl Default for BootState {
    fn default() -> BootState {
        BootState {
            format: BOOT_STATE_FORMAT.into(),
            format_version: 1,
            security_version_floor: 0,
            slots: BTreeMap::new(),
            history: Vec::new(),
        }
    }
}

impl BootState {
    /// The committed slot, if any.
    pub fn committed(&self) -> Option<SlotName> {
        self.slot_in(SlotState::Committed)
    }

    /// The slot on trial, if any.
    pub fn trial(&self) -> Option<SlotName> {
        self.slot_in(SlotState::Trial)
    }

    fn slot_in(&self, state: SlotState) -> Option<SlotName> {
        self.slots
            .iter()
            .find(|(_, r)| r.state == state)
            .map(|(name, _)| *name)
    }

    fn push_history(&mut self, entry: HistoryEntry) {
        self.history.push(entry);
        if self.history.len() > HISTORY_MAX {
            let excess = self.history.len() - HISTORY_MAX;
            self.history.drain(..excess);
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.format != BOOT_STATE_FORMAT || self.format_version != 1 {
            return Err(format!(
                "format '{}' version {} is not '{BOOT_STATE_FORMAT}' version 1",
                self.format, self.format_version
            ));
        }
        for state in [SlotState::Committed, SlotState::Trial] {
            if self.slots.values().filter(|r| r.state == state).count() > 1 {
                return Err(format!("two slots are {state:?}"));
            }
        }
        Ok(())
    }
}

/// Why an update step was refused. Callers audit these; each names what and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The bundle is not authentic or not intact.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The bundle's security version is below the floor (anti-rollback).
    #[error(
        "security version {bundle} is below the committed security version {floor}: \
         refused (anti-rollback)"
    )]
    SecurityVersionRollback {
        /// The bundle's.
        bundle: u64,
        /// The floor.
        floor: u64,
    },
    /// The bundle is older than the committed release and no downgrade was asked for.
    #[error(
        "version {bundle} is older than the committed version {committed}: refused (an older \
         bundle replayed?); an operator may allow a downgrade within the same security version"
    )]
    Downgrade {
        /// The bundle's.
        bundle: semver::Version,
        /// The committed slot's.
        committed: semver::Version,
    },
    /// The bundle targets another platform.
    #[error("the bundle is built for {bundle}, this device runs {device}")]
    WrongTarget {
        /// The bundle's triple.
        bundle: String,
        /// This build's triple.
        device: String,
    },
    /// A slot failed verification.
    #[error("slot {slot}: {reason}")]
    SlotInvalid {
        /// The slot.
        slot: SlotName,
        /// What failed.
        reason: String,
    },
    /// Nothing verified can boot.
    #[error("no slot can boot: {0}")]
    NoBootableSlot(String),
    /// The operation does not apply to the current state.
    #[error("{0}")]
    State(String),
    /// The hardware anti-rollback counter (a TPM NV counter) cannot be read or raised.
    #[error("the hardware anti-rollback counter: {0}")]
    RollbackCounter(String),
    /// The boot state file is unreadable or inconsistent.
    #[error("boot state {path}: {reason}")]
    BadBootState {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> UpdateError {
    let context = context.into();
    move |source| UpdateError::Io { context, source }
}

/// How an install behaves.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Allow a release older than the committed one (still never below the floor).
    pub allow_downgrade: bool,
    /// Commit at once instead of a trial (first provisioning of a device).
    pub commit: bool,
    /// Trial boot attempts before fallback.
    pub max_attempts: u32,
    /// This device's `ARCH-OS` (e.g. `x86_64-linux`): a bundle's target triple must name
    /// both; `None` accepts any.
    pub device_target: Option<String>,
    /// The time of the install.
    pub now: jiff::Timestamp,
}

/// What an install did.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The slot written.
    pub slot: SlotName,
    /// Its manifest.
    pub manifest: Manifest,
    /// Whether it was committed at once.
    pub committed: bool,
}

/// What the launcher decided.
#[derive(Debug)]
pub struct Boot {
    /// The slot to run.
    pub slot: SlotName,
    /// Its verified manifest.
    pub manifest: Manifest,
    /// Whether it is a trial boot, and which attempt.
    pub trial_attempt: Option<(u32, u32)>,
    /// The verified binary, open: execute this descriptor, not the path.
    pub binary: File,
    /// A trial that was abandoned on the way, with the reason (to audit and alert).
    pub fell_back: Option<(SlotName, String)>,
}

/// A device's update directory (`DATA/update`): slots, boot state, staging.
#[derive(Debug, Clone)]
pub struct Slots {
    dir: PathBuf,
}

impl Slots {
    /// The update directory at `dir` (created on first install).
    pub fn new(dir: impl Into<PathBuf>) -> Slots {
        Slots { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A slot's directory.
    pub fn slot_dir(&self, slot: SlotName) -> PathBuf {
        self.dir.join("slots").join(slot.as_str())
    }

    fn boot_state_path(&self) -> PathBuf {
        self.dir.join("boot-state.json")
    }

    fn staging_dir(&self) -> PathBuf {
        self.dir.join("staging")
    }

    /// Reads the boot state (the default, empty one if there is none yet).
    ///
    /// # Errors
    /// [`UpdateError::BadBootState`] if the file is unreadable, too large or inconsistent.
    pub fn boot_state(&self) -> Result<BootState, UpdateError> {
        let path = self.boot_state_path();
        let bad = |reason: String| UpdateError::BadBootState {
            path: path.clone(),
            reason,
        };
        let bytes = match rampart_vault::read_capped(&path, BOOT_STATE_MAX) {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => {
                // A deleted file lowers nothing: the hardware floor still holds.
                let mut state = BootState::default();
                reconcile_hardware_floor(&mut state)?;
                return Ok(state);
            }
            Err(e) => return Err(bad(e.to_string())),
        };
        let mut state: BootState =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid: {e}")))?;
        state.check().map_err(bad)?;
        reconcile_hardware_floor(&mut state)?;
        Ok(state)
    }

    fn write_boot_state(&self, state: &BootState) -> Result<(), UpdateError> {
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| UpdateError::BadBootState {
            path: self.boot_state_path(),
            reason: e.to_string(),
        })?;
        // Written step by step (not through `write_atomic`) so that the power-cut test can
        // cut between every write, sync and rename.
        let path = self.boot_state_path();
        let temp = self.dir.join("boot-state.tmp");
        fs::create_dir_all(&self.dir).map_err(io_err(format!("create {}", self.dir.display())))?;
        crash::point("boot-state: before write");
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io_err(format!("create {}", temp.display())))?;
        file.write_all(&bytes)
            .map_err(io_err(format!("write {}", temp.display())))?;
        crash::point("boot-state: temporary file written");
        file.sync_all()
            .map_err(io_err(format!("sync {}", temp.display())))?;
        crash::point("boot-state: temporary file synced");
        fs::rename(&temp, &path).map_err(io_err(format!("rename to {}", path.display())))?;
        crash::point("boot-state: renamed");
        sync_dir(&self.dir)?;
        crash::point("boot-state: directory synced");
        Ok(())
    }

    /// Installs a bundle into the slot that is not committed: verifies the signature before
    /// reading any file, refuses a security version below the floor or (unless allowed) an
    /// older release, streams the files into staging checking each length and hash, then
    /// puts the slot in place and records it as on trial (or committed, for a first install
    /// with `commit`).
    ///
    /// # Errors
    /// Any [`UpdateError`]; nothing the launcher reads changes unless the install succeeds.
    pub fn install(
        &self,
        bundle: &mut dyn Read,
        trusted: &[DevicePublicKey],
        options: &InstallOptions,
    ) -> Result<Installed, UpdateError> {
        let mut state = self.boot_state()?;
        let verified = bundle::read_header(bundle, trusted)?;
        let manifest = verified.manifest.clone();
        Self::admit(&state, &manifest, options)?;
        let target = state.committed().map_or(SlotName::A, SlotName::other);

        let staging_root = self.staging_dir();
        fs::create_dir_all(&staging_root)
            .map_err(io_err(format!("create {}", staging_root.display())))?;
        let staging = staging_root.join(format!("{target}-new"));
        remove_dir_if_present(&staging)?;
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&staging)
            .map_err(io_err(format!("create {}", staging.display())))?;
        crash::point("staging: created");

        let written = Self::write_staging(&staging, bundle, &verified);
        if let Err(e) = written {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }

        let slots_dir = self.dir.join("slots");
        fs::create_dir_all(&slots_dir)
            .map_err(io_err(format!("create {}", slots_dir.display())))?;
        let target_dir = self.slot_dir(target);
        let old = staging_root.join(format!("{target}-old"));
        remove_dir_if_present(&old)?;
        if target_dir.exists() {
            crash::point("slot: before moving the old slot aside");
            fs::rename(&target_dir, &old)
                .map_err(io_err(format!("move {} aside", target_dir.display())))?;
            crash::point("slot: after moving the old slot aside");
        }
        fs::rename(&staging, &target_dir)
            .map_err(io_err(format!("put {} in place", target_dir.display())))?;
        crash::point("slot: after rename into place");
        sync_dir(&slots_dir)?;
        sync_dir(&staging_root)?;
        crash::point("slot: after syncing the slots directory");

        let now = options.now;
        let committed_now = options.commit;
        if committed_now {
            demote_committed(&mut state);
            state.security_version_floor =
                state.security_version_floor.max(manifest.security_version);
        }
        state.slots.insert(
            target,
            SlotRecord {
                version: manifest.version.clone(),
                security_version: manifest.security_version,
                manifest_sha256: verified.digest(),
                state: if committed_now {
                    SlotState::Committed
                } else {
                    SlotState::Trial
                },
                installed: now,
                attempts: 0,
                max_attempts: options.max_attempts.max(1),
            },
        );
        state.push_history(HistoryEntry {
            at: now,
            event: if committed_now {
                "installed-committed".into()
            } else {
                "installed".into()
            },
            slot: target,
            version: manifest.version.clone(),
            reason: None,
        });
        self.write_boot_state(&state)?;
        if committed_now {
            raise_hardware_floor(state.security_version_floor)?;
        }
        if old.exists() {
            fs::remove_dir_all(&old).map_err(io_err(format!("remove {}", old.display())))?;
            crash::point("slot: after removing the old slot");
        }
        Ok(Installed {
            slot: target,
            manifest,
            committed: committed_now,
        })
    }

    /// The install-time checks of a verified manifest against the boot state.
    fn admit(
        state: &BootState,
        manifest: &Manifest,
        options: &InstallOptions,
    ) -> Result<(), UpdateError> {
        if manifest.security_version < state.security_version_floor {
            return Err(UpdateError::SecurityVersionRollback {
                bundle: manifest.security_version,
                floor: state.security_version_floor,
            });
        }
        if let Some(device) = &options.device_target
            && !triple_matches(&manifest.target, device)
        {
            return Err(UpdateError::WrongTarget {
                bundle: manifest.target.clone(),
                device: device.clone(),
            });
        }
        if let Some(committed) = state.committed().and_then(|s| state.slots.get(&s))
            && manifest.version < committed.version
            && !options.allow_downgrade
        {
            return Err(UpdateError::Downgrade {
                bundle: manifest.version.clone(),
                committed: committed.version.clone(),
            });
        }
        Ok(())
    }

    fn write_staging(
        staging: &Path,
        bundle: &mut dyn Read,
        verified: &VerifiedManifest,
    ) -> Result<(), UpdateError> {
        write_synced(&staging.join(MANIFEST_FILE), &verified.bytes, 0o600)?;
        write_synced(
            &staging.join(SIGNATURE_FILE),
            &verified.signature_bytes,
            0o600,
        )?;
        let mut open = |entry: &FileEntry| -> io::Result<Box<dyn Write>> {
            let mode = if entry.role == FileRole::Binary {
                0o700
            } else {
                0o600
            };
            let file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(staging.join(&entry.name))?;
            crash::point("file: created");
            Ok(Box::new(SyncedFile { file: Some(file) }))
        };
        bundle::read_files(bundle, &verified.manifest, &mut open)?;
        sync_dir(staging)?;
        crash::point("staging: synced");
        Ok(())
    }

    /// Verifies a slot against its boot-state record: manifest signature and digest, exact
    /// file set, every file's length and hash. Returns the binary, open.
    ///
    /// # Errors
    /// [`UpdateError::SlotInvalid`] naming what failed.
    pub fn verify_slot(
        &self,
        slot: SlotName,
        record: &SlotRecord,
        trusted: &[DevicePublicKey],
    ) -> Result<(Manifest, File), UpdateError> {
        let invalid = |reason: String| UpdateError::SlotInvalid { slot, reason };
        let dir = self.slot_dir(slot);
        let meta = fs::symlink_metadata(&dir).map_err(|e| invalid(format!("{e}")))?;
        if !meta.is_dir() {
            return Err(invalid("is not a directory".into()));
        }
        let manifest_bytes =
            read_regular(&dir.join(MANIFEST_FILE), u64::from(bundle::MANIFEST_MAX))
                .map_err(|e| invalid(format!("{MANIFEST_FILE}: {e}")))?;
        let signature_bytes =
            read_regular(&dir.join(SIGNATURE_FILE), u64::from(bundle::SIGNATURE_MAX))
                .map_err(|e| invalid(format!("{SIGNATURE_FILE}: {e}")))?;
        let verified = bundle::verify_manifest(&manifest_bytes, &signature_bytes, trusted)
            .map_err(|e| invalid(e.to_string()))?;
        if !rampart_vault::crypto::ct_eq(
            verified.digest().as_bytes(),
            record.manifest_sha256.as_bytes(),
        ) {
            return Err(invalid(
                "its manifest is not the one installed into this slot (slots swapped or \
                 replaced)"
                    .into(),
            ));
        }
        let manifest = verified.manifest;
        if manifest.security_version != record.security_version
            || manifest.version != record.version
        {
            return Err(invalid("manifest and boot state disagree".into()));
        }
        let mut expected: BTreeMap<&str, &FileEntry> = manifest
            .files
            .iter()
            .map(|f| (f.name.as_str(), f))
            .collect();
        let entries = fs::read_dir(&dir).map_err(|e| invalid(format!("{e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| invalid(format!("{e}")))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name != MANIFEST_FILE && name != SIGNATURE_FILE && !expected.contains_key(&*name) {
                return Err(invalid(format!(
                    "holds '{name}', which its manifest does not list"
                )));
            }
        }
        let mut binary = None;
        for entry in manifest.files.clone() {
            expected.remove(entry.name.as_str());
            let path = dir.join(&entry.name);
            let file = open_regular(&path).map_err(|e| invalid(format!("{}: {e}", entry.name)))?;
            let (length, sha256) =
                hash_file(&file).map_err(|e| invalid(format!("{}: {e}", entry.name)))?;
            if length != entry.length
                || !rampart_vault::crypto::ct_eq(sha256.as_bytes(), entry.sha256.as_bytes())
            {
                return Err(invalid(format!(
                    "{} does not match its manifest ({length} bytes, SHA-256 {sha256}; \
                     expected {} bytes, {})",
                    entry.name, entry.length, entry.sha256
                )));
            }
            if entry.role == FileRole::Binary {
                binary = Some(file);
            }
        }
        let binary = binary.ok_or_else(|| invalid("no binary".into()))?;
        Ok((manifest, binary))
    }

    /// The launcher's decision: the trial slot while it has attempts left and verifies
    /// (counting this attempt), else the committed slot if it verifies. A trial out of
    /// attempts or failing verification is marked failed, with a history entry.
    ///
    /// # Errors
    /// [`UpdateError::NoBootableSlot`] when nothing verified can boot; never a fallback to an
    /// unverified slot.
    pub fn choose_boot(
        &self,
        trusted: &[DevicePublicKey],
        now: jiff::Timestamp,
    ) -> Result<Boot, UpdateError> {
        let mut state = self.boot_state()?;
        let mut fell_back = None;
        if let Some(trial) = state.trial() {
            let record = state.slots[&trial].clone();
            let verdict = if record.attempts >= record.max_attempts {
                Err(format!(
                    "not committed after {} boot attempts",
                    record.attempts
                ))
            } else if record.security_version < state.security_version_floor {
                Err(format!(
                    "security version {} is below the floor {}",
                    record.security_version, state.security_version_floor
                ))
            } else {
                self.verify_slot(trial, &record, trusted)
                    .map_err(|e| e.to_string())
            };
            match verdict {
                Ok((manifest, binary)) => {
                    let attempt = record.attempts + 1;
                    if let Some(r) = state.slots.get_mut(&trial) {
                        r.attempts = attempt;
                    }
                    state.push_history(HistoryEntry {
                        at: now,
                        event: "boot-trial".into(),
                        slot: trial,
                        version: record.version.clone(),
                        reason: Some(format!("attempt {attempt} of {}", record.max_attempts)),
                    });
                    self.write_boot_state(&state)?;
                    return Ok(Boot {
                        slot: trial,
                        manifest,
                        trial_attempt: Some((attempt, record.max_attempts)),
                        binary,
                        fell_back: None,
                    });
                }
                Err(reason) => {
                    if let Some(r) = state.slots.get_mut(&trial) {
                        r.state = SlotState::Failed;
                    }
                    state.push_history(HistoryEntry {
                        at: now,
                        event: "fallback".into(),
                        slot: trial,
                        version: record.version.clone(),
                        reason: Some(reason.clone()),
                    });
                    self.write_boot_state(&state)?;
                    fell_back = Some((trial, reason));
                }
            }
        }
        let committed = state.committed().ok_or_else(|| {
            UpdateError::NoBootableSlot(match &fell_back {
                Some((slot, reason)) => format!(
                    "the trial slot {slot} was abandoned ({reason}) and no slot is committed"
                ),
                None => "no slot is installed: install a bundle first \
                         (`rampart update install --bundle FILE --commit`)"
                    .into(),
            })
        })?;
        let record = state.slots[&committed].clone();
        let (manifest, binary) = self
            .verify_slot(committed, &record, trusted)
            .map_err(|e| UpdateError::NoBootableSlot(e.to_string()))?;
        Ok(Boot {
            slot: committed,
            manifest,
            trial_attempt: None,
            binary,
            fell_back,
        })
    }

    /// Commits the trial slot `slot` (the running slot, after its health check): it becomes
    /// the committed slot, the previously committed one becomes `previous`, and the floor
    /// rises to its security version.
    ///
    /// # Errors
    /// [`UpdateError::State`] if `slot` is not on trial.
    pub fn commit(&self, slot: SlotName, now: jiff::Timestamp) -> Result<SlotRecord, UpdateError> {
        let mut state = self.boot_state()?;
        if state.committed() == Some(slot) {
            return Err(UpdateError::State(format!(
                "slot {slot} is already committed"
            )));
        }
        if state.trial() != Some(slot) {
            return Err(UpdateError::State(format!(
                "slot {slot} is not on trial: nothing to commit"
            )));
        }
        demote_committed(&mut state);
        let record = {
            let r = state
                .slots
                .get_mut(&slot)
                .ok_or_else(|| UpdateError::State(format!("slot {slot} is not installed")))?;
            r.state = SlotState::Committed;
            r.clone()
        };
        state.security_version_floor = state.security_version_floor.max(record.security_version);
        state.push_history(HistoryEntry {
            at: now,
            event: "committed".into(),
            slot,
            version: record.version.clone(),
            reason: None,
        });
        self.write_boot_state(&state)?;
        // The file first: a crash between the two is made good by the next read.
        raise_hardware_floor(state.security_version_floor)?;
        Ok(record)
    }

    /// Rolls back: abandons a pending trial, or, with no trial, makes the previous slot the
    /// committed one again — only if its security version is not below the floor.
    ///
    /// # Errors
    /// [`UpdateError::State`] when there is nothing to roll back to,
    /// [`UpdateError::SecurityVersionRollback`] when the previous slot is below the floor.
    pub fn rollback(&self, now: jiff::Timestamp) -> Result<(SlotName, SlotRecord), UpdateError> {
        let mut state = self.boot_state()?;
        if let Some(trial) = state.trial() {
            let record = {
                let r = state
                    .slots
                    .get_mut(&trial)
                    .ok_or_else(|| UpdateError::State(format!("slot {trial} is not installed")))?;
                r.state = SlotState::Failed;
                r.clone()
            };
            state.push_history(HistoryEntry {
                at: now,
                event: "rolled-back".into(),
                slot: trial,
                version: record.version.clone(),
                reason: Some("trial abandoned by an operator".into()),
            });
            self.write_boot_state(&state)?;
            return Ok((trial, record));
        }
        let previous = state.slot_in(SlotState::Previous).ok_or_else(|| {
            UpdateError::State("no trial pending and no previous slot to roll back to".into())
        })?;
        let record = state.slots[&previous].clone();
        if record.security_version < state.security_version_floor {
            return Err(UpdateError::SecurityVersionRollback {
                bundle: record.security_version,
                floor: state.security_version_floor,
            });
        }
        demote_committed(&mut state);
        if let Some(r) = state.slots.get_mut(&previous) {
            r.state = SlotState::Committed;
        }
        state.push_history(HistoryEntry {
            at: now,
            event: "rolled-back".into(),
            slot: previous,
            version: record.version.clone(),
            reason: Some("returned to the previous slot by an operator".into()),
        });
        self.write_boot_state(&state)?;
        Ok((previous, record))
    }
}

/// Whether a target triple (`x86_64-unknown-linux-gnu`) names the device's `ARCH-OS`.
pub fn triple_matches(triple: &str, device: &str) -> bool {
    let Some((arch, os)) = device.split_once('-') else {
        return false;
    };
    let mut parts = triple.split('-');
    parts.next() == Some(arch) && parts.any(|p| p == os)
}

/// The hardware floor (a TPM NV counter, when the data directory's KEK is in a TPM) and the
/// boot state's, made one: a boot-state floor below the hardware's was rolled back (an old
/// file put back) and takes the hardware's; one above it is a commit whose counting a crash
/// interrupted, and is counted now.
fn reconcile_hardware_floor(state: &mut BootState) -> Result<(), UpdateError> {
    let counter = |e: rampart_vault::VaultError| UpdateError::RollbackCounter(e.to_string());
    match rampart_vault::anti_rollback::floor().map_err(counter)? {
        Some(hardware) if hardware > state.security_version_floor => {
            state.security_version_floor = hardware;
        }
        Some(hardware) if hardware < state.security_version_floor => {
            rampart_vault::anti_rollback::raise(state.security_version_floor).map_err(counter)?;
        }
        _ => {}
    }
    Ok(())
}

/// Raises the hardware floor, where there is one, to `floor`.
fn raise_hardware_floor(floor: u64) -> Result<(), UpdateError> {
    rampart_vault::anti_rollback::raise(floor)
        .map(|_| ())
        .map_err(|e| UpdateError::RollbackCounter(e.to_string()))
}

fn demote_committed(state: &mut BootState) {
    for record in state.slots.values_mut() {
        match record.state {
            SlotState::Committed => record.state = SlotState::Previous,
            SlotState::Previous => record.state = SlotState::Failed,
            SlotState::Trial | SlotState::Failed => {}
        }
    }
}

/// A file that is synced to disk when its writer is dropped after flush.
struct SyncedFile {
    file: Option<File>,
}

impl Write for SyncedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().map_or(Ok(0), |f| f.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(file) = self.file.as_mut() {
            crash::point("file: written");
            file.sync_all()?;
            crash::point("file: synced");
        }
        Ok(())
    }
}

fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> Result<(), UpdateError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(format!("create {}", path.display())))?;
    crash::point("file: created");
    file.write_all(bytes)
        .map_err(io_err(format!("write {}", path.display())))?;
    crash::point("file: written");
    file.sync_all()
        .map_err(io_err(format!("sync {}", path.display())))?;
    crash::point("file: synced");
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), UpdateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("sync {}", dir.display())))
}

fn remove_dir_if_present(dir: &Path) -> Result<(), UpdateError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(UpdateError::Io {
            context: format!("remove {}", dir.display()),
            source: e,
        }),
    }
}

/// Opens `path` only if it is a regular file, not a symlink, and the descriptor opened is the
/// file that was checked (same device and inode).
fn open_regular(path: &Path) -> io::Result<File> {
    let before = fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(io::Error::other("not a regular file (a symlink or other)"));
    }
    let file = File::open(path)?;
    let after = file.metadata()?;
    if after.dev() != before.dev() || after.ino() != before.ino() {
        return Err(io::Error::other("replaced while being opened"));
    }
    if after.permissions().mode() & 0o022 != 0 {
        return Err(io::Error::other("writable by group or others"));
    }
    Ok(file)
}

fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::other(format!("larger than {cap} bytes")));
    }
    Ok(bytes)
}

fn hash_file(file: &File) -> io::Result<(u64, String)> {
    let mut reader = file;
    bundle::hash_stream(&mut reader, bundle::FILE_MAX)
}

#[cfg(test)]
mod tests;
