//! Errors of the audit trail, one enum per layer: parsing a word of the vocabulary, building an
//! event, running the store, verifying a store.

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

/// Text that is not a value of the audit vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not one of the CR 2.8 categories.
    #[error(
        "unknown category '{0}' (valid: access_control, request_error, control_system, \
         backup_restore, configuration_change, reconnaissance, audit_log)"
    )]
    Category(String),
    /// Not `success`, `failure` or `denied`.
    #[error("unknown outcome '{0}' (valid: success, failure, denied)")]
    Outcome(String),
    /// Not a syslog severity name or number.
    #[error(
        "unknown severity '{0}' (valid: emergency, alert, critical, error, warning, notice, \
         informational, debug, or 0..7)"
    )]
    Severity(String),
    /// Not `user`, `certificate` or `process`.
    #[error("unknown actor kind '{0}' (valid: user, certificate, process)")]
    ActorKind(String),
    /// Not `system` or `manual`.
    #[error("unknown time source '{0}' (valid: system, manual)")]
    TimeSource(String),
    /// Not `synchronized`, `unsynchronized` or `unknown`.
    #[error("unknown clock sync status '{0}' (valid: synchronized, unsynchronized, unknown)")]
    ClockSync(String),
    /// Not an RFC 3339 timestamp within 0001-01-01T00:00:00Z..=9999-12-30T22:00:00Z.
    #[error("invalid timestamp: {0}")]
    Timestamp(String),
    /// Not 64 hexadecimal digits.
    #[error("'{0}' is not a SHA-256 hash (64 hexadecimal digits)")]
    Hash(String),
}

impl From<rampart_clock::ParseError> for ParseError {
    fn from(error: rampart_clock::ParseError) -> ParseError {
        match error {
            rampart_clock::ParseError::TimeSource(text) => ParseError::TimeSource(text),
            rampart_clock::ParseError::ClockSync(text) => ParseError::ClockSync(text),
            // Timestamps, and whatever a later version of the clock adds.
            other => ParseError::Timestamp(match other {
                rampart_clock::ParseError::Timestamp(text) => text,
                other => other.to_string(),
            }),
        }
    }
}

/// An event that cannot be recorded as given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EventError {
    /// A required text field is empty.
    #[error("event field '{field}' is empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A text field is longer than its limit.
    #[error("event field '{field}' is {len} bytes long (limit {max})")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A text field holds a control character, which could forge lines in text exports.
    #[error("event field '{field}' holds control character U+{code:04X} in {value:?}")]
    ControlCharacter {
        /// The field.
        field: &'static str,
        /// The character's code point.
        code: u32,
        /// The value, escaped.
        value: String,
    },
    /// `details` is not a JSON object.
    #[error("event details must be a JSON object, not {found}")]
    DetailsNotObject {
        /// The JSON type given.
        found: &'static str,
    },
    /// `details` is larger than the limit once encoded.
    #[error("event details are {len} bytes as canonical JSON (limit {max})")]
    DetailsTooLarge {
        /// The encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A failure of the audit store: opening, appending, querying.
///
/// Cloneable because one storage failure fails every append of a group commit.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory or file could not be created or its permissions set.
    #[error("audit store {path}: {context}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: Arc<std::io::Error>,
    },
    /// `SQLite` failed.
    #[error("audit store {path}: {context}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: Arc<rusqlite::Error>,
    },
    /// The file was written by an incompatible version of this crate, or is not an audit store.
    #[error("{path} is not an audit store of format version {supported} (found: {found})")]
    UnsupportedFormat {
        /// The database file.
        path: PathBuf,
        /// What the file says it is.
        found: String,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The store is full, its policy is `Stop`, and the event is not essential (CR 2.10).
    #[error(
        "audit store is full: {stored} of {max} events stored and the policy is 'stop'; \
         only essential events are accepted"
    )]
    Full {
        /// Events stored.
        stored: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The store is full even counting the reserve kept for essential events.
    #[error(
        "audit store is full: {stored} events stored, the maximum of {max} plus the reserve \
         of {reserve} for essential events is used up"
    )]
    ReserveExhausted {
        /// Events stored.
        stored: u64,
        /// The configured maximum.
        max: u64,
        /// The reserve for essential events.
        reserve: u64,
    },
    /// A configuration value is out of range.
    #[error("invalid audit store configuration: {0}")]
    Config(String),
    /// The device key could not sign a checkpoint or prune record (a TPM-held key whose TPM
    /// is unreachable, busy or refuses).
    #[error("audit store {path}: the device key could not sign: {reason}")]
    Signing {
        /// The database file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The store was closed, or its writer stopped after an earlier failure.
    #[error("audit store is closed")]
    Closed,
    /// A stored value is not valid; the file was edited outside this crate (run `verify`).
    #[error("audit store {path}: event {seq}: column '{column}' holds invalid value {value}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The event's sequence number.
        seq: u64,
        /// The column.
        column: &'static str,
        /// The value found, as text.
        value: String,
    },
}

/// A store that cannot be verified at all: bad input, as opposed to a tampered store, which
/// [`crate::verify`] reports in its [`crate::VerifyReport`].
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file does not exist.
    #[error("no audit store at {0}")]
    NotFound(PathBuf),
    /// The file could not be read as an audit store.
    #[error(transparent)]
    Store(#[from] StoreError),
}
