//! Integration tests of the Modbus/TCP codec, one file per threat or requirement.

mod malformed_length;
mod oversized_quantity;
mod pipelined_frames;
mod properties;
mod reference_captures;
mod spec_examples;
mod spoofed_response;
mod util;
mod vendor_function_codes;
