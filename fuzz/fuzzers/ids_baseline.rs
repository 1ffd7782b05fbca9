//! IDS baseline files and detection over them: no panic, a loaded baseline writes back
//! loadable, aggregated alerts count at least one occurrence.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_conduit::fuzzing::baseline(data));
