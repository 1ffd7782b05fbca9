//! The backup file format, version 1 (all integers big-endian; `docs/backup.md` has the
//! same specification with an example).
//!
//! ```text
//! offset      size  field
//! 0           8     magic "RPBACKUP"
//! 8           2     format version = 1
//! 10          4     header length H, 1..=65536
//! 14          H     header: a UTF-8 JSON object (see [`Header`])
//! 14+H        C     ciphertext: the archive in segments (see below)
//! 14+H+C      64    Ed25519 signature by the device key
//! ```
//!
//! *Prefix* is bytes `0..14+H`. The archive (plaintext) is `plaintext_size` bytes, cut into
//! segments of [`SEGMENT`] bytes (the last one shorter, never empty). Segment `i` of `n` is
//! sealed with XChaCha20-Poly1305 under the derived key, nonce
//! `nonce_prefix (19 bytes) || i as u32 || (1 if i == n-1 else 0) as u8`, associated data the
//! prefix, and stored as ciphertext followed by its 16-byte tag; so
//! `C = plaintext_size + 16 * n`. The last-segment flag and the size in the header stop
//! truncation and reordering; the prefix as associated data binds every header field.
//!
//! The signature is Ed25519 (RFC 8032) over
//! `"rampart-backup-v1 signature\0" || SHA-256(bytes 0..14+H+C)`.

use std::io::Read;

use rampart_vault::crypto::CryptoProvider;
use serde::{Deserialize, Serialize};

use crate::{BackupError, limits};

/// The first eight bytes of every backup file.
pub const MAGIC: &[u8; 8] = b"RPBACKUP";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Plaintext bytes per sealed segment.
pub const SEGMENT: usize = 64 * 1024;
/// The Poly1305 tag after each segment.
pub const TAG: usize = 16;
/// Bytes of the random nonce prefix in the header.
pub const NONCE_PREFIX: usize = 19;
/// Bytes of the argon2id salt.
pub const SALT: usize = 32;
/// The signature's length.
pub const SIGNATURE: usize = 64;
/// Domain separation for the signed message.
pub const SIGNATURE_CONTEXT: &[u8] = b"rampart-backup-v1 signature\0";
/// The only KDF of version 1.
pub const KDF_ARGON2ID: &str = "argon2id";
/// The only AEAD of version 1.
pub const AEAD_XCHACHA: &str = "xchacha20poly1305";
/// The data directory layout a version-1 backup holds.
pub const LAYOUT: &str = "rampart-data 1";

/// The header: what a reader needs to check origin and decrypt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// When the backup was made (RFC 3339, UTC).
    pub created: String,
    /// The signing device's Ed25519 public key, 64 lower-case hex digits.
    pub device_key: String,
    /// The data directory layout (`LAYOUT`'s first line) the archive holds.
    pub layout: String,
    /// The program that wrote it, e.g. `rampart-backup 0.1.0`.
    pub producer: String,
    /// Key derivation.
    pub kdf: KdfParams,
    /// Encryption.
    pub aead: AeadParams,
    /// Bytes of plaintext archive (manifest and contents).
    pub plaintext_size: u64,
}

/// argon2id parameters with their salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always `argon2id`.
    pub algorithm: String,
    /// Argon2 version, always 19 (0x13).
    pub version: u32,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// The salt, 64 hex digits.
    pub salt: String,
}

/// AEAD parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AeadParams {
    /// Always `xchacha20poly1305`.
    pub algorithm: String,
    /// Plaintext bytes per segment, always 65536.
    pub segment_size: u32,
    /// The nonce prefix, 38 hex digits.
    pub nonce_prefix: String,
}

impl KdfParams {
    /// Defaults for new backups: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended
    /// option); about a third of a second on one core of a current machine.
    pub const DEFAULT_M_KIB: u32 = 64 * 1024;
    /// Default passes.
    pub const DEFAULT_T: u32 = 3;
    /// Default lanes.
    pub const DEFAULT_P: u32 = 1;
    /// Least memory accepted (8 MiB).
    pub const MIN_M_KIB: u32 = 8 * 1024;
    /// Most memory accepted (1 GiB): a hostile header cannot make a reader allocate more.
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    /// Most passes accepted.
    pub const MAX_T: u32 = 16;
    /// Most lanes accepted.
    pub const MAX_P: u32 = 16;

    /// New parameters with a fresh random salt.
    ///
    /// # Errors
    /// [`BackupError::KdfBounds`] outside the accepted ranges; [`BackupError::Crypto`] if the
    /// random source fails.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<KdfParams, BackupError> {
        KdfParams::new_with(CryptoProvider::process_default(), m_kib, t, p)
    }

    /// New parameters with a fresh salt from `crypto`'s random source.
    ///
    /// # Errors
    /// As [`KdfParams::new`].
    pub fn new_with(
        crypto: &CryptoProvider,
        m_kib: u32,
        t: u32,
        p: u32,
    ) -> Result<KdfParams, BackupError> {
        let mut salt = [0u8; SALT];
        crypto
            .fill_random(&mut salt)
            .map_err(|e| BackupError::Crypto(e.to_string()))?;
        let params = KdfParams {
            algorithm: KDF_ARGON2ID.to_owned(),
            version: 0x13,
            m_kib,
            t,
            p,
            salt: hex::encode(salt),
        };
        params.check()?;
        Ok(params)
    }

    /// The default parameters with a fresh salt.
    ///
    /// # Errors
    /// As [`KdfParams::new`].
    pub fn default_strength() -> Result<KdfParams, BackupError> {
        KdfParams::new(
            KdfParams::DEFAULT_M_KIB,
            KdfParams::DEFAULT_T,
            KdfParams::DEFAULT_P,
        )
    }

    /// Checks every field against its bounds; nothing is allocated before this passes.
    ///
    /// # Errors
    /// [`BackupError::KdfBounds`] or [`BackupError::Header`].
    pub fn check(&self) -> Result<(), BackupError> {
        if self.algorithm != KDF_ARGON2ID || self.version != 0x13 {
            return Err(BackupError::Header(format!(
                "KDF {} version {} is not argon2id version 19",
                self.algorithm, self.version
            )));
        }
        let bound = |name, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(BackupError::KdfBounds {
                    name,
                    value: value.into(),
                    min: min.into(),
                    max: max.into(),
                })
            }
        };
        bound(
            "m_kib",
            self.m_kib,
            KdfParams::MIN_M_KIB,
            KdfParams::MAX_M_KIB,
        )?;
        bound("t", self.t, 1, KdfParams::MAX_T)?;
        bound("p", self.p, 1, KdfParams::MAX_P)?;
        // argon2 needs at least 8 KiB per lane.
        if self.m_kib < 8 * self.p {
            return Err(BackupError::Header(format!(
                "argon2id m_kib={} is less than 8 KiB per lane for p={}",
                self.m_kib, self.p
            )));
        }
        self.salt_bytes().map(|_| ())
    }

    pub(crate) fn salt_bytes(&self) -> Result<[u8; SALT], BackupError> {
        let mut salt = [0u8; SALT];
        hex::decode_to_slice(&self.salt, &mut salt).map_err(|_| {
            BackupError::Header(format!("the KDF salt is not {} hex digits", SALT * 2))
        })?;
        Ok(salt)
    }
}

impl AeadParams {
    pub(crate) fn new_random(crypto: &CryptoProvider) -> Result<AeadParams, BackupError> {
        let mut prefix = [0u8; NONCE_PREFIX];
        crypto
            .fill_random(&mut prefix)
            .map_err(|e| BackupError::Crypto(e.to_string()))?;
        Ok(AeadParams {
            algorithm: AEAD_XCHACHA.to_owned(),
            segment_size: segment_size_u32(),
            nonce_prefix: hex::encode(prefix),
        })
    }

    pub(crate) fn nonce_prefix_bytes(&self) -> Result<[u8; NONCE_PREFIX], BackupError> {
        let mut prefix = [0u8; NONCE_PREFIX];
        hex::decode_to_slice(&self.nonce_prefix, &mut prefix).map_err(|_| {
            BackupError::Header(format!(
                "the nonce prefix is not {} hex digits",
                NONCE_PREFIX * 2
            ))
        })?;
        Ok(prefix)
    }
}

fn segment_size_u32() -> u32 {
    // SEGMENT is a small constant; the conversion cannot fail.
    u32::try_from(SEGMENT).unwrap_or(u32::MAX)
}

impl Header {
    /// Checks every field; run on every header read, before it is used.
    ///
    /// # Errors
    /// [`BackupError::Header`] or [`BackupError::KdfBounds`] naming the field.
    pub fn check(&self) -> Result<(), BackupError> {
        self.kdf.check()?;
        if self.aead.algorithm != AEAD_XCHACHA {
            return Err(BackupError::Header(format!(
                "AEAD {:?} is not {AEAD_XCHACHA}",
                self.aead.algorithm
            )));
        }
        if self.aead.segment_size != segment_size_u32() {
            return Err(BackupError::Header(format!(
                "segment size {} is not {SEGMENT}",
                self.aead.segment_size
            )));
        }
        self.aead.nonce_prefix_bytes()?;
        if self.layout != LAYOUT {
            return Err(BackupError::Header(format!(
                "layout {:?} is not {LAYOUT:?}, the one this version restores",
                self.layout
            )));
        }
        if self.plaintext_size == 0 || self.plaintext_size > limits::MAX_ARCHIVE {
            return Err(BackupError::Header(format!(
                "plaintext size {} is outside 1..={}",
                self.plaintext_size,
                limits::MAX_ARCHIVE
            )));
        }
        self.created
            .parse::<jiff::Timestamp>()
            .map_err(|e| BackupError::Header(format!("created {:?}: {e}", self.created)))?;
        self.device_key()?;
        if self.producer.len() > 256 {
            return Err(BackupError::Header(
                "producer is longer than 256 bytes".into(),
            ));
        }
        Ok(())
    }

    /// The signing device's public key.
    ///
    /// # Errors
    /// [`BackupError::Header`] if it is not a device public key in hex: Ed25519 (64 digits)
    /// or, for a TPM-held device key, an uncompressed P-256 point (130 digits).
    pub fn device_key(&self) -> Result<rampart_vault::DevicePublicKey, BackupError> {
        if self.device_key.len() != 64 && self.device_key.len() != 130 {
            return Err(BackupError::Header(
                "device_key is not 64 (Ed25519) or 130 (P-256) hex digits".to_owned(),
            ));
        }
        rampart_vault::DevicePublicKey::parse(&self.device_key)
            .map_err(|e| BackupError::Header(format!("device_key: {e}")))
    }

    /// How many segments the ciphertext has.
    pub fn segments(&self) -> u64 {
        self.plaintext_size.div_ceil(SEGMENT as u64)
    }

    /// The ciphertext's length in bytes (saturating; [`Header::check`] bounds it).
    pub fn ciphertext_size(&self) -> u64 {
        self.plaintext_size
            .saturating_add(self.segments().saturating_mul(TAG as u64))
    }
}

/// The prefix of a backup as read: its raw bytes (the associated data) and the parsed header.
#[derive(Debug, Clone)]
pub struct Prefix {
    /// Bytes `0..14+H`.
    pub bytes: Vec<u8>,
    /// The parsed, checked header.
    pub header: Header,
}

/// Serialises a header into a prefix.
///
/// # Errors
/// [`BackupError::Header`] if the header is larger than [`limits::MAX_HEADER`].
pub(crate) fn build_prefix(header: &Header) -> Result<Vec<u8>, BackupError> {
    let json = serde_json::to_vec(header).map_err(|e| BackupError::Header(e.to_string()))?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|&n| n <= limits::MAX_HEADER)
        .ok_or_else(|| BackupError::Header("header larger than the limit".into()))?;
    let mut bytes = Vec::with_capacity(14 + json.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_be_bytes());
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&json);
    Ok(bytes)
}

/// Reads and checks the prefix from the start of `input`, allocating at most
/// [`limits::MAX_HEADER`] bytes, and only after the length was checked.
///
/// # Errors
/// [`BackupError::NotABackup`], [`BackupError::UnsupportedVersion`],
/// [`BackupError::Truncated`], [`BackupError::Header`], [`BackupError::KdfBounds`], or
/// [`BackupError::Io`].
pub fn parse_prefix(input: &mut impl Read) -> Result<Prefix, BackupError> {
    let mut fixed = [0u8; 14];
    read_full(input, &mut fixed, "the fixed header", 0)?;
    if &fixed[..8] != MAGIC {
        return Err(BackupError::NotABackup);
    }
    let version = u16::from_be_bytes([fixed[8], fixed[9]]);
    if version != VERSION {
        return Err(BackupError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    let len = u32::from_be_bytes([fixed[10], fixed[11], fixed[12], fixed[13]]);
    if len == 0 || len > limits::MAX_HEADER {
        return Err(BackupError::Header(format!(
            "header length {len} is outside 1..={}",
            limits::MAX_HEADER
        )));
    }
    let mut bytes = vec![0u8; 14 + len as usize];
    bytes[..14].copy_from_slice(&fixed);
    read_full(input, &mut bytes[14..], "the header", 14)?;
    let header: Header = serde_json::from_slice(&bytes[14..])
        .map_err(|e| BackupError::Header(format!("not the expected JSON: {e}")))?;
    header.check()?;
    Ok(Prefix { bytes, header })
}

/// The message the device key signs, given the SHA-256 of everything before the signature.
pub(crate) fn signed_message(digest: &[u8; 32]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + 32);
    message.extend_from_slice(SIGNATURE_CONTEXT);
    message.extend_from_slice(digest);
    message
}

/// Fills `buf` or reports how far the file got; `offset` is where `buf` starts in the file.
pub(crate) fn read_full(
    input: &mut impl Read,
    buf: &mut [u8],
    what: &'static str,
    offset: u64,
) -> Result<(), BackupError> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(BackupError::Truncated {
                    what,
                    read: offset + filled as u64,
                    expected: offset + buf.len() as u64,
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BackupError::io(format!("reading {what}"))(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn header() -> Header {
        Header {
            created: "2026-11-28T06:00:00Z".into(),
            device_key: rampart_vault::DeviceKey::generate()
                .unwrap()
                .public_key()
                .to_hex(),
            layout: LAYOUT.into(),
            producer: "test".into(),
            kdf: KdfParams::new(KdfParams::MIN_M_KIB, 1, 1).unwrap(),
            aead: AeadParams::new_random(CryptoProvider::process_default()).unwrap(),
            plaintext_size: 1,
        }
    }

    #[test]
    fn a_prefix_round_trips() {
        let h = header();
        let bytes = build_prefix(&h).unwrap();
        let parsed = parse_prefix(&mut Cursor::new(&bytes)).unwrap();
        assert_eq!(parsed.header, h);
        assert_eq!(parsed.bytes, bytes);
    }

    #[test]
    fn segment_arithmetic() {
        let mut h = header();
        for (size, segments) in [(1, 1), (65_536, 1), (65_537, 2), (3 * 65_536, 3)] {
            h.plaintext_size = size;
            assert_eq!(h.segments(), segments);
            assert_eq!(h.ciphertext_size(), size + 16 * segments);
        }
    }

    #[test]
    fn hostile_kdf_parameters_are_refused_at_parse_time() {
        for (m, t, p, name) in [
            (u32::MAX, 3, 1, "m_kib"),
            (KdfParams::MAX_M_KIB + 1, 3, 1, "m_kib"),
            (1, 3, 1, "m_kib"),
            (65_536, 0, 1, "t"),
            (65_536, u32::MAX, 1, "t"),
            (65_536, 3, 0, "p"),
            (65_536, 3, 1_000_000, "p"),
        ] {
            let mut h = header();
            h.kdf.m_kib = m;
            h.kdf.t = t;
            h.kdf.p = p;
            let bytes = build_prefix(&h).unwrap();
            let err = parse_prefix(&mut Cursor::new(&bytes)).unwrap_err();
            assert!(
                matches!(err, BackupError::KdfBounds { name: n, .. } if n == name),
                "{m} {t} {p}: {err}"
            );
        }
    }

    #[test]
    fn framing_errors_are_named() {
        let bytes = build_prefix(&header()).unwrap();
        let check = |input: &[u8], want: &str| {
            let err = parse_prefix(&mut Cursor::new(input))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{want}: {err}");
        };
        check(b"", "truncated");
        check(b"NOTABACKUPFILE", "not a Rampart backup");
        check(&bytes[..20], "truncated");
        let mut v2 = bytes.clone();
        v2[9] = 2;
        check(&v2, "version 2 is not supported");
        let mut huge = bytes.clone();
        huge[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
        check(&huge, "header length");
        let mut junk = bytes.clone();
        junk[14] = b'[';
        check(&junk, "malformed backup header");
    }
}
