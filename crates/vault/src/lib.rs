//! Key material and data at rest (FR4, CR 1.5, CR 3.4): the data directory, the device key and
//! crash-safe file writes.
//!
//! - [`DataDir`]: the one directory that holds a component's state. Created `0700`; every file
//!   that holds a secret is `0600`, and a directory or key file that others can read is refused
//!   rather than used.
//! - [`DeviceKey`]: the component's Ed25519 identity key, generated from the operating system's
//!   random source on first start and stored as PKCS#8 PEM. It signs audit checkpoints, backups
//!   and reports. Only this crate touches its bytes; callers get signatures and the public key.
//! - [`write_atomic`]: write to a temporary file, fsync, rename, fsync the directory, so a crash
//!   leaves either the old file or the new one, never half of one.
//! - [`pki`]: the component's local CA, its server certificate, client certificates carrying
//!   the Modbus/TCP Security role extension, and the CRL (CR 1.8, CR 1.9).
//! - [`crypto`]: the crypto seam. [`crypto::CryptoProvider`] holds the random source and the
//!   algorithms (SHA-256, HMAC-SHA-256, HMAC-SHA-1 for TOTP, argon2id, XChaCha20-Poly1305,
//!   Ed25519 signing and verification); every other crate hashes, draws randomness, derives keys,
//!   encrypts and verifies through it, and names no cryptographic crate itself.
//! - [`tls`]: the one TLS backend (aws-lc-rs) restricted to Modbus/TCP Security v36's
//!   suites, and TLS configurations with mandatory client authentication (CR 3.1, CR 4.3).
//!
//! # Security model
//! Secret bytes are zeroized when dropped (ed25519-dalek's `ZeroizeOnDrop`, `zeroize` for
//! buffers) and never formatted: `DeviceKey`'s `Debug` shows the public key only.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod anti_rollback;
pub mod at_rest;
pub mod crypto;
mod data_dir;
mod device_key;
pub mod erase;
mod fs;
#[doc(hidden)]
pub mod fuzzing;
mod key_store;
pub mod layout;
pub mod memory;
#[cfg(feature = "tls")]
pub mod pki;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tpm;

pub use data_dir::{DataDir, DataDirLock, KekRecord, Opened, SEALED_FILES, kek_record};
pub use device_key::{DeviceKey, DeviceKeyAlgorithm, DevicePublicKey, DeviceSigningKey, Signature};
pub use fs::{CappedReadError, read_capped, read_capped_text, write_atomic, write_new_atomic};
pub use key_store::KeyStore;
pub use layout::Entry;

use std::path::PathBuf;

/// Errors of the data directory and its keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A path exists with permissions that let other users read or change secrets.
    #[error(
        "{path} has mode {mode:04o}, which lets other users read or change it; \
         expected {expected:04o} (fix with: chmod {expected:o} {path})"
    )]
    Permissions {
        /// The path involved.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The mode Rampart requires.
        expected: u32,
    },
    /// A path is not a Rampart data directory, or holds a layout this version does not know.
    #[error("{path} is not a Rampart data directory: {reason}")]
    NotDataDir {
        /// The path involved.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// A key file is malformed.
    #[error("{path}: not a valid key: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    /// A sealed secret cannot be opened.
    #[error("{path}: {source}")]
    Sealed {
        /// The file (or store) involved.
        path: PathBuf,
        /// Why.
        source: at_rest::SealError,
    },
    /// A key held in the TPM could not sign (the TPM is unreachable, busy or refused).
    #[error("signing in the TPM: {0}")]
    Sign(String),
    /// The key-encryption key cannot be loaded, made or used.
    #[error("key-encryption key: {0}")]
    Kek(String),
    /// Another process (a running `rampart up`, or a restore) holds the data directory.
    #[error(
        "{path} is in use by another Rampart process (a running gateway or a restore); \
         stop it first"
    )]
    InUse {
        /// The data directory.
        path: PathBuf,
    },
}

impl VaultError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VaultError {
        let path = path.into();
        move |source| VaultError::Io { path, source }
    }
}

/// Fills `buf` from the process default [`crypto::CryptoProvider`]'s random source (the
/// operating system's, unless a test installed another).
///
/// # Errors
/// [`VaultError::Random`] if the source is unavailable.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), VaultError> {
    crypto::fill_random(buf).map_err(|e| VaultError::Random(e.to_string()))
}
