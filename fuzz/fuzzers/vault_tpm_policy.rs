//! The TPM KEK provider's policy file from an untrusted disk (`keys/tpm/policy`, docs/vault.md):
//! parsing never panics, and what parses round-trips through its text.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_vault::fuzzing::tpm_policy(data));
