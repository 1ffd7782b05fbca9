//! Threat: a response that does not answer the request (a compromised or spoofed server
//! feeding the client values it never asked for; Suricata's "unsolicited response" and
//! "value mismatch"). `validate_response` must catch each inconsistency.

use rampart_modbus::{MismatchError, decode_request, decode_response, validate_response};

use crate::util::adu;

fn check(request: (u16, u8, &[u8]), response: (u16, u8, &[u8])) -> Result<(), MismatchError> {
    let request = adu(request.0, request.1, request.2);
    let response = adu(response.0, response.1, response.2);
    validate_response(
        &decode_request(&request).unwrap(),
        &decode_response(&response).unwrap(),
    )
}

#[test]
fn transaction_unit_and_function() {
    let read = [0x03, 0, 0, 0, 1];
    assert_eq!(check((7, 1, &read), (7, 1, &[0x03, 2, 0, 0])), Ok(()));
    assert_eq!(
        check((7, 1, &read), (8, 1, &[0x03, 2, 0, 0])),
        Err(MismatchError::TransactionId {
            expected: 7,
            actual: 8
        })
    );
    assert_eq!(
        check((7, 1, &read), (7, 2, &[0x03, 2, 0, 0])),
        Err(MismatchError::UnitId {
            expected: 1,
            actual: 2
        })
    );
    assert!(matches!(
        check((7, 1, &read), (7, 1, &[0x04, 2, 0, 0])),
        Err(MismatchError::Function { .. })
    ));
    assert!(matches!(
        check((7, 1, &read), (7, 1, &[0x86, 1])),
        Err(MismatchError::Function { .. })
    ));
}

#[test]
fn more_data_than_asked() {
    let read = [0x03, 0, 0, 0, 1];
    assert!(matches!(
        check((1, 1, &read), (1, 1, &[0x03, 4, 0, 0, 0, 0])),
        Err(MismatchError::Size {
            expected: 2,
            actual: 4,
            ..
        })
    ));
    let coils = [0x01, 0, 0, 0, 8];
    assert!(matches!(
        check((1, 1, &coils), (1, 1, &[0x01, 2, 0, 0])),
        Err(MismatchError::Size { .. })
    ));
}

#[test]
fn write_confirmation_for_another_value() {
    assert!(matches!(
        check((1, 1, &[0x06, 0, 1, 0, 3]), (1, 1, &[0x06, 0, 1, 0, 4])),
        Err(MismatchError::Echo {
            field: "register value",
            expected: 3,
            actual: 4,
            ..
        })
    ));
    assert!(matches!(
        check(
            (1, 1, &[0x0F, 0, 1, 0, 9, 2, 0, 0]),
            (1, 1, &[0x0F, 0, 1, 0, 8])
        ),
        Err(MismatchError::Echo {
            field: "quantity",
            ..
        })
    ));
}
