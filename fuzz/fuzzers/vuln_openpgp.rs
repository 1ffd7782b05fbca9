//! `OpenPGP` input of a CSAF trusted provider from arbitrary bytes: armor, packets, a public
//! key, a detached signature checked against a fixed key; no panic, no forged signature.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_vuln::fuzzing::openpgp(data));
