//! Checking a backup: origin without the passphrase, content with it.

use std::io::{Read, Seek, SeekFrom};

use rampart_vault::DevicePublicKey;
use rampart_vault::crypto::Sha256;

use crate::archive::{Entry, EntryKind, Manifest};
use crate::crypto::{HashingReader, Opener, derive_key};
use crate::format::{self, Header, SIGNATURE};
use crate::{BackupError, Passphrase, limits};

/// A backup whose signature by the trusted device key verified. Constructed only by
/// [`check_origin`].
#[derive(Debug, Clone)]
pub struct SignedBackup {
    header: Header,
    prefix: Vec<u8>,
    digest: [u8; 32],
    sha256: String,
    size: u64,
}

impl SignedBackup {
    /// The header (checked, and covered by the signature).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// SHA-256 of the whole file, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The device key that signed it (the trusted one).
    ///
    /// # Errors
    /// None in practice: the header was checked when it was read.
    pub fn device_key(&self) -> Result<DevicePublicKey, BackupError> {
        self.header.device_key()
    }
}

/// A backup whose signature verified and whose every manifest entry decrypted and matched its
/// size and SHA-256. Constructed only by [`verify`].
#[derive(Debug, Clone)]
pub struct VerifiedBackup {
    signed: SignedBackup,
    manifest: Manifest,
}

impl VerifiedBackup {
    /// The origin check's result.
    pub fn signed(&self) -> &SignedBackup {
        &self.signed
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// Checks that `input` is a backup signed by `trusted` (no passphrase needed). Reads the file
/// once, front to back, in bounded memory.
///
/// # Security
/// `trusted` must come from a trusted place (the device's own key, or a copy kept off the
/// device), never from the backup. CR 3.4: a backup from another device or changed after
/// signing is refused here.
///
/// # Errors
/// [`BackupError::WrongDevice`] if the backup names another device key,
/// [`BackupError::BadSignature`] if the signature does not verify, framing and header errors
/// ([`BackupError::NotABackup`], [`BackupError::Truncated`], [`BackupError::TrailingData`],
/// [`BackupError::Header`], [`BackupError::KdfBounds`]), and I/O errors.
pub fn check_origin(
    input: impl Read,
    trusted: DevicePublicKey,
) -> Result<SignedBackup, BackupError> {
    let mut input = HashingReader {
        inner: input,
        hasher: Sha256::new(),
    };
    let prefix = format::parse_prefix(&mut input)?;
    let named = prefix.header.device_key()?;
    if named != trusted {
        return Err(BackupError::WrongDevice {
            expected: trusted.to_hex(),
            found: named.to_hex(),
        });
    }
    let mut signed = input.hasher.clone();
    let expected_ciphertext = prefix.header.ciphertext_size();
    let offset = prefix.bytes.len() as u64;
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = expected_ciphertext;
    while left > 0 {
        let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        format::read_full(
            &mut input,
            &mut buf[..want],
            "the ciphertext",
            offset + expected_ciphertext - left,
        )?;
        signed.update(&buf[..want]);
        left -= want as u64;
    }
    let mut signature = [0u8; SIGNATURE];
    let end = offset + expected_ciphertext;
    format::read_full(&mut input, &mut signature, "the signature", end)?;
    let mut extra = [0u8; 1];
    if input
        .read(&mut extra)
        .map_err(BackupError::io("reading the backup"))?
        != 0
    {
        return Err(BackupError::TrailingData {
            expected: end + SIGNATURE as u64,
        });
    }
    let digest: [u8; 32] = signed.finish();
    if !trusted.verify(&format::signed_message(&digest), &signature) {
        return Err(BackupError::BadSignature {
            device: trusted.to_hex(),
        });
    }
    Ok(SignedBackup {
        header: prefix.header,
        prefix: prefix.bytes,
        digest,
        sha256: hex::encode(input.hasher.finish()),
        size: end + SIGNATURE as u64,
    })
}

/// Checks origin ([`check_origin`]) and then, with the passphrase, decrypts the whole archive
/// and checks every manifest entry's size and SHA-256. Writes nothing. Reads the file twice
/// (hence `Seek`), and refuses it if it changed between the two reads.
///
/// # Errors
/// As [`check_origin`]; [`BackupError::WrongPassphrase`], [`BackupError::Tampered`],
/// [`BackupError::Manifest`], [`BackupError::ManifestMismatch`],
/// [`BackupError::ChangedWhileReading`].
pub fn verify(
    mut input: impl Read + Seek,
    trusted: DevicePublicKey,
    passphrase: &Passphrase,
) -> Result<VerifiedBackup, BackupError> {
    let signed = check_origin(&mut input, trusted)?;
    input
        .seek(SeekFrom::Start(0))
        .map_err(BackupError::io("rewinding the backup"))?;
    let manifest = decrypt(input, &signed, passphrase, &mut NullSink)?;
    Ok(VerifiedBackup { signed, manifest })
}

/// Where decrypted entries go.
pub(crate) trait Sink {
    /// A directory, in manifest order.
    fn dir(&mut self, entry: &Entry) -> Result<(), BackupError>;
    /// A file begins.
    fn begin(&mut self, entry: &Entry) -> Result<(), BackupError>;
    /// Some of its content.
    fn content(&mut self, bytes: &[u8]) -> Result<(), BackupError>;
    /// It ended and its hash matched.
    fn end(&mut self, entry: &Entry) -> Result<(), BackupError>;
}

struct NullSink;

impl Sink for NullSink {
    fn dir(&mut self, _: &Entry) -> Result<(), BackupError> {
        Ok(())
    }
    fn begin(&mut self, _: &Entry) -> Result<(), BackupError> {
        Ok(())
    }
    fn content(&mut self, _: &[u8]) -> Result<(), BackupError> {
        Ok(())
    }
    fn end(&mut self, _: &Entry) -> Result<(), BackupError> {
        Ok(())
    }
}

/// The second pass: decrypts from the start of `input`, checks every entry, feeds `sink`, and
/// checks the bytes read are the ones whose signature verified.
pub(crate) fn decrypt(
    input: impl Read,
    signed: &SignedBackup,
    passphrase: &Passphrase,
    sink: &mut dyn Sink,
) -> Result<Manifest, BackupError> {
    let mut input = HashingReader {
        inner: input,
        hasher: Sha256::new(),
    };
    let prefix = format::parse_prefix(&mut input)?;
    if prefix.bytes != signed.prefix {
        return Err(BackupError::ChangedWhileReading);
    }
    let key = derive_key(passphrase, &prefix.header.kdf)?;
    let mut opener = Opener::new(input, &key, &prefix.bytes, &prefix.header)?;
    let mut len = [0u8; 4];
    opener.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len == 0 || len > limits::MAX_MANIFEST {
        return Err(BackupError::Manifest(format!(
            "manifest length {len} is outside 1..={}",
            limits::MAX_MANIFEST
        )));
    }
    let mut json = vec![0u8; len as usize];
    opener.read_exact(&mut json)?;
    let manifest = Manifest::from_json(&json)?;
    let announced = 4 + u64::from(len) + manifest.content_size();
    if announced != prefix.header.plaintext_size {
        return Err(BackupError::Manifest(format!(
            "the manifest accounts for {announced} bytes, the header for {}",
            prefix.header.plaintext_size
        )));
    }
    for entry in &manifest.entries {
        if entry.kind == EntryKind::Dir {
            sink.dir(entry)?;
            continue;
        }
        sink.begin(entry)?;
        let mut hasher = Sha256::new();
        opener.copy(entry.size, &mut |bytes| {
            hasher.update(bytes);
            sink.content(bytes)
        })?;
        let found = hex::encode(hasher.finish());
        if Some(found.as_str()) != entry.sha256.as_deref() {
            return Err(BackupError::ManifestMismatch {
                path: entry.path.clone(),
                what: format!(
                    "content has SHA-256 {found}, the manifest says {}",
                    entry.sha256.as_deref().unwrap_or("-")
                ),
            });
        }
        sink.end(entry)?;
    }
    let mut input = opener.finish()?;
    let digest: [u8; 32] = input.hasher.clone().finish();
    if digest != signed.digest {
        return Err(BackupError::ChangedWhileReading);
    }
    let mut signature = [0u8; SIGNATURE];
    format::read_full(&mut input.inner, &mut signature, "the signature", 0)
        .map_err(|_| BackupError::ChangedWhileReading)?;
    Ok(manifest)
}
