//! Restoring a backup: verify everything, stage, swap.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_vault::Entry as Layout;
use rampart_vault::{DataDir, DevicePublicKey};
use rusqlite::{Connection, OpenFlags};

use crate::archive::{Entry, EntryKind, Manifest};
use crate::snapshot::{SQLITE_MAGIC, is_sqlite};
use crate::verify::{Sink, check_origin, decrypt};
use crate::{BackupError, Passphrase};

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The device public key the operator vouches for (e.g. `keys/device.pub` kept off the
    /// device). Required when the target has no device key (a wiped device); when it has one,
    /// this must be that key.
    pub device_key: Option<DevicePublicKey>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreSummary {
    /// The restored data directory.
    pub target: PathBuf,
    /// Where the directory it replaced was moved (`<target>.replaced-<UTC time>`), if there
    /// was one with content.
    pub replaced: Option<PathBuf>,
    /// SHA-256 of the backup file, hex.
    pub sha256: String,
    /// When the backup was made (RFC 3339).
    pub created: String,
    /// The device key that signed it.
    pub device_key: DevicePublicKey,
    /// Entries restored.
    pub entries: usize,
    /// The audit trail's last sequence number in the backup (`None` without an audit trail).
    pub audit_events: Option<u64>,
}

/// The device key of the data directory at `target`, if it has one: the key a backup restored
/// onto it must be signed by.
///
/// # Errors
/// [`BackupError::Vault`] if `target` has a key that cannot be read, or is a data directory
/// with unsafe permissions.
pub fn trusted_key_of(target: &Path) -> Result<Option<DevicePublicKey>, BackupError> {
    if !target
        .join(rampart_vault::Entry::DeviceKey.relative_path())
        .exists()
    {
        return Ok(None);
    }
    let data = DataDir::open(target)?;
    Ok(Some(data.device_key()?.public_key()))
}

/// The device key a backup must be signed by to be restored into `target` (CR 3.4): the key
/// of the data directory there, or for a new directory the key the operator vouches for
/// (`given`); both, if given, must agree. The one place this decision is made: the CLI asks
/// it before it asks for the passphrase, and [`restore`] again before it writes anything.
///
/// # Errors
/// [`BackupError::KeyMismatch`] when `given` is not the key of the directory there,
/// [`BackupError::NoTrustAnchor`] when there is neither, and errors reading the key.
pub fn restore_trust(
    target: &Path,
    given: Option<DevicePublicKey>,
) -> Result<DevicePublicKey, BackupError> {
    match (trusted_key_of(target)?, given) {
        (Some(existing), Some(given)) if existing != given => Err(BackupError::KeyMismatch {
            target: target.to_owned(),
            given: given.to_hex(),
            existing: existing.to_hex(),
        }),
        (Some(existing), _) => Ok(existing),
        (None, Some(given)) => Ok(given),
        (None, None) => Err(BackupError::NoTrustAnchor {
            target: target.to_owned(),
        }),
    }
}

/// Whether a process holds an `SQLite` store of the data directory at `dir` open (a running
/// gateway keeps its audit trail open for its lifetime): the name of the first such store.
///
/// Each database is opened and asked for an exclusive lock without waiting, which `SQLite`
/// refuses while any other connection has it open in WAL mode. The lock is released at once.
///
/// # Errors
/// I/O errors reading the directory.
pub fn in_use(dir: &Path) -> Result<Option<String>, BackupError> {
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let Ok(items) = fs::read_dir(&path) else {
            continue;
        };
        for item in items {
            let item = item.map_err(BackupError::io(format!("reading {}", path.display())))?;
            let child = item.path();
            let Ok(meta) = fs::symlink_metadata(&child) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(child);
            } else if meta.is_file() && is_sqlite(&child)? && held(&child) {
                let name = child.strip_prefix(dir).unwrap_or(&child);
                return Ok(Some(name.display().to_string()));
            }
        }
    }
    Ok(None)
}

fn held(path: &Path) -> bool {
    let Ok(conn) = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return false;
    };
    let busy = |e: &rusqlite::Error| {
        matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    };
    if conn.busy_timeout(Duration::ZERO).is_err() {
        return false;
    }
    let probe = conn
        .query_row("PRAGMA locking_mode = EXCLUSIVE", [], |row| {
            row.get::<_, String>(0)
        })
        .and_then(|_| conn.execute_batch("BEGIN EXCLUSIVE"))
        .and_then(|()| {
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
                row.get::<_, i64>(0)
            })
        });
    let _ = conn.execute_batch("ROLLBACK");
    match probe {
        Ok(_) => false,
        Err(e) => busy(&e),
    }
}

/// Restores the backup in `input` into the data directory `target`.
///
/// In order, and with nothing changed until the last step:
/// 1. the trust anchor: the device key of `target` if it has one (and
///    [`RestoreOptions::device_key`] must then be the same key), otherwise
///    [`RestoreOptions::device_key`], which is then required;
/// 2. refuse while a process holds `target`'s stores ([`in_use`]);
/// 3. the signature ([`check_origin`]);
/// 4. decrypt into a staging directory beside `target` (mode 0700), checking every entry's
///    size and SHA-256 as it is written, then: `LAYOUT`, that `keys/device.key` is the signing
///    key, that every `SQLite` store opens and passes `quick_check`, that the audit trail
///    verifies against the device key, and that the staging directory opens as a data
///    directory;
/// 5. swap: `renameat2(RENAME_EXCHANGE)` exchanges staging and `target` in one atomic step
///    (or `RENAME_NOREPLACE` when there is no `target`); the replaced directory is kept as
///    `<target>.replaced-<UTC time>` (it holds the audit events recorded after the backup was
///    made, which must not be destroyed), or removed if it was empty.
///
/// On any error the staging directory is removed and `target` is as it was.
///
/// # Errors
/// [`BackupError::NoTrustAnchor`], [`BackupError::KeyMismatch`],
/// [`BackupError::TargetNotDataDir`], [`BackupError::InUse`], everything [`crate::verify`]
/// returns, [`BackupError::Content`] for content that does not check out, and I/O errors.
pub fn restore(
    mut input: impl Read + Seek,
    target: &Path,
    passphrase: &Passphrase,
    options: &RestoreOptions,
) -> Result<RestoreSummary, BackupError> {
    let target_meta = fs::symlink_metadata(target).ok();
    if target_meta.as_ref().is_some_and(|m| !m.is_dir()) {
        // A symbolic link or a file: the swap would move the link, not the directory.
        return Err(BackupError::TargetNotDataDir(target.to_owned()));
    }
    let target_exists = target_meta.is_some();
    if target_exists {
        let empty = fs::read_dir(target)
            .map_err(BackupError::io(format!("reading {}", target.display())))?
            .next()
            .is_none();
        if !empty && !target.join("LAYOUT").is_file() {
            return Err(BackupError::TargetNotDataDir(target.to_owned()));
        }
    }
    let trusted = restore_trust(target, options.device_key)?;
    // Held until the swap is done: a gateway cannot start on the directory meanwhile.
    let _lock = lock_target(target)?;
    refuse_in_use(target)?;
    let signed = check_origin(&mut input, trusted)?;
    input
        .seek(SeekFrom::Start(0))
        .map_err(BackupError::io("rewinding the backup"))?;

    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .ok_or_else(|| BackupError::Io {
            context: format!("{} has no directory name", target.display()),
            source: std::io::ErrorKind::InvalidInput.into(),
        })?
        .to_string_lossy()
        .into_owned();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.restore-"))
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
        .map_err(BackupError::io(format!(
            "creating a staging directory in {}",
            parent.display()
        )))?;
    let mut sink = StagingSink {
        root: staging.path().to_owned(),
        file: None,
    };
    let manifest = decrypt(input, &signed, passphrase, &mut sink)?;
    sink.finish()?;
    let audit_events = check_content(staging.path(), &manifest, trusted)?;
    sync_tree(staging.path(), &manifest)?;

    refuse_in_use(target)?;
    let stamp = crate::wall_clock().strftime("%Y%m%dT%H%M%SZ").to_string();
    let staged = staging.keep();
    let replaced = swap(
        &staged,
        target,
        &format!("{name}.replaced-{stamp}"),
        parent,
        target_exists,
    )?;
    Ok(RestoreSummary {
        target: target.to_owned(),
        replaced,
        sha256: signed.sha256().to_owned(),
        created: signed.header().created.clone(),
        device_key: trusted,
        entries: manifest.entries.len(),
        audit_events,
    })
}

/// The data directory's lock ([`DataDir::try_lock`]), when the target is one.
fn lock_target(target: &Path) -> Result<Option<rampart_vault::DataDirLock>, BackupError> {
    if !target.join("LAYOUT").is_file() {
        return Ok(None);
    }
    match DataDir::open(target)?.try_lock() {
        Ok(lock) => Ok(Some(lock)),
        Err(rampart_vault::VaultError::InUse { .. }) => Err(BackupError::InUse {
            path: target.to_owned(),
            store: "the data directory lock (a running gateway)".to_owned(),
        }),
        Err(e) => Err(e.into()),
    }
}

fn refuse_in_use(target: &Path) -> Result<(), BackupError> {
    if let Some(store) = in_use(target)? {
        return Err(BackupError::InUse {
            path: target.to_owned(),
            store,
        });
    }
    Ok(())
}

/// Writes decrypted entries under the staging root.
struct StagingSink {
    root: PathBuf,
    file: Option<(BufWriter<File>, PathBuf)>,
}

impl StagingSink {
    fn path(&self, entry: &Entry) -> PathBuf {
        // Entry paths were checked: relative, no `.`/`..`, parents listed first.
        self.root.join(&entry.path)
    }

    fn finish(&mut self) -> Result<(), BackupError> {
        if let Some((file, path)) = self.file.take() {
            let file = file.into_inner().map_err(|e| {
                BackupError::io(format!("writing {}", path.display()))(e.into_error())
            })?;
            file.sync_all()
                .map_err(BackupError::io(format!("syncing {}", path.display())))?;
        }
        Ok(())
    }
}

impl Sink for StagingSink {
    fn dir(&mut self, entry: &Entry) -> Result<(), BackupError> {
        let path = self.path(entry);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(BackupError::io(format!("creating {}", path.display())))
    }

    fn begin(&mut self, entry: &Entry) -> Result<(), BackupError> {
        self.finish()?;
        let path = self.path(entry);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(entry.mode & 0o755)
            .open(&path)
            .map_err(BackupError::io(format!("creating {}", path.display())))?;
        // The umask may have taken bits away; set exactly what the manifest says (at most 0755).
        file.set_permissions(fs::Permissions::from_mode(entry.mode & 0o755))
            .map_err(BackupError::io(format!(
                "setting the mode of {}",
                path.display()
            )))?;
        self.file = Some((BufWriter::with_capacity(1 << 16, file), path));
        Ok(())
    }

    fn content(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        if let Some((file, path)) = &mut self.file {
            file.write_all(bytes)
                .map_err(BackupError::io(format!("writing {}", path.display())))?;
        }
        Ok(())
    }

    fn end(&mut self, _: &Entry) -> Result<(), BackupError> {
        self.finish()
    }
}

/// Checks the staged content before it may replace anything; returns the audit trail's last
/// sequence number.
fn check_content(
    staging: &Path,
    manifest: &Manifest,
    trusted: DevicePublicKey,
) -> Result<Option<u64>, BackupError> {
    let bad = |what: String| BackupError::Content(what);
    // Opening the staged directory loads its KEK (`keys/kek-provider`), which opens its sealed
    // device key.
    let staged = DataDir::open(staging).map_err(|e| bad(e.to_string()))?;
    let key = staged
        .device_key()
        .map_err(|e| bad(format!("keys/device.key: {e}")))?;
    if key.public_key() != trusted {
        return Err(bad(format!(
            "keys/device.key is the key {}, not the device key {} that signed the backup",
            key.public_key().to_hex(),
            trusted.to_hex()
        )));
    }
    for entry in manifest.files() {
        let path = staging.join(&entry.path);
        if entry.kind == EntryKind::Sqlite || is_sqlite_bytes(&path)? {
            quick_check(&path).map_err(|e| bad(format!("{}: {e}", entry.path)))?;
        }
    }
    let audit_dir = staging.join(Layout::Audit.relative_path());
    if !rampart_audit::store_path(&audit_dir).is_file() {
        return Ok(None);
    }
    let report = rampart_audit::verify(&audit_dir, &trusted)
        .map_err(|e| bad(format!("the audit trail: {e}")))?;
    if !report.is_intact() {
        return Err(bad(format!(
            "the audit trail in the backup does not verify{}: {report}",
            report
                .first_bad_seq()
                .map(|s| format!(" (first bad event {s})"))
                .unwrap_or_default()
        )));
    }
    // Side files the verifier's connection may have left.
    for side in ["audit.sqlite3-wal", "audit.sqlite3-shm"] {
        let _ = fs::remove_file(audit_dir.join(side));
    }
    Ok(report_last_seq(&audit_dir))
}

fn report_last_seq(audit_dir: &Path) -> Option<u64> {
    rampart_audit::AuditReader::open(audit_dir)
        .ok()
        .and_then(|reader| reader.tail(1).ok())
        .and_then(|events| events.last().map(rampart_audit::AuditEvent::seq))
}

fn is_sqlite_bytes(path: &Path) -> Result<bool, BackupError> {
    let mut head = [0u8; 16];
    let mut file =
        File::open(path).map_err(BackupError::io(format!("opening {}", path.display())))?;
    Ok(file.read_exact(&mut head).is_ok() && &head == SQLITE_MAGIC)
}

fn quick_check(path: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("does not open: {e}"))?;
    let result: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| format!("quick_check failed: {e}"))?;
    if result != "ok" {
        return Err(format!("quick_check: {result}"));
    }
    Ok(())
}

/// Syncs every staged directory (files were synced as they were closed).
fn sync_tree(root: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let dirs = manifest
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| root.join(&e.path));
    for dir in dirs.chain(std::iter::once(root.to_owned())) {
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(BackupError::io(format!("syncing {}", dir.display())))?;
    }
    Ok(())
}

/// Puts `staged` at `target` atomically; returns where the old directory went.
fn swap(
    staged: &Path,
    target: &Path,
    replaced_name: &str,
    parent: &Path,
    target_exists: bool,
) -> Result<Option<PathBuf>, BackupError> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let io = |what: String| {
        move |e: rustix::io::Errno| BackupError::Io {
            context: what,
            source: e.into(),
        }
    };
    let flags = if target_exists {
        RenameFlags::EXCHANGE
    } else {
        RenameFlags::NOREPLACE
    };
    if let Err(e) = renameat_with(CWD, staged, CWD, target, flags) {
        // Nothing was swapped: `staged` is still the restored copy, and only that goes.
        let _ = fs::remove_dir_all(staged);
        return Err(io(format!(
            "moving the restored directory into place at {}",
            target.display()
        ))(e));
    }
    sync_dir(parent)?;
    if !target_exists {
        return Ok(None);
    }
    // `staged` now holds the old directory: from here on it is moved, never removed unless
    // empty.
    sync_dir(parent)?;
    let was_empty = fs::read_dir(staged).is_ok_and(|mut d| d.next().is_none());
    if was_empty {
        // remove_dir refuses a directory that is not empty.
        let _ = fs::remove_dir(staged);
        sync_dir(parent)?;
        return Ok(None);
    }
    let replaced = target.with_file_name(replaced_name);
    fs::rename(staged, &replaced).map_err(BackupError::io(format!(
        "moving the replaced directory to {}",
        replaced.display()
    )))?;
    sync_dir(parent)?;
    Ok(Some(replaced))
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io(format!("syncing {}", dir.display())))
}
