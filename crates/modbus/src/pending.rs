//! A decoded request kept, with no borrow, while its response is awaited.

use crate::error::{EncodeError, MismatchError};
use crate::frame::{HEADER_LEN, MAX_ADU_LEN};
use crate::records::{FileReads, FileWrites};
use crate::request::{Request, RequestPdu};
use crate::response::{Response, ResponsePdu};
use crate::types::{Bits, ExceptionCode, FunctionCode, Registers};
use crate::validate::validate_pdu;

/// A request decoded once and kept past its input, in a fixed buffer, until its response
/// arrives: the ADU bytes to forward unchanged, and what the decoder found, so that the
/// response is checked against the request ([`PendingRequest::check`]) without decoding the
/// request again. Never allocates.
///
/// Of the decoded PDU it keeps what a response check looks at: ranges, addresses, echoed
/// values, and (FC 8, 20, 21) the data, re-sliced from its own copy of the bytes.
#[derive(Clone)]
pub struct PendingRequest {
    len: usize,
    bytes: [u8; MAX_ADU_LEN],
    transaction_id: u16,
    unit_id: u8,
    /// The decoded PDU with the data no check reads left out (see [`detach`]).
    pdu: RequestPdu<'static>,
}

impl PendingRequest {
    /// Keeps `request`: the bytes it was decoded from, or, for a request built with
    /// [`Request::new`], its encoding.
    ///
    /// # Errors
    /// As [`Request::encode_to_slice`], for a built request only.
    pub fn new(request: &Request<'_>) -> Result<Self, EncodeError> {
        let mut bytes = [0; MAX_ADU_LEN];
        let len = match request.received() {
            Some(adu) => {
                // A decoded ADU is never longer than `MAX_ADU_LEN`: its header bounds it.
                let slot = bytes
                    .get_mut(..adu.len())
                    .ok_or(EncodeError::BufferTooSmall {
                        needed: adu.len(),
                        available: MAX_ADU_LEN,
                    })?;
                slot.copy_from_slice(adu);
                adu.len()
            }
            None => request.encode_to_slice(&mut bytes)?,
        };
        Ok(Self {
            len,
            bytes,
            transaction_id: request.transaction_id(),
            unit_id: request.unit_id(),
            pdu: detach(*request.pdu()),
        })
    }

    /// The ADU, as received.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// The transaction id the client chose.
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

    /// The exception response to this request, with the client's transaction id.
    pub const fn exception(&self, code: ExceptionCode) -> Response<'static> {
        Response::new(
            self.transaction_id,
            self.unit_id,
            ResponsePdu::Exception {
                function: self.pdu.function_code(),
                code,
            },
        )
    }

    /// Checks that `response` answers this request: same unit id, and the PDU checks of
    /// [`crate::validate_response`]. The transaction id is not compared: a gateway that
    /// forwards the request under a transaction id of its own matches transactions itself.
    ///
    /// # Errors
    /// The first [`MismatchError`] found.
    pub fn check(&self, response: &Response<'_>) -> Result<(), MismatchError> {
        if response.unit_id() != self.unit_id {
            return Err(MismatchError::UnitId {
                expected: self.unit_id,
                actual: response.unit_id(),
            });
        }
        validate_pdu(&self.pdu(), response.pdu())
    }

    /// The kept PDU, with the data a check reads sliced from the kept bytes (the decoder
    /// validated them; this slices at the offsets it read them from).
    fn pdu(&self) -> RequestPdu<'_> {
        let pdu = self.as_bytes().get(HEADER_LEN..).unwrap_or_default();
        match self.pdu {
            // Function code, sub-function (2 bytes), data.
            RequestPdu::Diagnostics { sub_function, .. } => RequestPdu::Diagnostics {
                sub_function,
                data: pdu.get(3..).unwrap_or_default(),
            },
            // Function code, byte count, sub-requests.
            RequestPdu::ReadFileRecord(_) => {
                RequestPdu::ReadFileRecord(FileReads::validated(pdu.get(2..).unwrap_or_default()))
            }
            RequestPdu::WriteFileRecord(_) => {
                RequestPdu::WriteFileRecord(FileWrites::validated(pdu.get(2..).unwrap_or_default()))
            }
            other => other,
        }
    }
}

impl std::fmt::Debug for PendingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRequest")
            .field("transaction_id", &self.transaction_id)
            .field("unit_id", &self.unit_id)
            .field("pdu", &self.pdu())
            .field("bytes", &self.as_bytes())
            .finish_non_exhaustive()
    }
}

/// The decoded PDU without its borrowed data: the values written (which no response check
/// reads) become empty, and the data a check does read (FC 8, 20, 21) is sliced again from
/// the kept bytes by [`PendingRequest::pdu`].
const fn detach(pdu: RequestPdu<'_>) -> RequestPdu<'static> {
    match pdu {
        RequestPdu::ReadCoils(range) => RequestPdu::ReadCoils(range),
        RequestPdu::ReadDiscreteInputs(range) => RequestPdu::ReadDiscreteInputs(range),
        RequestPdu::ReadHoldingRegisters(range) => RequestPdu::ReadHoldingRegisters(range),
        RequestPdu::ReadInputRegisters(range) => RequestPdu::ReadInputRegisters(range),
        RequestPdu::WriteSingleCoil { address, value } => {
            RequestPdu::WriteSingleCoil { address, value }
        }
        RequestPdu::WriteSingleRegister { address, value } => {
            RequestPdu::WriteSingleRegister { address, value }
        }
        RequestPdu::ReadExceptionStatus => RequestPdu::ReadExceptionStatus,
        RequestPdu::Diagnostics { sub_function, .. } => RequestPdu::Diagnostics {
            sub_function,
            data: &[],
        },
        RequestPdu::GetCommEventCounter => RequestPdu::GetCommEventCounter,
        RequestPdu::GetCommEventLog => RequestPdu::GetCommEventLog,
        RequestPdu::WriteMultipleCoils { range, .. } => RequestPdu::WriteMultipleCoils {
            range,
            values: Bits::EMPTY,
        },
        RequestPdu::WriteMultipleRegisters { range, .. } => RequestPdu::WriteMultipleRegisters {
            range,
            values: Registers::EMPTY,
        },
        RequestPdu::ReportServerId => RequestPdu::ReportServerId,
        RequestPdu::ReadFileRecord(_) => RequestPdu::ReadFileRecord(FileReads::validated(&[])),
        RequestPdu::WriteFileRecord(_) => RequestPdu::WriteFileRecord(FileWrites::validated(&[])),
        RequestPdu::MaskWriteRegister {
            address,
            and_mask,
            or_mask,
        } => RequestPdu::MaskWriteRegister {
            address,
            and_mask,
            or_mask,
        },
        RequestPdu::ReadWriteMultipleRegisters { read, write, .. } => {
            RequestPdu::ReadWriteMultipleRegisters {
                read,
                write,
                values: Registers::EMPTY,
            }
        }
        RequestPdu::ReadFifoQueue { address } => RequestPdu::ReadFifoQueue { address },
        RequestPdu::CanopenGeneralReference { .. } => {
            RequestPdu::CanopenGeneralReference { data: &[] }
        }
        RequestPdu::ReadDeviceIdentification { code, object_id } => {
            RequestPdu::ReadDeviceIdentification { code, object_id }
        }
        RequestPdu::Other { function, .. } => RequestPdu::Other {
            function,
            data: &[],
        },
    }
}

#[cfg(test)]
mod tests;
