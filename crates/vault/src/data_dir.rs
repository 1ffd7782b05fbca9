//! The data directory: one directory that holds all of a component's state.

use std::fs;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::at_rest::{self, Kek, KekConfig};
use crate::layout::Entry;
use crate::{DeviceKey, DevicePublicKey, DeviceSigningKey, KeyStore, VaultError};

/// The first line of the layout file, naming the layout version this code reads.
const LAYOUT: &str = "rampart-data 1";

/// Whether [`DataDir::open_or_init`] found a data directory or made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The directory was already a data directory.
    Existing,
    /// The directory was created (or was empty) and has just been initialised.
    Created,
}

/// A Rampart data directory (`--data`, default `./rampart-data`).
///
/// Layout: every file and directory is an [`Entry`] (docs/data-directory.md): `LAYOUT`
/// (version marker), `keys/device.key` (Ed25519, PKCS#8 PEM, 0600), `keys/device.pub` (SPKI
/// PEM), and one file or directory per store (`audit/`, `identity.db`, `pki/`, …), each
/// created by the crate that owns it through [`DataDir::dir`] and [`DataDir::file`].
///
/// Invariant: the directory and every subdirectory are mode 0700 and owned by this process's
/// user; opening a directory that others can read or write fails.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// The key-encryption key; `None` only for a directory of an earlier release opened with
    /// [`DataDir::open`], whose secrets are still plain until the next [`DataDir::open_or_init`].
    kek: Option<Arc<Kek>>,
    /// The secret files sealed by this open (migration of a directory of an earlier release).
    migrated: Vec<String>,
}

/// The secret files of a data directory, sealed at rest: their paths, which are also their
/// logical names. The demo client keys under `pki/clients/` are not here: they are
/// credentials issued to clients, exported as PEM for them.
pub const SEALED_FILES: [&str; 3] = ["keys/device.key", "pki/ca.key", "pki/server.key"];

impl DataDir {
    /// Opens the data directory at `path`, creating and initialising it if it does not exist
    /// or is empty. Initialisation is idempotent, so a crash half-way is completed by the next
    /// call.
    ///
    /// # Errors
    /// [`VaultError::NotDataDir`] for a non-empty directory that is not a data directory (it is
    /// never written to), [`VaultError::Permissions`] for one others can access, and I/O errors.
    pub fn open_or_init(path: &Path) -> Result<(DataDir, Opened), VaultError> {
        DataDir::open_or_init_with(path, &KekConfig::Recorded)
    }

    /// [`DataDir::open_or_init`] with the KEK provider the configuration chose. The first
    /// open records the provider in `keys/kek-provider`; a later open with another location
    /// is refused rather than making a second KEK. Plain secret files of an earlier release
    /// are sealed in place ([`DataDir::migrated`]).
    ///
    /// # Errors
    /// As [`DataDir::open_or_init`]; [`VaultError::Kek`] for a KEK that is missing, another
    /// than recorded, or of a provider this binary lacks.
    pub fn open_or_init_with(
        path: &Path,
        kek: &KekConfig,
    ) -> Result<(DataDir, Opened), VaultError> {
        DataDir::open_or_init_keys(path, kek, KeyStore::Recorded)
    }

    /// [`DataDir::open_or_init_with`], and where a new device key is made (`[vault]
    /// device_key`): [`KeyStore::Tpm`] generates it in the TPM of the KEK. The device key is
    /// the component's identity (it signs the audit trail, the integrity manifest and backups),
    /// so it is placed when it is made and never moved: asking for another place than the
    /// directory holds is refused ([`VaultError::BadKey`]).
    ///
    /// # Errors
    /// As [`DataDir::open_or_init_with`]; [`VaultError::BadKey`] for a device key held
    /// elsewhere than `device_key` asks, or `tpm` without a TPM KEK.
    pub fn open_or_init_keys(
        path: &Path,
        kek: &KekConfig,
        device_key: KeyStore,
    ) -> Result<(DataDir, Opened), VaultError> {
        let opened = match fs::read_dir(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .map_err(VaultError::io(path))?;
                Opened::Created
            }
            Err(e) => return Err(VaultError::io(path)(e)),
            Ok(mut entries) => {
                if entries.next().is_none() {
                    // An empty directory made by the user (often 0755): take it over.
                    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                        .map_err(VaultError::io(path))?;
                    Opened::Created
                } else {
                    Opened::Existing
                }
            }
        };
        let root = path.to_owned();
        require_private(&root, 0o700)?;
        let layout = root.join(Entry::LayoutMarker.relative_path());
        if opened == Opened::Created {
            crate::write_atomic(&layout, format!("{LAYOUT}\n").as_bytes(), 0o600)?;
        } else {
            check_layout(&root, &layout)?;
        }
        let keys = root.join(Entry::Keys.relative_path());
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&keys)
            .map_err(VaultError::io(&keys))?;
        require_private(&keys, 0o700)?;
        let kek = Arc::new(ensure_kek(&root, kek)?);
        at_rest::remember(Arc::clone(&kek));
        crate::anti_rollback::register(root.join(Entry::Tpm.relative_path()), Arc::clone(&kek));
        let mut dir = DataDir {
            root,
            kek: Some(kek),
            migrated: Vec::new(),
        };
        dir.migrate()?;
        dir.ensure_device_key(device_key)?;
        Ok((dir, opened))
    }

    /// Takes the data directory for this process alone, for as long as the returned lock
    /// lives: the gateway holds it while it runs, a restore while it replaces the directory.
    /// Commands that only read or append (audit, user, token) do not take it; their stores
    /// coordinate through `SQLite`. The lock is an advisory `flock` on the directory itself,
    /// released by the kernel when the process ends, so a crash never leaves it stale.
    ///
    /// # Errors
    /// [`VaultError::InUse`] when another process holds it; I/O errors.
    pub fn try_lock(&self) -> Result<DataDirLock, VaultError> {
        lock_dir(&self.root)
    }

    /// Opens an existing data directory without creating anything.
    ///
    /// # Errors
    /// As [`DataDir::open_or_init`], and [`VaultError::NotDataDir`] if `path` does not exist.
    pub fn open(path: &Path) -> Result<DataDir, VaultError> {
        if !path.is_dir() {
            return Err(VaultError::NotDataDir {
                path: path.to_owned(),
                reason: "no such directory".into(),
            });
        }
        require_private(path, 0o700)?;
        check_layout(path, &path.join(Entry::LayoutMarker.relative_path()))?;
        let kek = load_kek(path)?.map(Arc::new);
        if let Some(kek) = &kek {
            at_rest::remember(Arc::clone(kek));
            crate::anti_rollback::register(path.join(Entry::Tpm.relative_path()), Arc::clone(kek));
        }
        Ok(DataDir {
            root: path.to_owned(),
            kek,
            migrated: Vec::new(),
        })
    }

    /// The key-encryption key, if the directory has one yet.
    pub fn kek(&self) -> Option<&Arc<Kek>> {
        self.kek.as_ref()
    }

    /// The key-encryption key.
    ///
    /// # Errors
    /// [`VaultError::Kek`] for a directory of an earlier release opened with
    /// [`DataDir::open`], before its first start with this release.
    pub fn require_kek(&self) -> Result<&Arc<Kek>, VaultError> {
        self.kek.as_ref().ok_or_else(|| {
            VaultError::Kek(format!(
                "{} has no key-encryption key yet: start it once (rampart up) to seal its \
                 secrets",
                self.root.display()
            ))
        })
    }

    /// The secret files this open sealed (names of [`SEALED_FILES`]): a directory of an
    /// earlier release is migrated in place. The caller records one audit event each.
    pub fn migrated(&self) -> &[String] {
        &self.migrated
    }

    /// The secret files of [`SEALED_FILES`] that exist, each with whether it is sealed (its
    /// first bytes are the sealed format's magic): for the configuration report.
    pub fn secret_files(&self) -> Vec<(&'static str, bool)> {
        SEALED_FILES
            .iter()
            .filter_map(|name| {
                let mut head = [0u8; 8];
                let mut file = fs::File::open(self.root.join(name)).ok()?;
                let sealed = std::io::Read::read_exact(&mut file, &mut head).is_ok()
                    && at_rest::is_sealed(&head);
                Some((*name, sealed))
            })
            .collect()
    }

    /// Seals the secret files that are still plain.
    fn migrate(&mut self) -> Result<(), VaultError> {
        let kek = Arc::clone(self.require_kek()?);
        for name in SEALED_FILES {
            if at_rest::seal_file_in_place(&kek, &self.root.join(name), name)? {
                self.migrated.push(name.to_owned());
            }
        }
        Ok(())
    }

    /// The directory's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The subdirectory `entry`, created 0700 if missing.
    ///
    /// # Errors
    /// I/O errors, or [`VaultError::Permissions`] if it exists and others can access it.
    pub fn dir(&self, entry: Entry) -> Result<PathBuf, VaultError> {
        debug_assert!(entry.is_dir(), "{entry} is a file");
        let path = self.root.join(entry.relative_path());
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(VaultError::io(&path))?;
        require_private(&path, 0o700)?;
        Ok(path)
    }

    /// The path of `entry` inside the directory (not created).
    pub fn file(&self, entry: Entry) -> PathBuf {
        self.root.join(entry.relative_path())
    }

    /// The device key, in a file or in the TPM.
    ///
    /// # Errors
    /// As [`DeviceSigningKey::load`].
    pub fn device_key(&self) -> Result<DeviceSigningKey, VaultError> {
        DeviceSigningKey::load(&self.file(Entry::DeviceKey))
    }

    /// Where the device key is held; `None` before it is made.
    ///
    /// # Errors
    /// I/O errors and a sealed file that cannot be opened.
    pub fn device_key_held(&self) -> Result<Option<KeyStore>, VaultError> {
        let path = self.file(Entry::DeviceKey);
        if !path.exists() {
            return Ok(None);
        }
        let contents = at_rest::read_secret(&path)?;
        Ok(Some(if crate::tpm::is_tpm_key(&contents) {
            KeyStore::Tpm
        } else {
            KeyStore::File
        }))
    }

    /// Where the device's public key is published (SPKI PEM), for `--key` arguments.
    pub fn device_public_key_path(&self) -> PathBuf {
        self.file(Entry::DevicePublicKey)
    }

    fn ensure_device_key(&self, store: KeyStore) -> Result<(), VaultError> {
        let path = self.file(Entry::DeviceKey);
        self.dir(Entry::Keys)?;
        let public = if path.exists() {
            let key = self.device_key()?;
            if store != KeyStore::Recorded && store != key.held() {
                return Err(VaultError::BadKey {
                    path,
                    reason: format!(
                        "the device key is held in a {} and `[vault] device_key` asks for {:?}: \
                         the device key is the component's identity (it signs the audit trail, \
                         the integrity manifest and backups), placed when the data directory \
                         is made and never moved; keep device_key = {:?} or start a new data \
                         directory (docs/vault.md)",
                        if key.held() == KeyStore::Tpm {
                            "TPM"
                        } else {
                            "file"
                        },
                        store.as_str(),
                        key.held().as_str(),
                    ),
                });
            }
            key.public_key()
        } else if store == KeyStore::Tpm {
            self.make_tpm_device_key(&path)?
        } else {
            let key = DeviceKey::generate()?;
            key.store_sealed(self.require_kek()?, &path, SEALED_FILES[0])?;
            key.public_key()
        };
        let published = self.device_public_key_path();
        if !published.exists() {
            crate::write_atomic(&published, public.to_pem().as_bytes(), 0o644)?;
        }
        Ok(())
    }

    /// A new device key in the TPM of this directory's KEK, its file sealed at `path`.
    #[cfg(feature = "tpm")]
    fn make_tpm_device_key(&self, path: &Path) -> Result<DevicePublicKey, VaultError> {
        let kek = self.require_kek()?;
        if kek.kind() != at_rest::ProviderKind::Tpm {
            return Err(VaultError::BadKey {
                path: path.to_owned(),
                reason: "device_key = \"tpm\" needs kek_provider = \"tpm\": the key is made \
                         under the KEK's parent key in the same TPM"
                    .into(),
            });
        }
        let settings = crate::tpm::settings_of(&self.root.join(Entry::Tpm.relative_path()))?;
        let file = crate::tpm::server_key::create(&settings)?;
        let public =
            DevicePublicKey::from_p256_point(&file.point).map_err(|reason| VaultError::BadKey {
                path: path.to_owned(),
                reason,
            })?;
        at_rest::write_secret(kek, path, SEALED_FILES[0], file.to_text().as_bytes(), true)?;
        Ok(public)
    }

    #[cfg(not(feature = "tpm"))]
    #[expect(clippy::unused_self, reason = "the signature of the TPM build's")]
    fn make_tpm_device_key(&self, path: &Path) -> Result<DevicePublicKey, VaultError> {
        Err(VaultError::BadKey {
            path: path.to_owned(),
            reason: "device_key = \"tpm\": this binary was built without TPM support (cargo \
                     feature `tpm`)"
                .into(),
        })
    }
}

/// What `keys/kek-provider` records: the provider, where the KEK is and its id (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekRecord {
    /// `file` or `tpm`.
    pub provider: String,
    /// The KEK file (or the TPM object's description).
    pub location: PathBuf,
    /// The KEK id (16 hex digits).
    pub id: String,
}

/// Reads `keys/kek-provider` of the data directory at `root`; `None` if there is none.
///
/// # Errors
/// [`VaultError::Kek`] for a malformed record, I/O errors.
pub fn kek_record(root: &Path) -> Result<Option<KekRecord>, VaultError> {
    let path = root.join(Entry::KekProvider.relative_path());
    let text = match crate::read_capped_text(&path, 4096) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(VaultError::Kek(format!("{}: {e}", path.display()))),
    };
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
            .map(str::to_owned)
            .ok_or_else(|| VaultError::Kek(format!("{}: no `{key}` line", path.display())))
    };
    // A location inside the data directory is recorded relative to it, so that a copy of the
    // directory (a restore elsewhere) finds its own KEK.
    Ok(Some(KekRecord {
        provider: field("provider")?,
        location: root.join(field("location")?),
        id: field("id")?,
    }))
}

/// The KEK of the data directory at `root` as `config` asks: the recorded one, else a new
/// one, recorded.
fn ensure_kek(root: &Path, config: &KekConfig) -> Result<Kek, VaultError> {
    let recorded = kek_record(root)?;
    let wanted = at_rest::provider_for(config, root)?;
    let Some(record) = recorded else {
        let kek = wanted.load_or_create()?;
        let location = kek.location().strip_prefix(root).unwrap_or(kek.location());
        let text = format!(
            "provider {}\nlocation {}\nid {}\n",
            kek.kind(),
            location.display(),
            kek.id_hex()
        );
        crate::write_atomic(
            &root.join(Entry::KekProvider.relative_path()),
            text.as_bytes(),
            0o600,
        )?;
        return Ok(kek);
    };
    if !matches!(config, KekConfig::Recorded)
        && (record.provider != wanted.kind().as_str() || record.location != wanted.location())
    {
        return Err(VaultError::Kek(format!(
            "the data directory's KEK is {} at {} (keys/kek-provider), the configuration asks \
             for {} at {}: keep the recorded one (move the file, edit keys/kek-provider) or \
             restore a backup into a new directory",
            record.provider,
            record.location.display(),
            wanted.kind(),
            wanted.location().display()
        )));
    }
    // A TPM KEK loads with the configured TCTI (a device path may change), else as recorded.
    let loaded = if matches!(config, KekConfig::Tpm(_)) {
        match wanted.load()? {
            Some(kek) if kek.id_hex() != record.id => {
                return Err(VaultError::Kek(format!(
                    "the TPM gave KEK {}, keys/kek-provider records {}: not this directory's KEK",
                    kek.id_hex(),
                    record.id
                )));
            }
            other => other,
        }
    } else {
        load_kek(root)?
    };
    loaded.ok_or_else(|| {
        VaultError::Kek(format!(
            "the KEK file {} is missing (erased, or on a medium that is not mounted): the \
             sealed secrets cannot be opened",
            record.location.display()
        ))
    })
}

/// The recorded KEK of the data directory at `root`, if it has one.
fn load_kek(root: &Path) -> Result<Option<Kek>, VaultError> {
    let Some(record) = kek_record(root)? else {
        return Ok(None);
    };
    let config = match record.provider.as_str() {
        "file" => KekConfig::File {
            path: Some(record.location.clone()),
        },
        "tpm" => KekConfig::Tpm(crate::tpm::TpmConfig::default()),
        other => {
            return Err(VaultError::Kek(format!(
                "keys/kek-provider names an unknown provider {other:?}"
            )));
        }
    };
    let Some(kek) = at_rest::provider_for(&config, root)?.load()? else {
        return Ok(None);
    };
    if kek.id_hex() != record.id {
        return Err(VaultError::Kek(format!(
            "{} holds KEK {}, keys/kek-provider records {}: not this directory's KEK",
            record.location.display(),
            kek.id_hex(),
            record.id
        )));
    }
    Ok(Some(kek))
}

fn check_layout(root: &Path, layout: &Path) -> Result<(), VaultError> {
    let text = match fs::read_to_string(layout) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NotDataDir {
                path: root.to_owned(),
                reason: "the directory is not empty and has no LAYOUT file; \
                         give an empty or new directory"
                    .into(),
            });
        }
        Err(e) => return Err(VaultError::io(layout)(e)),
    };
    if text.lines().next() != Some(LAYOUT) {
        return Err(VaultError::NotDataDir {
            path: root.to_owned(),
            reason: format!(
                "layout {:?} is not {LAYOUT:?}, the one this version reads",
                text.lines().next().unwrap_or_default()
            ),
        });
    }
    Ok(())
}

/// Fails unless `path` gives group and others no access at all.
pub(crate) fn require_private(path: &Path, expected: u32) -> Result<(), VaultError> {
    let mode = fs::metadata(path)
        .map_err(VaultError::io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::Permissions {
            path: path.to_owned(),
            mode,
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn one_process_at_a_time_holds_the_lock() {
        let parent = tempfile::tempdir().unwrap();
        let (dir, _) = DataDir::open_or_init(&parent.path().join("data")).unwrap();
        let held = dir.try_lock().unwrap();
        // A second open file description conflicts, as another process's would.
        let again = DataDir::open(dir.root()).unwrap().try_lock().unwrap_err();
        assert!(matches!(again, VaultError::InUse { .. }), "{again}");
        assert!(again.to_string().contains("in use"), "{again}");
        drop(held);
        dir.try_lock().expect("free again once dropped");
    }

    #[test]
    fn a_fresh_directory_is_initialised_once() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        let (dir, opened) = DataDir::open_or_init(&path).unwrap();
        assert_eq!(opened, Opened::Created);
        assert_eq!(mode(&path), 0o700);
        assert_eq!(mode(&path.join("keys")), 0o700);
        assert_eq!(mode(&path.join(Entry::DeviceKey.relative_path())), 0o600);
        let public = dir.device_key().unwrap().public_key();

        let (again, opened) = DataDir::open_or_init(&path).unwrap();
        assert_eq!(opened, Opened::Existing);
        assert_eq!(
            again.device_key().unwrap().public_key(),
            public,
            "the key is kept"
        );
        let published = fs::read_to_string(again.device_public_key_path()).unwrap();
        assert_eq!(crate::DevicePublicKey::parse(&published).unwrap(), public);
    }

    #[test]
    fn an_empty_directory_is_taken_over_with_private_permissions() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        fs::create_dir(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let (_, opened) = DataDir::open_or_init(&path).unwrap();
        assert_eq!(opened, Opened::Created);
        assert_eq!(mode(&path), 0o700);
    }

    #[test]
    fn a_foreign_directory_is_never_written() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("home");
        fs::create_dir(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(path.join("notes.txt"), "mine").unwrap();
        let err = DataDir::open_or_init(&path).unwrap_err().to_string();
        assert!(err.contains("not a Rampart data directory"), "{err}");
        assert_eq!(
            fs::read_dir(&path).unwrap().count(),
            1,
            "nothing was written"
        );
    }

    #[test]
    fn a_directory_others_can_read_is_refused() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        DataDir::open_or_init(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let err = DataDir::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("mode 0755") && err.contains("chmod 700"),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_sealed_and_the_kek_recorded_relative_to_the_directory() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        let (dir, _) = DataDir::open_or_init(&path).unwrap();
        let key = fs::read(path.join("keys/device.key")).unwrap();
        assert!(at_rest::is_sealed(&key));
        assert_eq!(dir.secret_files(), vec![("keys/device.key", true)]);
        let record = fs::read_to_string(path.join("keys/kek-provider")).unwrap();
        assert!(record.contains("location keys/kek\n"), "{record}");
        assert_eq!(mode(&path.join("keys/kek")), 0o600);

        // A copy of the directory elsewhere opens with its own copy of the KEK.
        let copy = parent.path().join("copy");
        fs::create_dir(&copy).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o700)).unwrap();
        fs::DirBuilder::new()
            .mode(0o700)
            .create(copy.join("keys"))
            .unwrap();
        for name in [
            "LAYOUT",
            "keys/device.key",
            "keys/device.pub",
            "keys/kek",
            "keys/kek-provider",
        ] {
            fs::copy(path.join(name), copy.join(name)).unwrap();
        }
        let (again, _) = DataDir::open_or_init(&copy).unwrap();
        assert_eq!(
            again.device_key().unwrap().public_key(),
            dir.device_key().unwrap().public_key()
        );
        assert_eq!(again.kek().unwrap().location(), copy.join("keys/kek"));
    }

    #[test]
    fn a_kek_kept_elsewhere_is_used_and_a_changed_location_refused() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        let medium = parent.path().join("medium");
        fs::create_dir(&medium).unwrap();
        let config = KekConfig::File {
            path: Some(medium.join("rampart.kek")),
        };
        let (dir, _) = DataDir::open_or_init_with(&path, &config).unwrap();
        assert!(!path.join("keys/kek").exists());
        assert!(medium.join("rampart.kek").exists());
        let public = dir.device_key().unwrap().public_key();
        // Without the configuration, the recorded KEK is used.
        let (again, _) = DataDir::open_or_init(&path).unwrap();
        assert_eq!(again.device_key().unwrap().public_key(), public);
        // Another location is refused rather than making a second KEK.
        let err = DataDir::open_or_init_with(&path, &KekConfig::File { path: None })
            .unwrap_err()
            .to_string();
        assert!(err.contains("keys/kek-provider"), "{err}");
        // The medium removed: the secrets cannot be opened, and the error says why.
        fs::rename(medium.join("rampart.kek"), parent.path().join("away")).unwrap();
        let err = DataDir::open_or_init(&path).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        // TPM in a binary without it.
        #[cfg(not(feature = "tpm"))]
        {
            let err = DataDir::open_or_init_with(
                &parent.path().join("d2"),
                &KekConfig::Tpm(crate::tpm::TpmConfig::default()),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("tpm: not built"), "{err}");
        }
    }

    #[test]
    fn a_directory_of_an_earlier_release_is_sealed_in_place() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        fs::DirBuilder::new().mode(0o700).create(&path).unwrap();
        fs::DirBuilder::new()
            .mode(0o700)
            .create(path.join("keys"))
            .unwrap();
        crate::write_atomic(&path.join("LAYOUT"), b"rampart-data 1\n", 0o600).unwrap();
        let key = DeviceKey::generate().unwrap();
        key.danger_store_plain(&path.join("keys/device.key"))
            .unwrap();
        let plain = fs::read(path.join("keys/device.key")).unwrap();
        // Opened read-only first: no KEK yet, the plain key still reads.
        let old = DataDir::open(&path).unwrap();
        assert!(old.kek().is_none());
        assert_eq!(old.device_key().unwrap().public_key(), key.public_key());
        let (dir, _) = DataDir::open_or_init(&path).unwrap();
        assert_eq!(dir.migrated(), ["keys/device.key"]);
        let sealed = fs::read(path.join("keys/device.key")).unwrap();
        assert!(at_rest::is_sealed(&sealed));
        assert!(
            !sealed
                .windows(40)
                .any(|w| plain.windows(40).any(|p| p == w))
        );
        assert_eq!(dir.device_key().unwrap().public_key(), key.public_key());
        let (again, _) = DataDir::open_or_init(&path).unwrap();
        assert!(again.migrated().is_empty());
    }

    #[test]
    fn a_crash_after_the_layout_file_is_completed_on_next_open() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        DataDir::open_or_init(&path).unwrap();
        fs::remove_file(path.join(Entry::DeviceKey.relative_path())).unwrap();
        fs::remove_file(path.join(Entry::DevicePublicKey.relative_path())).unwrap();
        let (dir, opened) = DataDir::open_or_init(&path).unwrap();
        assert_eq!(opened, Opened::Existing);
        dir.device_key().unwrap();
    }
}

/// Exclusive use of a data directory ([`DataDir::try_lock`]); released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

/// Takes the lock of the data directory at `root` (see [`DataDir::try_lock`]).
pub(crate) fn lock_dir(root: &Path) -> Result<DataDirLock, VaultError> {
    // The directory itself is locked, so that taking the lock changes nothing in it.
    let file = fs::File::open(root).map_err(VaultError::io(root))?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(VaultError::InUse {
            path: root.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(VaultError::io(root)(e)),
    }
}
