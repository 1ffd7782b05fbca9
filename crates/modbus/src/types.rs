//! Small validated values shared by requests, responses and policies: function and exception
//! codes, address ranges, the data tables they address, and zero-copy views of packed coils
//! and big-endian registers.

use std::fmt;

use crate::error::{PduError, RangeError};

/// The number of addresses in each Modbus data table (addresses `0..=65535`).
pub const ADDRESS_SPACE: u32 = 0x1_0000;

/// A Modbus function code of a request: `1..=127`.
///
/// Codes `128..=255` only appear in responses, as the exception form of a function code
/// (see [`crate::ResponsePdu::Exception`]), and code 0 is never valid. Any other code is
/// representable, including vendor codes such as 90 (Schneider UMAS), so that a policy can
/// name and deny them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionCode(u8);

impl FunctionCode {
    /// FC 1, read coils.
    pub const READ_COILS: Self = Self(0x01);
    /// FC 2, read discrete inputs.
    pub const READ_DISCRETE_INPUTS: Self = Self(0x02);
    /// FC 3, read holding registers.
    pub const READ_HOLDING_REGISTERS: Self = Self(0x03);
    /// FC 4, read input registers.
    pub const READ_INPUT_REGISTERS: Self = Self(0x04);
    /// FC 5, write single coil.
    pub const WRITE_SINGLE_COIL: Self = Self(0x05);
    /// FC 6, write single register.
    pub const WRITE_SINGLE_REGISTER: Self = Self(0x06);
    /// FC 7, read exception status (serial line only).
    pub const READ_EXCEPTION_STATUS: Self = Self(0x07);
    /// FC 8, diagnostics (serial line only).
    pub const DIAGNOSTICS: Self = Self(0x08);
    /// FC 11, get comm event counter (serial line only).
    pub const GET_COMM_EVENT_COUNTER: Self = Self(0x0B);
    /// FC 12, get comm event log (serial line only).
    pub const GET_COMM_EVENT_LOG: Self = Self(0x0C);
    /// FC 15, write multiple coils.
    pub const WRITE_MULTIPLE_COILS: Self = Self(0x0F);
    /// FC 16, write multiple registers.
    pub const WRITE_MULTIPLE_REGISTERS: Self = Self(0x10);
    /// FC 17, report server id (serial line only).
    pub const REPORT_SERVER_ID: Self = Self(0x11);
    /// FC 20, read file record.
    pub const READ_FILE_RECORD: Self = Self(0x14);
    /// FC 21, write file record.
    pub const WRITE_FILE_RECORD: Self = Self(0x15);
    /// FC 22, mask write register.
    pub const MASK_WRITE_REGISTER: Self = Self(0x16);
    /// FC 23, read/write multiple registers.
    pub const READ_WRITE_MULTIPLE_REGISTERS: Self = Self(0x17);
    /// FC 24, read FIFO queue.
    pub const READ_FIFO_QUEUE: Self = Self(0x18);
    /// FC 43, encapsulated interface transport (MEI types 13 and 14).
    pub const ENCAPSULATED_INTERFACE_TRANSPORT: Self = Self(0x2B);

    /// Parses a request function code.
    ///
    /// # Errors
    /// [`PduError::InvalidFunctionCode`] for 0 and for `128..=255` (the exception range).
    pub const fn new(code: u8) -> Result<Self, PduError> {
        if code == 0 || code >= 0x80 {
            Err(PduError::InvalidFunctionCode { actual: code })
        } else {
            Ok(Self(code))
        }
    }

    /// The code as it travels on the wire.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// The code with the exception bit set, as an exception response carries it.
    pub const fn exception_value(self) -> u8 {
        self.0 | 0x80
    }

    /// The specification's name for a code this crate decodes; `None` for any other.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x01 => "read coils",
            0x02 => "read discrete inputs",
            0x03 => "read holding registers",
            0x04 => "read input registers",
            0x05 => "write single coil",
            0x06 => "write single register",
            0x07 => "read exception status",
            0x08 => "diagnostics",
            0x0B => "get comm event counter",
            0x0C => "get comm event log",
            0x0F => "write multiple coils",
            0x10 => "write multiple registers",
            0x11 => "report server id",
            0x14 => "read file record",
            0x15 => "write file record",
            0x16 => "mask write register",
            0x17 => "read/write multiple registers",
            0x18 => "read fifo queue",
            0x2B => "encapsulated interface transport",
            _ => return None,
        })
    }

    /// Whether the code lies in one of the specification's user-defined ranges (65..=72 and
    /// 100..=110), which vendors fill with their own, undocumented semantics.
    pub const fn is_user_defined(self) -> bool {
        matches!(self.0, 65..=72 | 100..=110)
    }
}

impl fmt::Display for FunctionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "FC {} ({name})", self.0),
            None => write!(f, "FC {}", self.0),
        }
    }
}

impl From<FunctionCode> for u8 {
    fn from(code: FunctionCode) -> Self {
        code.0
    }
}

/// The exception code of an exception response.
///
/// Every byte value is representable: servers do send codes the specification does not
/// define, and an IDS wants to see them rather than a decode error. [`ExceptionCode::name`]
/// tells defined codes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExceptionCode(u8);

impl ExceptionCode {
    /// 0x01: the function code is not allowed; also Modbus/TCP Security's answer to an
    /// unauthorised request.
    pub const ILLEGAL_FUNCTION: Self = Self(0x01);
    /// 0x02: the data address is not allowed.
    pub const ILLEGAL_DATA_ADDRESS: Self = Self(0x02);
    /// 0x03: a value in the request is not allowed.
    pub const ILLEGAL_DATA_VALUE: Self = Self(0x03);
    /// 0x04: an unrecoverable error occurred in the server.
    pub const SERVER_DEVICE_FAILURE: Self = Self(0x04);
    /// 0x05: the request was accepted but takes long; poll for completion.
    pub const ACKNOWLEDGE: Self = Self(0x05);
    /// 0x06: the server is busy with a long-running command.
    pub const SERVER_DEVICE_BUSY: Self = Self(0x06);
    /// 0x08: a memory parity error in a file record.
    pub const MEMORY_PARITY_ERROR: Self = Self(0x08);
    /// 0x0A: the gateway has no path to the target.
    pub const GATEWAY_PATH_UNAVAILABLE: Self = Self(0x0A);
    /// 0x0B: the gateway's target did not respond.
    pub const GATEWAY_TARGET_FAILED_TO_RESPOND: Self = Self(0x0B);

    /// Wraps any exception code byte.
    pub const fn new(code: u8) -> Self {
        Self(code)
    }

    /// The code as it travels on the wire.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// The specification's name for a defined code; `None` for any other.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x01 => "illegal function",
            0x02 => "illegal data address",
            0x03 => "illegal data value",
            0x04 => "server device failure",
            0x05 => "acknowledge",
            0x06 => "server device busy",
            0x08 => "memory parity error",
            0x0A => "gateway path unavailable",
            0x0B => "gateway target device failed to respond",
            _ => return None,
        })
    }
}

impl fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{:#04x} ({name})", self.0),
            None => write!(f, "{:#04x}", self.0),
        }
    }
}

/// A non-empty range of addresses inside the 16-bit address space: `first..=last` with
/// `first <= last`. The whole table, `0..=65535`, is a valid range (65536 addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressRange {
    start: u16,
    last: u16,
}

impl AddressRange {
    /// A range of `count` addresses starting at `start`, as a request's start address and
    /// quantity describe it.
    ///
    /// # Errors
    /// [`RangeError::Empty`] for a count of 0, [`RangeError::PastEnd`] when the range would
    /// run past address 65535.
    pub const fn new(start: u16, count: u16) -> Result<Self, RangeError> {
        if count == 0 {
            return Err(RangeError::Empty { start });
        }
        match start.checked_add(count - 1) {
            Some(last) => Ok(Self { start, last }),
            None => Err(RangeError::PastEnd { start, count }),
        }
    }

    /// The range of the addresses `first..=last`.
    ///
    /// # Errors
    /// [`RangeError::Reversed`] when `last < first`.
    pub const fn inclusive(first: u16, last: u16) -> Result<Self, RangeError> {
        if last < first {
            Err(RangeError::Reversed { first, last })
        } else {
            Ok(Self { start: first, last })
        }
    }

    /// The range of one address.
    pub const fn from_single(address: u16) -> Self {
        Self {
            start: address,
            last: address,
        }
    }

    /// The whole address space, `0..=65535`.
    pub const fn all() -> Self {
        Self {
            start: 0,
            last: u16::MAX,
        }
    }

    /// The first address.
    pub const fn start(self) -> u16 {
        self.start
    }

    /// The last address, inclusive.
    pub const fn last(self) -> u16 {
        self.last
    }

    /// The number of addresses, `1..=65536`.
    pub const fn count(self) -> u32 {
        self.last as u32 - self.start as u32 + 1
    }

    /// The count as a request's 16-bit quantity field; 0xFFFF for the whole address space,
    /// which no request can name (the decoder then rejects the quantity).
    pub(crate) const fn quantity(self) -> u16 {
        match self.last - self.start {
            u16::MAX => u16::MAX,
            span => span + 1,
        }
    }

    /// Whether `address` lies in the range.
    pub const fn contains(self, address: u16) -> bool {
        address >= self.start && address <= self.last
    }

    /// Whether every address of `self` lies in `outer`.
    pub const fn is_within(self, outer: Self) -> bool {
        self.start >= outer.start && self.last <= outer.last
    }

    /// Whether the two ranges share at least one address.
    pub const fn overlaps(self, other: Self) -> bool {
        self.start <= other.last && other.start <= self.last
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.start, self.last())
    }
}

/// One of the four data tables of the Modbus data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Read-write single bits (FC 1, 5, 15).
    Coils,
    /// Read-only single bits (FC 2).
    DiscreteInputs,
    /// Read-only 16-bit words (FC 4).
    InputRegisters,
    /// Read-write 16-bit words (FC 3, 6, 16, 22, 23, 24).
    HoldingRegisters,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Coils => "coils",
            Self::DiscreteInputs => "discrete inputs",
            Self::InputRegisters => "input registers",
            Self::HoldingRegisters => "holding registers",
        })
    }
}

/// A range of addresses in one data table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// The table addressed.
    pub table: Table,
    /// The addresses touched.
    pub range: AddressRange,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.table, self.range)
    }
}

/// What a request does to the server's data model, for an access policy (FR5, CR 5.1 and
/// NDR 5.2: restricting data flow to what a role needs).
///
/// # Security
/// [`Access::Unmodelled`] and [`Access::None`] carry no addresses: a policy must allow such
/// requests by function code alone, and should deny them unless a role needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Access {
    /// Touches no data table: diagnostics, counters, event log, identification.
    None,
    /// Reads a range.
    Read(Span),
    /// Writes a range.
    Write(Span),
    /// Reads one range and writes another in the same transaction (FC 23).
    ReadWrite {
        /// The range read.
        read: Span,
        /// The range written.
        write: Span,
    },
    /// Touches server state that is not one of the four tables: file records (FC 20, 21),
    /// `CANopen` objects (FC 43/13) and vendor-specific functions.
    Unmodelled,
}

impl Access {
    /// The range read, if any.
    pub const fn read(self) -> Option<Span> {
        match self {
            Self::Read(span) | Self::ReadWrite { read: span, .. } => Some(span),
            _ => None,
        }
    }

    /// The range written, if any.
    pub const fn write(self) -> Option<Span> {
        match self {
            Self::Write(span) | Self::ReadWrite { write: span, .. } => Some(span),
            _ => None,
        }
    }
}

/// A zero-copy view of packed bits (coils or discrete inputs), least significant bit of the
/// first byte first, as FC 1, 2 and 15 carry them.
///
/// Invariant: `bytes.len() == len.div_ceil(8)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bits<'a> {
    bytes: &'a [u8],
    len: u16,
}

impl Bits<'static> {
    /// No bits: what [`crate::PendingRequest`] keeps of the values it does not need.
    pub(crate) const EMPTY: Self = Self { bytes: &[], len: 0 };
}

impl<'a> Bits<'a> {
    /// A view of `len` bits packed in `bytes`.
    ///
    /// # Errors
    /// [`PduError::BitsLength`] unless `bytes` holds exactly `len.div_ceil(8)` bytes.
    pub const fn new(bytes: &'a [u8], len: u16) -> Result<Self, PduError> {
        if bytes.len() == len.div_ceil(8) as usize {
            Ok(Self { bytes, len })
        } else {
            Err(PduError::BitsLength {
                bytes: bytes.len(),
                bits: len,
            })
        }
    }

    /// A view of every bit of `bytes`, as a read response carries them: the response does
    /// not say how many of the last byte's bits are padding; the request does.
    ///
    /// # Errors
    /// [`PduError::BitsLength`] when `bytes` holds more than 8191 bytes.
    pub fn packed(bytes: &'a [u8]) -> Result<Self, PduError> {
        match u16::try_from(bytes.len() * 8) {
            Ok(len) => Ok(Self { bytes, len }),
            Err(_) => Err(PduError::BitsLength {
                bytes: bytes.len(),
                bits: u16::MAX,
            }),
        }
    }

    /// The number of bits.
    pub const fn len(self) -> u16 {
        self.len
    }

    /// Whether the view holds no bits.
    pub const fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The packed bytes as they travel on the wire.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// The bit at `index`, or `None` past the end.
    pub fn get(self, index: u16) -> Option<bool> {
        if index >= self.len {
            return None;
        }
        let byte = self.bytes.get(usize::from(index / 8))?;
        Some(byte >> (index % 8) & 1 == 1)
    }

    /// The bits in address order.
    pub fn iter(self) -> impl ExactSizeIterator<Item = bool> + 'a {
        let bytes = self.bytes;
        (0..self.len).map(move |index| {
            bytes
                .get(usize::from(index / 8))
                .is_some_and(|byte| byte >> (index % 8) & 1 == 1)
        })
    }
}

/// A zero-copy view of big-endian 16-bit registers.
///
/// Invariant: `bytes.len()` is even.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Registers<'a> {
    bytes: &'a [u8],
}

impl Registers<'static> {
    /// No registers: what [`crate::PendingRequest`] keeps of the values it does not need.
    pub(crate) const EMPTY: Self = Self { bytes: &[] };
}

impl<'a> Registers<'a> {
    /// A view of the registers in `bytes`.
    ///
    /// # Errors
    /// [`PduError::OddRegisterBytes`] when `bytes` has an odd length.
    pub const fn new(bytes: &'a [u8]) -> Result<Self, PduError> {
        if bytes.len().is_multiple_of(2) {
            Ok(Self { bytes })
        } else {
            Err(PduError::OddRegisterBytes {
                actual: bytes.len(),
            })
        }
    }

    /// The number of registers.
    pub const fn len(self) -> usize {
        self.bytes.len() / 2
    }

    /// Whether the view holds no registers.
    pub const fn is_empty(self) -> bool {
        self.bytes.is_empty()
    }

    /// The registers as they travel on the wire (big-endian).
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// The register at `index`, or `None` past the end.
    pub fn get(self, index: usize) -> Option<u16> {
        self.bytes
            .as_chunks::<2>()
            .0
            .get(index)
            .map(|pair| u16::from_be_bytes(*pair))
    }

    /// The registers in address order.
    pub fn iter(self) -> impl ExactSizeIterator<Item = u16> + 'a {
        self.bytes
            .as_chunks::<2>()
            .0
            .iter()
            .map(|pair| u16::from_be_bytes(*pair))
    }
}

/// The access category of a read device identification request (FC 43/14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReadDeviceIdCode {
    /// 0x01: stream the basic objects (vendor name, product code, revision).
    Basic = 0x01,
    /// 0x02: stream the regular objects.
    Regular = 0x02,
    /// 0x03: stream the extended (private) objects.
    Extended = 0x03,
    /// 0x04: one specific object.
    Individual = 0x04,
}

impl ReadDeviceIdCode {
    /// Parses the code byte.
    ///
    /// # Errors
    /// [`PduError::InvalidValue`] for anything but `1..=4`.
    pub const fn new(code: u8) -> Result<Self, PduError> {
        match code {
            0x01 => Ok(Self::Basic),
            0x02 => Ok(Self::Regular),
            0x03 => Ok(Self::Extended),
            0x04 => Ok(Self::Individual),
            _ => Err(PduError::InvalidValue {
                function: FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT,
                field: "read device id code",
                actual: code as u16,
                allowed: "1, 2, 3 or 4",
            }),
        }
    }

    /// The code as it travels on the wire.
    pub const fn value(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests;
