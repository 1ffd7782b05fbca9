//! Secure updates and start-up integrity (FR3) for a component: the maker's TUF repository of
//! signed update bundles, the device's A/B slots with anti-rollback, and the launcher that
//! verifies a slot before it runs it.
//!
//! - [`bundle`]: the update bundle — binary, SBOM, release notes and a manifest signed by the
//!   maker's release key — written and read as one stream with every length capped.
//! - [`slots`]: the device's two slots, the boot state (committed, trial, attempts,
//!   security-version floor), install, commit, rollback and the launcher's choice.
//! - [`repo`]: the maker's side — keys, a TUF repository built with `tough`'s editor, bundles
//!   added as targets, metadata re-signed and keys rotated.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Panics are bugs: errors are returned and audited by the caller.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod bundle;
pub mod crash;
pub mod repo;
pub mod slots;
