//! Matching a response against the request it answers.

use crate::diagnostics;
use crate::error::MismatchError;
use crate::request::{Request, RequestPdu};
use crate::response::{Response, ResponsePdu};
use crate::types::{AddressRange, FunctionCode};

/// Checks that `response` answers `request`: same transaction id and unit id, the same
/// function (or its exception form), and data consistent with what was asked: `2N` bytes
/// for `N` registers read, `ceil(N/8)` bytes for `N` coils, echoes that echo, one file
/// record block of the right length per sub-request.
///
/// Both must already be decoded (so each is valid on its own). An exception response with
/// any exception code answers any request for its function.
///
/// # Errors
/// The first [`MismatchError`] found.
pub fn validate_response(
    request: &Request<'_>,
    response: &Response<'_>,
) -> Result<(), MismatchError> {
    if response.transaction_id() != request.transaction_id() {
        return Err(MismatchError::TransactionId {
            expected: request.transaction_id(),
            actual: response.transaction_id(),
        });
    }
    if response.unit_id() != request.unit_id() {
        return Err(MismatchError::UnitId {
            expected: request.unit_id(),
            actual: response.unit_id(),
        });
    }
    validate_pdu(request.pdu(), response.pdu())
}

/// The PDU part of [`validate_response`], for callers that match transactions themselves.
///
/// # Errors
/// The first [`MismatchError`] found.
pub fn validate_response_pdu(
    request: &RequestPdu<'_>,
    response: &ResponsePdu<'_>,
) -> Result<(), MismatchError> {
    validate_pdu(request, response)
}

pub(crate) fn validate_pdu(
    request: &RequestPdu<'_>,
    response: &ResponsePdu<'_>,
) -> Result<(), MismatchError> {
    let function = request.function_code();
    if response.function_code() != function
        || (response.mei_type() != request.mei_type() && !response.is_exception())
    {
        return Err(MismatchError::Function {
            expected: function,
            actual: response.function_code(),
        });
    }
    if response.is_exception() {
        return Ok(());
    }
    let check = Check { function };
    match (*request, *response) {
        (RequestPdu::ReadCoils(range), ResponsePdu::ReadCoils(bits))
        | (RequestPdu::ReadDiscreteInputs(range), ResponsePdu::ReadDiscreteInputs(bits)) => check
            .size(
                "byte count",
                bits.as_bytes().len(),
                usize::from(range.quantity().div_ceil(8)),
            ),
        (RequestPdu::ReadHoldingRegisters(range), ResponsePdu::ReadHoldingRegisters(values))
        | (RequestPdu::ReadInputRegisters(range), ResponsePdu::ReadInputRegisters(values))
        | (
            RequestPdu::ReadWriteMultipleRegisters { read: range, .. },
            ResponsePdu::ReadWriteMultipleRegisters(values),
        ) => check.size(
            "byte count",
            values.as_bytes().len(),
            2 * usize::from(range.quantity()),
        ),
        (
            RequestPdu::WriteSingleCoil { address, value },
            ResponsePdu::WriteSingleCoil {
                address: echoed,
                value: echoed_value,
            },
        ) => {
            check.echo("address", address, echoed)?;
            check.echo("output value", coil(value), coil(echoed_value))
        }
        (
            RequestPdu::WriteSingleRegister { address, value },
            ResponsePdu::WriteSingleRegister {
                address: echoed,
                value: echoed_value,
            },
        ) => {
            check.echo("address", address, echoed)?;
            check.echo("register value", value, echoed_value)
        }
        (
            RequestPdu::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            },
            ResponsePdu::MaskWriteRegister {
                address: a,
                and_mask: and,
                or_mask: or,
            },
        ) => {
            check.echo("address", address, a)?;
            check.echo("AND mask", and_mask, and)?;
            check.echo("OR mask", or_mask, or)
        }
        (RequestPdu::WriteMultipleCoils { range, .. }, ResponsePdu::WriteMultipleCoils(echoed))
        | (
            RequestPdu::WriteMultipleRegisters { range, .. },
            ResponsePdu::WriteMultipleRegisters(echoed),
        ) => check.range(range, echoed),
        (
            RequestPdu::Diagnostics { sub_function, data },
            ResponsePdu::Diagnostics {
                sub_function: echoed,
                data: result,
            },
        ) => {
            check.echo("sub-function", sub_function, echoed)?;
            // These sub-functions echo the request data; the others return a value.
            let echoes_data = matches!(
                sub_function,
                diagnostics::RETURN_QUERY_DATA
                    | diagnostics::RESTART_COMMUNICATIONS
                    | diagnostics::CHANGE_ASCII_INPUT_DELIMITER
                    | diagnostics::FORCE_LISTEN_ONLY_MODE
                    | diagnostics::CLEAR_COUNTERS
                    | diagnostics::CLEAR_OVERRUN_COUNTER
            );
            if echoes_data && data != result {
                return Err(MismatchError::EchoData {
                    function,
                    field: "diagnostics data",
                });
            }
            Ok(())
        }
        (RequestPdu::ReadFileRecord(reads), ResponsePdu::ReadFileRecord(blocks)) => {
            let mut blocks = blocks.iter();
            for (index, read) in reads.iter().enumerate() {
                let Some(block) = blocks.next() else {
                    return check.size("number of sub-responses", index, reads.len());
                };
                check.size(
                    "record data length (registers)",
                    block.len(),
                    read.record_length.into(),
                )?;
            }
            let extra = blocks.count();
            check.size("number of sub-responses", reads.len() + extra, reads.len())
        }
        (RequestPdu::WriteFileRecord(writes), ResponsePdu::WriteFileRecord(echoed)) => {
            if writes.as_bytes() == echoed.as_bytes() {
                Ok(())
            } else {
                Err(MismatchError::EchoData {
                    function,
                    field: "file records",
                })
            }
        }
        (
            RequestPdu::ReadDeviceIdentification { code, object_id },
            ResponsePdu::ReadDeviceIdentification(identification),
        ) => {
            check.echo(
                "read device id code",
                code.value().into(),
                identification.code.value().into(),
            )?;
            if code == crate::ReadDeviceIdCode::Individual {
                check.size("number of objects", identification.objects.len().into(), 1)?;
                let returned = identification
                    .objects
                    .iter()
                    .next()
                    .map_or(0, |object| object.id);
                check.echo("object id", object_id.into(), returned.into())?;
            }
            Ok(())
        }
        // No request field constrains these responses beyond their own decoding.
        (RequestPdu::ReadExceptionStatus, ResponsePdu::ReadExceptionStatus { .. })
        | (RequestPdu::GetCommEventCounter, ResponsePdu::GetCommEventCounter { .. })
        | (RequestPdu::GetCommEventLog, ResponsePdu::GetCommEventLog { .. })
        | (RequestPdu::ReportServerId, ResponsePdu::ReportServerId { .. })
        | (RequestPdu::ReadFifoQueue { .. }, ResponsePdu::ReadFifoQueue(_))
        | (
            RequestPdu::CanopenGeneralReference { .. },
            ResponsePdu::CanopenGeneralReference { .. },
        )
        | (RequestPdu::Other { .. }, ResponsePdu::Other { .. }) => Ok(()),
        // Same function code but another variant: only MEI types can get here, and they were
        // compared above; kept as a mismatch so that a new variant cannot slip through.
        _ => Err(MismatchError::Function {
            expected: function,
            actual: response.function_code(),
        }),
    }
}

const fn coil(value: bool) -> u16 {
    if value {
        crate::request::COIL_ON
    } else {
        crate::request::COIL_OFF
    }
}

struct Check {
    function: FunctionCode,
}

impl Check {
    fn size(
        &self,
        field: &'static str,
        actual: usize,
        expected: usize,
    ) -> Result<(), MismatchError> {
        if actual == expected {
            Ok(())
        } else {
            Err(MismatchError::Size {
                function: self.function,
                field,
                actual,
                expected,
            })
        }
    }

    fn echo(&self, field: &'static str, expected: u16, actual: u16) -> Result<(), MismatchError> {
        if actual == expected {
            Ok(())
        } else {
            Err(MismatchError::Echo {
                function: self.function,
                field,
                expected,
                actual,
            })
        }
    }

    fn range(&self, expected: AddressRange, actual: AddressRange) -> Result<(), MismatchError> {
        self.echo("starting address", expected.start(), actual.start())?;
        self.echo("quantity", expected.quantity(), actual.quantity())
    }
}

#[cfg(test)]
mod tests;
