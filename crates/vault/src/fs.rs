//! Crash-safe file writes, and the one size-capped read.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::VaultError;

/// Why [`read_capped`] read nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CappedReadError {
    /// The file cannot be opened or read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file holds more than the limit; nothing past `limit + 1` bytes was read.
    #[error("larger than the {limit} bytes accepted")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text ([`read_capped_text`]).
    #[error("not UTF-8 text: {0}")]
    NotText(std::string::FromUtf8Error),
}

impl CappedReadError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CappedReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads at most `limit` bytes of `path`: the one bounded read of every file Rampart is given
/// (configurations, policies, profiles, reports, key and certificate files), so that a huge
/// or endless file (a FIFO, `/dev/zero`) costs at most `limit + 1` bytes of memory.
///
/// # Errors
/// [`CappedReadError`].
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, CappedReadError> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(CappedReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// [`read_capped`] for UTF-8 text.
///
/// # Errors
/// [`CappedReadError`].
pub fn read_capped_text(path: &Path, limit: u64) -> Result<String, CappedReadError> {
    String::from_utf8(read_capped(path, limit)?).map_err(CappedReadError::NotText)
}

/// Replaces `path` with `bytes` atomically: a crash leaves the old content or the new, never a
/// mix. The file gets `mode` (e.g. `0o600`) before any byte is written.
///
/// # Errors
/// [`VaultError::Io`] naming the path that failed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), VaultError> {
    let temp = write_temp(path, bytes, mode)?;
    let result = fs::rename(&temp, path)
        .map_err(VaultError::io(path))
        .and_then(|()| sync_dir(parent(path)));
    if result.is_err() {
        // Best effort: a leftover temporary file holds no state anyone reads.
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Like [`write_atomic`], but fails if `path` already exists (the check and the rename are one
/// step: `link` refuses to replace), so a key is never overwritten by accident.
///
/// # Errors
/// [`VaultError::Io`] with kind `AlreadyExists` if `path` exists.
pub fn write_new_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), VaultError> {
    let temp = write_temp(path, bytes, mode)?;
    let result = fs::hard_link(&temp, path)
        .map_err(VaultError::io(path))
        .and_then(|()| sync_dir(parent(path)));
    let _ = fs::remove_file(&temp);
    result
}

/// Writes `bytes` to a new temporary file beside `path` with `mode`, synced to disk.
fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> Result<std::path::PathBuf, VaultError> {
    let temp = temp_path(path);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    match written {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(VaultError::io(&temp)(e))
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn temp_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(VaultError::io(dir))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn atomic_write_replaces_content_with_the_given_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn new_atomic_write_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_new_atomic(&path, b"first", 0o600).unwrap();
        let err = write_new_atomic(&path, b"second", 0o600).unwrap_err();
        assert!(
            matches!(err, VaultError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists)
        );
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn a_capped_read_stops_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(read_capped(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_capped(&path, 4),
            Err(CappedReadError::TooLarge { limit: 4 })
        ));
        // An endless source is cut at the limit, not read to the end.
        assert!(matches!(
            read_capped(Path::new("/dev/zero"), 1024),
            Err(CappedReadError::TooLarge { limit: 1024 })
        ));
        assert!(
            read_capped(&dir.path().join("missing"), 1)
                .unwrap_err()
                .is_not_found()
        );
        fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_capped_text(&path, 10),
            Err(CappedReadError::NotText(_))
        ));
    }
}
