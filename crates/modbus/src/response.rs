//! Responses: the PDU a server sends, decoded, and the ADU-level [`Response`].

use crate::diagnostics;
use crate::error::{EncodeError, PduError};
use crate::frame::{Header, MAX_PDU_LEN, write_adu};
use crate::limits::{
    MAX_COMM_EVENTS, MAX_FIFO_COUNT, MAX_READ_BITS, MAX_READ_REGISTERS, MAX_WRITE_BITS,
    MAX_WRITE_REGISTERS, WRITE_FILE_BYTE_COUNT,
};
use crate::mei::{self, DeviceIdentification, decode_identification};
use crate::records::{FileReadData, FileWrites};
use crate::request::{COIL_OFF, COIL_ON, Request, coil_value};
use crate::types::{AddressRange, Bits, ExceptionCode, FunctionCode, Registers};
use crate::wire::{Reader, Writer, exact, words};

/// The status word of FC 11 and 12 when the server is busy.
const STATUS_BUSY: u16 = 0xFFFF;
/// The status word when it is not.
const STATUS_IDLE: u16 = 0x0000;

/// A response PDU, decoded and validated on its own; [`crate::validate_response`] checks it
/// against its request. Data borrows from the input.
///
/// Fields are public so that a server (the simulated PLC, the gateway's exception replies)
/// can build one; [`ResponsePdu::encode`] checks a built value with the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponsePdu<'a> {
    /// FC 1: coil status, packed. The response does not say how many bits are padding.
    ReadCoils(Bits<'a>),
    /// FC 2: discrete input status, packed.
    ReadDiscreteInputs(Bits<'a>),
    /// FC 3: `1..=125` holding registers.
    ReadHoldingRegisters(Registers<'a>),
    /// FC 4: `1..=125` input registers.
    ReadInputRegisters(Registers<'a>),
    /// FC 5: echo of the request.
    WriteSingleCoil {
        /// The coil.
        address: u16,
        /// On or off.
        value: bool,
    },
    /// FC 6: echo of the request.
    WriteSingleRegister {
        /// The register.
        address: u16,
        /// The value.
        value: u16,
    },
    /// FC 7: the eight exception status outputs.
    ReadExceptionStatus {
        /// One bit per output.
        outputs: u8,
    },
    /// FC 8: the sub-function and its result.
    Diagnostics {
        /// The sub-function, echoed.
        sub_function: u16,
        /// The result, as on the wire.
        data: &'a [u8],
    },
    /// FC 11: status and event counter.
    GetCommEventCounter {
        /// Whether a previous command is still being processed (status 0xFFFF).
        busy: bool,
        /// The event counter.
        event_count: u16,
    },
    /// FC 12: status, counters and up to 64 events.
    GetCommEventLog {
        /// Whether a previous command is still being processed.
        busy: bool,
        /// The event counter.
        event_count: u16,
        /// The bus message counter.
        message_count: u16,
        /// The events, most recent first, one byte each.
        events: &'a [u8],
    },
    /// FC 15: the range written.
    WriteMultipleCoils(AddressRange),
    /// FC 16: the range written.
    WriteMultipleRegisters(AddressRange),
    /// FC 17: server id, run indicator and device-specific data, as on the wire (their split
    /// is device-specific).
    ReportServerId {
        /// The bytes after the byte count.
        data: &'a [u8],
    },
    /// FC 20: one block of registers per sub-request.
    ReadFileRecord(FileReadData<'a>),
    /// FC 21: echo of the request.
    WriteFileRecord(FileWrites<'a>),
    /// FC 22: echo of the request.
    MaskWriteRegister {
        /// The register.
        address: u16,
        /// The AND mask.
        and_mask: u16,
        /// The OR mask.
        or_mask: u16,
    },
    /// FC 23: the registers read.
    ReadWriteMultipleRegisters(Registers<'a>),
    /// FC 24: the queue, `0..=31` registers.
    ReadFifoQueue(Registers<'a>),
    /// FC 43/13: a `CANopen` general reference response, carried as bytes.
    CanopenGeneralReference {
        /// The bytes after the MEI type.
        data: &'a [u8],
    },
    /// FC 43/14: device identification objects.
    ReadDeviceIdentification(DeviceIdentification<'a>),
    /// Any function code this crate does not decode, carried as bytes.
    Other {
        /// The function code; never one with a variant of its own.
        function: FunctionCode,
        /// The bytes after the function code.
        data: &'a [u8],
    },
    /// An exception response: `function | 0x80` and an exception code.
    Exception {
        /// The function of the request that failed.
        function: FunctionCode,
        /// Why.
        code: ExceptionCode,
    },
}

impl<'a> ResponsePdu<'a> {
    /// Decodes a response PDU: function code (or its exception form) and data.
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
        if code & 0x80 != 0 {
            let function = FunctionCode::new(code & 0x7F)?;
            let &[exception] = exact::<1>(function, data)?;
            return Ok(Self::Exception {
                function,
                code: ExceptionCode::new(exception),
            });
        }
        decode_data(FunctionCode::new(code)?, data)
    }

    /// The function code; for an exception, the function that failed.
    pub const fn function_code(&self) -> FunctionCode {
        match self {
            Self::ReadCoils(_) => FunctionCode::READ_COILS,
            Self::ReadDiscreteInputs(_) => FunctionCode::READ_DISCRETE_INPUTS,
            Self::ReadHoldingRegisters(_) => FunctionCode::READ_HOLDING_REGISTERS,
            Self::ReadInputRegisters(_) => FunctionCode::READ_INPUT_REGISTERS,
            Self::WriteSingleCoil { .. } => FunctionCode::WRITE_SINGLE_COIL,
            Self::WriteSingleRegister { .. } => FunctionCode::WRITE_SINGLE_REGISTER,
            Self::ReadExceptionStatus { .. } => FunctionCode::READ_EXCEPTION_STATUS,
            Self::Diagnostics { .. } => FunctionCode::DIAGNOSTICS,
            Self::GetCommEventCounter { .. } => FunctionCode::GET_COMM_EVENT_COUNTER,
            Self::GetCommEventLog { .. } => FunctionCode::GET_COMM_EVENT_LOG,
            Self::WriteMultipleCoils(_) => FunctionCode::WRITE_MULTIPLE_COILS,
            Self::WriteMultipleRegisters(_) => FunctionCode::WRITE_MULTIPLE_REGISTERS,
            Self::ReportServerId { .. } => FunctionCode::REPORT_SERVER_ID,
            Self::ReadFileRecord(_) => FunctionCode::READ_FILE_RECORD,
            Self::WriteFileRecord(_) => FunctionCode::WRITE_FILE_RECORD,
            Self::MaskWriteRegister { .. } => FunctionCode::MASK_WRITE_REGISTER,
            Self::ReadWriteMultipleRegisters(_) => FunctionCode::READ_WRITE_MULTIPLE_REGISTERS,
            Self::ReadFifoQueue(_) => FunctionCode::READ_FIFO_QUEUE,
            Self::CanopenGeneralReference { .. } | Self::ReadDeviceIdentification(_) => {
                FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT
            }
            Self::Other { function, .. } | Self::Exception { function, .. } => *function,
        }
    }

    /// Whether this is an exception response.
    pub const fn is_exception(&self) -> bool {
        matches!(self, Self::Exception { .. })
    }

    /// The MEI type of an FC 43 response (13 or 14); `None` for any other function.
    pub const fn mei_type(&self) -> Option<u8> {
        match self {
            Self::CanopenGeneralReference { .. } => Some(mei::CANOPEN_GENERAL_REFERENCE),
            Self::ReadDeviceIdentification(_) => Some(mei::READ_DEVICE_IDENTIFICATION),
            _ => None,
        }
    }

    /// Appends the encoded PDU to `out` and returns its length.
    ///
    /// # Errors
    /// [`EncodeError::Invalid`] for a value the decoder would reject,
    /// [`EncodeError::OtherWithKnownFunction`].
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        let mut writer = Writer::new();
        let pdu = self.checked(&mut writer)?;
        out.extend_from_slice(pdu);
        Ok(pdu.len())
    }

    /// Writes the encoded PDU to the front of `out` and returns its length.
    ///
    /// # Errors
    /// As [`ResponsePdu::encode`], and [`EncodeError::BufferTooSmall`].
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
        ResponsePdu::decode(pdu)?;
        Ok(pdu)
    }

    fn write(&self, w: &mut Writer) {
        if let Self::Exception { function, code } = *self {
            w.u8(function.exception_value());
            w.u8(code.value());
            return;
        }
        w.u8(self.function_code().value());
        match *self {
            Self::ReadCoils(bits) | Self::ReadDiscreteInputs(bits) => {
                w.count_u8(bits.as_bytes().len());
                w.bytes(bits.as_bytes());
            }
            Self::ReadHoldingRegisters(values)
            | Self::ReadInputRegisters(values)
            | Self::ReadWriteMultipleRegisters(values) => {
                w.count_u8(values.as_bytes().len());
                w.bytes(values.as_bytes());
            }
            Self::WriteSingleCoil { address, value } => {
                w.u16(address);
                w.u16(if value { COIL_ON } else { COIL_OFF });
            }
            Self::WriteSingleRegister { address, value } => {
                w.u16(address);
                w.u16(value);
            }
            Self::ReadExceptionStatus { outputs } => w.u8(outputs),
            Self::Diagnostics { sub_function, data } => {
                w.u16(sub_function);
                w.bytes(data);
            }
            Self::GetCommEventCounter { busy, event_count } => {
                w.u16(status(busy));
                w.u16(event_count);
            }
            Self::GetCommEventLog {
                busy,
                event_count,
                message_count,
                events,
            } => {
                w.count_u8(6 + events.len());
                w.u16(status(busy));
                w.u16(event_count);
                w.u16(message_count);
                w.bytes(events);
            }
            Self::WriteMultipleCoils(range) | Self::WriteMultipleRegisters(range) => {
                w.u16(range.start());
                w.u16(range.quantity());
            }
            Self::ReportServerId { data } => {
                w.count_u8(data.len());
                w.bytes(data);
            }
            Self::ReadFileRecord(data) => {
                w.count_u8(data.as_bytes().len());
                w.bytes(data.as_bytes());
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
            Self::ReadFifoQueue(values) => {
                let len = values.as_bytes().len();
                w.u16(u16::try_from(len + 2).unwrap_or(u16::MAX));
                w.u16(u16::try_from(values.len()).unwrap_or(u16::MAX));
                w.bytes(values.as_bytes());
            }
            Self::CanopenGeneralReference { data } => {
                w.u8(mei::CANOPEN_GENERAL_REFERENCE);
                w.bytes(data);
            }
            Self::ReadDeviceIdentification(id) => {
                w.u8(mei::READ_DEVICE_IDENTIFICATION);
                w.u8(id.code.value());
                w.u8(id.conformity_level);
                w.u8(if id.more_follows { 0xFF } else { 0x00 });
                w.u8(id.next_object_id);
                w.u8(id.objects.len());
                w.bytes(id.objects.as_bytes());
            }
            Self::Other { data, .. } => w.bytes(data),
            Self::Exception { .. } => {}
        }
    }
}

/// A decoded response ADU: the MBAP fields and the decoded PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Response<'a> {
    transaction_id: u16,
    unit_id: u8,
    pdu: ResponsePdu<'a>,
}

impl<'a> Response<'a> {
    /// A response to encode.
    pub const fn new(transaction_id: u16, unit_id: u8, pdu: ResponsePdu<'a>) -> Self {
        Self {
            transaction_id,
            unit_id,
            pdu,
        }
    }

    /// The exception response to `request`: what a gateway sends for a denied request
    /// (exception 0x01, illegal function, per Modbus/TCP Security).
    pub fn exception(request: &Request<'_>, code: ExceptionCode) -> Response<'static> {
        Response::new(
            request.transaction_id(),
            request.unit_id(),
            ResponsePdu::Exception {
                function: request.function_code(),
                code,
            },
        )
    }

    pub(crate) const fn from_header(header: Header, pdu: ResponsePdu<'a>) -> Self {
        Self::new(header.transaction_id(), header.unit_id(), pdu)
    }

    /// The transaction id.
    pub const fn transaction_id(&self) -> u16 {
        self.transaction_id
    }

    /// The unit id.
    pub const fn unit_id(&self) -> u8 {
        self.unit_id
    }

    /// The function code; for an exception, the function that failed.
    pub const fn function_code(&self) -> FunctionCode {
        self.pdu.function_code()
    }

    /// Whether this is an exception response.
    pub const fn is_exception(&self) -> bool {
        self.pdu.is_exception()
    }

    /// The decoded PDU.
    pub const fn pdu(&self) -> &ResponsePdu<'a> {
        &self.pdu
    }

    /// Appends the encoded ADU to `out` and returns its length.
    ///
    /// # Errors
    /// As [`ResponsePdu::encode`].
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        let mut buf = [0; crate::MAX_ADU_LEN];
        let len = self.encode_to_slice(&mut buf)?;
        out.extend_from_slice(buf.get(..len).unwrap_or_default());
        Ok(len)
    }

    /// Writes the encoded ADU to the front of `out` and returns its length.
    ///
    /// # Errors
    /// As [`ResponsePdu::encode`], and [`EncodeError::BufferTooSmall`].
    pub fn encode_to_slice(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut writer = Writer::new();
        let pdu = self.pdu.checked(&mut writer)?;
        write_adu(self.transaction_id, self.unit_id, pdu, out)
    }
}

const fn status(busy: bool) -> u16 {
    if busy { STATUS_BUSY } else { STATUS_IDLE }
}

fn decode_data(function: FunctionCode, data: &[u8]) -> Result<ResponsePdu<'_>, PduError> {
    let mut r = Reader::new(function, data);
    let pdu = match function {
        FunctionCode::READ_COILS => ResponsePdu::ReadCoils(read_bits(r)?),
        FunctionCode::READ_DISCRETE_INPUTS => ResponsePdu::ReadDiscreteInputs(read_bits(r)?),
        FunctionCode::READ_HOLDING_REGISTERS => {
            ResponsePdu::ReadHoldingRegisters(read_registers(r, MAX_READ_REGISTERS)?)
        }
        FunctionCode::READ_INPUT_REGISTERS => {
            ResponsePdu::ReadInputRegisters(read_registers(r, MAX_READ_REGISTERS)?)
        }
        FunctionCode::WRITE_SINGLE_COIL => {
            let [address, value] = words(function, data)?;
            ResponsePdu::WriteSingleCoil {
                address,
                value: coil_value(value)?,
            }
        }
        FunctionCode::WRITE_SINGLE_REGISTER => {
            let [address, value] = words(function, data)?;
            ResponsePdu::WriteSingleRegister { address, value }
        }
        FunctionCode::READ_EXCEPTION_STATUS => {
            let &[outputs] = exact::<1>(function, data)?;
            ResponsePdu::ReadExceptionStatus { outputs }
        }
        FunctionCode::DIAGNOSTICS => {
            let sub_function = r.u16("sub-function")?;
            let data = r.rest();
            diagnostics::check_response(sub_function, data)?;
            ResponsePdu::Diagnostics { sub_function, data }
        }
        FunctionCode::GET_COMM_EVENT_COUNTER => {
            let [status, event_count] = words(function, data)?;
            ResponsePdu::GetCommEventCounter {
                busy: busy(function, status)?,
                event_count,
            }
        }
        FunctionCode::GET_COMM_EVENT_LOG => comm_event_log(r)?,
        FunctionCode::WRITE_MULTIPLE_COILS => {
            ResponsePdu::WriteMultipleCoils(written_range(r, MAX_WRITE_BITS)?)
        }
        FunctionCode::WRITE_MULTIPLE_REGISTERS => {
            ResponsePdu::WriteMultipleRegisters(written_range(r, MAX_WRITE_REGISTERS)?)
        }
        FunctionCode::REPORT_SERVER_ID => {
            let count = r.u8("byte count")?.into();
            ResponsePdu::ReportServerId {
                data: r.rest_counted("byte count", count)?,
            }
        }
        FunctionCode::READ_FILE_RECORD => {
            let count = r.u8("response data length")?.into();
            ResponsePdu::ReadFileRecord(FileReadData::parse(
                r.rest_counted("response data length", count)?,
            )?)
        }
        FunctionCode::WRITE_FILE_RECORD => {
            let count = r.u8("response data length")?;
            if !WRITE_FILE_BYTE_COUNT.contains(&count) {
                return Err(PduError::OutOfRange {
                    function,
                    field: "response data length",
                    actual: count.into(),
                    min: (*WRITE_FILE_BYTE_COUNT.start()).into(),
                    max: (*WRITE_FILE_BYTE_COUNT.end()).into(),
                });
            }
            ResponsePdu::WriteFileRecord(FileWrites::parse(
                r.rest_counted("response data length", count.into())?,
            )?)
        }
        FunctionCode::MASK_WRITE_REGISTER => {
            let [address, and_mask, or_mask] = words(function, data)?;
            ResponsePdu::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            }
        }
        FunctionCode::READ_WRITE_MULTIPLE_REGISTERS => {
            ResponsePdu::ReadWriteMultipleRegisters(read_registers(r, MAX_READ_REGISTERS)?)
        }
        FunctionCode::READ_FIFO_QUEUE => fifo(r)?,
        FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT => match r.u8("MEI type")? {
            mei::CANOPEN_GENERAL_REFERENCE => {
                ResponsePdu::CanopenGeneralReference { data: r.rest() }
            }
            mei::READ_DEVICE_IDENTIFICATION => {
                ResponsePdu::ReadDeviceIdentification(decode_identification(r)?)
            }
            other => return Err(PduError::ReservedMeiType { actual: other }),
        },
        _ => ResponsePdu::Other { function, data },
    };
    Ok(pdu)
}

/// FC 1 and 2: a byte count of `1..=250` and that many bytes.
fn read_bits(mut r: Reader<'_>) -> Result<Bits<'_>, PduError> {
    let count = r.u8("byte count")?;
    let max = MAX_READ_BITS.div_ceil(8);
    if count == 0 || u16::from(count) > max {
        return Err(PduError::OutOfRange {
            function: r.function(),
            field: "byte count",
            actual: count.into(),
            min: 1,
            max: max.into(),
        });
    }
    Bits::packed(r.rest_counted("byte count", count.into())?)
}

/// FC 3, 4 and 23: an even byte count for `1..=max` registers and that many bytes.
fn read_registers(mut r: Reader<'_>, max: u16) -> Result<Registers<'_>, PduError> {
    let count = r.u8("byte count")?;
    if !count.is_multiple_of(2) {
        return Err(PduError::InvalidValue {
            function: r.function(),
            field: "byte count",
            actual: count.into(),
            allowed: "an even number (2 bytes per register)",
        });
    }
    r.check_quantity("register count (byte count / 2)", u16::from(count / 2), max)?;
    Registers::new(r.rest_counted("byte count", count.into())?)
}

/// FC 15 and 16: the echoed start address and quantity.
fn written_range(mut r: Reader<'_>, max: u16) -> Result<AddressRange, PduError> {
    if r.remaining() != 4 {
        return Err(PduError::Length {
            function: r.function(),
            actual: r.remaining(),
            expected: 4,
        });
    }
    r.range(max)
}

fn busy(function: FunctionCode, status: u16) -> Result<bool, PduError> {
    match status {
        STATUS_BUSY => Ok(true),
        STATUS_IDLE => Ok(false),
        _ => Err(PduError::InvalidValue {
            function,
            field: "status",
            actual: status,
            allowed: "0x0000 or 0xFFFF",
        }),
    }
}

fn comm_event_log(mut r: Reader<'_>) -> Result<ResponsePdu<'_>, PduError> {
    let function = r.function();
    let count = usize::from(r.u8("byte count")?);
    if !(6..=6 + MAX_COMM_EVENTS).contains(&count) {
        return Err(PduError::OutOfRange {
            function,
            field: "byte count",
            actual: u32::try_from(count).unwrap_or(u32::MAX),
            min: 6,
            max: 6 + 64,
        });
    }
    let rest = r.rest_counted("byte count", count)?;
    let mut r = Reader::new(function, rest);
    let busy = busy(function, r.u16("status")?)?;
    let event_count = r.u16("event count")?;
    let message_count = r.u16("message count")?;
    Ok(ResponsePdu::GetCommEventLog {
        busy,
        event_count,
        message_count,
        events: r.rest(),
    })
}

fn fifo(mut r: Reader<'_>) -> Result<ResponsePdu<'_>, PduError> {
    let byte_count = r.u16("byte count")?;
    let fifo_count = r.u16("FIFO count")?;
    if fifo_count > MAX_FIFO_COUNT {
        return Err(PduError::OutOfRange {
            function: r.function(),
            field: "FIFO count",
            actual: fifo_count.into(),
            min: 0,
            max: MAX_FIFO_COUNT.into(),
        });
    }
    // The byte count covers the FIFO count field and the values.
    let expected = 2 + 2 * usize::from(fifo_count);
    if usize::from(byte_count) != expected {
        return Err(PduError::ByteCount {
            function: r.function(),
            field: "byte count",
            actual: byte_count.into(),
            expected,
        });
    }
    let values = r.rest_counted("byte count - 2", expected - 2)?;
    Ok(ResponsePdu::ReadFifoQueue(Registers::new(values)?))
}

#[cfg(test)]
mod tests;
