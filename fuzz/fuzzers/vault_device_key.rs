//! A device public key from a user or an untrusted file (`--key`, `--device-key`, a backup
//! header, an integrity manifest): Ed25519 or P-256, PEM or hex. No panic; what parses
//! round-trips through PEM and hex; nothing verifies under a fixed key.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_vault::fuzzing::device_public_key(data));
