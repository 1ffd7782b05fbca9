//! The shared harness: a realistic data directory (device key, PKI, policy, island state,
//! forwarding cursor, identity store with a user, signed audit trail), fast backups of it,
//! and a fingerprint of a directory tree to prove that nothing changed.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_audit::{AuditStore, StoreConfig, SystemClock};
use rampart_backup::{CreateOptions, KdfParams, Passphrase};
use rampart_identity::{
    AccountName, HashParams, Identity, IdentityConfig, MemoryRecorder, NewAccount, Password,
    RoleName,
};
use rampart_vault::{DataDir, DevicePublicKey};

/// The passphrase every test backup uses.
pub(crate) const PASSPHRASE: &str = "correct horse battery staple";

pub(crate) fn passphrase() -> Passphrase {
    Passphrase::new(PASSPHRASE).unwrap()
}

/// Cheap argon2id (the least memory accepted, one pass), so the suite stays fast.
pub(crate) fn fast() -> CreateOptions {
    CreateOptions {
        kdf_m_kib: KdfParams::MIN_M_KIB,
        kdf_t: 1,
        kdf_p: 1,
        ..CreateOptions::default()
    }
}

/// The policy file the test device holds.
pub(crate) const POLICY: &str = "# test policy\n[[role]]\nname = \"operator\"\n";

/// A device: a data directory in its own temporary parent.
pub(crate) struct Device {
    pub(crate) parent: tempfile::TempDir,
    pub(crate) path: PathBuf,
    pub(crate) data: DataDir,
}

impl Device {
    /// A populated data directory with `events` audit events.
    pub(crate) fn new(events: u64) -> Device {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("rampart-data");
        let (data, _) = DataDir::open_or_init(&path).unwrap();
        rampart_vault::pki::Pki::open_or_init(&data).unwrap();
        rampart_vault::write_atomic(
            &data.file(rampart_vault::Entry::Policy),
            POLICY.as_bytes(),
            0o600,
        )
        .unwrap();
        data.dir(rampart_vault::Entry::Gateway).unwrap();
        rampart_vault::write_atomic(&data.file(rampart_vault::Entry::Island), b"off\n", 0o600)
            .unwrap();
        data.dir(rampart_vault::Entry::Forward).unwrap();
        rampart_vault::write_atomic(
            &data
                .file(rampart_vault::Entry::Forward)
                .join("siem.example_6514.cursor"),
            b"delivered=0\n",
            0o600,
        )
        .unwrap();
        let identity = identity(&data);
        let console = identity.local_console("tester").unwrap();
        identity
            .create_user(
                &console,
                &NewAccount::new(AccountName::parse("alice").unwrap())
                    .role(RoleName::parse("operator").unwrap()),
                &Password::from("plinth marmot cobalt fjord"),
            )
            .unwrap();
        drop(identity);
        let device = Device { parent, path, data };
        let audit = device.audit();
        for i in 0..events {
            audit
                .append(rampart_audit::testing::sample_event(i))
                .unwrap();
        }
        audit.close().unwrap();
        device
    }

    pub(crate) fn key(&self) -> DevicePublicKey {
        self.data.device_key().unwrap().public_key()
    }

    /// The audit trail, signed by the device key.
    pub(crate) fn audit(&self) -> AuditStore {
        audit_store(&self.path)
    }

    /// A backup of the device, in memory.
    pub(crate) fn backup(&self) -> Vec<u8> {
        let mut out = Vec::new();
        rampart_backup::create(&self.data, &passphrase(), &fast(), &mut out).unwrap();
        out
    }
}

/// The audit trail of the data directory at `path`.
pub(crate) fn audit_store(path: &Path) -> AuditStore {
    let data = DataDir::open(path).unwrap();
    AuditStore::open(
        &data.dir(rampart_vault::Entry::Audit).unwrap(),
        StoreConfig::default(),
        Arc::new(SystemClock::new()),
        Arc::new(data.device_key().unwrap()),
    )
    .unwrap()
}

/// The identity store of `data`, with cheap hashing.
pub(crate) fn identity(data: &DataDir) -> Identity {
    Identity::builder(
        data.file(rampart_vault::Entry::Identity),
        Arc::new(MemoryRecorder::new()),
    )
    .config(IdentityConfig {
        hashing: HashParams::danger_insecure_fast(),
        ..IdentityConfig::default()
    })
    .open()
    .unwrap()
}

/// Every path under `root` with its mode and content: equal fingerprints, unchanged trees.
pub(crate) fn fingerprint(root: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for item in std::fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, (mode, Vec::new()));
                stack.push(path);
            } else {
                out.insert(rel, (mode, std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// The names in `dir`, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The account names in the identity store of `path`.
pub(crate) fn accounts(path: &Path) -> Vec<String> {
    let data = DataDir::open(path).unwrap();
    let identity = identity(&data);
    let console = identity.local_console("tester").unwrap();
    identity
        .list_accounts(&console)
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect()
}

/// Whether the audit trail of `path` verifies against `key`.
pub(crate) fn audit_intact(path: &Path, key: DevicePublicKey) -> rampart_audit::VerifyReport {
    rampart_audit::verify(&path.join("audit"), &key).unwrap()
}
