use super::*;
use crate::ReadDeviceIdCode;
use crate::records::DeviceObjects;

/// Decodes `pdu` as a response, expects `expected`, and encodes it back to the same bytes.
fn check(pdu: &[u8], expected: &ResponsePdu<'_>) {
    let decoded = ResponsePdu::decode(pdu).unwrap_or_else(|error| panic!("{pdu:02x?}: {error}"));
    assert_eq!(&decoded, expected, "{pdu:02x?}");
    let mut out = Vec::new();
    assert_eq!(decoded.encode(&mut out), Ok(pdu.len()));
    assert_eq!(out, pdu);
}

fn check_err(pdu: &[u8], words: &[&str]) {
    let error = ResponsePdu::decode(pdu).expect_err(&format!("{pdu:02x?} decoded"));
    let message = error.to_string();
    for word in words {
        assert!(
            message.contains(word),
            "{pdu:02x?}: {message:?} lacks {word:?}"
        );
    }
}

#[test]
fn exceptions() {
    check(
        &[0x81, 0x02],
        &ResponsePdu::Exception {
            function: FunctionCode::READ_COILS,
            code: ExceptionCode::ILLEGAL_DATA_ADDRESS,
        },
    );
    let umas = FunctionCode::new(90).unwrap();
    check(
        &[0xDA, 0x01],
        &ResponsePdu::Exception {
            function: umas,
            code: ExceptionCode::ILLEGAL_FUNCTION,
        },
    );
    check_err(&[0x80, 0x01], &["function code 0"]);
    check_err(&[0x83], &["data is 0 bytes, must be 1"]);
    check_err(&[0x83, 0x02, 0x00], &["data is 2 bytes, must be 1"]);
}

#[test]
fn read_bits_byte_count() {
    check(
        &[0x01, 3, 0xCD, 0x6B, 0x05],
        &ResponsePdu::ReadCoils(Bits::packed(&[0xCD, 0x6B, 0x05]).unwrap()),
    );
    check_err(&[0x01, 0], &["byte count is 0", "1..=250"]);
    check_err(&[0x02, 251], &["byte count is 251", "1..=250"]);
    check_err(&[0x01, 3, 0xCD, 0x6B], &["byte count is 3, must be 2"]);
}

#[test]
fn read_registers_byte_count() {
    let values = [0x02, 0x2B, 0, 0, 0, 0x64];
    check(
        &[0x03, 6, 0x02, 0x2B, 0, 0, 0, 0x64],
        &ResponsePdu::ReadHoldingRegisters(Registers::new(&values).unwrap()),
    );
    check_err(&[0x03, 5, 1, 2, 3, 4, 5], &["byte count", "even"]);
    check_err(&[0x04, 0], &["register count (byte count / 2) is 0"]);
    check_err(&[0x17, 252], &["is 126", "1..=125"]);
    check_err(&[0x03, 4, 0, 1], &["byte count is 4, must be 2"]);
}

#[test]
fn write_echoes() {
    check(
        &[0x0F, 0, 0x13, 0, 0x0A],
        &ResponsePdu::WriteMultipleCoils(AddressRange::new(0x13, 10).unwrap()),
    );
    check_err(&[0x10, 0, 0, 0, 124], &["quantity is 124", "1..=123"]);
    check_err(&[0x10, 0xFF, 0xFF, 0, 2], &["65535"]);
    check_err(&[0x05, 0, 1, 0x12, 0x34], &["output value"]);
}

#[test]
fn serial_line_functions() {
    check(
        &[0x07, 0x6D],
        &ResponsePdu::ReadExceptionStatus { outputs: 0x6D },
    );
    check(
        &[0x0B, 0xFF, 0xFF, 0x01, 0x08],
        &ResponsePdu::GetCommEventCounter {
            busy: true,
            event_count: 0x108,
        },
    );
    check_err(
        &[0x0B, 0x12, 0x34, 0, 0],
        &["status", "0x1234", "0x0000 or 0xFFFF"],
    );
    check(
        &[0x0C, 0x08, 0, 0, 0x01, 0x08, 0x01, 0x21, 0x20, 0x00],
        &ResponsePdu::GetCommEventLog {
            busy: false,
            event_count: 0x108,
            message_count: 0x121,
            events: &[0x20, 0],
        },
    );
    check_err(&[0x0C, 0x05, 0, 0, 0, 0, 0], &["byte count is 5", "6..=70"]);
    check(
        &[0x11, 2, 0x42, 0xFF],
        &ResponsePdu::ReportServerId {
            data: &[0x42, 0xFF],
        },
    );
    check_err(&[0x11, 3, 0x42, 0xFF], &["byte count is 3, must be 2"]);
    check(
        &[0x08, 0, 2, 0x12, 0x34],
        &ResponsePdu::Diagnostics {
            sub_function: 2,
            data: &[0x12, 0x34],
        },
    );
    check_err(&[0x08, 0, 2, 0x12], &["must be 4"]);
}

#[test]
fn fifo_queue() {
    let values = [0x01, 0xB8, 0x12, 0x84];
    check(
        &[0x18, 0, 6, 0, 2, 0x01, 0xB8, 0x12, 0x84],
        &ResponsePdu::ReadFifoQueue(Registers::new(&values).unwrap()),
    );
    check(
        &[0x18, 0, 2, 0, 0],
        &ResponsePdu::ReadFifoQueue(Registers::new(&[]).unwrap()),
    );
    check_err(&[0x18, 0, 66, 0, 32], &["FIFO count is 32", "0..=31"]);
    check_err(
        &[0x18, 0, 8, 0, 2, 1, 2, 3, 4],
        &["byte count is 8, must be 6"],
    );
    check_err(&[0x18, 0, 6, 0, 2, 1, 2, 3], &["must be 3"]);
}

#[test]
fn file_records() {
    let read = [
        0x14, 0x0C, 5, 6, 0x0D, 0xFE, 0, 0x20, 5, 6, 0x33, 0xCD, 0, 0x40,
    ];
    check(&read, &ResponsePdu::decode(&read).unwrap());
    check_err(
        &[0x14, 0x05, 5, 6, 0x0D, 0xFE, 0, 0x20],
        &["response data length is 5, must be 6"],
    );
    check_err(
        &[0x14, 0x05, 5, 6, 0x0D, 0xFE, 0],
        &["record data is truncated"],
    );
    let write = [
        0x15, 0x0D, 6, 0, 4, 0, 7, 0, 3, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D,
    ];
    check(&write, &ResponsePdu::decode(&write).unwrap());
}

#[test]
fn device_identification() {
    let mut pdu = vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03];
    for (id, text) in [
        (0_u8, &b"Company identification"[..]),
        (1, b"Product code XX"),
        (2, b"V2.11"),
    ] {
        pdu.push(id);
        pdu.push(u8::try_from(text.len()).unwrap());
        pdu.extend(text);
    }
    let decoded = ResponsePdu::decode(&pdu).unwrap();
    let ResponsePdu::ReadDeviceIdentification(id) = decoded else {
        panic!("{decoded:?}")
    };
    assert_eq!(id.code, ReadDeviceIdCode::Basic);
    assert_eq!(
        id.objects
            .iter()
            .map(|object| object.value)
            .collect::<Vec<_>>()[2],
        b"V2.11"
    );
    check(&pdu, &decoded);

    check_err(
        &[0x2B, 0x0E, 1, 0x04, 0, 0, 0],
        &["conformity level", "0x0004"],
    );
    check_err(&[0x2B, 0x0E, 1, 0x01, 0x01, 0, 0], &["more follows"]);
    check_err(&[0x2B, 0x0E, 1, 0x01, 0x00, 0x05, 0], &["next object id"]);
    check_err(
        &[0x2B, 0x0E, 1, 0x01, 0x00, 0x00, 2, 0, 1, b'A'],
        &["object id", "truncated"],
    );
    check_err(
        &[0x2B, 0x0E, 1, 0x01, 0x00, 0x00, 1, 0, 1, b'A', 0],
        &["bytes after"],
    );
    let streaming = DeviceIdentification {
        code: ReadDeviceIdCode::Regular,
        conformity_level: 0x82,
        more_follows: true,
        next_object_id: 4,
        objects: DeviceObjects::parse(0, &[]).unwrap(),
    };
    check(
        &[0x2B, 0x0E, 2, 0x82, 0xFF, 4, 0],
        &ResponsePdu::ReadDeviceIdentification(streaming),
    );
}

#[test]
fn other_functions_and_limits() {
    let umas = FunctionCode::new(90).unwrap();
    check(
        &[0x5A, 0x00, 0xFE, 1],
        &ResponsePdu::Other {
            function: umas,
            data: &[0x00, 0xFE, 1],
        },
    );
    check_err(&[], &["empty"]);
    check_err(&[0x03; 254], &["254 bytes"]);
    check_err(&[0x2B, 0x01], &["MEI type 1 is reserved"]);
}

#[test]
fn exception_reply_for_a_request() {
    let request = Request::new(
        7,
        3,
        crate::RequestPdu::ReadCoils(AddressRange::new(0, 1).unwrap()),
    );
    let reply = Response::exception(&request, ExceptionCode::ILLEGAL_FUNCTION);
    let mut out = Vec::new();
    assert_eq!(reply.encode(&mut out), Ok(9));
    assert_eq!(out, [0, 7, 0, 0, 0, 3, 3, 0x81, 0x01]);
    assert!(reply.is_exception());
    assert_eq!(reply.function_code(), FunctionCode::READ_COILS);
}
