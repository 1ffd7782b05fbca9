//! Integration tests of rampart-vault against outside peers.

#[cfg(feature = "tpm")]
mod swtpm;
#[cfg(feature = "tpm")]
mod tpm;
