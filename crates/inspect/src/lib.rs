//! Offline inspection of Modbus/TCP traffic (CR 6.2 continuous monitoring, NDR 5.2): reads
//! pcap and pcapng captures, reassembles the TCP streams to Modbus ports, decodes every PDU,
//! applies a conduit policy when one is given, runs the IDS detectors, and reports every
//! decision and alert with totals. It also learns a least-privilege policy from a capture.
//!
//! Key types: [`Inspector`] (the pipeline), [`Options`], [`Report`] with [`Totals`],
//! [`FrameRecord`] and the IDS's alerts.
//!
//! # Security model
//! Captures are attacker-controlled input: every length is checked by the parsers, buffered
//! out-of-order bytes are capped per stream, tracked flows and pending requests are capped,
//! and a frame that cannot be parsed is reported, never a panic. Unlike the gateway, which
//! closes a connection on a framing error, the inspector starts afresh at the next segment so
//! that the rest of a capture is still inspected.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod capture;
mod inspector;
mod reassembly;
pub mod synth;

pub use capture::{CaptureError, Segment, read_segments};
pub use inspector::{
    Direction, FrameRecord, Inspector, MAX_LISTED_ALERTS, Options, Report, Totals,
    UNANSWERED_AFTER_US, learned_role_name,
};
