use super::*;

#[test]
fn function_code_rejects_zero_and_exception_range() {
    for code in [0_u8, 0x80, 0x81, 0xFF] {
        assert_eq!(
            FunctionCode::new(code),
            Err(PduError::InvalidFunctionCode { actual: code })
        );
    }
    for code in [1_u8, 43, 90, 127] {
        assert_eq!(FunctionCode::new(code).map(FunctionCode::value), Ok(code));
    }
}

#[test]
fn function_code_display_names_known_codes() {
    assert_eq!(
        FunctionCode::READ_HOLDING_REGISTERS.to_string(),
        "FC 3 (read holding registers)"
    );
    assert_eq!(
        FunctionCode::new(90).map(|code| code.to_string()),
        Ok("FC 90".to_owned())
    );
    assert_eq!(FunctionCode::READ_COILS.exception_value(), 0x81);
}

#[test]
fn user_defined_ranges() {
    let user: Vec<u8> = (1..=127)
        .filter(|&code| FunctionCode(code).is_user_defined())
        .collect();
    assert_eq!(
        user,
        [
            65, 66, 67, 68, 69, 70, 71, 72, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110
        ]
    );
}

#[test]
fn exception_code_display() {
    assert_eq!(
        ExceptionCode::ILLEGAL_FUNCTION.to_string(),
        "0x01 (illegal function)"
    );
    assert_eq!(ExceptionCode::new(0x42).to_string(), "0x42");
}

#[test]
fn address_range_edges() {
    assert_eq!(AddressRange::new(5, 0), Err(RangeError::Empty { start: 5 }));
    assert_eq!(
        AddressRange::new(0xFFFF, 2),
        Err(RangeError::PastEnd {
            start: 0xFFFF,
            count: 2
        })
    );
    let top = AddressRange::new(0xFFFF, 1).unwrap();
    assert_eq!((top.start(), top.last(), top.count()), (0xFFFF, 0xFFFF, 1));
    let all = AddressRange::inclusive(0, 0xFFFF).unwrap();
    assert_eq!(all, AddressRange::all());
    assert_eq!(all.count(), 65_536);
    assert_eq!(all.quantity(), u16::MAX);
    assert_eq!(
        AddressRange::inclusive(3, 2),
        Err(RangeError::Reversed { first: 3, last: 2 })
    );
}

#[test]
fn address_range_relations() {
    let outer = AddressRange::inclusive(10, 20).unwrap();
    let inner = AddressRange::new(12, 3).unwrap();
    let straddling = AddressRange::inclusive(18, 25).unwrap();
    let apart = AddressRange::inclusive(21, 30).unwrap();
    assert!(inner.is_within(outer));
    assert!(!straddling.is_within(outer));
    assert!(straddling.overlaps(outer) && outer.overlaps(straddling));
    assert!(!apart.overlaps(outer));
    assert!(outer.contains(10) && outer.contains(20) && !outer.contains(21));
    assert_eq!(outer.to_string(), "10..=20");
}

#[test]
fn range_error_message_names_the_end() {
    let message = AddressRange::new(65_530, 10).unwrap_err().to_string();
    assert!(
        message.contains("65539") && message.contains("65535"),
        "{message}"
    );
}

#[test]
fn bits_unpack_lsb_first() {
    // The specification's FC 1 example: 0xCD 0x6B 0x05 for coils 20..=38.
    let bits = Bits::new(&[0xCD, 0x6B, 0x05], 19).unwrap();
    let values: Vec<bool> = bits.iter().collect();
    assert_eq!(values.len(), 19);
    assert_eq!(
        &values[..8],
        &[true, false, true, true, false, false, true, true]
    );
    assert_eq!(bits.get(18), Some(true));
    assert_eq!(bits.get(19), None);
    assert_eq!(
        Bits::new(&[0xCD], 9),
        Err(PduError::BitsLength { bytes: 1, bits: 9 })
    );
    assert_eq!(Bits::packed(&[0, 0]).map(Bits::len), Ok(16));
}

#[test]
fn registers_are_big_endian() {
    let registers = Registers::new(&[0x02, 0x2B, 0x00, 0x64]).unwrap();
    assert_eq!(registers.iter().collect::<Vec<_>>(), [555, 100]);
    assert_eq!(registers.get(1), Some(100));
    assert_eq!(registers.get(2), None);
    assert_eq!(
        Registers::new(&[1, 2, 3]),
        Err(PduError::OddRegisterBytes { actual: 3 })
    );
}

#[test]
fn access_accessors() {
    let span = Span {
        table: Table::HoldingRegisters,
        range: AddressRange::from_single(7),
    };
    let both = Access::ReadWrite {
        read: span,
        write: span,
    };
    assert_eq!((both.read(), both.write()), (Some(span), Some(span)));
    assert_eq!(
        (Access::Unmodelled.read(), Access::None.write()),
        (None, None)
    );
    assert_eq!(span.to_string(), "holding registers 7..=7");
}

#[test]
fn read_device_id_code() {
    assert_eq!(ReadDeviceIdCode::new(4), Ok(ReadDeviceIdCode::Individual));
    assert!(matches!(
        ReadDeviceIdCode::new(5),
        Err(PduError::InvalidValue { actual: 5, .. })
    ));
}
