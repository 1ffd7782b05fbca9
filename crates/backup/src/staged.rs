//! Restores requested through the management plane of a running gateway. The gateway keeps
//! its stores open, so the restore cannot replace the data directory under it: the backup is
//! verified and restored in full into `<DATA>.restore-staged` (with the same checks as
//! [`restore`](crate::restore)), and the next start of the gateway swaps it in before it
//! opens anything ([`apply_staged`]).

use std::fs;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{BackupError, Passphrase, RestoreOptions, RestoreSummary, restore};

/// What was staged, kept next to the staged directory until it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedRestore {
    /// SHA-256 of the backup file, hex.
    pub sha256: String,
    /// When the backup was made (RFC 3339).
    pub created: String,
    /// The device key that signed it, hex.
    pub device_key: String,
    /// Who asked for the restore.
    pub requested_by: String,
    /// When (RFC 3339).
    pub requested_at: String,
    /// The audit trail's last sequence number in the backup.
    pub last_event_in_backup: Option<u64>,
}

/// A staged restore that [`apply_staged`] put in place.
#[derive(Debug, Clone)]
pub struct AppliedRestore {
    /// What was staged.
    pub staged: StagedRestore,
    /// Where the replaced data directory was moved.
    pub replaced: PathBuf,
}

/// The directory a restore of `data` is staged in.
pub fn staged_dir(data: &Path) -> PathBuf {
    sibling(data, ".restore-staged")
}

fn marker(data: &Path) -> PathBuf {
    sibling(data, ".restore-staged.json")
}

fn sibling(data: &Path, suffix: &str) -> PathBuf {
    let mut name = data
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(suffix);
    data.with_file_name(name)
}

/// The restore staged for `data`, if one is complete.
///
/// # Errors
/// [`BackupError::Io`] when the marker cannot be read or parsed.
pub fn pending(data: &Path) -> Result<Option<StagedRestore>, BackupError> {
    let path = marker(data);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| BackupError::Io {
                context: format!("reading {}", path.display()),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BackupError::io(format!("reading {}", path.display()))(e)),
    }
}

/// Verifies `input` as a backup of the device whose public key is `trusted` and restores it
/// into [`staged_dir`]`(data)`, replacing any earlier staged restore; the marker is written
/// last, so an interrupted staging is never applied.
///
/// # Errors
/// As [`restore`](crate::restore): wrong device, bad signature, wrong passphrase, tampering,
/// manifest or store problems; I/O errors.
pub fn stage(
    input: impl Read + Seek,
    data: &Path,
    passphrase: &Passphrase,
    trusted: rampart_vault::DevicePublicKey,
    requested_by: &str,
) -> Result<(RestoreSummary, StagedRestore), BackupError> {
    let staged = staged_dir(data);
    let mark = marker(data);
    remove_if_present(&mark)?;
    if staged.exists() {
        fs::remove_dir_all(&staged)
            .map_err(BackupError::io(format!("removing {}", staged.display())))?;
    }
    let summary = restore(
        input,
        &staged,
        passphrase,
        &RestoreOptions {
            device_key: Some(trusted),
        },
    )?;
    let record = StagedRestore {
        sha256: summary.sha256.clone(),
        created: summary.created.clone(),
        device_key: summary.device_key.to_hex(),
        requested_by: requested_by.to_owned(),
        requested_at: crate::wall_clock().to_string(),
        last_event_in_backup: summary.audit_events,
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| BackupError::Io {
        context: "encoding the staging marker".into(),
        source: std::io::Error::other(e),
    })?;
    rampart_vault::write_atomic(&mark, &json, 0o600)?;
    Ok((summary, record))
}

/// Discards a staged restore of `data`, if there is one.
///
/// # Errors
/// I/O errors.
pub fn discard(data: &Path) -> Result<bool, BackupError> {
    let had = marker(data).exists();
    remove_if_present(&marker(data))?;
    let staged = staged_dir(data);
    if staged.exists() {
        fs::remove_dir_all(&staged)
            .map_err(BackupError::io(format!("removing {}", staged.display())))?;
    }
    Ok(had)
}

/// Puts a staged restore of `data` in place, before anything opens `data`: the current
/// directory moves to `<DATA>.replaced-<UTC time>` (kept: it holds the audit events recorded
/// after the backup), the staged one takes its place. Interrupted between the two renames,
/// the next call completes it. Returns `None` when nothing is staged.
///
/// # Errors
/// I/O errors; the marker's parse error.
pub fn apply_staged(data: &Path) -> Result<Option<AppliedRestore>, BackupError> {
    let Some(staged_record) = pending(data)? else {
        return Ok(None);
    };
    let staged = staged_dir(data);
    let stamp = crate::wall_clock().strftime("%Y%m%dT%H%M%SZ").to_string();
    let replaced = sibling(data, &format!(".replaced-{stamp}"));
    if data.exists() {
        fs::rename(data, &replaced).map_err(BackupError::io(format!(
            "moving {} to {}",
            data.display(),
            replaced.display()
        )))?;
    }
    fs::rename(&staged, data).map_err(BackupError::io(format!(
        "moving {} to {}",
        staged.display(),
        data.display()
    )))?;
    remove_if_present(&marker(data))?;
    Ok(Some(AppliedRestore {
        staged: staged_record,
        replaced,
    }))
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::io(format!("removing {}", path.display()))(e)),
    }
}
