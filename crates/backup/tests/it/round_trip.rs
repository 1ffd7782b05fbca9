//! CR 7.3 RE 1, CR 7.4: a backup brings a wiped device back — users, policy, keys, PKI and an
//! audit trail whose chain continues.

use std::io::Cursor;

use rampart_audit::{Actor, Category, NewEvent, Outcome};
use rampart_backup::{EntryKind, RestoreOptions};

use crate::util::{self, Device, fingerprint, passphrase};

#[test]
fn create_wipe_restore_brings_everything_back() {
    let device = Device::new(50);
    let key = device.key();
    let before = fingerprint(&device.path);
    let backup = device.backup();

    let verified = rampart_backup::verify(Cursor::new(&backup), key, &passphrase()).unwrap();
    let paths: Vec<&str> = verified
        .manifest()
        .entries
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    for want in [
        "LAYOUT",
        "audit/audit.sqlite3",
        "forward/siem.example_6514.cursor",
        "gateway/island",
        "identity.db",
        "keys/device.key",
        "keys/device.pub",
        "keys/kek",
        "keys/kek-provider",
        "pki/ca.crt",
        "pki/ca.key",
        "pki/clients",
        "pki/server.key",
        "policy.toml",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    let kind = |p: &str| {
        verified
            .manifest()
            .entries
            .iter()
            .find(|e| e.path == p)
            .unwrap()
            .kind
    };
    assert_eq!(kind("identity.db"), EntryKind::Sqlite);
    assert_eq!(kind("audit/audit.sqlite3"), EntryKind::Sqlite);
    assert_eq!(kind("policy.toml"), EntryKind::File);

    // The device is wiped.
    std::fs::remove_dir_all(&device.path).unwrap();
    // Without a trusted key there is nothing to check the backup against.
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        &device.path,
        &passphrase(),
        &RestoreOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, rampart_backup::BackupError::NoTrustAnchor { .. }),
        "{err}"
    );
    assert!(!device.path.exists());

    let summary = rampart_backup::restore(
        Cursor::new(&backup),
        &device.path,
        &passphrase(),
        &RestoreOptions {
            device_key: Some(key),
        },
    )
    .unwrap();
    assert_eq!(summary.replaced, None);
    assert_eq!(summary.device_key, key);
    // The sealed secrets came back with the KEK that opens them (inside the backup's own
    // encryption), recorded relative to the directory.
    let restored = rampart_vault::DataDir::open(&device.path).unwrap();
    assert!(restored.secret_files().iter().all(|(_, sealed)| *sealed));
    assert_eq!(
        restored.kek().unwrap().location(),
        device.path.join("keys/kek")
    );
    assert_eq!(restored.device_key().unwrap().public_key(), key);
    assert!(summary.audit_events.is_some_and(|n| n >= 50), "{summary:?}");

    // Users, policy, keys, PKI: the same bytes (SQLite files are snapshots, compared by content
    // below rather than bytes).
    let after = fingerprint(&device.path);
    for (path, (mode, content)) in &before {
        if path == "identity.db" || path.starts_with("audit/") {
            continue;
        }
        let restored = after
            .get(path)
            .unwrap_or_else(|| panic!("{path} not restored"));
        assert_eq!(restored.0, *mode, "{path} mode");
        assert_eq!(&restored.1, content, "{path} content");
    }
    assert_eq!(util::accounts(&device.path), vec!["alice".to_owned()]);
    assert!(util::audit_intact(&device.path, key).is_intact());
    assert_eq!(
        std::fs::read_to_string(device.path.join("policy.toml")).unwrap(),
        util::POLICY
    );
    // Nothing left beside it.
    assert_eq!(util::names(device.parent.path()), vec!["rampart-data"]);

    // The caller records the restore; the chain continues and still verifies.
    let audit = util::audit_store(&device.path);
    audit
        .append(
            NewEvent::builder(
                Category::BackupRestore,
                "backup.restore",
                Actor::user("os:test").unwrap(),
            )
            .outcome(Outcome::Success)
            .details(serde_json::json!({ "sha256": summary.sha256 }))
            .build()
            .unwrap(),
        )
        .unwrap();
    audit.close().unwrap();
    let report = util::audit_intact(&device.path, key);
    assert!(report.is_intact(), "{report}");
}

#[test]
fn restoring_over_a_live_directory_keeps_the_replaced_one() {
    let device = Device::new(5);
    let backup = device.backup();
    // Changes after the backup: a new file and more audit events.
    rampart_vault::write_atomic(
        &device.data.file(rampart_vault::Entry::Policy),
        b"# newer\n",
        0o600,
    )
    .unwrap();
    let audit = device.audit();
    for i in 0..5 {
        audit
            .append(rampart_audit::testing::sample_event(100 + i))
            .unwrap();
    }
    audit.close().unwrap();
    let newer = fingerprint(&device.path);

    let summary = rampart_backup::restore(
        Cursor::new(&backup),
        &device.path,
        &passphrase(),
        &RestoreOptions::default(),
    )
    .unwrap();
    let replaced = summary.replaced.expect("the old directory is kept");
    assert!(
        replaced
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("rampart-data.replaced-"),
        "{}",
        replaced.display()
    );
    assert_eq!(
        fingerprint(&replaced),
        newer,
        "the replaced directory is intact"
    );
    assert_eq!(
        std::fs::read_to_string(device.path.join("policy.toml")).unwrap(),
        util::POLICY
    );
    assert!(util::audit_intact(&device.path, device.key()).is_intact());
}

#[test]
fn a_backup_taken_while_the_audit_trail_is_written_is_consistent() {
    let device = Device::new(10);
    let audit = std::sync::Arc::new(device.audit());
    let writer = {
        let audit = std::sync::Arc::clone(&audit);
        std::thread::spawn(move || {
            for i in 0..400 {
                audit
                    .append(rampart_audit::testing::sample_event(i))
                    .unwrap();
            }
        })
    };
    let backup = device.backup();
    writer.join().unwrap();
    audit.close().unwrap();
    drop(audit);
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    rampart_backup::restore(
        Cursor::new(&backup),
        &target,
        &passphrase(),
        &RestoreOptions {
            device_key: Some(device.key()),
        },
    )
    .unwrap();
    let report = util::audit_intact(&target, device.key());
    assert!(report.is_intact(), "{report}");
}

#[test]
fn create_file_writes_0600_and_never_overwrites_without_being_asked() {
    use std::os::unix::fs::PermissionsExt as _;
    let device = Device::new(1);
    let out = device.parent.path().join("device.rbk");
    let summary =
        rampart_backup::create_file(&device.data, &passphrase(), &util::fast(), &out, false)
            .unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(summary.size, bytes.len() as u64);
    let digest = rampart_vault::crypto::sha256(&bytes);
    assert_eq!(summary.sha256, hex::encode(digest));
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let err = rampart_backup::create_file(&device.data, &passphrase(), &util::fast(), &out, false)
        .unwrap_err();
    assert!(err.to_string().contains("exists"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), bytes, "not replaced");
    rampart_backup::create_file(&device.data, &passphrase(), &util::fast(), &out, true).unwrap();
    assert_ne!(std::fs::read(&out).unwrap(), bytes, "replaced when asked");
    // No temporary files left, and the scratch snapshot is gone from the data directory.
    assert_eq!(
        util::names(device.parent.path()),
        vec!["device.rbk", "rampart-data"]
    );
    assert!(
        !util::names(&device.path)
            .iter()
            .any(|n| n.starts_with(".backup-")),
        "{:?}",
        util::names(&device.path)
    );
}
