//! The quantity limits of the Modbus Application Protocol specification v1.1b3. Each keeps a
//! whole request and its response inside one 253-byte PDU.

/// FC 1 and 2: coils or discrete inputs read at once (byte count 250).
pub const MAX_READ_BITS: u16 = 2000;
/// FC 3, 4 and the read part of 23: registers read at once (byte count 250).
pub const MAX_READ_REGISTERS: u16 = 125;
/// FC 15: coils written at once (0x7B0; byte count 246).
pub const MAX_WRITE_BITS: u16 = 0x07B0;
/// FC 16: registers written at once (byte count 246).
pub const MAX_WRITE_REGISTERS: u16 = 123;
/// FC 23: registers written at once (byte count 242, after the read fields).
pub const MAX_READ_WRITE_REGISTERS: u16 = 121;
/// FC 24: registers in a FIFO queue.
pub const MAX_FIFO_COUNT: u16 = 31;
/// FC 12: event bytes in a comm event log response.
pub const MAX_COMM_EVENTS: usize = 64;
/// FC 20: the request byte count range, one to 35 sub-requests of 7 bytes.
pub const READ_FILE_BYTE_COUNT: std::ops::RangeInclusive<u8> = 0x07..=0xF5;
/// FC 21: the request data length range.
pub const WRITE_FILE_BYTE_COUNT: std::ops::RangeInclusive<u8> = 0x09..=0xFB;
