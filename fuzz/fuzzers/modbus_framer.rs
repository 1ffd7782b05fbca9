//! The Modbus/TCP deframer over arbitrary bytes in arbitrary chunks: no panic, bounded
//! buffering, output independent of chunking, and every ADU decodes without panicking.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_modbus::fuzzing::framer(data));
