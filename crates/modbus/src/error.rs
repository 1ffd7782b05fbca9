//! Errors, one enum per layer: address ranges, MBAP frames, PDUs, encoding, and the match of a
//! response against its request. Every message names the field, the value seen and the limit.

use thiserror::Error;

use crate::frame::{MAX_ADU_LEN, MAX_MBAP_LENGTH, MIN_MBAP_LENGTH};
use crate::types::FunctionCode;

/// An address range that is empty or does not fit the 16-bit address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RangeError {
    /// A count of 0.
    #[error("address range at {start} is empty (count must be at least 1)")]
    Empty {
        /// The first address.
        start: u16,
    },
    /// `start + count` is past 65536.
    #[error(
        "address range at {start} with count {count} ends at {}, past the last address 65535",
        u32::from(*start) + u32::from(*count) - 1
    )]
    PastEnd {
        /// The first address.
        start: u16,
        /// The number of addresses.
        count: u16,
    },
    /// `last < first`.
    #[error("address range {first}..={last} is reversed")]
    Reversed {
        /// The first address.
        first: u16,
        /// The last address.
        last: u16,
    },
}

/// An MBAP header or ADU that breaks the framing rules.
///
/// # Security
/// In a TCP stream every one of these is unrecoverable: the byte boundary of the next ADU is
/// unknown, and guessing it would let an attacker smuggle a frame past the policy. Close the
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The protocol identifier is not 0 (Modbus).
    #[error("MBAP protocol id is {actual:#06x}, must be 0x0000 (Modbus)")]
    ProtocolId {
        /// The protocol id seen.
        actual: u16,
    },
    /// The MBAP length field is outside `2..=254` (unit id plus a PDU of 1..=253 bytes).
    #[error(
        "MBAP length is {actual}, must be {MIN_MBAP_LENGTH}..={MAX_MBAP_LENGTH} (unit id + PDU of at most 253 bytes)"
    )]
    Length {
        /// The length field seen.
        actual: u16,
    },
    /// Fewer bytes than the header says the ADU holds (or fewer than a header).
    #[error("ADU is truncated: {actual} bytes, the header needs {needed}")]
    Truncated {
        /// Bytes present.
        actual: usize,
        /// Bytes the ADU needs.
        needed: usize,
    },
    /// More bytes than the header says the ADU holds.
    #[error("ADU has {actual} bytes, the MBAP length field says {expected}")]
    TrailingBytes {
        /// Bytes present.
        actual: usize,
        /// Bytes the header says.
        expected: usize,
    },
    /// A buffer longer than any ADU can be.
    #[error("ADU of {actual} bytes is longer than the maximum of {MAX_ADU_LEN}")]
    TooLong {
        /// Bytes present.
        actual: usize,
    },
}

/// A PDU that breaks the Modbus Application Protocol specification v1.1b3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PduError {
    /// No function code.
    #[error("PDU is empty; it must hold at least a function code")]
    Empty,
    /// More than 253 bytes.
    #[error("PDU is {actual} bytes, more than the maximum of {max}")]
    TooLong {
        /// The PDU length.
        actual: usize,
        /// The limit, 253.
        max: usize,
    },
    /// A function code of 0, or `128..=255` where only a request code may stand (a request,
    /// or an exception's function).
    #[error("function code {actual} is not valid here (must be 1..=127)")]
    InvalidFunctionCode {
        /// The code byte.
        actual: u8,
    },
    /// A data part of a fixed size has the wrong size.
    #[error("{function}: data is {actual} bytes, must be {expected}")]
    Length {
        /// The function.
        function: FunctionCode,
        /// Bytes after the function code.
        actual: usize,
        /// Bytes the function needs.
        expected: usize,
    },
    /// A data part is shorter than its fixed fields.
    #[error("{function}: {field} is truncated at {actual} bytes, needs at least {min}")]
    TooShort {
        /// The function.
        function: FunctionCode,
        /// The part that is cut short.
        field: &'static str,
        /// Bytes present.
        actual: usize,
        /// Bytes needed.
        min: usize,
    },
    /// A count or number outside the range the specification allows.
    #[error("{function}: {field} is {actual}, must be {min}..={max}")]
    OutOfRange {
        /// The function.
        function: FunctionCode,
        /// The field.
        field: &'static str,
        /// The value seen.
        actual: u32,
        /// The smallest allowed value.
        min: u32,
        /// The largest allowed value.
        max: u32,
    },
    /// A byte count field that disagrees with the quantity it describes or with the bytes that
    /// follow it.
    #[error("{function}: {field} is {actual}, must be {expected}")]
    ByteCount {
        /// The function.
        function: FunctionCode,
        /// The count field.
        field: &'static str,
        /// The count seen.
        actual: usize,
        /// The count implied by the quantity or the bytes present.
        expected: usize,
    },
    /// A field that may only take a few values.
    #[error("{function}: {field} is {actual:#06x}, must be {allowed}")]
    InvalidValue {
        /// The function.
        function: FunctionCode,
        /// The field.
        field: &'static str,
        /// The value seen.
        actual: u16,
        /// The values allowed.
        allowed: &'static str,
    },
    /// Start address plus quantity runs past the end of the address space.
    #[error("{function}: {source}")]
    AddressRange {
        /// The function.
        function: FunctionCode,
        /// The range problem.
        source: RangeError,
    },
    /// FC 43 with a MEI type other than 13 (`CANopen`) or 14 (device identification); the
    /// specification reserves all others.
    #[error("FC 43: MEI type {actual} is reserved (must be 13 or 14)")]
    ReservedMeiType {
        /// The MEI type seen.
        actual: u8,
    },
    /// A [`crate::Bits`] whose byte length does not fit its bit count.
    #[error("{bytes} bytes cannot hold exactly {bits} packed bits")]
    BitsLength {
        /// Bytes given.
        bytes: usize,
        /// Bits wanted.
        bits: u16,
    },
    /// A [`crate::Registers`] of an odd number of bytes.
    #[error("{actual} bytes are not a whole number of 16-bit registers")]
    OddRegisterBytes {
        /// Bytes given.
        actual: usize,
    },
}

/// A request or response that [`crate::Adu::parse`] and the PDU decoder reject together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The MBAP framing is wrong.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The PDU is wrong.
    #[error(transparent)]
    Pdu(#[from] PduError),
}

/// A value that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value would encode to a PDU the decoder rejects.
    #[error("value does not encode to a valid PDU: {0}")]
    Invalid(#[from] PduError),
    /// An `Other` variant naming a function code this crate decodes into its own variant.
    #[error("{function} has its own variant; `Other` is only for codes the codec does not decode")]
    OtherWithKnownFunction {
        /// The function.
        function: FunctionCode,
    },
    /// The output buffer is too small.
    #[error("output buffer of {available} bytes is too small; {needed} are needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

/// A response that does not answer the pending request (Suricata calls these "value
/// mismatch" and "unsolicited response").
///
/// # Security
/// Forwarding such a response lets a compromised server feed a client data the client never
/// asked for; a gateway should drop it and raise an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MismatchError {
    /// Another transaction id.
    #[error("response transaction id {actual} does not match the request's {expected}")]
    TransactionId {
        /// The request's.
        expected: u16,
        /// The response's.
        actual: u16,
    },
    /// Another unit id.
    #[error("response unit id {actual} does not match the request's {expected}")]
    UnitId {
        /// The request's.
        expected: u8,
        /// The response's.
        actual: u8,
    },
    /// Another function code, or the exception form of another one.
    #[error("response function {actual} does not answer a request for {expected}")]
    Function {
        /// The request's.
        expected: FunctionCode,
        /// The response's (without the exception bit).
        actual: FunctionCode,
    },
    /// A response carrying a different amount of data than the request asked for.
    #[error("{function}: response {field} is {actual}, the request implies {expected}")]
    Size {
        /// The function.
        function: FunctionCode,
        /// The field.
        field: &'static str,
        /// The value in the response.
        actual: usize,
        /// The value the request implies.
        expected: usize,
    },
    /// A field the response must echo from the request holds another value.
    #[error("{function}: response echoes {field} {actual}, the request had {expected}")]
    Echo {
        /// The function.
        function: FunctionCode,
        /// The field.
        field: &'static str,
        /// The request's value.
        expected: u16,
        /// The response's value.
        actual: u16,
    },
    /// A block of data the response must echo byte for byte differs.
    #[error("{function}: response does not echo the request's {field}")]
    EchoData {
        /// The function.
        function: FunctionCode,
        /// The block.
        field: &'static str,
    },
}
