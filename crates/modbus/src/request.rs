//! Requests: the PDU a client sends, decoded, and the ADU-level [`Request`] a policy sees.

use crate::diagnostics;
use crate::error::{EncodeError, PduError};
use crate::frame::{Header, MAX_PDU_LEN, write_adu};
use crate::limits::{
    MAX_FIFO_COUNT, MAX_READ_BITS, MAX_READ_REGISTERS, MAX_READ_WRITE_REGISTERS, MAX_WRITE_BITS,
    MAX_WRITE_REGISTERS, READ_FILE_BYTE_COUNT, WRITE_FILE_BYTE_COUNT,
};
use crate::mei;
use crate::records::{FileReads, FileWrites};
use crate::types::{
    Access, AddressRange, Bits, FunctionCode, ReadDeviceIdCode, Registers, Span, Table,
};
use crate::wire::{Reader, Writer, exact, words};

/// The value of a coil set on, as FC 5 carries it.
pub(crate) const COIL_ON: u16 = 0xFF00;
/// The value of a coil set off.
pub(crate) const COIL_OFF: u16 = 0x0000;

/// A request PDU, decoded and validated; data borrows from the input.
///
/// The fields are public so that a client or a test can build a request; [`encode`] checks
/// a built value with the same code that decodes, so it never emits a PDU that
/// [`RequestPdu::decode`] would reject.
///
/// [`encode`]: RequestPdu::encode
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestPdu<'a> {
    /// FC 1: read `1..=2000` coils.
    ReadCoils(AddressRange),
    /// FC 2: read `1..=2000` discrete inputs.
    ReadDiscreteInputs(AddressRange),
    /// FC 3: read `1..=125` holding registers.
    ReadHoldingRegisters(AddressRange),
    /// FC 4: read `1..=125` input registers.
    ReadInputRegisters(AddressRange),
    /// FC 5: set one coil on (0xFF00) or off (0x0000).
    WriteSingleCoil {
        /// The coil.
        address: u16,
        /// On or off.
        value: bool,
    },
    /// FC 6: write one holding register.
    WriteSingleRegister {
        /// The register.
        address: u16,
        /// The value.
        value: u16,
    },
    /// FC 7: read the eight exception status outputs.
    ReadExceptionStatus,
    /// FC 8: a diagnostic sub-function; see [`crate::diagnostics`].
    Diagnostics {
        /// The sub-function.
        sub_function: u16,
        /// Its data, as on the wire.
        data: &'a [u8],
    },
    /// FC 11: read the status word and event counter.
    GetCommEventCounter,
    /// FC 12: read the status, counters and the last 64 events.
    GetCommEventLog,
    /// FC 15: write `1..=1968` coils.
    WriteMultipleCoils {
        /// The coils written.
        range: AddressRange,
        /// One bit per coil of `range`.
        values: Bits<'a>,
    },
    /// FC 16: write `1..=123` holding registers.
    WriteMultipleRegisters {
        /// The registers written.
        range: AddressRange,
        /// One value per register of `range`.
        values: Registers<'a>,
    },
    /// FC 17: read the server's id and run status.
    ReportServerId,
    /// FC 20: read records from files.
    ReadFileRecord(FileReads<'a>),
    /// FC 21: write records to files.
    WriteFileRecord(FileWrites<'a>),
    /// FC 22: `register = (register AND and_mask) OR (or_mask AND NOT and_mask)`.
    MaskWriteRegister {
        /// The register.
        address: u16,
        /// The AND mask.
        and_mask: u16,
        /// The OR mask.
        or_mask: u16,
    },
    /// FC 23: write `1..=121` holding registers, then read `1..=125`.
    ReadWriteMultipleRegisters {
        /// The registers read.
        read: AddressRange,
        /// The registers written.
        write: AddressRange,
        /// One value per register of `write`.
        values: Registers<'a>,
    },
    /// FC 24: read the FIFO queue whose count register is at `address`.
    ReadFifoQueue {
        /// The FIFO pointer address (the count register).
        address: u16,
    },
    /// FC 43/13: a `CANopen` general reference request, carried as bytes.
    CanopenGeneralReference {
        /// The bytes after the MEI type.
        data: &'a [u8],
    },
    /// FC 43/14: read device identification objects.
    ReadDeviceIdentification {
        /// Which objects.
        code: ReadDeviceIdCode,
        /// The first object (stream access) or the one object (individual access).
        object_id: u8,
    },
    /// Any function code this crate does not decode: unassigned, user-defined (65..=72,
    /// 100..=110) and vendor codes such as 90 (Schneider UMAS), carried as bytes.
    ///
    /// # Security
    /// Such a request can do anything, up to reprogramming the PLC; deny it by default.
    Other {
        /// The function code; never one with a variant of its own.
        function: FunctionCode,
        /// The bytes after the function code.
        data: &'a [u8],
    },
}

impl<'a> RequestPdu<'a> {
    /// Decodes a request PDU: function code and data.
    ///
    /// # Errors
    /// Any [`PduError`]; each names the field, the value seen and the limit.
    pub fn decode(pdu: &'a [u8]) -> Result<Self, PduError> {
        if pdu.len() > MAX_PDU_LEN {
            return Err(PduError::TooLong {
                actual: pdu.len(),
                max: MAX_PDU_LEN,
            });
        }
        let (&code, data) = pdu.split_first().ok_or(PduError::Empty)?;
        decode_data(FunctionCode::new(code)?, data)
    }

    /// The function code.
    pub const fn function_code(&self) -> FunctionCode {
        match self {
            Self::ReadCoils(_) => FunctionCode::READ_COILS,
            Self::ReadDiscreteInputs(_) => FunctionCode::READ_DISCRETE_INPUTS,
            Self::ReadHoldingRegisters(_) => FunctionCode::READ_HOLDING_REGISTERS,
            Self::ReadInputRegisters(_) => FunctionCode::READ_INPUT_REGISTERS,
            Self::WriteSingleCoil { .. } => FunctionCode::WRITE_SINGLE_COIL,
            Self::WriteSingleRegister { .. } => FunctionCode::WRITE_SINGLE_REGISTER,
            Self::ReadExceptionStatus => FunctionCode::READ_EXCEPTION_STATUS,
            Self::Diagnostics { .. } => FunctionCode::DIAGNOSTICS,
            Self::GetCommEventCounter => FunctionCode::GET_COMM_EVENT_COUNTER,
            Self::GetCommEventLog => FunctionCode::GET_COMM_EVENT_LOG,
            Self::WriteMultipleCoils { .. } => FunctionCode::WRITE_MULTIPLE_COILS,
            Self::WriteMultipleRegisters { .. } => FunctionCode::WRITE_MULTIPLE_REGISTERS,
            Self::ReportServerId => FunctionCode::REPORT_SERVER_ID,
            Self::ReadFileRecord(_) => FunctionCode::READ_FILE_RECORD,
            Self::WriteFileRecord(_) => FunctionCode::WRITE_FILE_RECORD,
            Self::MaskWriteRegister { .. } => FunctionCode::MASK_WRITE_REGISTER,
            Self::ReadWriteMultipleRegisters { .. } => FunctionCode::READ_WRITE_MULTIPLE_REGISTERS,
            Self::ReadFifoQueue { .. } => FunctionCode::READ_FIFO_QUEUE,
            Self::CanopenGeneralReference { .. } | Self::ReadDeviceIdentification { .. } => {
                FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT
            }
            Self::Other { function, .. } => *function,
        }
    }

    /// The MEI type of an FC 43 request (13 or 14); `None` for any other function.
    pub const fn mei_type(&self) -> Option<u8> {
        match self {
            Self::CanopenGeneralReference { .. } => Some(mei::CANOPEN_GENERAL_REFERENCE),
            Self::ReadDeviceIdentification { .. } => Some(mei::READ_DEVICE_IDENTIFICATION),
            _ => None,
        }
    }

    /// The data-table ranges the request reads and writes, for an access policy.
    ///
    /// FC 24 reads a queue whose length only the server knows: it is reported as a read of
    /// the count register and the 31 registers after it (fewer at the end of the address
    /// space), the most it can touch. FC 22 is a write (the read-modify-write happens inside
    /// the server).
    pub fn access(&self) -> Access {
        let span = |table, range| Span { table, range };
        match *self {
            Self::ReadCoils(range) => Access::Read(span(Table::Coils, range)),
            Self::ReadDiscreteInputs(range) => Access::Read(span(Table::DiscreteInputs, range)),
            Self::ReadHoldingRegisters(range) => Access::Read(span(Table::HoldingRegisters, range)),
            Self::ReadInputRegisters(range) => Access::Read(span(Table::InputRegisters, range)),
            Self::WriteSingleCoil { address, .. } => {
                Access::Write(span(Table::Coils, single(address)))
            }
            Self::WriteSingleRegister { address, .. } | Self::MaskWriteRegister { address, .. } => {
                Access::Write(span(Table::HoldingRegisters, single(address)))
            }
            Self::WriteMultipleCoils { range, .. } => Access::Write(span(Table::Coils, range)),
            Self::WriteMultipleRegisters { range, .. } => {
                Access::Write(span(Table::HoldingRegisters, range))
            }
            Self::ReadWriteMultipleRegisters { read, write, .. } => Access::ReadWrite {
                read: span(Table::HoldingRegisters, read),
                write: span(Table::HoldingRegisters, write),
            },
            Self::ReadFifoQueue { address } => {
                Access::Read(span(Table::HoldingRegisters, fifo_range(address)))
            }
            Self::ReadExceptionStatus
            | Self::Diagnostics { .. }
            | Self::GetCommEventCounter
            | Self::GetCommEventLog
            | Self::ReportServerId
            | Self::ReadDeviceIdentification { .. } => Access::None,
            Self::ReadFileRecord(_)
            | Self::WriteFileRecord(_)
            | Self::CanopenGeneralReference { .. }
            | Self::Other { .. } => Access::Unmodelled,
        }
    }

    /// Appends the encoded PDU to `out` and returns its length.
    ///
    /// # Errors
    /// [`EncodeError::Invalid`] for a value the decoder would reject (a quantity out of range,
    /// values that do not match the range, ...), [`EncodeError::OtherWithKnownFunction`].
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        let mut writer = Writer::new();
        let pdu = self.checked(&mut writer)?;
        out.extend_from_slice(pdu);
        Ok(pdu.len())
    }

    /// Writes the encoded PDU to the front of `out` and returns its length.
    ///
    /// # Errors
    /// As [`RequestPdu::encode`], and [`EncodeError::BufferTooSmall`].
    pub fn encode_to_slice(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut writer = Writer::new();
        let pdu = self.checked(&mut writer)?;
        let available = out.len();
        let slot = out
            .get_mut(..pdu.len())
            .ok_or(EncodeError::BufferTooSmall {
                needed: pdu.len(),
                available,
            })?;
        slot.copy_from_slice(pdu);
        Ok(pdu.len())
    }

    /// Writes the PDU and validates it by decoding it again: one definition of validity.
    fn checked<'w>(&self, writer: &'w mut Writer) -> Result<&'w [u8], EncodeError> {
        if let Self::Other { function, .. } = self
            && function.name().is_some()
        {
            return Err(EncodeError::OtherWithKnownFunction {
                function: *function,
            });
        }
        self.write(writer);
        let pdu = writer.finish()?;
        RequestPdu::decode(pdu)?;
        Ok(pdu)
    }

    fn write(&self, w: &mut Writer) {
        w.u8(self.function_code().value());
        match *self {
            Self::ReadCoils(range)
            | Self::ReadDiscreteInputs(range)
            | Self::ReadHoldingRegisters(range)
            | Self::ReadInputRegisters(range) => {
                w.u16(range.start());
                w.u16(range.quantity());
            }
            Self::WriteSingleCoil { address, value } => {
                w.u16(address);
                w.u16(if value { COIL_ON } else { COIL_OFF });
            }
            Self::WriteSingleRegister { address, value } => {
                w.u16(address);
                w.u16(value);
            }
            Self::ReadExceptionStatus
            | Self::GetCommEventCounter
            | Self::GetCommEventLog
            | Self::ReportServerId => {}
            Self::Diagnostics { sub_function, data } => {
                w.u16(sub_function);
                w.bytes(data);
            }
            Self::WriteMultipleCoils { range, values } => {
                w.u16(range.start());
                w.u16(range.quantity());
                w.count_u8(values.as_bytes().len());
                w.bytes(values.as_bytes());
            }
            Self::WriteMultipleRegisters { range, values } => {
                w.u16(range.start());
                w.u16(range.quantity());
                w.count_u8(values.as_bytes().len());
                w.bytes(values.as_bytes());
            }
            Self::ReadFileRecord(reads) => {
                w.count_u8(reads.as_bytes().len());
                w.bytes(reads.as_bytes());
            }
            Self::WriteFileRecord(writes) => {
                w.count_u8(writes.as_bytes().len());
                w.bytes(writes.as_bytes());
            }
            Self::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            } => {
                w.u16(address);
                w.u16(and_mask);
                w.u16(or_mask);
            }
            Self::ReadWriteMultipleRegisters {
                read,
                write,
                values,
            } => {
                w.u16(read.start());
                w.u16(read.quantity());
                w.u16(write.start());
                w.u16(write.quantity());
                w.count_u8(values.as_bytes().len());
                w.bytes(values.as_bytes());
            }
            Self::ReadFifoQueue { address } => w.u16(address),
            Self::CanopenGeneralReference { data } => {
                w.u8(mei::CANOPEN_GENERAL_REFERENCE);
                w.bytes(data);
            }
            Self::ReadDeviceIdentification { code, object_id } => {
                w.u8(mei::READ_DEVICE_IDENTIFICATION);
                w.u8(code.value());
                w.u8(object_id);
            }
            Self::Other { data, .. } => w.bytes(data),
        }
    }
}

/// A decoded request ADU: the MBAP fields a policy needs and the decoded PDU.
///
/// A request decoded from an [`Adu`](crate::Adu) also remembers that ADU's bytes, so that it
/// can be kept ([`PendingRequest`](crate::PendingRequest)) and forwarded unchanged without
/// being encoded or decoded again; equality, hashing and `Debug` look only at the decoded
/// fields.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request<'a> {
    transaction_id: u16,
    unit_id: u8,
    pdu: RequestPdu<'a>,
    received: Received<'a>,
}

/// The ADU bytes a request was decoded from (`None` for a request built to be encoded).
/// Two requests that decode to the same fields are equal however they came to be.
#[derive(Clone, Copy)]
struct Received<'a>(Option<&'a [u8]>);

impl PartialEq for Received<'_> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Received<'_> {}

impl std::hash::Hash for Received<'_> {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("transaction_id", &self.transaction_id)
            .field("unit_id", &self.unit_id)
            .field("pdu", &self.pdu)
            .finish()
    }
}

impl<'a> Request<'a> {
    /// A request to encode.
    pub const fn new(transaction_id: u16, unit_id: u8, pdu: RequestPdu<'a>) -> Self {
        Self {
            transaction_id,
            unit_id,
            pdu,
            received: Received(None),
        }
    }

    /// The request decoded from `adu`, whose bytes it keeps.
    pub(crate) const fn decoded(adu: &'a [u8], header: Header, pdu: RequestPdu<'a>) -> Self {
        Self {
            transaction_id: header.transaction_id(),
            unit_id: header.unit_id(),
            pdu,
            received: Received(Some(adu)),
        }
    }

    /// The ADU bytes this request was decoded from; `None` for one built with
    /// [`Request::new`].
    pub const fn received(&self) -> Option<&'a [u8]> {
        self.received.0
    }

    /// The transaction id.
    pub const fn transaction_id(&self) -> u16 {
        self.transaction_id
    }

    /// The unit id.
    pub const fn unit_id(&self) -> u8 {
        self.unit_id
    }

    /// The function code.
    pub const fn function_code(&self) -> FunctionCode {
        self.pdu.function_code()
    }

    /// The decoded PDU.
    pub const fn pdu(&self) -> &RequestPdu<'a> {
        &self.pdu
    }

    /// The data-table ranges the request reads and writes; see [`RequestPdu::access`].
    pub fn access(&self) -> Access {
        self.pdu.access()
    }

    /// Appends the encoded ADU to `out` and returns its length.
    ///
    /// # Errors
    /// As [`RequestPdu::encode`].
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        let mut buf = [0; crate::MAX_ADU_LEN];
        let len = self.encode_to_slice(&mut buf)?;
        out.extend_from_slice(buf.get(..len).unwrap_or_default());
        Ok(len)
    }

    /// Writes the encoded ADU to the front of `out` and returns its length.
    ///
    /// # Errors
    /// As [`RequestPdu::encode`], and [`EncodeError::BufferTooSmall`].
    pub fn encode_to_slice(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut writer = Writer::new();
        let pdu = self.pdu.checked(&mut writer)?;
        write_adu(self.transaction_id, self.unit_id, pdu, out)
    }
}

const fn single(address: u16) -> AddressRange {
    AddressRange::from_single(address)
}

fn fifo_range(address: u16) -> AddressRange {
    // The count register plus up to 31 values, clipped at the end of the address space.
    let last = address.saturating_add(MAX_FIFO_COUNT);
    AddressRange::inclusive(address, last).unwrap_or(single(address))
}

fn decode_data(function: FunctionCode, data: &[u8]) -> Result<RequestPdu<'_>, PduError> {
    let mut r = Reader::new(function, data);
    let pdu = match function {
        FunctionCode::READ_COILS => RequestPdu::ReadCoils(read_range(r, MAX_READ_BITS)?),
        FunctionCode::READ_DISCRETE_INPUTS => {
            RequestPdu::ReadDiscreteInputs(read_range(r, MAX_READ_BITS)?)
        }
        FunctionCode::READ_HOLDING_REGISTERS => {
            RequestPdu::ReadHoldingRegisters(read_range(r, MAX_READ_REGISTERS)?)
        }
        FunctionCode::READ_INPUT_REGISTERS => {
            RequestPdu::ReadInputRegisters(read_range(r, MAX_READ_REGISTERS)?)
        }
        FunctionCode::WRITE_SINGLE_COIL => {
            let [address, value] = words(function, data)?;
            RequestPdu::WriteSingleCoil {
                address,
                value: coil_value(value)?,
            }
        }
        FunctionCode::WRITE_SINGLE_REGISTER => {
            let [address, value] = words(function, data)?;
            RequestPdu::WriteSingleRegister { address, value }
        }
        FunctionCode::READ_EXCEPTION_STATUS => {
            exact::<0>(function, data)?;
            RequestPdu::ReadExceptionStatus
        }
        FunctionCode::DIAGNOSTICS => {
            let sub_function = r.u16("sub-function")?;
            let data = r.rest();
            diagnostics::check_request(sub_function, data)?;
            RequestPdu::Diagnostics { sub_function, data }
        }
        FunctionCode::GET_COMM_EVENT_COUNTER => {
            exact::<0>(function, data)?;
            RequestPdu::GetCommEventCounter
        }
        FunctionCode::GET_COMM_EVENT_LOG => {
            exact::<0>(function, data)?;
            RequestPdu::GetCommEventLog
        }
        FunctionCode::WRITE_MULTIPLE_COILS => {
            let range = r.range(MAX_WRITE_BITS)?;
            let values = counted(r, usize::from(range.quantity().div_ceil(8)))?;
            RequestPdu::WriteMultipleCoils {
                range,
                values: Bits::new(values, range.quantity())?,
            }
        }
        FunctionCode::WRITE_MULTIPLE_REGISTERS => {
            let range = r.range(MAX_WRITE_REGISTERS)?;
            let values = counted(r, 2 * usize::from(range.quantity()))?;
            RequestPdu::WriteMultipleRegisters {
                range,
                values: Registers::new(values)?,
            }
        }
        FunctionCode::REPORT_SERVER_ID => {
            exact::<0>(function, data)?;
            RequestPdu::ReportServerId
        }
        FunctionCode::READ_FILE_RECORD => RequestPdu::ReadFileRecord(read_file(r)?),
        FunctionCode::WRITE_FILE_RECORD => {
            let count = file_byte_count(&mut r, "request data length", WRITE_FILE_BYTE_COUNT)?;
            RequestPdu::WriteFileRecord(FileWrites::parse(
                r.rest_counted("request data length", count)?,
            )?)
        }
        FunctionCode::MASK_WRITE_REGISTER => {
            let [address, and_mask, or_mask] = words(function, data)?;
            RequestPdu::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            }
        }
        FunctionCode::READ_WRITE_MULTIPLE_REGISTERS => {
            let read = r.range(MAX_READ_REGISTERS)?;
            let write = r.range(MAX_READ_WRITE_REGISTERS)?;
            let values = counted(r, 2 * usize::from(write.quantity()))?;
            RequestPdu::ReadWriteMultipleRegisters {
                read,
                write,
                values: Registers::new(values)?,
            }
        }
        FunctionCode::READ_FIFO_QUEUE => {
            let [address] = words(function, data)?;
            RequestPdu::ReadFifoQueue { address }
        }
        FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT => match r.u8("MEI type")? {
            mei::CANOPEN_GENERAL_REFERENCE => {
                RequestPdu::CanopenGeneralReference { data: r.rest() }
            }
            mei::READ_DEVICE_IDENTIFICATION => {
                let &[code, object_id] =
                    exact::<2>(function, r.rest()).map_err(|_| PduError::Length {
                        function,
                        actual: data.len(),
                        expected: 3,
                    })?;
                RequestPdu::ReadDeviceIdentification {
                    code: ReadDeviceIdCode::new(code)?,
                    object_id,
                }
            }
            other => return Err(PduError::ReservedMeiType { actual: other }),
        },
        _ => RequestPdu::Other { function, data },
    };
    Ok(pdu)
}

/// A fixed 4-byte read request: start address and quantity `1..=max`.
fn read_range(mut r: Reader<'_>, max: u16) -> Result<AddressRange, PduError> {
    if r.remaining() != 4 {
        return Err(PduError::Length {
            function: r.function(),
            actual: r.remaining(),
            expected: 4,
        });
    }
    r.range(max)
}

/// Reads a byte count that must equal `expected` (derived from a quantity) and then exactly
/// that many bytes.
pub(crate) fn counted(mut r: Reader<'_>, expected: usize) -> Result<&[u8], PduError> {
    let count = usize::from(r.u8("byte count")?);
    if count != expected {
        return Err(PduError::ByteCount {
            function: r.function(),
            field: "byte count",
            actual: count,
            expected,
        });
    }
    r.rest_counted("byte count", count)
}

pub(crate) fn coil_value(value: u16) -> Result<bool, PduError> {
    match value {
        COIL_ON => Ok(true),
        COIL_OFF => Ok(false),
        _ => Err(PduError::InvalidValue {
            function: FunctionCode::WRITE_SINGLE_COIL,
            field: "output value",
            actual: value,
            allowed: "0x0000 or 0xFF00",
        }),
    }
}

fn file_byte_count(
    r: &mut Reader<'_>,
    field: &'static str,
    allowed: std::ops::RangeInclusive<u8>,
) -> Result<usize, PduError> {
    let count = r.u8(field)?;
    if allowed.contains(&count) {
        Ok(count.into())
    } else {
        Err(PduError::OutOfRange {
            function: r.function(),
            field,
            actual: count.into(),
            min: (*allowed.start()).into(),
            max: (*allowed.end()).into(),
        })
    }
}

fn read_file(mut r: Reader<'_>) -> Result<FileReads<'_>, PduError> {
    let count = file_byte_count(&mut r, "byte count", READ_FILE_BYTE_COUNT)?;
    let function = r.function();
    let reads = FileReads::parse(r.rest_counted("byte count", count)?)?;
    // The response must fit a PDU too: function code, response data length, and per
    // sub-request a file response length, a reference type and the registers.
    let response_len = 2 + reads
        .iter()
        .map(|read| 2 + 2 * usize::from(read.record_length))
        .sum::<usize>();
    if response_len > MAX_PDU_LEN {
        return Err(PduError::OutOfRange {
            function,
            field: "response length implied by the record lengths",
            actual: u32::try_from(response_len).unwrap_or(u32::MAX),
            min: 0,
            max: 253,
        });
    }
    Ok(reads)
}

#[cfg(test)]
mod tests;
