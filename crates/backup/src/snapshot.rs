//! A consistent, private copy of a data directory to archive.
//!
//! Every file is first copied into a scratch directory inside the data directory (mode 0700,
//! removed on every path out): `SQLite` stores through the online backup API in one step (one
//! read transaction, so a running gateway's writes are either wholly in or wholly out), other
//! files by reading one open file descriptor (files replaced by rename are seen whole, old or
//! new). The manifest is computed from the copies, which nothing else writes, so sizes and
//! hashes match what is archived.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_vault::crypto::Sha256;
use rusqlite::{Connection, OpenFlags};

use crate::archive::{Entry, EntryKind, Manifest, check_name};
use crate::{BackupError, limits};

/// The prefix of the scratch directory inside the data directory; never archived.
pub(crate) const SCRATCH_PREFIX: &str = ".backup-snapshot-";

/// The first 16 bytes of every `SQLite` database file.
pub(crate) const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// A snapshot: the manifest and, for each file entry in order, its private copy.
pub(crate) struct Snapshot {
    pub(crate) manifest: Manifest,
    pub(crate) copies: Vec<PathBuf>,
    _scratch: tempfile::TempDir,
}

/// Whether a directory entry is left out of backups: scratch and staging directories,
/// `SQLite` side files (their content is in the snapshot of the database), temporary files of
/// atomic writes, and advisory lock files.
pub(crate) fn excluded(name: &str, top_level: bool) -> bool {
    (top_level && name.starts_with(SCRATCH_PREFIX))
        || name.ends_with("-wal")
        || name.ends_with("-shm")
        || name.ends_with("-journal")
        || name.contains(".tmp-")
        || Path::new(name)
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("lock"))
}

/// Takes a snapshot of the data directory at `root`.
///
/// # Errors
/// [`BackupError::Unsupported`] for symbolic links, special files and names a backup cannot
/// hold; [`BackupError::TooLarge`] past a limit; I/O and `SQLite` errors.
pub(crate) fn take(root: &Path) -> Result<Snapshot, BackupError> {
    let scratch = tempfile::Builder::new()
        .prefix(SCRATCH_PREFIX)
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir_in(root)
        .map_err(BackupError::io(format!(
            "creating a scratch directory in {}",
            root.display()
        )))?;
    let mut walk = Walk {
        root,
        scratch: scratch.path(),
        items: Vec::new(),
        total: 0,
    };
    walk.dir("")?;
    // The walk visits names in byte order per directory; the manifest wants whole paths in
    // byte order ("a-b" < "a/b"), with each file's copy alongside.
    let mut items = walk.items;
    items.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let (entries, copies): (Vec<Entry>, Vec<Option<PathBuf>>) = items.into_iter().unzip();
    let copies = copies.into_iter().flatten().collect();
    let manifest = Manifest { entries };
    manifest.check().map_err(|e| BackupError::Unsupported {
        path: root.to_owned(),
        what: format!("the data directory cannot be archived: {e}"),
    })?;
    Ok(Snapshot {
        manifest,
        copies,
        _scratch: scratch,
    })
}

struct Walk<'a> {
    root: &'a Path,
    scratch: &'a Path,
    items: Vec<(Entry, Option<PathBuf>)>,
    total: u64,
}

impl Walk<'_> {
    fn dir(&mut self, rel: &str) -> Result<(), BackupError> {
        let path = self.root.join(rel);
        let mut names = Vec::new();
        for item in
            fs::read_dir(&path).map_err(BackupError::io(format!("reading {}", path.display())))?
        {
            let item = item.map_err(BackupError::io(format!("reading {}", path.display())))?;
            let name = item
                .file_name()
                .into_string()
                .map_err(|name| BackupError::Unsupported {
                    path: path.join(name),
                    what: "the name is not UTF-8".into(),
                })?;
            names.push(name);
        }
        names.sort();
        for name in names {
            if excluded(&name, rel.is_empty()) {
                continue;
            }
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let full = self.root.join(&child);
            check_name(&name).map_err(|what| BackupError::Unsupported {
                path: full.clone(),
                what,
            })?;
            let meta = fs::symlink_metadata(&full)
                .map_err(BackupError::io(format!("reading {}", full.display())))?;
            let mode = meta.permissions().mode() & 0o7777;
            if self.items.len() >= limits::MAX_ENTRIES {
                return Err(BackupError::TooLarge(format!(
                    "more than {} files and directories",
                    limits::MAX_ENTRIES
                )));
            }
            if meta.is_dir() {
                self.items.push((
                    Entry {
                        path: child.clone(),
                        kind: EntryKind::Dir,
                        mode,
                        size: 0,
                        sha256: None,
                    },
                    None,
                ));
                self.dir(&child)?;
            } else if meta.is_file() {
                let copy = self.scratch.join(self.items.len().to_string());
                let kind = if is_sqlite(&full)? {
                    sqlite_snapshot(&full, &copy)?;
                    EntryKind::Sqlite
                } else {
                    copy_file(&full, &copy)?;
                    EntryKind::File
                };
                let (size, sha256) = hash_file(&copy)?;
                self.total = self.total.saturating_add(size);
                if self.total > limits::MAX_ARCHIVE {
                    return Err(BackupError::TooLarge(format!(
                        "more than {} bytes",
                        limits::MAX_ARCHIVE
                    )));
                }
                self.items.push((
                    Entry {
                        path: child,
                        kind,
                        mode,
                        size,
                        sha256: Some(sha256),
                    },
                    Some(copy),
                ));
            } else {
                return Err(BackupError::Unsupported {
                    path: full,
                    what: "a symbolic link or special file; a data directory holds only \
                           regular files and directories"
                        .into(),
                });
            }
        }
        Ok(())
    }
}

/// Whether the file starts with the `SQLite` magic.
pub(crate) fn is_sqlite(path: &Path) -> Result<bool, BackupError> {
    let mut head = [0u8; 16];
    let mut file =
        File::open(path).map_err(BackupError::io(format!("opening {}", path.display())))?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BackupError::io(format!("reading {}", path.display()))(e)),
        }
    }
    Ok(&head == SQLITE_MAGIC)
}

fn sqlite_error(path: &Path, what: &str) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let path = path.to_owned();
    let what = what.to_owned();
    move |e| BackupError::Sqlite {
        path,
        message: format!("{what}: {e}"),
    }
}

/// Copies a live database through the online backup API, in one step.
fn sqlite_snapshot(source: &Path, copy: &Path) -> Result<(), BackupError> {
    // Read-write without create, as the audit reader does: SQLite may need to recover the WAL
    // index; query_only then makes this connection unable to change anything.
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error(source, "opening"))?;
    src.busy_timeout(Duration::from_secs(10))
        .map_err(sqlite_error(source, "configuring"))?;
    src.pragma_update(None, "query_only", true)
        .map_err(sqlite_error(source, "configuring"))?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(copy)
        .map_err(BackupError::io(format!("creating {}", copy.display())))?;
    let mut dst = Connection::open(copy).map_err(sqlite_error(copy, "opening the copy"))?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)
            .map_err(sqlite_error(source, "starting the online backup"))?;
        let mut attempts = 0;
        loop {
            // -1: every page in one step, under one read transaction of the source.
            match backup.step(-1).map_err(sqlite_error(source, "copying"))? {
                rusqlite::backup::StepResult::Done => break,
                _ if attempts < 200 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    return Err(BackupError::Sqlite {
                        path: source.to_owned(),
                        message: "the database stayed locked for 10 s".into(),
                    });
                }
            }
        }
    }
    // A self-contained file: no -wal beside it.
    let _: String = dst
        .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
        .map_err(sqlite_error(copy, "finishing the copy"))?;
    dst.close()
        .map_err(|(_, e)| sqlite_error(copy, "closing the copy")(e))?;
    Ok(())
}

fn copy_file(source: &Path, copy: &Path) -> Result<(), BackupError> {
    let mut from =
        File::open(source).map_err(BackupError::io(format!("opening {}", source.display())))?;
    let mut to = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(copy)
        .map_err(BackupError::io(format!("creating {}", copy.display())))?;
    std::io::copy(&mut from, &mut to)
        .map_err(BackupError::io(format!("copying {}", source.display())))?;
    to.flush()
        .map_err(BackupError::io(format!("writing {}", copy.display())))?;
    Ok(())
}

/// Size and SHA-256 (hex) of a file.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file =
        File::open(path).map_err(BackupError::io(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher)
        .map_err(BackupError::io(format!("reading {}", path.display())))?;
    Ok((size, hex::encode(hasher.finish())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_files_and_scratch_are_excluded() {
        for name in [
            "audit.sqlite3-wal",
            "audit.sqlite3-shm",
            "identity.db-journal",
            "policy.toml.tmp-1234",
            "host_6514.cursor.lock",
        ] {
            assert!(excluded(name, false), "{name}");
        }
        assert!(excluded(".backup-snapshot-abc", true));
        assert!(!excluded(".backup-snapshot-abc", false));
        for name in [
            "audit.sqlite3",
            "identity.db",
            "policy.toml",
            "host_6514.cursor",
        ] {
            assert!(!excluded(name, true), "{name}");
        }
    }
}
