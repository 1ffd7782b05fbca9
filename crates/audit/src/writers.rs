//! Which writers hold the trail open, so that `audit.opened` tells a crash from a live writer
//! (CR 2.8, CR 3.9).
//!
//! Several processes may append to one trail at once (the gateway and a CLI command). Each open
//! [`AuditStore`](crate::AuditStore) registers a lock file `writers/writer-<pid>-<n>.lock` in
//! the audit directory and holds an exclusive advisory lock (`flock`) on it for as long as it
//! runs. The kernel releases the lock when the process ends, however it ends, so:
//!
//! - a registered file whose lock can be taken belongs to a writer that ended without closing:
//!   a crash or a kill. The next open counts it, reports the unclean shutdown and removes it;
//! - a registered file whose lock is held belongs to a live writer: the trail is open, not
//!   abandoned, and nothing is reported as unclean;
//! - a clean close removes its own file, and only the last writer to close marks the store
//!   closed cleanly (`clean_shutdown` in the metadata, which a store without any registered
//!   writer falls back to: a store written before this registry existed, or one restored from a
//!   backup, whose lock files a backup leaves out).
//!
//! Every change to the registry happens under a second lock, `writers/census.lock`, held
//! briefly, so that an open never counts a writer another one is reaping or closing.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::StoreError;

/// The registry's directory inside the audit directory.
pub(crate) const WRITERS_DIR: &str = "writers";
/// The lock that serialises changes to the registry.
const CENSUS_LOCK: &str = "census.lock";
/// Registered writers are `writer-<pid>-<n>.lock`.
const PREFIX: &str = "writer-";
const SUFFIX: &str = ".lock";
/// The longest wait for the census lock. Holders keep it for a few file operations, or, when
/// closing, for one `SQLite` transaction (whose own busy timeout is 10 s).
const CENSUS_WAIT: Duration = Duration::from_secs(30);
/// At most this many registered files are examined: the registry of a healthy store holds
/// one per running process.
const MAX_ENTRIES: usize = 4096;

/// Stores opened by this process so far: with the process id, a unique name per store.
static OPENED: AtomicU64 = AtomicU64::new(0);

/// What an open found in the registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Census {
    /// Writers that are running now (their lock is held).
    pub(crate) live: usize,
    /// Writers that ended without closing (their lock was free); their files are removed.
    pub(crate) ended_uncleanly: usize,
}

/// This store's entry in the registry; the exclusive lock lives as long as the file handle.
///
/// Dropped without [`Registration::withdraw`], it leaves its file behind, so that a writer
/// that did not close cleanly (a panic on the writer thread) is reported as such.
#[derive(Debug)]
pub(crate) struct Registration {
    dir: PathBuf,
    path: PathBuf,
    _file: File,
}

/// The census lock, released when dropped.
struct CensusGuard {
    _file: File,
}

fn io_error(path: &Path, context: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        path,
        context,
        source: Arc::new(source),
    }
}

fn census_lock(dir: &Path) -> Result<CensusGuard, StoreError> {
    let path = dir.join(CENSUS_LOCK);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_error(&path, "opening the audit writer registry lock"))?;
    let deadline = Instant::now() + CENSUS_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(CensusGuard { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Io {
                    path,
                    context: "waiting for the audit writer registry lock",
                    source: Arc::new(std::io::Error::from(std::io::ErrorKind::TimedOut)),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(io_error(&path, "locking the audit writer registry")(e));
            }
        }
    }
}

fn is_writer(name: &str) -> bool {
    name.starts_with(PREFIX) && name.ends_with(SUFFIX)
}

/// Registers a new writer in the audit directory `audit_dir`, after counting (and reaping)
/// the writers registered before it.
pub(crate) fn register(audit_dir: &Path) -> Result<(Registration, Census), StoreError> {
    let dir = audit_dir.join(WRITERS_DIR);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(io_error(&dir, "creating the audit writer registry"))?;
    let _guard = census_lock(&dir)?;
    let mut census = Census::default();
    let entries = std::fs::read_dir(&dir).map_err(io_error(&dir, "reading the registry"))?;
    for entry in entries.take(MAX_ENTRIES) {
        let entry = entry.map_err(io_error(&dir, "reading the registry"))?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_writer) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        match file.try_lock() {
            Ok(()) => {
                census.ended_uncleanly += 1;
                std::fs::remove_file(&path)
                    .map_err(io_error(&path, "removing a stale writer registration"))?;
            }
            // Held by a running writer; an unreadable lock is not evidence of a crash either.
            Err(_) => census.live += 1,
        }
    }
    let n = OPENED.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{PREFIX}{}-{n}{SUFFIX}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io_error(&path, "registering the audit writer"))?;
    file.try_lock().map_err(|e| StoreError::Io {
        path: path.clone(),
        context: "locking the audit writer registration",
        source: Arc::new(std::io::Error::other(e.to_string())),
    })?;
    // For people looking at the directory; nothing reads it back.
    let _ = writeln!(file, "pid {}", std::process::id());
    Ok((
        Registration {
            dir,
            path,
            _file: file,
        },
        census,
    ))
}

impl Registration {
    /// Runs `close` under the census lock, telling it whether this is the last registered
    /// writer, and withdraws the registration if it succeeds. Concurrent closes are
    /// serialised, so exactly the last one to leave learns that it is the last.
    pub(crate) fn close<T>(
        self,
        close: impl FnOnce(bool) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _guard = census_lock(&self.dir)?;
        let others = std::fs::read_dir(&self.dir)
            .map_err(io_error(&self.dir, "reading the registry"))?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(is_writer) && e.path() != self.path)
            .take(1)
            .count();
        let result = close(others == 0)?;
        self.withdraw()?;
        Ok(result)
    }

    /// Removes the registration: the writer leaves without being counted as crashed.
    pub(crate) fn withdraw(self) -> Result<(), StoreError> {
        std::fs::remove_file(&self.path).map_err(io_error(
            &self.path,
            "withdrawing the audit writer registration",
        ))
    }
}

#[cfg(test)]
mod tests;
