//! Forwarding of the audit trail to a SIEM (IEC 62443-4-2 CR 2.8–2.10 and CR 3.9: audit
//! records leave the device, so a compromised or destroyed device cannot take them along).
//!
//! Events go out as RFC 5424 syslog messages over TLS with RFC 5425 octet-counting framing
//! (`MSG-LEN SP SYSLOG-MSG`), to one collector per [`Forwarder`], with a persistent cursor so
//! that forwarding resumes after collector outages and restarts of either side, and no event
//! is lost or duplicated without a marker.
//!
//! # Key types
//! - [`Forwarder`] — reads the trail after the cursor and sends it: [`Forwarder::drain`] (all
//!   there is, then return) or [`Forwarder::follow`] (keep polling until a [`Stop`]).
//! - [`ForwardConfig`] — batch size, settle time, backoff, timeouts, the [`Timer`] (all time is
//!   injectable: [`SystemTimer`], [`ManualTimer`]) and an observer for [`Notice`]s.
//! - [`SyslogFormat`] ([`Facility`], [`Hostname`]) — the messages; [`frame`] the framing.
//! - [`TlsCollector`] ([`CollectorAddress`]) — the collector over TLS 1.3/1.2 with the crypto
//!   provider of `rampart_vault::tls`, verified against a CA, optionally with a client
//!   certificate (mutual TLS). [`Connector`] and [`Transport`] are the seams behind it.
//! - [`CursorFile`], [`Cursor`], [`cursor_path`] — the persistent position.
//! - [`testing`] — a strict RFC 5424 / 5425 reader, for tests.
//!
//! # Example
//! ```no_run
//! use std::path::Path;
//!
//! use rampart_forward::{
//!     Facility, ForwardConfig, Forwarder, Hostname, Stop, SyslogFormat, TlsCollector,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let collector = TlsCollector::from_files(
//!     "siem.example.org:6514".parse()?,
//!     Path::new("/etc/rampart/siem-ca.pem"),
//!     Some((Path::new("/etc/rampart/forwarder.pem"), Path::new("/etc/rampart/forwarder.key"))),
//! )?;
//! let format = SyslogFormat::new(Facility::Local(0), Hostname::new("gw-1")?);
//! let cursor = rampart_forward::cursor_path(Path::new("/var/lib/rampart/forward"), "siem.example.org:6514");
//! let mut forwarder = Forwarder::open(
//!     Path::new("/var/lib/rampart/audit"),
//!     &cursor,
//!     Box::new(collector),
//!     ForwardConfig::new(format),
//! )?;
//! let report = forwarder.drain(&Stop::new())?; // or .follow(&Stop::on_termination_signals()?)
//! println!("{report}");
//! # Ok(())
//! # }
//! ```
//!
//! # Messages
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME rampart - MSGID [rampart@32473 seq="N" resent="1" category=".."
//!     action=".." actor_kind=".." actor=".." outcome=".." source=".." interface=".."
//!     target=".." time_source=".." clock_sync=".." hash=".." details="{..}"] MSG
//! ```
//! PRI is facility × 8 + the event's severity; TIMESTAMP the event's own time (RFC 3339, UTC,
//! microseconds); MSGID the event's action (cut to 32 printable ASCII characters; the full
//! action is in `action`); MSG a short readable line. `resent="1"` appears only on copies that
//! may be duplicates. SD-PARAM values are escaped per RFC 5424 (`"`, `\`, `]`). A message that
//! would exceed the size limit (default 8192 bytes) drops `details` (`details_omitted` says how
//! long it was), then cuts long values (`truncated="1"`); `hash` still identifies the full
//! event in the trail. Signed checkpoints go out as MSGID `checkpoint`
//! (`[rampart-checkpoint@32473 seq hash ts_us signature key]`) after the events they cover,
//! so the SIEM holds signed evidence against truncation or rollback of the local trail.
//! Events missing from the trail (pruned under the capacity policy before they were
//! forwarded) are announced by a MSGID `gap` message (`[rampart-gap@32473 first last]`)
//! rather than skipped silently. 32473 is the documentation enterprise number (RFC 5612).
//!
//! # Delivery guarantee
//! The audit store is the queue: events are read by sequence number, so nothing is held in
//! memory beyond one batch, and nothing is lost when either side stops. The cursor file
//! (`DATA/forward/<collector>.cursor`, written atomically, mode 0600) holds:
//!
//! - `delivered` — the last sequence number the forwarder has evidence the collector holds.
//!   Syslog over TLS has no acknowledgement, so evidence is one of: (a) the collector closed
//!   its side cleanly after our `close_notify` (it only does so after reading every byte
//!   before it), or (b) the events were written at least `settle` (default 10 s) ago on a
//!   connection that a non-blocking probe finds still open now (neither closed nor reset);
//! - `sent` — the highest sequence number ever handed to a connection, written **before**
//!   the bytes are sent (write-ahead).
//!
//! After every reconnect, and after a restart of the forwarder, sending starts again after
//! `delivered`: the uncertain window `delivered+1 ..= sent` is sent again, and every message
//! in it carries `resent="1"`. A message without the marker is the first copy ever sent,
//! because `sent` was durably past it before the first copy left. Hence:
//!
//! - **no loss**: an event is skipped only once `delivered` is past it, and a gap in the
//!   trail itself is announced by a `gap` message;
//! - **no unmarked duplicate**: a SIEM that drops every `resent="1"` message whose
//!   (HOSTNAME, `seq`) it already holds keeps exactly one copy of each event.
//!
//! # Limits
//! - Evidence (b) is a heuristic: a collector that accepted bytes into memory and lost them
//!   more than `settle` later while keeping the TCP connection open (a queue overflow, a
//!   crash of its output stage alone) loses them without the forwarder knowing. Only an
//!   application-level acknowledgement (RELP, not RFC 5425) closes that gap.
//! - The cursor is trusted: deleting it re-sends the whole trail without markers, and
//!   editing it can skip events. It lives in the 0700 data directory. A cursor past the end
//!   of the trail, or whose recorded chain hash no longer matches the trail, stops forwarding
//!   ([`ForwardError::CursorAhead`], [`ForwardError::ChainMismatch`]).
//! - Checkpoints are forwarded as the trail has them: only the latest one is read, so when the
//!   forwarder is far behind, checkpoints superseded in the meantime are not sent (the latest
//!   covers everything they did).
//! - One forwarder per collector and cursor (a lock file enforces it); the forwarder only
//!   reads the trail and never writes to it.
//!
//! # Security
//! The collector is authenticated by its certificate (CA and server name); the TLS policy is
//! the workspace's (`rampart_vault::tls`: TLS 1.3/1.2, ECDHE with AES-GCM only). The client
//! key file must be mode 0600 or stricter. Nothing read from the collector is trusted: the
//! forwarder reads only to detect a close, and discards any data.

#![forbid(unsafe_code)]
// Input from the network and from files never panics the component: errors are returned.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(missing_docs)]

mod cursor;
mod error;
#[cfg(test)]
mod fixture;
mod forwarder;
mod syslog;
pub mod testing;
mod timer;
mod transport;

pub use cursor::{Cursor, CursorFile, cursor_path};
pub use error::{ConfigError, ForwardError};
pub use forwarder::{ForwardConfig, Forwarder, MAX_BATCH, Notice, Observer, Report};
pub use syslog::{
    APP_NAME, CHECKPOINT_MSGID, CHECKPOINT_SD_ID, DEFAULT_MESSAGE_LEN, ENTERPRISE_NUMBER,
    EVENT_SD_ID, Facility, GAP_MSGID, GAP_SD_ID, Hostname, MAX_MESSAGE_LEN, MIN_MESSAGE_LEN,
    SyslogFormat, escape_param_value, frame,
};
pub use timer::{Backoff, ManualTimer, Stop, SystemTimer, Timer};
pub use transport::{CollectorAddress, Connector, Timeouts, TlsCollector, Transport};
