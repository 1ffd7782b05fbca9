//! The crypto seam: every cryptographic primitive the workspace uses outside TLS, behind one
//! [`CryptoProvider`] (CR 4.3 use of cryptography).
//!
//! In the spirit of rustls' `CryptoProvider`, a provider is a plain struct: a random source
//! and function pointers for SHA-256, HMAC-SHA-256, HMAC-SHA-1 (TOTP, RFC 6238), the
//! argon2id KDF, the XChaCha20-Poly1305 AEAD and Ed25519 signing and verification. Components use the
//! process default ([`CryptoProvider::process_default`], or the free functions of this module,
//! which call it); an operation that wants another provider takes one explicitly (for example
//! `rampart_backup::CreateOptions::crypto` and the identity store's password hasher).
//!
//! - [`CryptoProvider::rust_crypto`] is the built-in provider: the `RustCrypto` implementations
//!   (pure Rust, constant time) and the operating system's random source (`getrandom`).
//! - `CryptoProvider::danger_seeded` (feature `testing`, for tests only) is the same
//!   algorithms with a deterministic random source, so that tests can prove that salts, nonces
//!   and keys come from the provider and nowhere else.
//!
//! TLS is the one exception: [`crate::tls`] builds rustls' own provider from the aws-lc-rs
//! backend, the only backend named in the workspace.
//!
//! # Security
//! Keys and derived secrets are returned in [`Zeroizing`] buffers; nothing here formats a
//! secret (`Debug` of a provider shows its name only). Comparisons of secrets go through
//! [`ct_eq`].

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

pub mod signature;

/// Bytes of a SHA-256 digest.
pub const SHA256_LEN: usize = 32;
/// Bytes of an XChaCha20-Poly1305 key.
pub const AEAD_KEY_LEN: usize = 32;
/// Bytes of an XChaCha20-Poly1305 nonce.
pub const AEAD_NONCE_LEN: usize = 24;
/// Bytes of a Poly1305 tag.
pub const AEAD_TAG_LEN: usize = 16;
/// Bytes of the random salt of a new password hash (the PHC recommendation).
pub const PASSWORD_SALT_LEN: usize = 16;

/// Errors of the crypto seam. Messages never carry secret bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The random source failed.
    #[error("the random source failed: {0}")]
    Random(String),
    /// Argon2id parameters, salt or output length out of the accepted range.
    #[error("argon2id: {0}")]
    Kdf(String),
    /// A stored password hash is not a PHC string this provider can verify.
    #[error("not an argon2id PHC string: {0}")]
    PasswordHash(String),
    /// AEAD encryption failed (too much data for one nonce).
    #[error("AEAD encryption failed")]
    Seal,
    /// AEAD decryption failed: wrong key, or the data, nonce or associated data changed.
    #[error("AEAD authentication failed")]
    Open,
}

/// A cryptographically secure random source.
pub trait SecureRandom: Send + Sync + fmt::Debug {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the source is unavailable.
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
}

/// Argon2id cost parameters (RFC 9106), version 0x13.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// Output bytes; `None` for the PHC default (32).
    pub output_len: Option<usize>,
}

impl Argon2Params {
    /// Output bytes of a PHC hash when the parameters do not name them.
    pub const DEFAULT_OUTPUT_LEN: usize = argon2::Params::DEFAULT_OUTPUT_LEN;

    /// Checks the parameters against argon2's own bounds.
    ///
    /// # Errors
    /// [`CryptoError::Kdf`] naming the parameter out of range.
    pub fn check(&self) -> Result<(), CryptoError> {
        self.to_argon2().map(|_| ())
    }

    fn to_argon2(self) -> Result<argon2::Params, CryptoError> {
        argon2::Params::new(self.m_kib, self.t, self.p, self.output_len)
            .map_err(|e| CryptoError::Kdf(e.to_string()))
    }
}

/// The incremental state of a SHA-256 computation, as a provider implements it.
pub trait Sha256State: Send + Sync {
    /// Adds `data`.
    fn update(&mut self, data: &[u8]);
    /// The digest of everything added.
    fn finish(self: Box<Self>) -> [u8; SHA256_LEN];
    /// A copy of the state, to finish one and go on with the other.
    fn fork(&self) -> Box<dyn Sha256State>;
}

/// The algorithms and the random source every Rampart component uses (see the module docs).
///
/// # Security
/// A provider is trusted code: a component is only as strong as the provider it runs with.
/// Only [`CryptoProvider::rust_crypto`] is meant for deployment.
#[derive(Clone, Copy)]
#[allow(
    clippy::type_complexity,
    reason = "the function signatures are the interface; aliases would hide them"
)]
pub struct CryptoProvider {
    /// A short name, for logs and reports.
    pub name: &'static str,
    /// The random source of salts, nonces, keys, session ids and tokens.
    pub random: &'static dyn SecureRandom,
    /// A new SHA-256 computation (FIPS 180-4).
    pub sha256: fn() -> Box<dyn Sha256State>,
    /// HMAC-SHA-256 (RFC 2104) of the concatenation of the parts.
    pub hmac_sha256: fn(key: &[u8], parts: &[&[u8]]) -> [u8; 32],
    /// HMAC-SHA-1 of the concatenation of the parts (TOTP, RFC 6238 / RFC 4226 only).
    pub hmac_sha1: fn(key: &[u8], parts: &[&[u8]]) -> [u8; 20],
    /// Argon2id (RFC 9106, version 0x13) of `password` with `salt` into `out`.
    pub argon2id: fn(
        params: &Argon2Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError>,
    /// XChaCha20-Poly1305: encrypts `in_out` in place and returns the tag.
    pub aead_seal: fn(
        key: &[u8; AEAD_KEY_LEN],
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError>,
    /// XChaCha20-Poly1305: checks `tag` and decrypts `in_out` in place.
    pub aead_open: fn(
        key: &[u8; AEAD_KEY_LEN],
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), CryptoError>,
    /// Ed25519 signature (RFC 8032) of `message` with the key of the 32-byte `seed` (the
    /// device key's secret, which only [`crate::DeviceKey`] passes here).
    pub ed25519_sign: fn(seed: &[u8; 32], message: &[u8]) -> [u8; 64],
    /// Strict Ed25519 verification (RFC 8032; no malleable signatures, no small-order keys).
    pub ed25519_verify: fn(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool,
}

static PROCESS_DEFAULT: OnceLock<CryptoProvider> = OnceLock::new();

impl CryptoProvider {
    /// The built-in provider: `RustCrypto` algorithms and the operating system's random source.
    pub const fn rust_crypto() -> CryptoProvider {
        CryptoProvider {
            name: "rustcrypto+getrandom",
            random: &OsRandom,
            sha256: rust_crypto::sha256,
            hmac_sha256: rust_crypto::hmac_sha256,
            hmac_sha1: rust_crypto::hmac_sha1,
            argon2id: rust_crypto::argon2id,
            aead_seal: rust_crypto::aead_seal,
            aead_open: rust_crypto::aead_open,
            ed25519_sign: rust_crypto::ed25519_sign,
            ed25519_verify: rust_crypto::ed25519_verify,
        }
    }

    /// The provider of this process: the one installed with
    /// [`CryptoProvider::install_process_default`], else [`CryptoProvider::rust_crypto`].
    pub fn process_default() -> &'static CryptoProvider {
        PROCESS_DEFAULT.get_or_init(CryptoProvider::rust_crypto)
    }

    /// Makes `self` the provider of this process. Only the first call (or first use of the
    /// default) decides; later calls return the provider they could not install.
    ///
    /// # Errors
    /// `self` back if a process default is already in place.
    pub fn install_process_default(self) -> Result<(), CryptoProvider> {
        PROCESS_DEFAULT.set(self)
    }

    /// Fills `buf` from the provider's random source.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the source fails.
    pub fn fill_random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.random.fill(buf)
    }

    /// A new random 32-byte key, zeroized on drop.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the source fails.
    pub fn random_key(&self) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        self.random.fill(key.as_mut())?;
        Ok(key)
    }

    /// `count` random bytes, zeroized on drop.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the source fails.
    pub fn random_vec(&self, count: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut buf = Zeroizing::new(vec![0u8; count]);
        self.random.fill(&mut buf)?;
        Ok(buf)
    }

    /// SHA-256 of `data`.
    pub fn sha256(&self, data: &[u8]) -> [u8; SHA256_LEN] {
        let mut state = (self.sha256)();
        state.update(data);
        state.finish()
    }

    /// A SHA-256 computation to feed incrementally.
    pub fn sha256_hasher(&self) -> Sha256 {
        Sha256((self.sha256)())
    }

    /// HMAC-SHA-256 of `message` under `key`.
    pub fn hmac_sha256(&self, key: &[u8], message: &[u8]) -> [u8; 32] {
        (self.hmac_sha256)(key, &[message])
    }

    /// HMAC-SHA-1 of `message` under `key`; for HOTP/TOTP (RFC 4226, RFC 6238) only.
    pub fn hmac_sha1(&self, key: &[u8], message: &[u8]) -> [u8; 20] {
        (self.hmac_sha1)(key, &[message])
    }

    /// Argon2id of `password` with `salt`: a 32-byte key, zeroized on drop (the backup key).
    ///
    /// # Errors
    /// [`CryptoError::Kdf`] for parameters or a salt argon2 refuses.
    pub fn derive_key(
        &self,
        params: &Argon2Params,
        password: &[u8],
        salt: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        (self.argon2id)(params, password, salt, key.as_mut())?;
        Ok(key)
    }

    /// A new argon2id password hash as a PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`),
    /// with a fresh [`PASSWORD_SALT_LEN`]-byte salt from the provider's random source.
    ///
    /// # Errors
    /// [`CryptoError::Random`] or [`CryptoError::Kdf`].
    pub fn hash_password(
        &self,
        params: &Argon2Params,
        password: &[u8],
    ) -> Result<String, CryptoError> {
        let mut salt = [0u8; PASSWORD_SALT_LEN];
        self.random.fill(&mut salt)?;
        let argon = params.to_argon2()?;
        let len = params
            .output_len
            .unwrap_or(Argon2Params::DEFAULT_OUTPUT_LEN);
        let mut out = Zeroizing::new(vec![0u8; len]);
        (self.argon2id)(params, password, &salt, &mut out)?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(argon2::Version::V0x13.into()),
            params: ParamsString::try_from(&argon).map_err(|e| CryptoError::Kdf(e.to_string()))?,
            salt: Some(Salt::new(&salt).map_err(|e| CryptoError::Kdf(e.to_string()))?),
            hash: Some(Output::new(&out).map_err(|e| CryptoError::Kdf(e.to_string()))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the argon2id PHC string `stored`, computed with the
    /// parameters and salt recorded in it and compared in constant time.
    ///
    /// # Errors
    /// [`CryptoError::PasswordHash`] if `stored` is not an argon2id (v=19) PHC string, before
    /// any work is done; [`CryptoError::Kdf`] if argon2 refuses its parameters.
    pub fn verify_password(&self, password: &[u8], stored: &str) -> Result<bool, CryptoError> {
        let info = PasswordHashInfo::parse(stored)
            .ok_or_else(|| CryptoError::PasswordHash("unparsable or not argon2id v=19".into()))?;
        let expected = info.hash;
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        (self.argon2id)(&info.params, password, &info.salt, &mut out)?;
        Ok(ct_eq(&out, &expected))
    }

    /// Seals `in_out` in place with XChaCha20-Poly1305; returns the tag.
    ///
    /// # Errors
    /// [`CryptoError::Seal`].
    pub fn seal(
        &self,
        key: &[u8; AEAD_KEY_LEN],
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError> {
        (self.aead_seal)(key, nonce, aad, in_out)
    }

    /// Opens `in_out` in place with XChaCha20-Poly1305.
    ///
    /// # Errors
    /// [`CryptoError::Open`] if the tag does not verify; `in_out` is then unspecified.
    pub fn open(
        &self,
        key: &[u8; AEAD_KEY_LEN],
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), CryptoError> {
        (self.aead_open)(key, nonce, aad, in_out, tag)
    }

    /// A provider with the built-in algorithms and a deterministic random source derived from
    /// `seed` alone (SHA-256 of the seed and a counter). Two providers with the same seed draw
    /// the same bytes.
    ///
    /// # Security
    /// For tests only: every "random" value it produces can be recomputed by anyone. The
    /// random source is leaked (a few bytes per call), which is fine in a test process.
    #[cfg(any(test, feature = "testing"))]
    pub fn danger_seeded(seed: u64) -> CryptoProvider {
        let random: &'static SeededRandom = Box::leak(Box::new(SeededRandom {
            seed,
            counter: std::sync::Mutex::new(0),
        }));
        CryptoProvider {
            name: "danger-seeded",
            random,
            ..CryptoProvider::rust_crypto()
        }
    }
}

impl fmt::Debug for CryptoProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoProvider")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An incremental SHA-256 computation of a provider.
pub struct Sha256(Box<dyn Sha256State>);

impl Sha256 {
    /// A computation of the process default provider.
    pub fn new() -> Sha256 {
        CryptoProvider::process_default().sha256_hasher()
    }

    /// Adds `data`.
    pub fn update(&mut self, data: impl AsRef<[u8]>) {
        self.0.update(data.as_ref());
    }

    /// The digest of everything added.
    pub fn finish(self) -> [u8; SHA256_LEN] {
        self.0.finish()
    }
}

impl Clone for Sha256 {
    fn clone(&self) -> Sha256 {
        Sha256(self.0.fork())
    }
}

impl std::io::Write for Sha256 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Default for Sha256 {
    fn default() -> Sha256 {
        Sha256::new()
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256")
    }
}

/// What a PHC string records about an argon2id hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashInfo {
    /// The cost parameters (with the output length of the recorded hash).
    pub params: Argon2Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PasswordHashInfo {
    /// Parses an argon2id, version 19, PHC string; `None` for anything else.
    pub fn parse(stored: &str) -> Option<PasswordHashInfo> {
        let hash = PasswordHash::new(stored).ok()?;
        if hash.algorithm != argon2::ARGON2ID_IDENT
            || hash
                .version
                .is_some_and(|v| v != u32::from(argon2::Version::V0x13))
        {
            return None;
        }
        let params = argon2::Params::try_from(&hash).ok()?;
        let salt = hash.salt?.as_ref().to_vec();
        let output = hash.hash?.as_ref().to_vec();
        Some(PasswordHashInfo {
            params: Argon2Params {
                m_kib: params.m_cost(),
                t: params.t_cost(),
                p: params.p_cost(),
                output_len: Some(output.len()),
            },
            salt,
            hash: output,
        })
    }
}

impl fmt::Debug for PasswordHashInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHashInfo")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// Fills `buf` from the process default provider's random source.
///
/// # Errors
/// [`CryptoError::Random`] if the source fails.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    CryptoProvider::process_default().fill_random(buf)
}

/// A new random 32-byte key from the process default provider, zeroized on drop.
///
/// # Errors
/// [`CryptoError::Random`] if the source fails.
pub fn random_key() -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    CryptoProvider::process_default().random_key()
}

/// SHA-256 of `data` with the process default provider.
pub fn sha256(data: impl AsRef<[u8]>) -> [u8; SHA256_LEN] {
    CryptoProvider::process_default().sha256(data.as_ref())
}

/// Lower-case hex of the SHA-256 of `data` with the process default provider.
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    hex::encode(sha256(data))
}

/// Bytes of a SHA-1 digest.
pub const SHA1_LEN: usize = 20;

/// SHA-1 of `data` (FIPS 180-4), for `OpenPGP` v4 fingerprints only (RFC 4880 section 12.2,
/// RFC 9580 section 5.5.4.2): SHA-1 is broken for collisions and identifies keys there by
/// convention, never authenticates anything. Not part of [`CryptoProvider`]: no component
/// relies on it for security.
pub fn sha1(data: impl AsRef<[u8]>) -> [u8; SHA1_LEN] {
    use sha1::Digest as _;
    sha1::Sha1::digest(data.as_ref()).into()
}

/// HMAC-SHA-256 of `message` under `key` with the process default provider.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    CryptoProvider::process_default().hmac_sha256(key, message)
}

/// HMAC-SHA-1 of `message` under `key` with the process default provider (HOTP/TOTP only).
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    CryptoProvider::process_default().hmac_sha1(key, message)
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The operating system's random source.
#[derive(Debug)]
struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
    }
}

/// SHA-256 in counter mode over a seed: deterministic, for tests.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
struct SeededRandom {
    seed: u64,
    counter: std::sync::Mutex<u64>,
}

#[cfg(any(test, feature = "testing"))]
impl SecureRandom for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let mut counter = self
            .counter
            .lock()
            .map_err(|_| CryptoError::Random("seeded source poisoned".into()))?;
        for chunk in buf.chunks_mut(SHA256_LEN) {
            let mut state = rust_crypto::sha256();
            state.update(b"rampart danger-seeded random");
            state.update(&self.seed.to_be_bytes());
            state.update(&counter.to_be_bytes());
            let block = state.finish();
            chunk.copy_from_slice(&block[..chunk.len()]);
            *counter += 1;
        }
        Ok(())
    }
}

/// The `RustCrypto` implementations behind [`CryptoProvider::rust_crypto`].
mod rust_crypto {
    use chacha20poly1305::aead::{AeadInOut as _, KeyInit as _};
    use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
    use hmac::{Hmac, Mac as _};
    use sha2::Digest as _;

    use super::{
        AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, Argon2Params, CryptoError, SHA256_LEN,
        Sha256State,
    };

    struct State(sha2::Sha256);

    impl Sha256State for State {
        fn update(&mut self, data: &[u8]) {
            self.0.update(data);
        }

        fn finish(self: Box<Self>) -> [u8; SHA256_LEN] {
            self.0.finalize().into()
        }

        fn fork(&self) -> Box<dyn Sha256State> {
            Box::new(State(self.0.clone()))
        }
    }

    pub(super) fn sha256() -> Box<dyn Sha256State> {
        Box::new(State(sha2::Sha256::new()))
    }

    pub(super) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    pub(super) fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
        let mut mac = <Hmac<sha1::Sha1>>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    pub(super) fn argon2id(
        params: &Argon2Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params.to_argon2()?,
        );
        argon
            .hash_password_into(password, salt, out)
            .map_err(|e| CryptoError::Kdf(e.to_string()))
    }

    pub(super) fn aead_seal(
        key: &[u8; AEAD_KEY_LEN],
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError> {
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        let nonce = XNonce::from(*nonce);
        cipher
            .encrypt_inout_detached(&nonce, aad, in_out.into())
            .map(Into::into)
            .map_err(|_| CryptoError::Seal)
    }

    pub(super) fn aead_open(
        key: &[u8; AEAD_KEY_LEN],
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), CryptoError> {
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        let nonce = XNonce::from(*nonce);
        let tag = Tag::from(*tag);
        cipher
            .decrypt_inout_detached(&nonce, aad, in_out.into(), &tag)
            .map_err(|_| CryptoError::Open)
    }

    pub(super) fn ed25519_sign(seed: &[u8; 32], message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        // The expanded key is zeroized when dropped (ed25519-dalek's `zeroize` feature).
        ed25519_dalek::SigningKey::from_bytes(seed)
            .sign(message)
            .to_bytes()
    }

    pub(super) fn ed25519_verify(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        // verify_strict rejects malleable signatures and small-order keys.
        key.verify_strict(message, &signature).is_ok()
    }
}

/// The TLS backend's randomness trait, for a library whose signing trait names it (tough's
/// `Sign`): implementors receive it and sign with the vault's keys, never drawing from it.
#[cfg(feature = "signatures")]
pub use aws_lc_rs::rand::SecureRandom as BackendSecureRandom;

/// The TLS backend's system random source, to hand to such a library's signing call.
#[cfg(feature = "signatures")]
pub fn backend_random() -> impl BackendSecureRandom + Sync {
    aws_lc_rs::rand::SystemRandom::new()
}

#[cfg(test)]
mod tests;
