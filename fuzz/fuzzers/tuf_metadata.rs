//! TUF metadata from an untrusted repository: every role's parser, the checks and the
//! signature threshold against a fixed key set, path patterns and hash bins. No panic.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_update::tuf::fuzzing::metadata(data));
