//! JUnit XML test reports as `rampart assess --test-results` reads them, from arbitrary
//! bytes: no panic, bounded work, and an assessment against any report that parses renders.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_assess::fuzzing::test_results(data));
