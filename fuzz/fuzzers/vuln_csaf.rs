//! A CSAF 2.0 document from arbitrary bytes: the reader and its mandatory tests, then matching
//! against a fixed inventory; no panic.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_vuln::fuzzing::csaf(data));
