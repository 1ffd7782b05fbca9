//! [`TufError`]: what failed, naming the role, the versions and the file or URL, so that the
//! caller can audit it precisely.

use std::path::PathBuf;

/// Why a TUF operation failed. Each variant names the role (`root`, `timestamp`, `snapshot`,
/// `targets` or a delegated role) or the target involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TufError {
    /// Fetching a file failed (connection, status, deadline, missing file).
    #[error("fetching {url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A file was longer than accepted (the endless-data defence): the declared length of a
    /// target or metadata file, or the default cap of a metadata file.
    #[error("{what}: longer than the {max} bytes accepted (endless data?)")]
    LengthExceeded {
        /// The role or target.
        what: String,
        /// The limit in bytes.
        max: u64,
    },
    /// A file was shorter or longer than its declared length.
    #[error("{what}: {actual} bytes, {expected} declared")]
    LengthMismatch {
        /// The role or target.
        what: String,
        /// The declared length.
        expected: u64,
        /// The length received.
        actual: u64,
    },
    /// A hash of a file does not match the declared one.
    #[error("{what}: the {algorithm} hash does not match the declared one")]
    HashMismatch {
        /// The role or target.
        what: String,
        /// The algorithm (`sha256`, `sha512`).
        algorithm: String,
    },
    /// No declared hash uses an algorithm this client knows (sha256, sha512).
    #[error(
        "{what}: no hash this client can check (declared: {algorithms:?}; known: sha256, sha512)"
    )]
    NoKnownHash {
        /// The role or target.
        what: String,
        /// The algorithms declared.
        algorithms: Vec<String>,
    },
    /// Metadata that is not valid TUF: not JSON, wrong `_type`, missing fields, bad keys or
    /// roles, a bad date.
    #[error("{role} metadata: {reason}")]
    BadMetadata {
        /// The role.
        role: String,
        /// What is wrong.
        reason: String,
    },
    /// Fewer valid signatures than the role's threshold.
    #[error("{role} metadata: {valid} valid signature(s), threshold {threshold}")]
    ThresholdNotMet {
        /// The role.
        role: String,
        /// Valid signatures by distinct keys of the role.
        valid: u64,
        /// The threshold.
        threshold: u64,
    },
    /// A version older than the trusted one (rollback attack).
    #[error(
        "{role} metadata: version {new} is older than the trusted version {trusted} (rollback)"
    )]
    Rollback {
        /// The role.
        role: String,
        /// The trusted version.
        trusted: u64,
        /// The version offered.
        new: u64,
    },
    /// A version other than the one required: root N+1 during rotation, snapshot as the
    /// timestamp says, targets as the snapshot says (mix-and-match).
    #[error("{role} metadata: version {new}, expected {expected}")]
    VersionMismatch {
        /// The role.
        role: String,
        /// The version required.
        expected: u64,
        /// The version offered.
        new: u64,
    },
    /// A role listed by the trusted snapshot is missing from the new one.
    #[error("snapshot version {version} no longer lists {role}, which the trusted snapshot does")]
    RoleRemoved {
        /// The role that disappeared.
        role: String,
        /// The new snapshot's version.
        version: u64,
    },
    /// Metadata past its expiry (freeze attack), judged by the clock.
    #[error("{role} metadata version {version} expired at {expires}")]
    Expired {
        /// The role.
        role: String,
        /// Its version.
        version: u64,
        /// Its expiry.
        expires: String,
    },
    /// More root versions than the client follows in one refresh.
    #[error("more than {max} root rotations in one refresh")]
    TooManyRotations {
        /// The limit.
        max: u64,
    },
    /// The metadata directory could not be read or written.
    #[error("{path}: {reason}")]
    Storage {
        /// The path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Targets were asked for before a successful refresh.
    #[error("the metadata must be refreshed before targets are looked up")]
    NotRefreshed,
}
