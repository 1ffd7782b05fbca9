//! A backup file from an untrusted source: framing, header (KDF bounds, algorithms), signature
//! check against a fixed device key, and manifest parsing over arbitrary bytes. No panic, no
//! unbounded allocation, and nothing a fuzzer makes passes the signature check.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_backup::fuzzing::backup_file(data));
