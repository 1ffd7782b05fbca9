use super::*;
use crate::{AddressRange, decode_request, decode_response};

#[test]
fn a_decoded_request_is_kept_as_received() {
    let adu = [0, 7, 0, 0, 0, 6, 1, 0x03, 0, 10, 0, 2];
    let request = decode_request(&adu).unwrap();
    assert_eq!(request.received(), Some(&adu[..]));
    let kept = PendingRequest::new(&request).unwrap();
    assert_eq!(kept.as_bytes(), &adu);
    assert_eq!(kept.transaction_id(), 7);
    assert_eq!(kept.unit_id(), 1);
    assert_eq!(kept.function_code(), FunctionCode::READ_HOLDING_REGISTERS);
    let answer = decode_response(&[0, 9, 0, 0, 0, 7, 1, 0x03, 4, 0, 1, 0, 2]).unwrap();
    assert_eq!(kept.check(&answer), Ok(()));
    let other_unit = decode_response(&[0, 9, 0, 0, 0, 7, 2, 0x03, 4, 0, 1, 0, 2]).unwrap();
    assert_eq!(
        kept.check(&other_unit),
        Err(MismatchError::UnitId {
            expected: 1,
            actual: 2
        })
    );
    let mut out = Vec::new();
    kept.exception(ExceptionCode::GATEWAY_TARGET_FAILED_TO_RESPOND)
        .encode(&mut out)
        .unwrap();
    assert_eq!(out, [0, 7, 0, 0, 0, 3, 1, 0x83, 0x0B]);
}

#[test]
fn a_built_request_is_kept_encoded() {
    let range = AddressRange::new(10, 2).unwrap();
    let request = Request::new(7, 1, RequestPdu::ReadHoldingRegisters(range));
    assert_eq!(request.received(), None);
    let kept = PendingRequest::new(&request).unwrap();
    assert_eq!(kept.as_bytes(), &[0, 7, 0, 0, 0, 6, 1, 0x03, 0, 10, 0, 2]);
    // Equality looks at the decoded fields only.
    assert_eq!(decode_request(kept.as_bytes()).unwrap(), request);
}

#[test]
fn the_data_a_check_reads_is_sliced_from_the_kept_bytes() {
    for pdu in [
        // FC 8, return query data: echoed.
        &[0x08, 0, 0, 0xAB, 0xCD][..],
        // FC 20: two sub-requests.
        &[0x14, 14, 6, 0, 1, 0, 0, 0, 2, 6, 0, 1, 0, 3, 0, 1][..],
        // FC 21: one record of one register.
        &[0x15, 9, 6, 0, 1, 0, 0, 0, 1, 0x12, 0x34][..],
    ] {
        let mut adu = vec![0, 1, 0, 0, 0, u8::try_from(pdu.len() + 1).unwrap(), 1];
        adu.extend_from_slice(pdu);
        let request = decode_request(&adu).unwrap();
        let kept = PendingRequest::new(&request).unwrap();
        assert_eq!(kept.pdu(), *request.pdu(), "{pdu:?}");
    }
}
