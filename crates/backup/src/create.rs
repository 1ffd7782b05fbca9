//! Making a backup.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read as _, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use rampart_vault::crypto::CryptoProvider;
use rampart_vault::{DataDir, DevicePublicKey};

use crate::crypto::{HashingWriter, Sealer, derive_key};
use crate::format::{self, AeadParams, Header, LAYOUT};
use crate::{BackupError, KdfParams, Passphrase, limits, snapshot};

/// How to make a backup.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// argon2id memory in KiB (default 64 MiB).
    pub kdf_m_kib: u32,
    /// argon2id passes (default 3).
    pub kdf_t: u32,
    /// argon2id lanes (default 1).
    pub kdf_p: u32,
    /// The random source of the salt and the nonce prefix (default: the process default
    /// provider). Tests pass a deterministic one to prove where the randomness comes from.
    pub crypto: &'static CryptoProvider,
}

impl Default for CreateOptions {
    fn default() -> CreateOptions {
        CreateOptions {
            kdf_m_kib: KdfParams::DEFAULT_M_KIB,
            kdf_t: KdfParams::DEFAULT_T,
            kdf_p: KdfParams::DEFAULT_P,
            crypto: CryptoProvider::process_default(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    /// SHA-256 of the whole backup file, hex: to record and to compare copies.
    pub sha256: String,
    /// Bytes written.
    pub size: u64,
    /// The creation time in the header (RFC 3339).
    pub created: String,
    /// The device key that signed it.
    pub device_key: DevicePublicKey,
    /// Files and directories archived.
    pub entries: usize,
    /// Bytes of archived content.
    pub content_size: u64,
}

/// Writes an encrypted, signed backup of `data` to `out`.
///
/// The snapshot is consistent even while a gateway writes to the data directory (see the
/// crate docs). `out` receives the file front to back; nothing is read back.
///
/// # Security
/// The passphrase and the derived key are zeroized; neither appears in the summary or in an
/// error. CR 7.3 RE 1: the result is verifiable for origin and integrity with [`crate::verify`].
///
/// # Errors
/// [`BackupError`] for a data directory that cannot be archived, KDF options out of bounds,
/// and I/O errors of `out`.
pub fn create(
    data: &DataDir,
    passphrase: &Passphrase,
    options: &CreateOptions,
    out: impl Write,
) -> Result<BackupSummary, BackupError> {
    let key = data.device_key()?;
    let kdf = KdfParams::new_with(
        options.crypto,
        options.kdf_m_kib,
        options.kdf_t,
        options.kdf_p,
    )?;
    let layout = fs::read_to_string(data.file(rampart_vault::Entry::LayoutMarker)).map_err(
        BackupError::io(format!(
            "reading {}",
            data.file(rampart_vault::Entry::LayoutMarker).display()
        )),
    )?;
    if layout.lines().next() != Some(LAYOUT) {
        return Err(BackupError::Unsupported {
            path: data.root().to_owned(),
            what: format!(
                "layout {:?} is not {LAYOUT:?}",
                layout.lines().next().unwrap_or("")
            ),
        });
    }
    let snapshot = snapshot::take(data.root())?;
    let manifest_json =
        serde_json::to_vec(&snapshot.manifest).map_err(|e| BackupError::Manifest(e.to_string()))?;
    let manifest_len = u32::try_from(manifest_json.len())
        .ok()
        .filter(|&n| n <= limits::MAX_MANIFEST)
        .ok_or_else(|| {
            BackupError::TooLarge(format!("a manifest over {} bytes", limits::MAX_MANIFEST))
        })?;
    let content_size = snapshot.manifest.content_size();
    let plaintext_size = 4 + u64::from(manifest_len) + content_size;
    if plaintext_size > limits::MAX_ARCHIVE {
        return Err(BackupError::TooLarge(format!(
            "{plaintext_size} bytes, more than {}",
            limits::MAX_ARCHIVE
        )));
    }
    let created = crate::wall_clock()
        .round(jiff::Unit::Second)
        .map_err(|e| BackupError::Crypto(e.to_string()))?
        .to_string();
    let header = Header {
        created: created.clone(),
        device_key: key.public_key().to_hex(),
        layout: LAYOUT.to_owned(),
        producer: format!("rampart-backup {}", env!("CARGO_PKG_VERSION")),
        kdf,
        aead: AeadParams::new_random(options.crypto)?,
        plaintext_size,
    };
    header.check()?;
    let prefix = format::build_prefix(&header)?;
    let secret = derive_key(passphrase, &header.kdf)?;

    let mut writer = HashingWriter::new(out);
    writer
        .write_all(&prefix)
        .map_err(BackupError::io("writing the backup"))?;
    let mut sealer = Sealer::new(writer, &secret, &prefix, &header)?;
    sealer.write(&manifest_len.to_be_bytes())?;
    sealer.write(&manifest_json)?;
    let mut chunk = vec![0u8; format::SEGMENT];
    for (entry, copy) in snapshot.manifest.files().zip(&snapshot.copies) {
        let mut file =
            File::open(copy).map_err(BackupError::io(format!("opening {}", copy.display())))?;
        let mut left = entry.size;
        while left > 0 {
            let n = file
                .read(&mut chunk)
                .map_err(BackupError::io(format!("reading {}", copy.display())))?;
            if n == 0 {
                return Err(BackupError::Crypto(format!(
                    "{} shrank while archived",
                    entry.path
                )));
            }
            let n = usize::try_from(left).map_or(n, |l| l.min(n));
            sealer.write(&chunk[..n])?;
            left -= n as u64;
        }
    }
    let mut writer = sealer.finish()?;
    let digest = writer.stop_signed();
    let signature = key.sign(&format::signed_message(&digest))?;
    writer
        .write_all(&signature)
        .and_then(|()| writer.flush())
        .map_err(BackupError::io("writing the backup"))?;
    Ok(BackupSummary {
        sha256: hex::encode(writer.file.finish()),
        size: writer.count,
        created,
        device_key: key.public_key(),
        entries: snapshot.manifest.entries.len(),
        content_size,
    })
}

/// [`create`] into the file `path`: written to a temporary file beside it (mode 0600), synced,
/// then renamed into place (or linked, when `overwrite` is false, so an existing file is never
/// replaced), and the directory synced.
///
/// # Errors
/// As [`create`]; [`BackupError::Io`] with kind `AlreadyExists` if `path` exists and
/// `overwrite` is false. The temporary file is removed on every error.
pub fn create_file(
    data: &DataDir,
    passphrase: &Passphrase,
    options: &CreateOptions,
    path: &Path,
    overwrite: bool,
) -> Result<BackupSummary, BackupError> {
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        return Err(BackupError::Io {
            context: format!("{} exists", path.display()),
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(name);
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(BackupError::io(format!("creating {}", temp.display())))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let summary = create(data, passphrase, options, &mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| BackupError::io(format!("writing {}", temp.display()))(e.into_error()))?;
        file.sync_all()
            .map_err(BackupError::io(format!("syncing {}", temp.display())))?;
        if overwrite {
            fs::rename(&temp, path)
        } else {
            fs::hard_link(&temp, path)
        }
        .map_err(BackupError::io(format!("writing {}", path.display())))?;
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(BackupError::io(format!("syncing {}", parent.display())))?;
        Ok(summary)
    })();
    // After a rename the temporary name is gone; after a link or an error it must go.
    let _ = fs::remove_file(&temp);
    result
}
