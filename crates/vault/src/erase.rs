//! Secure erase of a data directory (CR 4.2 information persistence, RE 1 and RE 2): the KEK
//! destroyed first — from then on no sealed secret opens, even from a copy of the disk made
//! earlier — then every file overwritten and removed, then the result verified.

use std::fs;
use std::path::{Path, PathBuf};

use crate::at_rest::{self, KekConfig};
use crate::{DataDir, VaultError};

/// What [`erase`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseReport {
    /// The data directory, now gone.
    pub root: PathBuf,
    /// The KEK destroyed: its provider and location; `None` if the directory had none.
    pub kek: Option<(String, PathBuf)>,
    /// Files overwritten and removed (the KEK file not counted).
    pub files: usize,
    /// Their bytes, overwritten twice.
    pub bytes: u64,
    /// Directories removed, the data directory included.
    pub directories: usize,
    /// Symbolic links and other non-regular entries removed without following them.
    pub other: usize,
}

/// Erases the data directory `data`: destroys its KEK ([`at_rest::KekProvider::destroy`]),
/// overwrites (random bytes, then zeros, each synced) and removes every file, removes every
/// directory and the directory itself, and verifies that neither the directory nor the KEK
/// remains. The caller holds the directory's lock ([`DataDir::try_lock`]) and has recorded
/// the erase in the audit trail first.
///
/// # Errors
/// [`VaultError`]: I/O, or [`VaultError::Kek`] when something remains afterwards.
pub fn erase(data: &DataDir) -> Result<EraseReport, VaultError> {
    let root = data.root().to_owned();
    let mut report = EraseReport {
        root: root.clone(),
        kek: None,
        files: 0,
        bytes: 0,
        directories: 0,
        other: 0,
    };
    // 1. The KEK, wherever it is.
    let kek_location = match crate::kek_record(&root)? {
        Some(record) => {
            let config = match record.provider.as_str() {
                "tpm" => KekConfig::Tpm(crate::tpm::TpmConfig::default()),
                _ => KekConfig::File {
                    path: Some(record.location.clone()),
                },
            };
            let provider = at_rest::provider_for(&config, &root)?;
            provider.destroy()?;
            at_rest::forget(&record.id);
            report.kek = Some((record.provider, record.location.clone()));
            Some(record.location)
        }
        None => None,
    };
    // 2. Every file, then the directories, deepest first.
    remove_tree(&root, &mut report)?;
    // 3. Verify.
    if root.exists() {
        return Err(VaultError::Kek(format!(
            "{} still exists after the erase",
            root.display()
        )));
    }
    if let Some(location) = kek_location
        && location.exists()
    {
        return Err(VaultError::Kek(format!(
            "the KEK file {} still exists after the erase",
            location.display()
        )));
    }
    Ok(report)
}

fn remove_tree(dir: &Path, report: &mut EraseReport) -> Result<(), VaultError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(VaultError::io(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(VaultError::io(dir))?;
    entries.sort();
    for path in entries {
        let kind = fs::symlink_metadata(&path)
            .map_err(VaultError::io(&path))?
            .file_type();
        if kind.is_dir() {
            remove_tree(&path, report)?;
        } else if kind.is_file() {
            report.bytes += fs::symlink_metadata(&path)
                .map_err(VaultError::io(&path))?
                .len();
            at_rest::shred_file(&path)?;
            report.files += 1;
        } else {
            // A symbolic link, socket or FIFO: removed, never followed.
            fs::remove_file(&path).map_err(VaultError::io(&path))?;
            report.other += 1;
        }
    }
    fs::remove_dir(dir).map_err(VaultError::io(dir))?;
    report.directories += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// 1,000 canaries planted across the directory (in sealed secrets, stores, loose files);
    /// hard links outside it keep every inode readable, so the test sees what the erase left
    /// in the files' blocks.
    #[test]
    fn a_thousand_canaries_are_unrecoverable_after_the_erase() {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("data");
        let (data, _) = DataDir::open_or_init(&root).unwrap();
        let kek = data.kek().unwrap().clone();
        let canaries: Vec<String> = (0..1000)
            .map(|i| format!("CANARY-{i:04}-{}", "x".repeat(16)))
            .collect();
        let gateway = data.dir(crate::Entry::Gateway).unwrap();
        for (i, canary) in canaries.iter().enumerate() {
            match i % 3 {
                // A sealed secret: its plaintext is never on disk, its ciphertext is shredded.
                0 => at_rest::write_secret(
                    &kek,
                    &gateway.join(format!("secret-{i}.key")),
                    &format!("gateway/secret-{i}.key"),
                    canary.as_bytes(),
                    true,
                )
                .unwrap(),
                // A plain store file.
                1 => crate::write_atomic(
                    &gateway.join(format!("store-{i}")),
                    canary.as_bytes(),
                    0o600,
                )
                .unwrap(),
                // Many canaries in one larger file.
                _ => {
                    use std::io::Write as _;
                    let mut f = fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .mode_0600()
                        .open(root.join("audit.toml"))
                        .unwrap();
                    writeln!(f, "# {canary}").unwrap();
                }
            }
        }
        // Witnesses: a hard link to every file, outside the directory.
        let witnesses = parent.path().join("witnesses");
        fs::create_dir(&witnesses).unwrap();
        let mut linked = Vec::new();
        link_all(&root, &root, &witnesses, &mut linked);
        // A copy of the disk made before the erase.
        let copy = parent.path().join("copy");
        fs::create_dir(&copy).unwrap();
        fs::copy(root.join("keys/device.key"), copy.join("device.key")).unwrap();
        fs::set_permissions(copy.join("device.key"), fs::Permissions::from_mode(0o600)).unwrap();
        drop(kek);
        assert!(linked.len() > 600, "{}", linked.len());
        let before = scan(&linked, &canaries);
        assert!(
            before > 600,
            "the plain canaries are there before: {before}"
        );

        let report = erase(&data).unwrap();
        assert!(!root.exists());
        assert_eq!(
            report.files + 1,
            linked.len(),
            "every file but the KEK counted"
        );
        assert!(report.kek.is_some());
        assert_eq!(scan(&linked, &canaries), 0, "a canary survived the erase");
        for path in &linked {
            assert!(
                fs::read(path).unwrap().iter().all(|b| *b == 0),
                "{} not zeroed",
                path.display()
            );
        }
        // The KEK is gone, from the disk and from this process: the copy no longer opens.
        let err = at_rest::read_secret(&copy.join("device.key"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not loaded"), "{err}");
    }

    trait Mode0600 {
        fn mode_0600(&mut self) -> &mut Self;
    }

    impl Mode0600 for fs::OpenOptions {
        fn mode_0600(&mut self) -> &mut Self {
            use std::os::unix::fs::OpenOptionsExt as _;
            self.mode(0o600)
        }
    }

    fn link_all(root: &Path, dir: &Path, witnesses: &Path, linked: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                link_all(root, &path, witnesses, linked);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string()
                    .replace('/', "_");
                let witness = witnesses.join(name);
                fs::hard_link(&path, &witness).unwrap();
                fs::set_permissions(&witness, fs::Permissions::from_mode(0o600)).unwrap();
                linked.push(witness);
            }
        }
    }

    fn scan(files: &[PathBuf], canaries: &[String]) -> usize {
        let mut found = 0;
        for file in files {
            let bytes = fs::read(file).unwrap();
            found += canaries
                .iter()
                .filter(|c| bytes.windows(c.len()).any(|w| w == c.as_bytes()))
                .count();
        }
        found
    }

    #[test]
    fn symbolic_links_are_removed_not_followed() {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("data");
        let (data, _) = DataDir::open_or_init(&root).unwrap();
        let outside = parent.path().join("outside.txt");
        fs::write(&outside, "keep me").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let report = erase(&data).unwrap();
        assert_eq!(report.other, 1);
        assert_eq!(fs::read_to_string(&outside).unwrap(), "keep me");
    }
}
