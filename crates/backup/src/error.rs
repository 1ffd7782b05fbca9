//! Errors of creating, verifying and restoring backups.

use std::path::PathBuf;

/// What went wrong with a backup. Variants that mean "this backup must not be trusted" are
/// listed by [`BackupError::is_bad_backup`]; the others are bad input or the environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The file does not start with the backup magic.
    #[error("not a Rampart backup (the file does not start with the magic bytes RPBACKUP)")]
    NotABackup,
    /// The format version is not one this build reads.
    #[error(
        "backup format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The file ends before the length its header announces.
    #[error("the backup is truncated: {what} ends after {read} bytes, {expected} expected")]
    Truncated {
        /// Which part was cut short.
        what: &'static str,
        /// Bytes present.
        read: u64,
        /// Bytes expected.
        expected: u64,
    },
    /// There are bytes after the signature.
    #[error("the backup has data after its signature (expected it to end at byte {expected})")]
    TrailingData {
        /// Where the file should have ended.
        expected: u64,
    },
    /// The header is malformed or outside a limit.
    #[error("malformed backup header: {0}")]
    Header(String),
    /// The KDF parameters are outside the accepted bounds (refused before any allocation).
    #[error("argon2id parameter {name}={value} is outside the accepted range {min}..={max}")]
    KdfBounds {
        /// `m_kib`, `t` or `p`.
        name: &'static str,
        /// The value.
        value: u64,
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },
    /// The backup was made (and signed) by another device.
    #[error(
        "the backup was made by another device: it names device key {found}, \
         but the trusted device key is {expected}"
    )]
    WrongDevice {
        /// The trusted key (hex).
        expected: String,
        /// The key in the backup's header (hex).
        found: String,
    },
    /// The signature does not verify: the file was changed after it was signed.
    #[error(
        "bad signature: the backup was changed after device {device} signed it \
         (or it was never signed by that device)"
    )]
    BadSignature {
        /// The trusted key (hex).
        device: String,
    },
    /// The passphrase does not open the backup.
    #[error(
        "wrong passphrase (or the encrypted data was altered): the first segment does not decrypt"
    )]
    WrongPassphrase,
    /// A later segment does not authenticate.
    #[error("the encrypted data was altered: segment {segment} does not decrypt")]
    Tampered {
        /// The segment index.
        segment: u64,
    },
    /// The file changed between the signature check and decryption.
    #[error("the backup file changed while it was being read; read it again")]
    ChangedWhileReading,
    /// The decrypted manifest is malformed or outside a limit.
    #[error("malformed manifest: {0}")]
    Manifest(String),
    /// A file's content does not match its manifest entry.
    #[error("manifest mismatch for {path}: {what}")]
    ManifestMismatch {
        /// The entry.
        path: String,
        /// What differs.
        what: String,
    },
    /// A restored store or key does not check out (opens, integrity, audit chain).
    #[error("the backup's content does not check out: {0}")]
    Content(String),
    /// The passphrase does not meet the rules.
    #[error("{0}")]
    WeakPassphrase(String),
    /// The data directory holds something a backup cannot capture.
    #[error("{path}: {what}")]
    Unsupported {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// The data directory is too large for one backup.
    #[error("the data directory exceeds a backup limit: {0}")]
    TooLarge(String),
    /// Restoring needs a trusted device key and none was given.
    #[error(
        "{target} has no device key to check the backup against: give the device's public key \
         (keys/device.pub kept off the device, or the device key printed when the backup was made)"
    )]
    NoTrustAnchor {
        /// The restore target.
        target: PathBuf,
    },
    /// The operator's key and the target's device key differ.
    #[error(
        "the given device key {given} is not the device key {existing} of {target}; \
         a backup can only be restored onto the device that made it"
    )]
    KeyMismatch {
        /// The restore target.
        target: PathBuf,
        /// The key the operator gave (hex).
        given: String,
        /// The key of the existing data directory (hex).
        existing: String,
    },
    /// The target exists, is not empty, and is not a data directory.
    #[error("{0} is not empty and is not a Rampart data directory; refusing to replace it")]
    TargetNotDataDir(PathBuf),
    /// A process (a running gateway) holds the target's stores open.
    #[error(
        "{path} is in use (its {store} is open in another process, e.g. a running \
         `rampart up`); stop it first"
    )]
    InUse {
        /// The data directory.
        path: PathBuf,
        /// Which store is held.
        store: String,
    },
    /// The data directory or its key could not be used.
    #[error(transparent)]
    Vault(#[from] rampart_vault::VaultError),
    /// An `SQLite` store could not be snapshotted or checked.
    #[error("{path}: {message}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What `SQLite` said.
        message: String,
    },
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The operating system's random source failed, or argon2 refused to run.
    #[error("{0}")]
    Crypto(String),
}

impl BackupError {
    /// Whether the error says the backup itself is bad (wrong device, bad signature, wrong
    /// passphrase or tampered, malformed, manifest mismatch) rather than bad input or the
    /// environment. The CLI exits 1 for these.
    pub fn is_bad_backup(&self) -> bool {
        matches!(
            self,
            BackupError::NotABackup
                | BackupError::UnsupportedVersion { .. }
                | BackupError::Truncated { .. }
                | BackupError::TrailingData { .. }
                | BackupError::Header(_)
                | BackupError::KdfBounds { .. }
                | BackupError::WrongDevice { .. }
                | BackupError::BadSignature { .. }
                | BackupError::WrongPassphrase
                | BackupError::Tampered { .. }
                | BackupError::ChangedWhileReading
                | BackupError::Manifest(_)
                | BackupError::ManifestMismatch { .. }
                | BackupError::Content(_)
        )
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
        let context = context.into();
        move |source| BackupError::Io { context, source }
    }
}
