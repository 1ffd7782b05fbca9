//! Secure updates and start-up integrity (FR3) for a component: the maker's TUF repository of
//! signed update bundles, a TUF 1.0 client, the device's A/B slots with anti-rollback, and the
//! launcher that verifies a slot before it runs it.
//!
//! - [`tuf`]: the TUF client (specification 1.0, client workflow 5.1–5.7) over a bounded
//!   [`fetch`]er; the conformance binary `rampart-tuf-client` runs the same code.
//! - [`bundle`]: the update bundle — binary, SBOM, release notes and a manifest signed by the
//!   maker's release key — written and read as one stream with every length capped.
//! - [`slots`]: the device's two slots, the boot state (committed, trial, attempts,
//!   security-version floor), install, commit, rollback and the launcher's choice.
//! - [`repo`]: the maker's side — keys, a TUF repository built with `tough`'s editor, bundles
//!   added as targets, metadata re-signed and keys rotated.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Panics are bugs: errors are returned and audited by the caller (tests may unwrap:
// clippy.toml allows it there).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bundle;
pub mod crash;
pub mod device;
pub mod fetch;
pub mod integrity;
pub mod repo;
pub mod slots;
pub mod tuf;
