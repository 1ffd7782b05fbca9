//! Tamper-evident audit trail.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
