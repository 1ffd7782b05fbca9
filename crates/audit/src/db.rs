//! The `SQLite` file: where it lives, its schema, and how rows become events.
//!
//! One file, `audit.sqlite3`, in the directory the caller gives, in WAL mode with
//! `synchronous=FULL` so that a committed transaction survives a crash or power loss.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};

use crate::chain::AuditEntryHash;
use crate::clock::{ClockSync, TimeSource, Timestamp};
use crate::error::StoreError;
use crate::event::{Actor, ActorKind, AuditEvent, Category, Outcome, Severity};

/// The name of the database file inside the audit directory.
pub const FILE_NAME: &str = "audit.sqlite3";

/// The on-disk format version this build reads and writes.
pub(crate) const FORMAT: u32 = 1;

const FORMAT_NAME: &str = "rampart-audit";

/// The path of the database file in `dir`.
pub fn store_path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The columns of `events` in canonical order, then the stored hash.
pub(crate) const EVENT_COLUMNS: &str = "seq, ts, time_source, clock_sync, actor_kind, actor, \
     source, interface, category, action, target, outcome, severity, details, hash";

/// Index of the `hash` column in [`EVENT_COLUMNS`].
pub(crate) const HASH_COLUMN: usize = 14;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    time_source TEXT NOT NULL,
    clock_sync TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    source TEXT,
    interface TEXT,
    category TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    severity INTEGER NOT NULL,
    details TEXT NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    ts INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS prunes (
    last_seq INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    hash BLOB NOT NULL,
    ts INTEGER NOT NULL,
    signature BLOB NOT NULL
);
";

pub(crate) fn sqlite_error(
    path: &Path,
    context: &'static str,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Sqlite {
        path,
        context,
        source: Arc::new(source),
    }
}

fn io_error(path: &Path, context: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        path,
        context,
        source: Arc::new(source),
    }
}

/// Opens (creating if needed) the store in `dir` for writing: directory 0700, file 0600.
pub(crate) fn open_writer(dir: &Path, public_key: &[u8]) -> Result<Connection, StoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error(dir, "creating the audit directory"))?;
    let path = store_path(dir);
    // Create the file ourselves so it gets mode 0600; SQLite gives its -wal and -shm files the
    // same mode as the database file.
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_error(&path, "creating the database file"))?;
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error(&path, "opening"))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sqlite_error(&path, "configuring"))?;
    // Before changing anything, make sure the file is empty or ours.
    let is_new = check_format(&conn, &path)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sqlite_error(&path, "switching to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!(
            "{} cannot use WAL mode (SQLite chose '{mode}')",
            path.display()
        )));
    }
    // FULL: in WAL mode, fsync the log at every commit, so an acknowledged append is durable.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite_error(&path, "setting synchronous=FULL"))?;
    conn.execute_batch(SCHEMA)
        .map_err(sqlite_error(&path, "creating the schema"))?;
    if is_new {
        set_meta(&conn, &path, "format", FORMAT_NAME)?;
        set_meta(&conn, &path, "version", &FORMAT.to_string())?;
        set_meta(&conn, &path, "public_key", &hex(public_key))?;
    }
    Ok(conn)
}

/// Whether the file is new (no tables at all); an error unless it is new or an audit store of
/// this format.
fn check_format(conn: &Connection, path: &Path) -> Result<bool, StoreError> {
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite_error(path, "reading the schema"))?;
    if tables == 0 {
        return Ok(true);
    }
    let format = meta(conn, path, "format")?;
    let version = meta(conn, path, "version")?;
    if format.as_deref() == Some(FORMAT_NAME) && version == Some(FORMAT.to_string()) {
        return Ok(false);
    }
    Err(StoreError::UnsupportedFormat {
        path: path.to_path_buf(),
        found: format!(
            "format {}, version {}",
            format.as_deref().unwrap_or("none"),
            version.as_deref().unwrap_or("none")
        ),
        supported: FORMAT,
    })
}

/// Opens an existing store for reading only.
pub(crate) fn open_reader(dir: &Path) -> Result<(Connection, PathBuf), StoreError> {
    let path = store_path(dir);
    if !path.is_file() {
        return Err(StoreError::Io {
            path: path.clone(),
            context: "opening the audit store",
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::NotFound)),
        });
    }
    // Read-write without create: after a crash SQLite must be able to recover the WAL index.
    // query_only then makes this connection unable to change anything.
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .or_else(|_| {
        Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    })
    .map_err(sqlite_error(&path, "opening"))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sqlite_error(&path, "configuring"))?;
    conn.pragma_update(None, "query_only", true)
        .map_err(sqlite_error(&path, "configuring"))?;
    let format = meta(&conn, &path, "format")?;
    let version = meta(&conn, &path, "version")?;
    if format.as_deref() != Some(FORMAT_NAME) || version != Some(FORMAT.to_string()) {
        return Err(StoreError::UnsupportedFormat {
            path,
            found: format!(
                "format {}, version {}",
                format.as_deref().unwrap_or("none"),
                version.as_deref().unwrap_or("none")
            ),
            supported: FORMAT,
        });
    }
    Ok((conn, path))
}

pub(crate) fn meta(
    conn: &Connection,
    path: &Path,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let has_table: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite_error(path, "reading the schema"))?;
    if !has_table {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
        row.get(0)
    })
    .optional()
    .map_err(sqlite_error(path, "reading metadata"))
}

pub(crate) fn set_meta(
    conn: &Connection,
    path: &Path,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
        .and_then(|mut stmt| stmt.execute([key, value]))
        .map(|_| ())
        .map_err(sqlite_error(path, "writing metadata"))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            // Writing to a String cannot fail.
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Reads the seq column; sequence numbers are positive, so a negative one is corruption.
pub(crate) fn seq_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Turns a row of [`EVENT_COLUMNS`] into an event, rejecting values this crate never writes.
pub(crate) fn event_from_row(path: &Path, row: &Row<'_>) -> Result<AuditEvent, StoreError> {
    let sqlite = |e| sqlite_error(path, "reading an event")(e);
    let seq = seq_of(row.get::<_, i64>(0).map_err(sqlite)?);
    let corrupt = |column: &'static str, value: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        seq,
        column,
        value,
    };
    let text = |index: usize, column: &'static str| -> Result<Option<String>, StoreError> {
        match row.get_ref(index).map_err(sqlite)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(|s| Some(s.to_owned()))
                .map_err(|_| corrupt(column, format!("{t:?}"))),
            other => Err(corrupt(column, format!("{other:?}"))),
        }
    };
    let required = |index: usize, column: &'static str| -> Result<String, StoreError> {
        text(index, column)?.ok_or_else(|| corrupt(column, "NULL".to_owned()))
    };

    let ts_micros: i64 = row.get(1).map_err(sqlite)?;
    let timestamp =
        Timestamp::from_unix_micros(ts_micros).map_err(|_| corrupt("ts", ts_micros.to_string()))?;
    let time_source_text = required(2, "time_source")?;
    let time_source: TimeSource = time_source_text
        .parse()
        .map_err(|_| corrupt("time_source", time_source_text.clone()))?;
    let sync_text = required(3, "clock_sync")?;
    let clock_sync: ClockSync = sync_text
        .parse()
        .map_err(|_| corrupt("clock_sync", sync_text.clone()))?;
    let kind_text = required(4, "actor_kind")?;
    let kind: ActorKind = kind_text
        .parse()
        .map_err(|_| corrupt("actor_kind", kind_text.clone()))?;
    let actor_name = required(5, "actor")?;
    let actor = Actor::new(kind, actor_name.clone()).map_err(|_| corrupt("actor", actor_name))?;
    let category_text = required(8, "category")?;
    let category: Category = category_text
        .parse()
        .map_err(|_| corrupt("category", category_text.clone()))?;
    let outcome_text = required(11, "outcome")?;
    let outcome: Outcome = outcome_text
        .parse()
        .map_err(|_| corrupt("outcome", outcome_text.clone()))?;
    let severity_code: i64 = row.get(12).map_err(sqlite)?;
    let severity = u8::try_from(severity_code)
        .ok()
        .and_then(Severity::from_code)
        .ok_or_else(|| corrupt("severity", severity_code.to_string()))?;
    let details_text = required(13, "details")?;
    let Ok(serde_json::Value::Object(details)) = serde_json::from_str(&details_text) else {
        return Err(corrupt("details", details_text));
    };
    let hash = match row.get_ref(HASH_COLUMN).map_err(sqlite)? {
        ValueRef::Blob(b) => AuditEntryHash::from_slice(b),
        _ => None,
    }
    .ok_or_else(|| corrupt("hash", "not 32 bytes".to_owned()))?;
    Ok(AuditEvent {
        seq,
        timestamp,
        time_source,
        clock_sync,
        actor,
        source_address: text(6, "source")?,
        interface: text(7, "interface")?,
        category,
        action: required(9, "action")?,
        target: text(10, "target")?,
        outcome,
        severity,
        details,
        hash,
    })
}
