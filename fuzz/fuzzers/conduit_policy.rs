//! Conduit policy parsing and evaluation over arbitrary input: no panic, deterministic
//! decisions, unknown roles denied, allowed requests covered by the rule that allowed them.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_conduit::fuzzing::policy(data));
