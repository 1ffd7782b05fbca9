//! An update bundle from an untrusted source (a repository, removable media): header, manifest,
//! signature and files read as a device reads them. No panic, nothing accepted unsigned.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_update::bundle::fuzzing::bundle(data));
