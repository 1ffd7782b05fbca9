use super::*;

fn range(start: u16, count: u16) -> AddressRange {
    AddressRange::new(start, count).unwrap()
}

/// Decodes `pdu` as a request, expects `expected`, and encodes it back to the same bytes.
fn check(pdu: &[u8], expected: &RequestPdu<'_>) {
    let decoded = RequestPdu::decode(pdu).unwrap_or_else(|error| panic!("{pdu:02x?}: {error}"));
    assert_eq!(&decoded, expected, "{pdu:02x?}");
    let mut out = Vec::new();
    assert_eq!(decoded.encode(&mut out), Ok(pdu.len()));
    assert_eq!(out, pdu);
}

/// Expects `pdu` to be rejected with an error whose message contains every one of `words`.
fn check_err(pdu: &[u8], words: &[&str]) {
    let error = RequestPdu::decode(pdu).expect_err(&format!("{pdu:02x?} decoded"));
    let message = error.to_string();
    for word in words {
        assert!(
            message.contains(word),
            "{pdu:02x?}: {message:?} lacks {word:?}"
        );
    }
}

#[test]
fn quantity_limits_are_inclusive() {
    check(
        &[0x01, 0, 0, 0x07, 0xD0],
        &RequestPdu::ReadCoils(range(0, 2000)),
    );
    check(
        &[0x02, 0, 0, 0, 1],
        &RequestPdu::ReadDiscreteInputs(range(0, 1)),
    );
    check(
        &[0x03, 0, 0, 0, 125],
        &RequestPdu::ReadHoldingRegisters(range(0, 125)),
    );
    check(
        &[0x04, 0xFF, 0x83, 0, 125],
        &RequestPdu::ReadInputRegisters(range(0xFF83, 125)),
    );
    check_err(&[0x01, 0, 0, 0x07, 0xD1], &["quantity is 2001", "1..=2000"]);
    check_err(&[0x02, 0, 0, 0, 0], &["quantity is 0", "1..=2000"]);
    check_err(&[0x03, 0, 0, 0, 126], &["quantity is 126", "1..=125"]);
    check_err(&[0x04, 0, 0, 0, 0], &["quantity is 0"]);
}

#[test]
fn ranges_must_end_inside_the_address_space() {
    check(
        &[0x03, 0xFF, 0xFF, 0, 1],
        &RequestPdu::ReadHoldingRegisters(range(0xFFFF, 1)),
    );
    check_err(&[0x03, 0xFF, 0xFF, 0, 2], &["65536", "65535"]);
    check_err(&[0x01, 0xFF, 0x00, 0x07, 0xD0], &["read coils"]);
}

#[test]
fn fixed_lengths() {
    check_err(&[0x03, 0, 0, 0], &["data is 3 bytes, must be 4"]);
    check_err(&[0x03, 0, 0, 0, 1, 0], &["data is 5 bytes, must be 4"]);
    check_err(&[0x06, 0, 1], &["must be 4"]);
    check_err(&[0x07, 0], &["data is 1 bytes, must be 0"]);
    check_err(&[0x16, 0, 1, 0, 2], &["must be 6"]);
    check_err(&[0x18], &["must be 2"]);
}

#[test]
fn single_coil_values() {
    check(
        &[0x05, 0, 0xAC, 0xFF, 0],
        &RequestPdu::WriteSingleCoil {
            address: 0xAC,
            value: true,
        },
    );
    check(
        &[0x05, 0, 0xAC, 0, 0],
        &RequestPdu::WriteSingleCoil {
            address: 0xAC,
            value: false,
        },
    );
    check_err(
        &[0x05, 0, 0xAC, 0, 1],
        &["output value", "0x0001", "0x0000 or 0xFF00"],
    );
    check_err(&[0x05, 0, 0xAC, 0xFF, 0xFF], &["0xffff"]);
}

#[test]
fn write_multiple_coils_byte_count_matches_quantity() {
    let values = [0xCD, 0x01];
    check(
        &[0x0F, 0, 0x13, 0, 0x0A, 2, 0xCD, 0x01],
        &RequestPdu::WriteMultipleCoils {
            range: range(0x13, 10),
            values: Bits::new(&values, 10).unwrap(),
        },
    );
    check_err(
        &[0x0F, 0, 0x13, 0, 0x0A, 3, 0xCD, 0x01, 0],
        &["byte count is 3, must be 2"],
    );
    check_err(
        &[0x0F, 0, 0x13, 0, 0x0A, 2, 0xCD],
        &["byte count is 2, must be 1"],
    );
    check_err(
        &[0x0F, 0, 0, 0x07, 0xB1, 0xF6],
        &["quantity is 1969", "1..=1968"],
    );
    let mut max = vec![0x0F, 0, 0, 0x07, 0xB0, 0xF6];
    max.extend([0; 0xF6]);
    assert!(RequestPdu::decode(&max).is_ok());
}

#[test]
fn write_multiple_registers_byte_count_matches_quantity() {
    let values = [0, 0x0A, 1, 2];
    check(
        &[0x10, 0, 1, 0, 2, 4, 0, 0x0A, 1, 2],
        &RequestPdu::WriteMultipleRegisters {
            range: range(1, 2),
            values: Registers::new(&values).unwrap(),
        },
    );
    check_err(
        &[0x10, 0, 1, 0, 2, 3, 0, 0x0A, 1],
        &["byte count is 3, must be 4"],
    );
    check_err(&[0x10, 0, 1, 0, 124, 248], &["quantity is 124", "1..=123"]);
    check_err(&[0x10, 0, 1, 0], &["truncated"]);
}

#[test]
fn read_write_multiple_registers_limits() {
    let values = [0, 0xFF, 0, 0xFF, 0, 0xFF];
    check(
        &[
            0x17, 0, 3, 0, 6, 0, 0x0E, 0, 3, 6, 0, 0xFF, 0, 0xFF, 0, 0xFF,
        ],
        &RequestPdu::ReadWriteMultipleRegisters {
            read: range(3, 6),
            write: range(0x0E, 3),
            values: Registers::new(&values).unwrap(),
        },
    );
    check_err(
        &[0x17, 0, 0, 0, 126, 0, 0, 0, 1, 2, 0, 0],
        &["quantity is 126", "1..=125"],
    );
    check_err(
        &[0x17, 0, 0, 0, 1, 0, 0, 0, 122, 244],
        &["quantity is 122", "1..=121"],
    );
    // The 4SICS capture: write quantity and byte count disagree.
    check_err(
        &[0x17, 0, 0, 0, 1, 0, 0, 0, 2, 2, 0, 0],
        &["byte count is 2, must be 4"],
    );
}

#[test]
fn diagnostics_data_per_sub_function() {
    check(
        &[0x08, 0, 0, 0xA5, 0x37],
        &RequestPdu::Diagnostics {
            sub_function: 0,
            data: &[0xA5, 0x37],
        },
    );
    check(
        &[0x08, 0, 1, 0xFF, 0],
        &RequestPdu::Diagnostics {
            sub_function: 1,
            data: &[0xFF, 0],
        },
    );
    check(
        &[0x08, 0, 3, b'\n', 0],
        &RequestPdu::Diagnostics {
            sub_function: 3,
            data: &[b'\n', 0],
        },
    );
    check(
        &[0x08, 0, 0x15, 1, 2, 3],
        &RequestPdu::Diagnostics {
            sub_function: 0x15,
            data: &[1, 2, 3],
        },
    );
    check_err(&[0x08, 0, 1, 0, 1], &["0x0000 or 0xFF00"]);
    check_err(&[0x08, 0, 0x0B, 0, 1], &["0x0001", "must be 0x0000"]);
    check_err(&[0x08, 0, 0x0B], &["must be 4"]);
    check_err(&[0x08, 0], &["sub-function", "truncated"]);
}

#[test]
fn file_record_byte_counts() {
    let pdu = [0x14, 0x0E, 6, 0, 4, 0, 1, 0, 2, 6, 0, 3, 0, 9, 0, 2];
    let decoded = RequestPdu::decode(&pdu).unwrap();
    check(&pdu, &decoded);
    check_err(
        &[0x14, 0x06, 6, 0, 4, 0, 1, 0],
        &["byte count is 6", "7..=245"],
    );
    check_err(&[0x14, 0x07, 6, 0, 4, 0, 1, 0], &["byte count"]);
    // A read whose response could not fit a PDU: two sub-requests of 124 registers.
    check_err(
        &[0x14, 0x0E, 6, 0, 1, 0, 0, 0, 124, 6, 0, 2, 0, 0, 0, 124],
        &["response length", "502", "0..=253"],
    );
    let write = [
        0x15, 0x0D, 6, 0, 4, 0, 7, 0, 3, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D,
    ];
    check(&write, &RequestPdu::decode(&write).unwrap());
    check_err(
        &[0x15, 0x08, 6, 0, 4, 0, 7, 0, 1, 0],
        &["request data length is 8", "9..=251"],
    );
}

#[test]
fn encapsulated_interface_transport() {
    check(
        &[0x2B, 0x0E, 0x01, 0x00],
        &RequestPdu::ReadDeviceIdentification {
            code: ReadDeviceIdCode::Basic,
            object_id: 0,
        },
    );
    check(
        &[0x2B, 0x0D, 1, 2, 3],
        &RequestPdu::CanopenGeneralReference { data: &[1, 2, 3] },
    );
    check_err(
        &[0x2B, 0x0E, 0x05, 0x00],
        &["read device id code", "1, 2, 3 or 4"],
    );
    check_err(&[0x2B, 0x0E, 0x01], &["must be 3"]);
    check_err(&[0x2B, 0x0F], &["MEI type 15 is reserved"]);
    check_err(&[0x2B], &["MEI type", "truncated"]);
}

#[test]
fn unknown_codes_are_carried() {
    let umas = FunctionCode::new(90).unwrap();
    check(
        &[0x5A, 0x00, 0x02],
        &RequestPdu::Other {
            function: umas,
            data: &[0x00, 0x02],
        },
    );
    check(
        &[0x41],
        &RequestPdu::Other {
            function: FunctionCode::new(65).unwrap(),
            data: &[],
        },
    );
    check_err(&[0x00], &["function code 0"]);
    check_err(&[0x83, 0x02], &["function code 131"]);
    check_err(&[], &["empty"]);
    check_err(&[0x5A; 254], &["254 bytes", "253"]);
}

#[test]
fn access_per_function() {
    let decode = |pdu: &'static [u8]| RequestPdu::decode(pdu).unwrap().access();
    let span = |table, start, count| Span {
        table,
        range: range(start, count),
    };
    assert_eq!(
        decode(&[0x01, 0, 5, 0, 3]),
        Access::Read(span(Table::Coils, 5, 3))
    );
    assert_eq!(
        decode(&[0x02, 0, 5, 0, 3]),
        Access::Read(span(Table::DiscreteInputs, 5, 3))
    );
    assert_eq!(
        decode(&[0x04, 0, 5, 0, 3]),
        Access::Read(span(Table::InputRegisters, 5, 3))
    );
    assert_eq!(
        decode(&[0x05, 0, 9, 0, 0]),
        Access::Write(span(Table::Coils, 9, 1))
    );
    assert_eq!(
        decode(&[0x16, 0, 4, 0, 0xF2, 0, 0x25]),
        Access::Write(span(Table::HoldingRegisters, 4, 1))
    );
    assert_eq!(
        decode(&[0x17, 0, 3, 0, 6, 0, 0x0E, 0, 1, 2, 0, 0xFF]),
        Access::ReadWrite {
            read: span(Table::HoldingRegisters, 3, 6),
            write: span(Table::HoldingRegisters, 0x0E, 1),
        }
    );
    assert_eq!(
        decode(&[0x18, 0x04, 0xDE]),
        Access::Read(span(Table::HoldingRegisters, 0x04DE, 32))
    );
    assert_eq!(
        decode(&[0x18, 0xFF, 0xF0]),
        Access::Read(span(Table::HoldingRegisters, 0xFFF0, 16))
    );
    assert_eq!(decode(&[0x08, 0, 0, 1, 2]), Access::None);
    assert_eq!(decode(&[0x2B, 0x0E, 1, 0]), Access::None);
    assert_eq!(decode(&[0x5A, 0]), Access::Unmodelled);
    assert_eq!(decode(&[0x14, 7, 6, 0, 1, 0, 0, 0, 1]), Access::Unmodelled);
}

#[test]
fn encode_rejects_invalid_values() {
    let mut out = Vec::new();
    let too_many = RequestPdu::ReadHoldingRegisters(range(0, 126));
    assert!(matches!(
        too_many.encode(&mut out),
        Err(EncodeError::Invalid(PduError::OutOfRange { .. }))
    ));
    let whole = RequestPdu::ReadCoils(AddressRange::all());
    assert!(whole.encode(&mut out).is_err());
    let mismatched = RequestPdu::WriteMultipleRegisters {
        range: range(0, 3),
        values: Registers::new(&[0, 1]).unwrap(),
    };
    assert!(matches!(
        mismatched.encode(&mut out),
        Err(EncodeError::Invalid(PduError::ByteCount { .. }))
    ));
    let disguised = RequestPdu::Other {
        function: FunctionCode::READ_COILS,
        data: &[0, 0, 0, 1],
    };
    assert_eq!(
        disguised.encode(&mut out),
        Err(EncodeError::OtherWithKnownFunction {
            function: FunctionCode::READ_COILS
        })
    );
    let huge = RequestPdu::Other {
        function: FunctionCode::new(90).unwrap(),
        data: &[0; 300],
    };
    assert_eq!(
        huge.encode(&mut out),
        Err(EncodeError::Invalid(PduError::TooLong {
            actual: 301,
            max: 253
        }))
    );
    assert!(out.is_empty(), "nothing is written on error");
    let mut small = [0; 3];
    assert_eq!(
        RequestPdu::ReadCoils(range(0, 1)).encode_to_slice(&mut small),
        Err(EncodeError::BufferTooSmall {
            needed: 5,
            available: 3
        })
    );
}

#[test]
fn request_adu_encodes_header() {
    let request = Request::new(
        0x0102,
        0x11,
        RequestPdu::ReadHoldingRegisters(range(0x6B, 3)),
    );
    let mut out = Vec::new();
    assert_eq!(request.encode(&mut out), Ok(12));
    assert_eq!(out, [0x01, 0x02, 0, 0, 0, 6, 0x11, 0x03, 0, 0x6B, 0, 3]);
    assert_eq!(crate::decode_request(&out), Ok(request));
}
