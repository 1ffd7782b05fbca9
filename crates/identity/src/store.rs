//! The `SQLite` store: opening with safe file permissions, WAL, and schema migrations through
//! `PRAGMA user_version`.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{DbResult, StorageError};
use crate::permission::{ADMIN_ROLE, Permission, builtin_roles};

/// Schema migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2];

const SCHEMA_V1: &str = "
CREATE TABLE reserved_names (
    kind TEXT NOT NULL CHECK (kind IN ('account', 'role')),
    name TEXT NOT NULL,
    reserved_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;

CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    builtin INTEGER NOT NULL DEFAULT 0,
    mfa_required INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE role_permissions (
    role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role, permission)
) WITHOUT ROWID;

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('human', 'process')),
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    password_hash TEXT,
    password_changed_at INTEGER,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    totp_secret BLOB,
    totp_pending BLOB,
    totp_last_step INTEGER,
    failed_count INTEGER NOT NULL DEFAULT 0,
    failure_window_start INTEGER,
    locked INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    last_login_at INTEGER
);

CREATE TABLE account_roles (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    PRIMARY KEY (account_id, role)
) WITHOUT ROWID;

CREATE TABLE password_history (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    set_at INTEGER NOT NULL
);
CREATE INDEX password_history_account ON password_history(account_id, set_at);

CREATE TABLE source_throttle (
    source TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    blocked_until INTEGER
) WITHOUT ROWID;

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash BLOB NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    source TEXT,
    interface TEXT
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash BLOB NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER
);

CREATE TABLE certificates (
    fingerprint BLOB PRIMARY KEY,
    subject TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT,
    bound_at INTEGER NOT NULL
);

CREATE TABLE overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    requester_kind TEXT NOT NULL,
    requester_name TEXT NOT NULL,
    permission TEXT NOT NULL,
    target TEXT,
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'redeemed')),
    requested_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    decision_note TEXT
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// Lockouts of one account from one source, for an account whose lockout would leave no
/// usable administrator (CR 1.11): an anonymous source cannot lock out every administrator.
const SCHEMA_V2: &str = "
CREATE TABLE account_source_lockouts (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER,
    PRIMARY KEY (account_id, source)
) WITHOUT ROWID;
";

/// Opens (creating if needed) the store at `path`: file mode 0600, parent directory 0700 when
/// created here, WAL journal, foreign keys on, secure delete on, schema migrated.
pub(crate) fn open(path: &Path, now: Timestamp) -> Result<Connection, StorageError> {
    let io = |what: &str, e: std::io::Error| {
        StorageError::new(format!("{what} {}: {e}", path.display()))
    };
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.exists())
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| io("cannot create the directory of", e))?;
    }
    // Create the file ourselves so that it never exists with a wider mode; SQLite gives the
    // -wal and -shm files the database file's mode.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| io("cannot open", e))?;
    file.set_permissions(Permissions::from_mode(0o600))
        .map_err(|e| io("cannot restrict the permissions of", e))?;
    drop(file);

    let mut conn = Connection::open(path).db()?;
    conn.busy_timeout(Duration::from_secs(5)).db()?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .db()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::new(format!(
            "{}: journal mode is '{mode}', WAL required",
            path.display()
        )));
    }
    conn.pragma_update(None, "foreign_keys", "ON").db()?;
    conn.pragma_update(None, "secure_delete", "ON").db()?;
    conn.pragma_update(None, "synchronous", "FULL").db()?;
    migrate(&mut conn, now)?;
    admin_holds_every_permission(&conn)?;
    Ok(conn)
}

/// Brings the schema to the latest version, one transaction per step.
fn migrate(conn: &mut Connection, now: Timestamp) -> Result<(), StorageError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .db()?;
    let latest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > latest {
        return Err(StorageError::new(format!(
            "schema version {version} is newer than this software supports ({latest}); upgrade Rampart"
        )));
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        let tx = conn.transaction().db()?;
        tx.execute_batch(sql).db()?;
        if index == 0 {
            seed_builtin_roles(&tx, now)?;
        }
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(index + 1).unwrap_or(i64::MAX),
        )
        .db()?;
        tx.commit().db()?;
    }
    Ok(())
}

/// The built-in administrator role holds every permission, including those a newer release
/// added after the store was created (for example `vault.erase`): idempotent, at every open.
fn admin_holds_every_permission(conn: &Connection) -> Result<(), StorageError> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM roles WHERE name = ?1)",
            [ADMIN_ROLE],
            |r| r.get(0),
        )
        .db()?;
    if !exists {
        return Ok(());
    }
    for p in Permission::ALL {
        conn.execute(
            "INSERT OR IGNORE INTO role_permissions (role, permission) VALUES (?1, ?2)",
            params![ADMIN_ROLE, p.as_str()],
        )
        .db()?;
    }
    Ok(())
}

fn seed_builtin_roles(conn: &Connection, now: Timestamp) -> Result<(), StorageError> {
    for (name, description, permissions) in builtin_roles() {
        conn.execute(
            "INSERT INTO roles (name, description, builtin, created_at) VALUES (?1, ?2, 1, ?3)",
            params![name, description, now.as_second()],
        )
        .db()?;
        conn.execute(
            "INSERT INTO reserved_names (kind, name, reserved_at) VALUES ('role', ?1, ?2)",
            params![name, now.as_second()],
        )
        .db()?;
        for p in permissions.iter() {
            conn.execute(
                "INSERT INTO role_permissions (role, permission) VALUES (?1, ?2)",
                params![name, p.as_str()],
            )
            .db()?;
        }
    }
    Ok(())
}

/// Seconds since the epoch to a timestamp; a corrupt value is a storage error.
pub(crate) fn ts(seconds: i64) -> Result<Timestamp, StorageError> {
    Timestamp::from_second(seconds)
        .map_err(|e| StorageError::new(format!("stored time {seconds} out of range: {e}")))
}

/// An optional stored time.
pub(crate) fn opt_ts(seconds: Option<i64>) -> Result<Option<Timestamp>, StorageError> {
    seconds.map(ts).transpose()
}

/// A setting, if set.
pub(crate) fn setting(conn: &Connection, key: &str) -> Result<Option<String>, StorageError> {
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .db()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_administrator_role_gains_permissions_added_after_the_store_was_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity.db");
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let conn = open(&path, now).unwrap();
        // A store from before `vault.erase` existed.
        conn.execute(
            "DELETE FROM role_permissions WHERE role = 'admin' AND permission = 'vault.erase'",
            [],
        )
        .unwrap();
        drop(conn);
        let conn = open(&path, now).unwrap();
        let held = |role: &str| -> i64 {
            conn.query_row(
                "SELECT count(*) FROM role_permissions WHERE role = ?1 AND permission = 'vault.erase'",
                [role],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(held(ADMIN_ROLE), 1);
        for role in [
            "security-admin",
            "engineer",
            "operator",
            "auditor",
            "viewer",
        ] {
            assert_eq!(held(role), 0, "{role}");
        }
    }

    #[test]
    fn open_creates_private_file_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/identity.db");
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let conn = open(&path, now).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 2);
        drop(conn);
        // Reopening does not seed again (which would violate the primary keys).
        let conn = open(&path, now).unwrap();
        let roles: i64 = conn
            .query_row("SELECT count(*) FROM roles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(roles, 6);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity.db");
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let conn = open(&path, now).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let e = open(&path, now).unwrap_err();
        assert!(e.to_string().contains("schema version 99"), "{e}");
    }
}
