//! The errors of forwarding: configuration that the operator must fix, and failures at run time.

use std::path::PathBuf;
use std::time::Duration;

use rampart_audit::{AuditEntryHash, StoreError};
use rampart_vault::VaultError;
use rampart_vault::tls::TlsError;

/// A configuration value that cannot be used: a bad collector address, hostname, facility or
/// limit, or TLS material that cannot be read. Input the operator must fix (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The collector address is not `HOST:PORT`.
    #[error(
        "collector address '{value}': {reason} (expected HOST:PORT, e.g. siem.example.org:6514 or [2001:db8::1]:6514)"
    )]
    Address {
        /// The text given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The name to verify in the collector's certificate is not a DNS name or IP address.
    #[error("server name '{0}' is neither a DNS name nor an IP address")]
    ServerName(String),
    /// The HOSTNAME field is not 1 to 255 printable US-ASCII characters.
    #[error(
        "hostname '{value}': {reason} (RFC 5424 allows 1 to 255 printable US-ASCII characters)"
    )]
    Hostname {
        /// The text given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a syslog facility name or number.
    #[error(
        "facility '{0}' is not a syslog facility (kern, user, mail, daemon, auth, syslog, lpr, news, \
         uucp, cron, authpriv, ftp, ntp, logaudit, logalert, clock, local0..local7, or 0..23)"
    )]
    Facility(String),
    /// A numeric setting is outside its range.
    #[error("{setting} = {value} is outside {min}..={max}")]
    Range {
        /// The setting.
        setting: &'static str,
        /// The value given.
        value: u64,
        /// The smallest allowed value.
        min: u64,
        /// The largest allowed value.
        max: u64,
    },
    /// The CA, client certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A failure while forwarding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// A setting cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The audit trail could not be read.
    #[error("reading the audit trail: {0}")]
    Store(#[from] StoreError),
    /// The cursor file could not be read or is malformed.
    #[error("cursor {path}: {reason}")]
    Cursor {
        /// The cursor file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The cursor file could not be written; forwarding stops rather than lose track.
    #[error("writing the cursor {path}: {source}")]
    CursorWrite {
        /// The cursor file.
        path: PathBuf,
        /// The underlying error.
        source: VaultError,
    },
    /// Another forwarder holds the cursor of this collector.
    #[error("cursor {path} is in use by another forwarder to the same collector")]
    Busy {
        /// The cursor file.
        path: PathBuf,
    },
    /// The cursor is past the end of the audit trail: the trail was replaced or rolled back.
    #[error(
        "cursor {path} records events up to {sent} as sent, but the audit trail ends at {last}: \
         the trail was replaced or rolled back (investigate; to forward this trail anyway, move \
         the cursor file away, which re-sends every event without a duplicate marker)"
    )]
    CursorAhead {
        /// The cursor file.
        path: PathBuf,
        /// The last sequence number the cursor records as sent.
        sent: u64,
        /// The last sequence number in the trail (0 when empty).
        last: u64,
    },
    /// The delivered event's chain hash differs from the one the cursor recorded.
    #[error(
        "event {seq} has chain hash {found}, but cursor {path} recorded {expected} when it was \
         delivered: the audit trail was replaced or rewritten (investigate before forwarding)"
    )]
    ChainMismatch {
        /// The cursor file.
        path: PathBuf,
        /// The sequence number.
        seq: u64,
        /// The hash the cursor recorded.
        expected: AuditEntryHash,
        /// The hash the trail holds now.
        found: AuditEntryHash,
    },
    /// The collector could not be reached (or kept dropping the connection) for too long.
    #[error(
        "collector {collector} could not be reached: {attempts} attempts over {waited:?}, last \
         error: {last_error}"
    )]
    Unreachable {
        /// The collector.
        collector: String,
        /// Connection attempts made.
        attempts: u32,
        /// How long the forwarder tried.
        waited: Duration,
        /// The last error.
        last_error: String,
    },
}
