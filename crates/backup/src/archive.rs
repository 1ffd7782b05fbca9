//! The archive inside a backup: a manifest, then the files' contents in manifest order.
//!
//! ```text
//! 0   4   manifest length M, 1..=8 MiB
//! 4   M   manifest: UTF-8 JSON {"entries": [Entry, ...]}
//! 4+M     the content of every file entry, in order, each exactly `size` bytes
//! ```

use serde::{Deserialize, Serialize};

use crate::{BackupError, limits};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A directory (restored 0700).
    Dir,
    /// A regular file, copied as it was.
    File,
    /// An `SQLite` database, copied through `SQLite`'s online backup API (a consistent
    /// snapshot even while it is written); restore checks that it opens and passes
    /// `PRAGMA quick_check`.
    Sqlite,
}

/// One path in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Relative path with `/` separators; components of `[A-Za-z0-9._+@=,-]`, never `.` or `..`.
    pub path: String,
    /// Directory, file or `SQLite` database.
    pub kind: EntryKind,
    /// Permission bits as they were (restore keeps at most `0o755` for files and makes
    /// directories `0o700`).
    pub mode: u32,
    /// Bytes of content (0 for a directory).
    pub size: u64,
    /// SHA-256 of the content, 64 lower-case hex digits (absent for a directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The list of entries, in the order their contents follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Sorted by path (byte order), unique, each after its parent directory.
    pub entries: Vec<Entry>,
}

/// Files every version-1 backup must hold.
pub(crate) const REQUIRED: [&str; 2] = [
    rampart_vault::Entry::LayoutMarker.relative_path(),
    rampart_vault::Entry::DeviceKey.relative_path(),
];

impl Manifest {
    /// Parses and checks a manifest.
    ///
    /// # Errors
    /// [`BackupError::Manifest`] naming the first problem.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, BackupError> {
        if bytes.len() > limits::MAX_MANIFEST as usize {
            return Err(BackupError::Manifest(format!(
                "larger than {} bytes",
                limits::MAX_MANIFEST
            )));
        }
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| BackupError::Manifest(format!("not the expected JSON: {e}")))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks the invariants documented on the fields.
    ///
    /// # Errors
    /// [`BackupError::Manifest`] naming the first problem.
    pub fn check(&self) -> Result<(), BackupError> {
        let bad = |what: String| Err(BackupError::Manifest(what));
        if self.entries.len() > limits::MAX_ENTRIES {
            return bad(format!(
                "{} entries, more than the limit of {}",
                self.entries.len(),
                limits::MAX_ENTRIES
            ));
        }
        let mut total: u64 = 0;
        let mut dirs: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut previous: Option<&str> = None;
        for entry in &self.entries {
            check_path(&entry.path)
                .map_err(|e| BackupError::Manifest(format!("{:?}: {e}", entry.path)))?;
            if previous.is_some_and(|p| p >= entry.path.as_str()) {
                return bad(format!("{:?} is out of order or repeated", entry.path));
            }
            previous = Some(&entry.path);
            if let Some((parent, _)) = entry.path.rsplit_once('/')
                && !dirs.contains(parent)
            {
                return bad(format!("{:?} comes before its directory", entry.path));
            }
            if entry.mode > 0o7777 {
                return bad(format!(
                    "{:?}: mode {:o} is not a permission mode",
                    entry.path, entry.mode
                ));
            }
            match entry.kind {
                EntryKind::Dir => {
                    if entry.size != 0 || entry.sha256.is_some() {
                        return bad(format!("{:?}: a directory has no content", entry.path));
                    }
                    dirs.insert(&entry.path);
                }
                EntryKind::File | EntryKind::Sqlite => {
                    let ok = entry.sha256.as_deref().is_some_and(|h| {
                        h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    });
                    if !ok {
                        return bad(format!(
                            "{:?}: sha256 is not 64 lower-case hex digits",
                            entry.path
                        ));
                    }
                    total = total
                        .checked_add(entry.size)
                        .filter(|&t| t <= limits::MAX_ARCHIVE)
                        .ok_or_else(|| {
                            BackupError::Manifest(format!(
                                "the contents exceed {} bytes",
                                limits::MAX_ARCHIVE
                            ))
                        })?;
                }
            }
        }
        for required in REQUIRED {
            if !self
                .entries
                .iter()
                .any(|e| e.path == required && e.kind == EntryKind::File)
            {
                return bad(format!("it has no {required}"));
            }
        }
        Ok(())
    }

    /// Total bytes of content (saturating; [`Manifest::check`] bounds it).
    pub fn content_size(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |total, e| total.saturating_add(e.size))
    }

    /// The files (and databases), in content order.
    pub fn files(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind != EntryKind::Dir)
    }
}

/// Whether `path` is a relative path a backup may hold.
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.len() > limits::MAX_PATH {
        return Err(format!("a path must have 1..={} bytes", limits::MAX_PATH));
    }
    for component in path.split('/') {
        check_name(component)?;
    }
    Ok(())
}

/// Whether `name` is one path component a backup may hold.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.len() > 255 {
        return Err(format!("{name:?} is not a file name a backup may hold"));
    }
    if !name.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'@' | b'=' | b',' | b'-')
    }) {
        return Err(format!(
            "{name:?} has characters outside A-Z a-z 0-9 . _ + @ = , -"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            mode: 0o600,
            size: 1,
            sha256: Some("ab".repeat(32)),
        }
    }

    fn dir(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::Dir,
            mode: 0o700,
            size: 0,
            sha256: None,
        }
    }

    fn check(entries: Vec<Entry>) -> Result<(), String> {
        Manifest { entries }.check().map_err(|e| e.to_string())
    }

    #[test]
    fn a_minimal_manifest_is_accepted() {
        check(vec![file("LAYOUT"), dir("keys"), file("keys/device.key")]).unwrap();
    }

    #[test]
    fn unsafe_or_inconsistent_manifests_are_refused() {
        let base = || vec![file("LAYOUT"), dir("keys"), file("keys/device.key")];
        let cases: Vec<(Vec<Entry>, &str)> = vec![
            (vec![file("LAYOUT")], "no keys/device.key"),
            ([base(), vec![file("../etc")]].concat(), "not a file name"),
            ([base(), vec![file("x/./y")]].concat(), "not a file name"),
            ([base(), vec![file("/abs")]].concat(), "not a file name"),
            ([base(), vec![file("a b")]].concat(), "characters outside"),
            (
                [base(), vec![file("zz/y")]].concat(),
                "before its directory",
            ),
            (
                vec![dir("keys"), file("LAYOUT"), file("keys/device.key")],
                "out of order",
            ),
            (
                [base(), vec![file("m"), file("m")]].concat(),
                "out of order or repeated",
            ),
            (
                [
                    base(),
                    vec![Entry {
                        sha256: None,
                        ..file("n")
                    }],
                ]
                .concat(),
                "sha256",
            ),
            (
                [
                    base(),
                    vec![Entry {
                        size: 3,
                        ..dir("zd")
                    }],
                ]
                .concat(),
                "no content",
            ),
            (
                [
                    base(),
                    vec![Entry {
                        size: u64::MAX,
                        ..file("n")
                    }],
                ]
                .concat(),
                "exceed",
            ),
        ];
        for (entries, want) in cases {
            let err = check(entries).unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn json_round_trips_and_unknown_fields_are_refused() {
        let m = Manifest {
            entries: vec![file("LAYOUT"), dir("keys"), file("keys/device.key")],
        };
        let json = serde_json::to_vec(&m).unwrap();
        assert_eq!(Manifest::from_json(&json).unwrap(), m);
        let err = Manifest::from_json(br#"{"entries":[],"extra":1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
