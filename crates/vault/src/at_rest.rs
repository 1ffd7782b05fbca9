//! Envelope encryption of the secrets a component stores (CR 4.1 for data at rest,
//! CR 4.3): every secret is sealed with its own data key (DEK, 256 random bits,
//! XChaCha20-Poly1305 through the crypto seam), and the DEK is wrapped by the key-encryption
//! key (KEK) of a [`KekProvider`].
//!
//! # The sealed format, version 1
//! All integers big-endian; docs/vault.md keeps the same table.
//!
//! | offset | bytes | field |
//! |--------|-------|-------|
//! | 0 | 8 | magic `RAMPSEAL` |
//! | 8 | 1 | format version, `1` |
//! | 9 | 1 | KEK provider: `1` file, `2` TPM |
//! | 10 | 8 | KEK id: the first 8 bytes of SHA-256(`rampart-kek-id-v1` ‖ KEK) |
//! | 18 | 2 | N, length of the logical name |
//! | 20 | N | logical name (UTF-8), e.g. `keys/device.key` |
//! | 20+N | 24 | nonce of the DEK wrap |
//! | 44+N | 48 | the DEK sealed by the KEK (32 bytes + 16-byte tag); associated data: bytes 0..20+N ‖ `dek` |
//! | 92+N | 24 | nonce of the data |
//! | 116+N | rest | the secret sealed by the DEK (ciphertext ‖ 16-byte tag); associated data: bytes 0..116+N ‖ `data` |
//!
//! The associated data binds the logical name, the format version and the KEK, so a sealed
//! value moved to another name, or a header edited, does not open.
//!
//! # The one open, the one seal
//! [`seal`] and [`open`] are the only functions that encrypt or decrypt a secret;
//! [`read_secret`] is the one read of a secret file. Opening a data directory
//! ([`crate::DataDir`]) loads its KEK into the process's key ring, so that [`read_secret`]
//! opens a sealed file wherever the configuration keeps it. A KEK stays in the key ring
//! (zeroized at exit) until [`forget`] (erase).

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::VaultError;
use crate::crypto::{self, AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN};

/// The first 8 bytes of every sealed value.
pub const MAGIC: &[u8; 8] = b"RAMPSEAL";
/// The format version this code writes and reads.
pub const VERSION: u8 = 1;
/// The longest logical name, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// The largest sealed file read, in bytes: keys are a few hundred.
pub const MAX_SEALED_BYTES: u64 = 1024 * 1024;
/// Whether this binary was built with a TPM 2.0 KEK provider.
pub const TPM_BUILT: bool = cfg!(feature = "tpm");

pub use crate::tpm::TpmConfig;

const KEK_FILE_HEADER: &str = "rampart-kek 1";
const WRAPPED_LEN: usize = AEAD_KEY_LEN + AEAD_TAG_LEN;

/// Where a KEK lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderKind {
    /// A software key file (0600): no hardware protection.
    File,
    /// Sealed in a TPM 2.0 (feature `tpm`, see [`TPM_BUILT`]).
    Tpm,
}

impl ProviderKind {
    /// `file` or `tpm`, as the configuration and reports name it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::File => "file",
            ProviderKind::Tpm => "tpm",
        }
    }

    /// Whether the KEK is protected by hardware (CR 1.5 RE 1, CR 1.9 RE 1, CR 1.14 RE 1).
    pub const fn is_hardware(self) -> bool {
        matches!(self, ProviderKind::Tpm)
    }

    const fn code(self) -> u8 {
        match self {
            ProviderKind::File => 1,
            ProviderKind::Tpm => 2,
        }
    }

    fn from_code(code: u8) -> Option<ProviderKind> {
        match code {
            1 => Some(ProviderKind::File),
            2 => Some(ProviderKind::Tpm),
            _ => None,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The configuration's choice of KEK provider (`[vault] kek_provider`, `kek_file`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KekConfig {
    /// A software KEK file; `None`: `DATA/keys/kek`.
    File {
        /// Where the KEK file is kept (a separate partition, removable medium).
        path: Option<PathBuf>,
    },
    /// The default: the provider recorded in the data directory, else a file at
    /// `DATA/keys/kek`.
    #[default]
    Recorded,
    /// A KEK sealed in a TPM 2.0 (`tpm_tcti`, `tpm_pcrs`).
    Tpm(TpmConfig),
}

impl KekConfig {
    /// Parses `kek_provider` (`file` or `tpm`) with an optional `kek_file`.
    ///
    /// # Errors
    /// A message naming the accepted values; `tpm` in a binary without TPM support.
    pub fn parse(provider: &str, file: Option<PathBuf>) -> Result<KekConfig, String> {
        KekConfig::parse_with(provider, file, TpmConfig::default())
    }

    /// [`KekConfig::parse`] with the TPM provider's `tpm_tcti` and `tpm_pcrs`.
    ///
    /// # Errors
    /// As [`KekConfig::parse`]; a malformed TCTI or PCR list; TPM settings for `file`.
    pub fn parse_with(
        provider: &str,
        file: Option<PathBuf>,
        tpm: TpmConfig,
    ) -> Result<KekConfig, String> {
        let has_tpm_settings = tpm != TpmConfig::default();
        match provider {
            "file" if has_tpm_settings => {
                Err("tpm_tcti and tpm_pcrs are only for kek_provider = \"tpm\"".into())
            }
            "file" => Ok(KekConfig::File { path: file }),
            "tpm" if file.is_some() => Err("kek_file is only for kek_provider = \"file\"".into()),
            "tpm" if !TPM_BUILT => Err(tpm_not_built()),
            "tpm" => {
                if let Some(tcti) = &tpm.tcti {
                    crate::tpm::check_tcti(tcti)?;
                }
                if let Some(pcrs) = &tpm.pcrs {
                    crate::tpm::policy::PcrSelection::new(pcrs)
                        .map_err(|e| format!("tpm_pcrs: {e}"))?;
                }
                Ok(KekConfig::Tpm(tpm))
            }
            other => Err(format!(
                "unknown KEK provider {other:?}: expected \"file\" or \"tpm\""
            )),
        }
    }
}

#[cfg_attr(feature = "tpm", allow(dead_code))]
fn tpm_not_built() -> String {
    "kek_provider = \"tpm\": tpm: not built — this binary has no TPM 2.0 support; use \
     kek_provider = \"file\" (software only) or a build with TPM support"
        .into()
}

/// A key-encryption key, in memory. `Debug` shows the provider and id, never the key.
pub struct Kek {
    kind: ProviderKind,
    id: [u8; 8],
    location: PathBuf,
    key: Zeroizing<[u8; AEAD_KEY_LEN]>,
}

impl Kek {
    /// A KEK of `kind` from its 32 bytes, kept at `location`.
    pub fn from_key(kind: ProviderKind, key: Zeroizing<[u8; 32]>, location: PathBuf) -> Kek {
        let mut hasher = crypto::Sha256::new();
        hasher.update(b"rampart-kek-id-v1");
        hasher.update(key.as_ref());
        let digest = hasher.finish();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Kek {
            kind,
            id,
            location,
            key,
        }
    }

    /// Its provider.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// Its id (public: a digest of the key), as 16 hex digits.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    /// Where it is kept (the file, or the TPM handle's description).
    pub fn location(&self) -> &Path {
        &self.location
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("kind", &self.kind)
            .field("id", &self.id_hex())
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A source of KEKs: the seam a TPM 2.0 provider implements next to [`FileKek`].
pub trait KekProvider: fmt::Debug {
    /// Its kind.
    fn kind(&self) -> ProviderKind;
    /// Where the KEK lives, for reports and errors.
    fn location(&self) -> &Path;
    /// Loads the KEK, creating it if there is none.
    ///
    /// # Errors
    /// [`VaultError`].
    fn load_or_create(&self) -> Result<Kek, VaultError>;
    /// Loads the KEK; `None` if there is none.
    ///
    /// # Errors
    /// [`VaultError`].
    fn load(&self) -> Result<Option<Kek>, VaultError>;
    /// Destroys the KEK (file: overwritten with random bytes, then zeros, synced, unlinked).
    /// Returns whether there was one.
    ///
    /// # Errors
    /// [`VaultError`].
    fn destroy(&self) -> Result<bool, VaultError>;
}

/// The software KEK provider: 32 random bytes in a 0600 file (`rampart-kek 1`, then 64 hex
/// digits). Software only: whoever reads the file and the data directory reads every secret.
#[derive(Debug, Clone)]
pub struct FileKek {
    path: PathBuf,
}

impl FileKek {
    /// The KEK file at `path`.
    pub fn new(path: PathBuf) -> FileKek {
        FileKek { path }
    }
}

impl KekProvider for FileKek {
    fn kind(&self) -> ProviderKind {
        ProviderKind::File
    }

    fn location(&self) -> &Path {
        &self.path
    }

    fn load_or_create(&self) -> Result<Kek, VaultError> {
        if let Some(kek) = self.load()? {
            return Ok(kek);
        }
        let parent = self.path.parent().unwrap_or(Path::new("."));
        if !parent.as_os_str().is_empty() && !parent.is_dir() {
            return Err(VaultError::Kek(format!(
                "the directory of the KEK file {} does not exist; create it (mode 0700) or \
                 choose another kek_file",
                self.path.display()
            )));
        }
        let key = crypto::random_key().map_err(|e| VaultError::Random(e.to_string()))?;
        // Every copy of the key, the hex form included, is wiped when dropped.
        let hexed = Zeroizing::new(hex::encode(key.as_ref()));
        let text = Zeroizing::new(format!("{KEK_FILE_HEADER}\n{}\n", hexed.as_str()));
        match crate::write_new_atomic(&self.path, text.as_bytes(), 0o600) {
            Ok(()) => {}
            // Another process made it first: use that one.
            Err(VaultError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                return self.load()?.ok_or_else(|| {
                    VaultError::Kek(format!("{} vanished while created", self.path.display()))
                });
            }
            Err(e) => return Err(e),
        }
        Ok(Kek::from_key(ProviderKind::File, key, self.path.clone()))
    }

    fn load(&self) -> Result<Option<Kek>, VaultError> {
        if !self.path.exists() {
            return Ok(None);
        }
        crate::data_dir::require_private(&self.path, 0o600)?;
        let bytes = Zeroizing::new(
            crate::read_capped(&self.path, 256).map_err(|e| bad_kek(&self.path, &e.to_string()))?,
        );
        let text = std::str::from_utf8(&bytes).map_err(|_| bad_kek(&self.path, "not text"))?;
        let mut lines = text.lines();
        if lines.next() != Some(KEK_FILE_HEADER) {
            return Err(bad_kek(&self.path, "the first line is not `rampart-kek 1`"));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(lines.next().unwrap_or_default(), key.as_mut())
            .map_err(|_| bad_kek(&self.path, "the second line is not 64 hex digits"))?;
        Ok(Some(Kek::from_key(
            ProviderKind::File,
            key,
            self.path.clone(),
        )))
    }

    fn destroy(&self) -> Result<bool, VaultError> {
        if !self.path.exists() {
            return Ok(false);
        }
        shred_file(&self.path)?;
        Ok(true)
    }
}

fn bad_kek(path: &Path, reason: &str) -> VaultError {
    VaultError::Kek(format!("{}: not a KEK file: {reason}", path.display()))
}

/// The provider `config` names for the data directory at `root`: the default file is
/// `DATA/keys/kek`; a TPM provider keeps its files in `DATA/keys/tpm/`.
///
/// # Errors
/// [`VaultError::Kek`] for `tpm` in a binary built without it.
pub fn provider_for(config: &KekConfig, root: &Path) -> Result<Box<dyn KekProvider>, VaultError> {
    match config {
        KekConfig::File { path: Some(path) } => Ok(Box::new(FileKek::new(path.clone()))),
        KekConfig::File { path: None } | KekConfig::Recorded => Ok(Box::new(FileKek::new(
            root.join(crate::Entry::Kek.relative_path()),
        ))),
        #[cfg(feature = "tpm")]
        KekConfig::Tpm(tpm) => Ok(Box::new(crate::tpm::TpmKek::new(
            root.join(crate::Entry::Tpm.relative_path()),
            tpm.clone(),
        ))),
        #[cfg(not(feature = "tpm"))]
        KekConfig::Tpm(_) => Err(VaultError::Kek(tpm_not_built())),
    }
}

/// Why a sealed value cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The bytes do not start with [`MAGIC`].
    #[error("not a sealed value (no RAMPSEAL header)")]
    NotSealed,
    /// The header is cut short or inconsistent.
    #[error("malformed sealed value: {0}")]
    Malformed(String),
    /// A format version this code does not read.
    #[error("sealed format version {0} is not supported (this version reads 1)")]
    Version(u8),
    /// The header names another KEK.
    #[error(
        "sealed under KEK {found} ({provider}), not under the loaded KEK {expected}; open the \
         data directory whose KEK it is"
    )]
    WrongKek {
        /// The KEK id in the header.
        found: String,
        /// Its provider.
        provider: String,
        /// The KEK at hand.
        expected: String,
    },
    /// The logical name in the header is not the one expected.
    #[error("sealed for {found:?}, not for {expected:?}")]
    Name {
        /// The name expected.
        expected: String,
        /// The name in the header.
        found: String,
    },
    /// Authentication failed: the value was changed, or the KEK is not the one it was sealed
    /// with.
    #[error("authentication failed: the sealed value was modified or the KEK is wrong")]
    Authentication,
    /// Sealing failed (random source, name too long).
    #[error("cannot seal: {0}")]
    Seal(String),
}

/// The parsed header of a sealed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version.
    pub version: u8,
    /// The KEK provider.
    pub provider: ProviderKind,
    /// The KEK id, 16 hex digits.
    pub kek_id: String,
    /// The logical name.
    pub name: String,
}

/// Whether `bytes` is a sealed value (starts with [`MAGIC`]).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

struct Layout {
    header: Header,
    id: [u8; 8],
    header_end: usize,
}

fn parse(bytes: &[u8]) -> Result<Layout, SealError> {
    if !is_sealed(bytes) {
        return Err(SealError::NotSealed);
    }
    let short = || SealError::Malformed(format!("{} bytes is too short", bytes.len()));
    let fixed = bytes.get(..20).ok_or_else(short)?;
    if fixed[8] != VERSION {
        return Err(SealError::Version(fixed[8]));
    }
    let provider = ProviderKind::from_code(fixed[9])
        .ok_or_else(|| SealError::Malformed(format!("unknown KEK provider code {}", fixed[9])))?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&fixed[10..18]);
    let name_len = usize::from(u16::from_be_bytes([fixed[18], fixed[19]]));
    let header_end = 20 + name_len;
    let name = bytes.get(20..header_end).ok_or_else(short)?;
    let name = std::str::from_utf8(name)
        .map_err(|_| SealError::Malformed("the logical name is not UTF-8".into()))?;
    if bytes.len() < header_end + AEAD_NONCE_LEN + WRAPPED_LEN + AEAD_NONCE_LEN + AEAD_TAG_LEN {
        return Err(short());
    }
    Ok(Layout {
        header: Header {
            version: fixed[8],
            provider,
            kek_id: hex::encode(id),
            name: name.to_owned(),
        },
        id,
        header_end,
    })
}

/// The header of a sealed value, without opening it.
///
/// # Errors
/// [`SealError`] for anything but a well-formed header.
pub fn header(bytes: &[u8]) -> Result<Header, SealError> {
    parse(bytes).map(|l| l.header)
}

/// Seals `plaintext` under a fresh DEK wrapped by `kek`, for the logical `name`: the one
/// encryption of a stored secret.
///
/// # Errors
/// [`SealError::Seal`] for a name longer than [`MAX_NAME_LEN`] or a random source failure.
pub fn seal(kek: &Kek, name: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    if name.len() > MAX_NAME_LEN {
        return Err(SealError::Seal(format!(
            "logical name of {} bytes, at most {MAX_NAME_LEN}",
            name.len()
        )));
    }
    let random =
        |buf: &mut [u8]| crypto::fill_random(buf).map_err(|e| SealError::Seal(e.to_string()));
    let mut out = Vec::with_capacity(140 + name.len() + plaintext.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(kek.kind.code());
    out.extend_from_slice(&kek.id);
    out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    let header_end = out.len();
    let provider = crypto::CryptoProvider::process_default();

    let dek = crypto::random_key().map_err(|e| SealError::Seal(e.to_string()))?;
    let mut wrap_nonce = [0u8; AEAD_NONCE_LEN];
    random(&mut wrap_nonce)?;
    let mut wrapped = Zeroizing::new(*dek);
    let aad = [&out[..header_end], b"dek"].concat();
    let tag = provider
        .seal(&kek.key, &wrap_nonce, &aad, wrapped.as_mut())
        .map_err(|e| SealError::Seal(e.to_string()))?;
    out.extend_from_slice(&wrap_nonce);
    out.extend_from_slice(wrapped.as_ref());
    out.extend_from_slice(&tag);

    let mut nonce = [0u8; AEAD_NONCE_LEN];
    random(&mut nonce)?;
    out.extend_from_slice(&nonce);
    let aad = [&out[..], b"data"].concat();
    let start = out.len();
    out.extend_from_slice(plaintext);
    let tag = provider
        .seal(&dek, &nonce, &aad, &mut out[start..])
        .map_err(|e| SealError::Seal(e.to_string()))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens a value [`seal`] made under `kek` for `name`: the one decryption of a stored secret.
/// The plaintext is zeroized when dropped.
///
/// # Errors
/// [`SealError`]: not sealed, malformed, another KEK or name, or modified.
pub fn open(kek: &Kek, name: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let layout = parse(sealed)?;
    check_kek(kek, &layout)?;
    if layout.header.name != name {
        return Err(SealError::Name {
            expected: name.to_owned(),
            found: layout.header.name,
        });
    }
    open_parsed(kek, &layout, sealed)
}

fn check_kek(kek: &Kek, layout: &Layout) -> Result<(), SealError> {
    if layout.id != kek.id || layout.header.provider != kek.kind {
        return Err(SealError::WrongKek {
            found: layout.header.kek_id.clone(),
            provider: layout.header.provider.to_string(),
            expected: kek.id_hex(),
        });
    }
    Ok(())
}

fn open_parsed(kek: &Kek, layout: &Layout, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let h = layout.header_end;
    let provider = crypto::CryptoProvider::process_default();
    let take = |range: std::ops::Range<usize>| sealed.get(range).ok_or(SealError::Authentication);
    let wrap_nonce: [u8; AEAD_NONCE_LEN] = take(h..h + AEAD_NONCE_LEN)?
        .try_into()
        .map_err(|_| SealError::Authentication)?;
    let w = h + AEAD_NONCE_LEN;
    let mut dek = Zeroizing::new([0u8; AEAD_KEY_LEN]);
    dek.copy_from_slice(take(w..w + AEAD_KEY_LEN)?);
    let wrap_tag: [u8; AEAD_TAG_LEN] = take(w + AEAD_KEY_LEN..w + WRAPPED_LEN)?
        .try_into()
        .map_err(|_| SealError::Authentication)?;
    let aad = [&sealed[..h], b"dek"].concat();
    provider
        .open(&kek.key, &wrap_nonce, &aad, dek.as_mut(), &wrap_tag)
        .map_err(|_| SealError::Authentication)?;
    let n = w + WRAPPED_LEN;
    let nonce: [u8; AEAD_NONCE_LEN] = take(n..n + AEAD_NONCE_LEN)?
        .try_into()
        .map_err(|_| SealError::Authentication)?;
    let data_start = n + AEAD_NONCE_LEN;
    let tag_start = sealed.len() - AEAD_TAG_LEN;
    let tag: [u8; AEAD_TAG_LEN] = take(tag_start..sealed.len())?
        .try_into()
        .map_err(|_| SealError::Authentication)?;
    let aad = [&sealed[..data_start], b"data"].concat();
    let mut plain = Zeroizing::new(take(data_start..tag_start)?.to_vec());
    provider
        .open(&dek, &nonce, &aad, &mut plain, &tag)
        .map_err(|_| SealError::Authentication)?;
    Ok(plain)
}

static KEYRING: Mutex<Vec<Arc<Kek>>> = Mutex::new(Vec::new());

/// Puts `kek` in the process's key ring, so that [`read_secret`] opens what it sealed.
pub fn remember(kek: Arc<Kek>) {
    let mut ring = KEYRING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !ring.iter().any(|k| k.id == kek.id) {
        ring.push(kek);
    }
}

/// Removes the KEK with id `id_hex` from the key ring (after erase).
pub fn forget(id_hex: &str) {
    let mut ring = KEYRING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ring.retain(|k| k.id_hex() != id_hex);
}

fn lookup(id: [u8; 8]) -> Option<Arc<Kek>> {
    let ring = KEYRING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ring.iter().find(|k| k.id == id).cloned()
}

/// The one read of a secret file (0600 required). A sealed file is opened with the KEK its
/// header names, which opening its data directory put in the key ring; its logical name must
/// end with the file's name. A plain file (a key the configuration names, a credential issued
/// to a client) is returned as it is.
///
/// # Errors
/// [`VaultError::Permissions`], [`VaultError::Io`], [`VaultError::Sealed`].
pub fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    crate::data_dir::require_private(path, 0o600)?;
    let bytes = Zeroizing::new(crate::read_capped(path, MAX_SEALED_BYTES).map_err(
        |e| match e {
            crate::CappedReadError::Io(source) => VaultError::Io {
                path: path.to_owned(),
                source,
            },
            other => sealed_error(path, SealError::Malformed(other.to_string())),
        },
    )?);
    if !is_sealed(&bytes) {
        return Ok(bytes);
    }
    let layout = parse(&bytes).map_err(|e| sealed_error(path, e))?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = &layout.header.name;
    if name != file_name && !name.ends_with(&format!("/{file_name}")) {
        return Err(sealed_error(
            path,
            SealError::Name {
                expected: file_name.to_owned(),
                found: name.clone(),
            },
        ));
    }
    let kek = lookup(layout.id).ok_or_else(|| {
        VaultError::Kek(format!(
            "{} is sealed under KEK {} ({}), which this process has not loaded: open the data \
             directory it belongs to first (a missing or erased KEK cannot be recovered)",
            path.display(),
            layout.header.kek_id,
            layout.header.provider
        ))
    })?;
    open_parsed(&kek, &layout, &bytes).map_err(|e| sealed_error(path, e))
}

fn sealed_error(path: &Path, source: SealError) -> VaultError {
    VaultError::Sealed {
        path: path.to_owned(),
        source,
    }
}

/// Seals `plaintext` for `name` and writes it to `path` atomically (0600); with `new_only`,
/// never replaces an existing file.
///
/// # Errors
/// [`VaultError`].
pub fn write_secret(
    kek: &Kek,
    path: &Path,
    name: &str,
    plaintext: &[u8],
    new_only: bool,
) -> Result<(), VaultError> {
    let sealed = seal(kek, name, plaintext).map_err(|e| sealed_error(path, e))?;
    if new_only {
        crate::write_new_atomic(path, &sealed, 0o600)
    } else {
        crate::write_atomic(path, &sealed, 0o600)
    }
}

/// The suffix of a plain file being migrated (moved aside, then shredded).
const MIGRATING: &str = "plain-migrating";

/// Seals the plain secret file `path` in place (migration): the plain file is moved aside,
/// the sealed file written atomically in its place, then the plain one overwritten and
/// unlinked ([`shred_file`]). A crash at any step is completed by the next call. Returns
/// whether anything was sealed.
///
/// # Errors
/// [`VaultError`].
pub fn seal_file_in_place(kek: &Kek, path: &Path, name: &str) -> Result<bool, VaultError> {
    let aside = path.with_extension(format!(
        "{}.{MIGRATING}",
        path.extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
    ));
    if aside.exists() {
        if path.exists() {
            // The sealed file was written; only the shredding is left.
            shred_file(&aside)?;
            return Ok(true);
        }
        fs::rename(&aside, path).map_err(VaultError::io(path))?;
    }
    if !path.exists() {
        return Ok(false);
    }
    crate::data_dir::require_private(path, 0o600)?;
    let plain = Zeroizing::new(
        crate::read_capped(path, MAX_SEALED_BYTES)
            .map_err(|e| sealed_error(path, SealError::Malformed(e.to_string())))?,
    );
    if is_sealed(&plain) {
        return Ok(false);
    }
    fs::rename(path, &aside).map_err(VaultError::io(path))?;
    write_secret(kek, path, name, &plain, true)?;
    shred_file(&aside)?;
    Ok(true)
}

/// Overwrites `path` with random bytes, then zeros, syncing after each pass, and unlinks it
/// (and syncs its directory). On flash and copy-on-write file systems an overwrite does not
/// reach every copy the device keeps; that is why secrets are sealed and erase destroys the
/// KEK first.
///
/// # Errors
/// [`VaultError::Io`].
pub fn shred_file(path: &Path) -> Result<(), VaultError> {
    let len = fs::metadata(path).map_err(VaultError::io(path))?.len();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(VaultError::io(path))?;
    let chunk_len = usize::try_from(len.min(64 * 1024)).unwrap_or(64 * 1024);
    let mut chunk = vec![0u8; chunk_len.max(1)];
    for pass in 0..2 {
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))
            .map_err(VaultError::io(path))?;
        let mut left = len;
        while left > 0 {
            let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
            if pass == 0 {
                crate::random_bytes(&mut chunk[..n])?;
            } else {
                chunk[..n].fill(0);
            }
            file.write_all(&chunk[..n]).map_err(VaultError::io(path))?;
            left -= n as u64;
        }
        file.sync_all().map_err(VaultError::io(path))?;
    }
    drop(file);
    fs::remove_file(path).map_err(VaultError::io(path))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
