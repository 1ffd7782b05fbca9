//! Secure updates (FR3, issue #16): a TUF 1.0 client ([`tuf`]) over a bounded fetcher
//! ([`fetch`]), with the conformance client `rampart-tuf-client`.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod fetch;
pub mod tuf;
