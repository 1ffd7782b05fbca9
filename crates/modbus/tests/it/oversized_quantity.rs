//! Threat: quantities and byte counts past the specification's limits, to overflow a
//! server's buffers or to make the gateway's view of a request differ from the server's.

use rampart_modbus::{PduError, RequestPdu, ResponsePdu};

/// `(function code, largest valid quantity)` of each request with a start address and a
/// quantity, and the bytes that follow the quantity for a request of `quantity`.
const LIMITS: [(u8, u16); 6] = [
    (0x01, 2000),
    (0x02, 2000),
    (0x03, 125),
    (0x04, 125),
    (0x0F, 1968),
    (0x10, 123),
];

fn request(code: u8, start: u16, quantity: u16) -> Vec<u8> {
    let mut pdu = vec![code];
    pdu.extend(start.to_be_bytes());
    pdu.extend(quantity.to_be_bytes());
    let values = match code {
        0x0F => usize::from(quantity.div_ceil(8)),
        0x10 => 2 * usize::from(quantity),
        _ => return pdu,
    };
    pdu.push(u8::try_from(values).unwrap_or(0xFF));
    pdu.resize(pdu.len() + values.min(250), 0);
    pdu
}

#[test]
fn boundaries() {
    for (code, max) in LIMITS {
        for quantity in [1, max] {
            assert!(
                RequestPdu::decode(&request(code, 0, quantity)).is_ok(),
                "FC {code} quantity {quantity}"
            );
        }
        for quantity in [0, max + 1, u16::MAX] {
            let error = RequestPdu::decode(&request(code, 0, quantity)).unwrap_err();
            assert!(
                matches!(error, PduError::OutOfRange { actual, max: limit, .. } if actual == u32::from(quantity) && limit == u32::from(max))
                    || matches!(error, PduError::TooLong { .. }),
                "FC {code} quantity {quantity}: {error}"
            );
        }
    }
}

#[test]
fn address_wraparound() {
    for (code, _) in LIMITS {
        assert!(RequestPdu::decode(&request(code, 0xFFFF, 1)).is_ok());
        let error = RequestPdu::decode(&request(code, 0xFFFF, 2)).unwrap_err();
        assert!(
            matches!(error, PduError::AddressRange { .. }),
            "FC {code}: {error}"
        );
    }
}

#[test]
fn read_write_multiple_limits() {
    let pdu = |read: u16, write: u16| {
        let mut pdu = vec![0x17, 0, 0];
        pdu.extend(read.to_be_bytes());
        pdu.extend([0, 0]);
        pdu.extend(write.to_be_bytes());
        let count = 2 * usize::from(write);
        pdu.push(u8::try_from(count).unwrap_or(0xFF));
        pdu.resize(pdu.len() + count.min(242), 0);
        pdu
    };
    assert!(RequestPdu::decode(&pdu(125, 121)).is_ok());
    assert!(RequestPdu::decode(&pdu(126, 1)).is_err());
    assert!(RequestPdu::decode(&pdu(1, 122)).is_err());
}

#[test]
fn response_byte_counts() {
    let mut registers = vec![0x03, 250];
    registers.resize(252, 0);
    assert!(ResponsePdu::decode(&registers).is_ok());
    registers[1] = 252;
    registers.resize(254, 0);
    assert!(ResponsePdu::decode(&registers).is_err());
    let mut fifo = vec![0x18, 0, 66, 0, 32];
    fifo.resize(69, 0);
    assert!(matches!(
        ResponsePdu::decode(&fifo),
        Err(PduError::OutOfRange {
            field: "FIFO count",
            ..
        })
    ));
}
