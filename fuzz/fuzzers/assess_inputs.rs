//! Everything `rampart assess` reads — profiles, waiver files, configuration reports from a
//! gateway, live checks, JSON reports for `diff` — from arbitrary bytes: no panic, and every
//! report renders for any profile that loads.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_assess::fuzzing::inputs(data));
