//! The store: one `SQLite` file named by the caller, mode 0600, WAL, versioned schema.

use std::os::unix::fs::PermissionsExt;

use rampart_identity::{Identity, IdentityConfig, IdentityError, MemoryRecorder};

use crate::util::{GOOD, Harness, acct};

#[test]
fn store_files_are_private_and_in_wal_mode() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let path = h.db_path();
    for file in [path.clone(), path.with_extension("db-wal")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let journal: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2); // v2: per-source lockouts of the last administrator.
}

#[test]
fn store_survives_reopening() {
    let mut h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.reopen(crate::util::config());
    assert_eq!(h.id.account(&h.root, &acct("alice")).unwrap().name, "alice");
    h.login("alice", GOOD);
}

#[test]
fn invalid_configuration_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = IdentityConfig::default();
    cfg.password.min_length = 4;
    let err = Identity::builder(
        dir.path().join("x.db"),
        std::sync::Arc::new(MemoryRecorder::new()),
    )
    .config(cfg)
    .open()
    .unwrap_err();
    assert!(matches!(err, IdentityError::Config(_)));
    assert_eq!(
        err.to_string(),
        "identity configuration: password.min_length = 4: must be at least 8"
    );
}
