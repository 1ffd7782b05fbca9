//! Threat: vendor and undocumented function codes (Schneider UMAS on FC 90, user-defined
//! 65..=72 and 100..=110) that reprogram a PLC. They must decode as something a
//! default-deny policy can name and refuse.

use rampart_modbus::{Access, EncodeError, FunctionCode, RequestPdu, ResponsePdu};

#[test]
fn every_code_without_its_own_variant_is_other_and_unmodelled() {
    let decoded = [
        1_u8, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43,
    ];
    for code in (1..=127_u8).filter(|code| !decoded.contains(code)) {
        let pdu = [code, 0xDE, 0xAD];
        let request = RequestPdu::decode(&pdu).unwrap();
        assert!(
            matches!(request, RequestPdu::Other { function, data: [0xDE, 0xAD] } if function.value() == code)
        );
        assert_eq!(request.access(), Access::Unmodelled);
        assert!(matches!(
            ResponsePdu::decode(&pdu),
            Ok(ResponsePdu::Other { .. })
        ));
    }
}

#[test]
fn umas_session_request() {
    // UMAS "init comm" (0x01) as captured from a Modicon.
    let request = RequestPdu::decode(&[0x5A, 0x00, 0x01, 0x00]).unwrap();
    let umas = FunctionCode::new(90).unwrap();
    assert_eq!(request.function_code(), umas);
    assert!(!umas.is_user_defined());
    assert!(FunctionCode::new(100).unwrap().is_user_defined());
}

#[test]
fn other_cannot_disguise_a_decoded_function() {
    let mut out = Vec::new();
    let disguised = RequestPdu::Other {
        function: FunctionCode::WRITE_MULTIPLE_REGISTERS,
        data: &[],
    };
    assert!(matches!(
        disguised.encode(&mut out),
        Err(EncodeError::OtherWithKnownFunction { .. })
    ));
}
