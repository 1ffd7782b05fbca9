use super::*;
use crate::{decode_request, decode_response};

/// Frames `pdu` as an ADU with transaction id 1 and unit id 1.
fn adu(pdu: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 1, 0, 0, 0, u8::try_from(pdu.len() + 1).unwrap(), 1];
    out.extend(pdu);
    out
}

fn check(request: &[u8], response: &[u8], expected: Result<(), &str>) {
    let request_adu = adu(request);
    let response_adu = adu(response);
    let request = decode_request(&request_adu).unwrap();
    let response = decode_response(&response_adu).unwrap();
    let got = validate_response(&request, &response).map_err(|error| error.to_string());
    // A kept request checks a response the same way (it leaves transaction ids to its
    // caller), from its own copy of the bytes.
    if request.transaction_id() == response.transaction_id() {
        let kept = crate::PendingRequest::new(&request).unwrap();
        assert_eq!(kept.as_bytes(), request_adu.as_slice());
        assert_eq!(
            kept.check(&response).map_err(|error| error.to_string()),
            got,
            "{request:?} / {response:?}"
        );
    }
    match (got, expected) {
        (Ok(()), Ok(())) => {}
        (Err(message), Err(words)) => {
            assert!(message.contains(words), "{message:?} lacks {words:?}");
        }
        (got, expected) => panic!("{request:?} / {response:?}: got {got:?}, expected {expected:?}"),
    }
}

#[test]
fn sizes_follow_the_request() {
    check(&[0x03, 0, 0, 0, 2], &[0x03, 4, 0, 1, 0, 2], Ok(()));
    check(
        &[0x03, 0, 0, 0, 2],
        &[0x03, 2, 0, 1],
        Err("byte count is 2, the request implies 4"),
    );
    check(&[0x01, 0, 0, 0, 9], &[0x01, 2, 0xFF, 0x01], Ok(()));
    check(
        &[0x01, 0, 0, 0, 9],
        &[0x01, 1, 0xFF],
        Err("byte count is 1, the request implies 2"),
    );
    check(
        &[0x17, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, 0],
        &[0x17, 2, 0, 0],
        Ok(()),
    );
    check(
        &[0x17, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, 0],
        &[0x17, 4, 0, 0, 0, 0],
        Err("implies 2"),
    );
}

#[test]
fn echoes_must_echo() {
    check(&[0x05, 0, 1, 0xFF, 0], &[0x05, 0, 1, 0xFF, 0], Ok(()));
    check(
        &[0x05, 0, 1, 0xFF, 0],
        &[0x05, 0, 1, 0, 0],
        Err("output value 0"),
    );
    check(
        &[0x06, 0, 1, 0, 3],
        &[0x06, 0, 2, 0, 3],
        Err("address 2, the request had 1"),
    );
    check(
        &[0x10, 0, 1, 0, 1, 2, 0, 0],
        &[0x10, 0, 1, 0, 2],
        Err("quantity 2"),
    );
    check(&[0x0F, 0, 1, 0, 1, 1, 0], &[0x0F, 0, 1, 0, 1], Ok(()));
    check(
        &[0x16, 0, 4, 0, 0xF2, 0, 0x25],
        &[0x16, 0, 4, 0, 0xF2, 0, 0x24],
        Err("OR mask"),
    );
    check(
        &[0x08, 0, 0, 1, 2],
        &[0x08, 0, 0, 1, 3],
        Err("diagnostics data"),
    );
    check(&[0x08, 0, 0x0B, 0, 0], &[0x08, 0, 0x0B, 1, 3], Ok(()));
    check(
        &[0x08, 0, 0x0B, 0, 0],
        &[0x08, 0, 0x0C, 1, 3],
        Err("sub-function 12"),
    );
}

#[test]
fn function_and_exception() {
    check(&[0x03, 0, 0, 0, 2], &[0x83, 0x02], Ok(()));
    check(&[0x03, 0, 0, 0, 2], &[0x84, 0x02], Err("FC 4"));
    check(
        &[0x03, 0, 0, 0, 2],
        &[0x04, 2, 0, 0],
        Err("does not answer"),
    );
    check(
        &[0x2B, 0x0E, 1, 0],
        &[0x2B, 0x0D, 1],
        Err("does not answer"),
    );
    check(&[0x2B, 0x0E, 1, 0], &[0xAB, 0x01], Ok(()));
    check(&[0x5A, 0, 2], &[0x5A, 0, 0xFE], Ok(()));
}

#[test]
fn file_records_match_sub_requests() {
    let request = [0x14, 0x0E, 6, 0, 4, 0, 1, 0, 2, 6, 0, 3, 0, 9, 0, 2];
    let good = [
        0x14, 0x0C, 5, 6, 0x0D, 0xFE, 0, 0x20, 5, 6, 0x33, 0xCD, 0, 0x40,
    ];
    check(&request, &good, Ok(()));
    check(
        &request,
        &[0x14, 0x06, 5, 6, 0x0D, 0xFE, 0, 0x20],
        Err("number of sub-responses is 1"),
    );
    check(
        &request,
        &[0x14, 0x0A, 5, 6, 0x0D, 0xFE, 0, 0x20, 3, 6, 0x33, 0xCD],
        Err("record data length"),
    );
    let write = [
        0x15, 0x0D, 6, 0, 4, 0, 7, 0, 3, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D,
    ];
    let mut altered = write;
    altered[14] = 0x0E;
    check(&write, &write, Ok(()));
    check(&write, &altered, Err("file records"));
}

#[test]
fn device_identification_individual_access() {
    let request = [0x2B, 0x0E, 4, 0x05];
    check(
        &request,
        &[0x2B, 0x0E, 4, 0x83, 0, 0, 1, 0x05, 1, b'X'],
        Ok(()),
    );
    check(
        &request,
        &[0x2B, 0x0E, 4, 0x83, 0, 0, 1, 0x06, 1, b'X'],
        Err("object id 6"),
    );
    check(
        &request,
        &[0x2B, 0x0E, 1, 0x83, 0, 0, 1, 0x05, 1, b'X'],
        Err("read device id code 1"),
    );
}

#[test]
fn transaction_and_unit() {
    let request_adu = adu(&[0x03, 0, 0, 0, 1]);
    let request = decode_request(&request_adu).unwrap();
    let mut other = adu(&[0x03, 2, 0, 0]);
    other[1] = 2;
    let response = decode_response(&other).unwrap();
    assert_eq!(
        validate_response(&request, &response),
        Err(MismatchError::TransactionId {
            expected: 1,
            actual: 2
        })
    );
    let mut other = adu(&[0x03, 2, 0, 0]);
    other[6] = 9;
    let response = decode_response(&other).unwrap();
    assert_eq!(
        validate_response(&request, &response),
        Err(MismatchError::UnitId {
            expected: 1,
            actual: 9
        })
    );
}
