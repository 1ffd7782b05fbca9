//! A sealed secret from an untrusted disk (the at-rest format of docs/vault.md): header
//! parsing and opening never panic and never succeed under a fixed KEK; sealing round-trips.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_vault::fuzzing::sealed(data));
