//! Integration tests of the audit trail. Tamper tests edit the `SQLite` file directly, the way
//! an attacker with file access would, and each file is named after the threat it covers.

// Test data is small: sequence numbers and counts fit every integer type they are cast to.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod capacity;
mod checkpoints;
mod concurrency;
mod crash;
mod deleted_event;
mod forged_checkpoint;
mod misreported_shutdown;
mod query;
mod reordered_event;
mod tampered_event;
mod truncated_tail;
mod util;
