//! OSV JSON from arbitrary bytes: the reader, then matching against a fixed inventory; no panic.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_vuln::fuzzing::osv(data));
