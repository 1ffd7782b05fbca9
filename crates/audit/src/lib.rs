//! Tamper-evident audit trail (IEC 62443-4-2 CR 2.8–2.10, CR 3.9, CR 6.1).
//!
//! Every security-relevant event of a Rampart component is appended here: durably (it survives
//! a crash once acknowledged), quickly (group commit), and so that later changes to the record
//! are evident (hash chain plus Ed25519-signed checkpoints).
//!
//! # Key types
//! - [`NewEvent`] (built with [`NewEvent::builder`]) — an event to record: [`Category`] (the
//!   CR 2.8 categories), action, [`Actor`], source address, interface, target, [`Outcome`],
//!   [`Severity`] and JSON details.
//! - [`AuditStore`] — opens the store in a directory and appends: [`AuditStore::append`] waits
//!   for the durable commit, [`AuditStore::submit`] returns a [`Pending`] to wait for or `.await`.
//!   The store assigns the sequence number and the timestamp (from a [`Clock`]).
//! - [`StoreConfig`], [`Capacity`], [`OnFull`], [`CapacityAlarm`] — checkpoint cadence, storage
//!   capacity and the response to running out (CR 2.9, CR 2.10).
//! - [`CheckpointSigner`] — the seam through which the component's Ed25519 key signs
//!   checkpoints; implemented for the vault's `DeviceKey`.
//! - [`AuditReader`], [`Query`] — read access (CR 6.1): filters by time, category, actor,
//!   outcome, severity and sequence range; [`AuditReader::tail`].
//! - [`verify`] → [`VerifyReport`] — recomputes the chain, checks signatures, locates the first
//!   bad sequence number ([`Finding`], [`FindingKind`]) and states exactly what is proven.
//! - [`AuditEvent`], [`AuditEntryHash`], [`Timestamp`], [`Receipt`] — what comes back.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//!
//! use rampart_audit::{
//!     Actor, AuditStore, Category, NewEvent, Outcome, Query, StoreConfig, SystemClock, verify,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! // A deployed component passes its device key (any `CheckpointSigner`).
//! let key = rampart_audit::testing::insecure_signing_key(1);
//! let public = key.public_key();
//! let store = AuditStore::open(
//!     dir.path(),
//!     StoreConfig::default(),
//!     Arc::new(SystemClock::new()),
//!     Arc::new(key),
//! )?;
//! let event = NewEvent::builder(Category::AccessControl, "login", Actor::user("alice")?)
//!     .source_address("192.0.2.7:41000")
//!     .interface("management")
//!     .outcome(Outcome::Denied)
//!     .details(serde_json::json!({ "reason": "bad password" }))
//!     .build()?;
//! let receipt = store.append(event)?; // durable once this returns
//!
//! let denied = store.reader()?.query(&Query::new().outcome(Outcome::Denied))?;
//! assert_eq!(denied[0].seq(), receipt.seq());
//! store.close()?; // signs a final checkpoint
//!
//! let report = verify(dir.path(), &public)?;
//! assert!(report.is_intact(), "{report}");
//! # Ok(())
//! # }
//! ```
//!
//! # Storage
//! One `SQLite` file, `audit.sqlite3` ([`FILE_NAME`]), in the directory the caller gives
//! (created 0700; the file 0600), in WAL mode with `synchronous=FULL`. One writer thread owns
//! the connection: callers hand it events over a channel; it appends everything queued in one
//! transaction, commits with one fsync, and only then acknowledges each append.
//!
//! Several processes may write one trail at once (the gateway and a CLI command). Each open
//! [`AuditStore`] holds an exclusive advisory lock on its own file in `dir/writers/` while it
//! runs; the kernel drops the lock when the process ends, however it ends. So the next open
//! tells a writer that crashed or was killed (its file is there, unlocked: `audit.opened`
//! says `unclean`) from one that is still running (locked: `not applicable`, never
//! `unclean`), and only the last writer to close marks the store closed cleanly. Readers
//! ([`AuditReader`], [`verify`]) take no part in this and never write.
//!
//! # Tamper evidence
//! Each event has a canonical byte encoding (typed, length-prefixed fields; documented in the
//! `chain` module source and below), and `hash_n = SHA-256(hash_{n-1} || canonical(event_n))`
//! from the fixed `hash_0 = SHA-256("rampart-audit/v1/genesis")`. Each row stores its
//! `hash_n`, so a verifier can locate the first broken link. Every `N` events, every `T`
//! seconds while events are unsigned, and at clean shutdown, the store signs a checkpoint
//! `(seq, hash_seq, time)` with the component's key. Pruning under
//! [`OnFull::OverwriteOldest`] writes a signed prune record with the deleted range and the hash
//! at the cut, and an `audit.pruned` event; verification continues from the cut.
//!
//! ```text
//! canonical(e) = 0x01 || enc(seq) || enc(ts µs) || enc(time_source) || enc(clock_sync)
//!                || enc(actor_kind) || enc(actor) || enc(source) || enc(interface)
//!                || enc(category) || enc(action) || enc(target) || enc(outcome)
//!                || enc(severity) || enc(details as canonical JSON)
//! enc(null) = 0x00    enc(int) = 0x01 || i64 BE    enc(text) = 0x02 || u32 BE length || UTF-8
//! ```
//!
//! # Security model
//! What a successful [`verify`] with the component's public key proves:
//! - every stored event up to the last valid checkpoint is exactly as it was appended, in its
//!   original position, with none missing and none inserted (SHA-256 collision resistance and
//!   Ed25519 unforgeability);
//! - events after the last checkpoint form an intact chain, but they are unsigned: anyone who
//!   can write the file can delete them, or append well-formed events, without a trace.
//!
//! What it does not prove:
//! - that nothing was removed from the end together with the checkpoints that covered it, or
//!   that the whole file was not replaced by an older copy (a rollback): the file alone cannot
//!   show what it no longer contains. Forwarding checkpoints off the device (syslog to a SIEM)
//!   closes this gap;
//! - that the events are true: the chain proves the record was not changed after it was
//!   written, not that the writer was honest or its clock right (the clock's sync status is
//!   recorded with every event, CR 2.11);
//! - anything if the signing key is compromised: whoever holds it can rewrite and re-sign.
//!
//! When tampering is found, the report names the first bad sequence number and the kind
//! (modified, missing, inserted, reordered, forged checkpoint, checkpoint mismatch, truncated,
//! forged prune record). When an attacker recomputed the stored hashes after a change, the chain
//! is consistent and only the next checkpoint shows it, so the location is the range that
//! checkpoint covers.
//!
//! No API modifies or deletes an event. Readers open the file with `query_only`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
mod vocabulary;

mod chain;
mod checkpoint;
mod clock {
    //! The one clock lives in `rampart-clock`; the trail re-exports it.
    pub use rampart_clock::*;
}
mod db;
mod error;
mod event;
mod query;
mod store;
pub mod testing;
mod verify;
mod writers;

pub use chain::AuditEntryHash;
pub use checkpoint::{Checkpoint, CheckpointSigner};
pub use clock::{
    Clock, ClockJump, ClockReading, ClockSync, ClockWatch, ManualClock, SystemClock, TimeSource,
    Timestamp, system_clock_sync,
};
pub use db::{FILE_NAME, store_path};
pub use error::{EventError, ParseError, StoreError, VerifyError};
pub use event::{
    Actor, ActorKind, AuditEvent, Category, EventBuilder, NewEvent, Outcome, Severity,
};
pub use query::{AuditReader, Events, Extent, Query};
pub use store::{
    AlarmHook, AuditStore, Capacity, CapacityAlarm, OnFull, Pending, Receipt, StoreConfig,
    StoreStatus,
};
pub use verify::{Finding, FindingKind, VerifyReport, verify, verify_with_keys};
