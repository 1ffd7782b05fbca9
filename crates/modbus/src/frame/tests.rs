use super::*;
use crate::FrameError;

fn header_bytes(protocol_id: u16, length: u16) -> Vec<u8> {
    let mut bytes = vec![0x12, 0x34];
    bytes.extend(protocol_id.to_be_bytes());
    bytes.extend(length.to_be_bytes());
    bytes.push(0xFF);
    bytes
}

#[test]
fn header_fields() {
    let header = Header::parse(&header_bytes(0, 6)).unwrap();
    assert_eq!(header.transaction_id(), 0x1234);
    assert_eq!(header.unit_id(), 0xFF);
    assert_eq!(
        (header.length(), header.pdu_len(), header.adu_len()),
        (6, 5, 12)
    );
    assert_eq!(header.to_bytes().to_vec(), header_bytes(0, 6));
}

#[test]
fn header_rejects_framing_violations() {
    let cases = [
        (header_bytes(1, 6), FrameError::ProtocolId { actual: 1 }),
        (
            header_bytes(0xFFFF, 6),
            FrameError::ProtocolId { actual: 0xFFFF },
        ),
        (header_bytes(0, 0), FrameError::Length { actual: 0 }),
        (header_bytes(0, 1), FrameError::Length { actual: 1 }),
        (header_bytes(0, 255), FrameError::Length { actual: 255 }),
        (
            header_bytes(0, 0xFFFF),
            FrameError::Length { actual: 0xFFFF },
        ),
        (
            vec![0; 6],
            FrameError::Truncated {
                actual: 6,
                needed: 7,
            },
        ),
    ];
    for (bytes, error) in cases {
        assert_eq!(Header::parse(&bytes), Err(error), "{bytes:02x?}");
    }
    assert!(Header::parse(&header_bytes(0, 2)).is_ok());
    assert!(Header::parse(&header_bytes(0, 254)).is_ok());
}

#[test]
fn header_new_bounds_the_pdu() {
    assert_eq!(Header::new(1, 2, 0), Err(FrameError::Length { actual: 1 }));
    assert_eq!(
        Header::new(1, 2, 254),
        Err(FrameError::Length { actual: 255 })
    );
    assert_eq!(Header::new(1, 2, 253).map(Header::adu_len), Ok(MAX_ADU_LEN));
}

#[test]
fn adu_length_must_match_exactly() {
    let mut bytes = header_bytes(0, 3);
    bytes.extend([0x07, 0x00]);
    assert_eq!(Adu::parse(&bytes).map(Adu::pdu), Ok(&[0x07, 0x00][..]));
    assert_eq!(
        Adu::parse(&bytes[..8]),
        Err(FrameError::Truncated {
            actual: 8,
            needed: 9
        })
    );
    bytes.push(0);
    assert_eq!(
        Adu::parse(&bytes),
        Err(FrameError::TrailingBytes {
            actual: 10,
            expected: 9
        })
    );
}

#[test]
fn adu_buf_keeps_the_adu() {
    let mut bytes = header_bytes(0, 2);
    bytes.push(0x07);
    let adu = Adu::parse(&bytes).unwrap();
    let owned = AduBuf::new(adu);
    drop(bytes);
    assert_eq!(owned.adu().pdu(), [0x07]);
    assert_eq!(owned.adu().header().transaction_id(), 0x1234);
}

#[test]
fn write_adu_checks_room() {
    let mut small = [0; 8];
    assert_eq!(
        write_adu(1, 1, &[3, 0, 0, 0, 1], &mut small),
        Err(crate::EncodeError::BufferTooSmall {
            needed: 12,
            available: 8
        })
    );
}
