//! The request/response examples of the Modbus Application Protocol specification v1.1b3,
//! one per function code: each decodes, encodes back to the same bytes, and the response
//! answers the request.

use rampart_modbus::{
    Access, AddressRange, DecodeError, FunctionCode, RequestPdu, ResponsePdu, Span, Table,
    decode_request, decode_response, validate_response,
};

use crate::util::adu;

/// Decodes the example pair, checks the round trip, validation and the request's access.
fn check(request_pdu: &[u8], response_pdu: &[u8], access: Access) {
    let request_bytes = adu(0x0001, 0xFF, request_pdu);
    let response_bytes = adu(0x0001, 0xFF, response_pdu);
    let request =
        decode_request(&request_bytes).unwrap_or_else(|e| panic!("{request_pdu:02x?}: {e}"));
    let response =
        decode_response(&response_bytes).unwrap_or_else(|e| panic!("{response_pdu:02x?}: {e}"));
    assert_eq!(
        validate_response(&request, &response),
        Ok(()),
        "{request:?} / {response:?}"
    );
    assert_eq!(request.access(), access, "{request:?}");
    assert_eq!(response.function_code(), request.function_code());
    let mut out = Vec::new();
    request.encode(&mut out).unwrap();
    assert_eq!(out, request_bytes);
    out.clear();
    response.encode(&mut out).unwrap();
    assert_eq!(out, response_bytes);
}

fn span(table: Table, start: u16, count: u16) -> Span {
    Span {
        table,
        range: AddressRange::new(start, count).unwrap(),
    }
}

#[test]
fn bit_access() {
    check(
        &[0x01, 0x00, 0x13, 0x00, 0x13],
        &[0x01, 0x03, 0xCD, 0x6B, 0x05],
        Access::Read(span(Table::Coils, 19, 19)),
    );
    check(
        &[0x02, 0x00, 0xC4, 0x00, 0x16],
        &[0x02, 0x03, 0xAC, 0xDB, 0x35],
        Access::Read(span(Table::DiscreteInputs, 196, 22)),
    );
    check(
        &[0x05, 0x00, 0xAC, 0xFF, 0x00],
        &[0x05, 0x00, 0xAC, 0xFF, 0x00],
        Access::Write(span(Table::Coils, 172, 1)),
    );
    check(
        &[0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01],
        &[0x0F, 0x00, 0x13, 0x00, 0x0A],
        Access::Write(span(Table::Coils, 19, 10)),
    );
}

#[test]
fn register_access() {
    check(
        &[0x03, 0x00, 0x6B, 0x00, 0x03],
        &[0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64],
        Access::Read(span(Table::HoldingRegisters, 107, 3)),
    );
    check(
        &[0x04, 0x00, 0x08, 0x00, 0x01],
        &[0x04, 0x02, 0x00, 0x0A],
        Access::Read(span(Table::InputRegisters, 8, 1)),
    );
    check(
        &[0x06, 0x00, 0x01, 0x00, 0x03],
        &[0x06, 0x00, 0x01, 0x00, 0x03],
        Access::Write(span(Table::HoldingRegisters, 1, 1)),
    );
    check(
        &[0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02],
        &[0x10, 0x00, 0x01, 0x00, 0x02],
        Access::Write(span(Table::HoldingRegisters, 1, 2)),
    );
    check(
        &[0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25],
        &[0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25],
        Access::Write(span(Table::HoldingRegisters, 4, 1)),
    );
    check(
        &[
            0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF,
            0x00, 0xFF,
        ],
        &[
            0x17, 0x0C, 0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF,
        ],
        Access::ReadWrite {
            read: span(Table::HoldingRegisters, 3, 6),
            write: span(Table::HoldingRegisters, 14, 3),
        },
    );
    check(
        &[0x18, 0x04, 0xDE],
        &[0x18, 0x00, 0x06, 0x00, 0x02, 0x01, 0xB8, 0x12, 0x84],
        Access::Read(span(Table::HoldingRegisters, 0x04DE, 32)),
    );
}

#[test]
fn file_records() {
    check(
        &[
            0x14, 0x0E, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x06, 0x00, 0x03, 0x00, 0x09,
            0x00, 0x02,
        ],
        &[
            0x14, 0x0C, 0x05, 0x06, 0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00, 0x40,
        ],
        Access::Unmodelled,
    );
    let write = [
        0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D,
    ];
    check(&write, &write, Access::Unmodelled);
}

#[test]
fn serial_line_diagnostics() {
    check(&[0x07], &[0x07, 0x6D], Access::None);
    check(
        &[0x08, 0x00, 0x00, 0xA5, 0x37],
        &[0x08, 0x00, 0x00, 0xA5, 0x37],
        Access::None,
    );
    check(&[0x0B], &[0x0B, 0xFF, 0xFF, 0x01, 0x08], Access::None);
    check(
        &[0x0C],
        &[0x0C, 0x08, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21, 0x20, 0x00],
        Access::None,
    );
    check(&[0x11], &[0x11, 0x03, 0x2A, 0xFF, 0x01], Access::None);
}

#[test]
fn device_identification() {
    let mut response = vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03];
    for (id, text) in [
        (0_u8, &b"Company identification"[..]),
        (1, b"Product code XX"),
        (2, b"V2.11"),
    ] {
        response.extend([id, u8::try_from(text.len()).unwrap()]);
        response.extend(text);
    }
    check(&[0x2B, 0x0E, 0x01, 0x00], &response, Access::None);
}

#[test]
fn exception_response() {
    check(
        &[0x01, 0x04, 0xA1, 0x00, 0x01],
        &[0x81, 0x02],
        Access::Read(span(Table::Coils, 0x04A1, 1)),
    );
    let bytes = adu(1, 1, &[0x81, 0x02]);
    let response = decode_response(&bytes).unwrap();
    assert!(matches!(
        response.pdu(),
        ResponsePdu::Exception { function: FunctionCode::READ_COILS, code } if code.value() == 2
    ));
}

#[test]
fn decode_request_reports_the_layer() {
    assert!(matches!(
        decode_request(&[0, 1, 0, 1, 0, 2, 1, 7]),
        Err(DecodeError::Frame(_))
    ));
    assert!(matches!(
        decode_request(&adu(1, 1, &[0x07, 0])),
        Err(DecodeError::Pdu(_))
    ));
    assert!(matches!(
        decode_request(&adu(1, 1, &[0x07])).map(|request| *request.pdu()),
        Ok(RequestPdu::ReadExceptionStatus)
    ));
}
