//! The request and response PDU decoders over arbitrary bytes: no panic, and whatever
//! decodes encodes back to the same bytes.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_modbus::fuzzing::pdu(data));
