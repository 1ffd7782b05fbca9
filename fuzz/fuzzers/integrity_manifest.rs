//! An integrity manifest and a measurement log from an untrusted disk (docs/integrity.md):
//! parsed, checked against a fixed device key, replayed. No panic; nothing verifies.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_update::integrity::fuzzing::manifest_and_log(data));
