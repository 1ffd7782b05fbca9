//! A version range (first line) and versions (the other lines) from arbitrary bytes: parsing,
//! display and containment; no panic.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_vuln::fuzzing::version_range(data));
