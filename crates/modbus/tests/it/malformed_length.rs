//! Threat: a length field that lies, to desynchronise the parser from the server or to make
//! it over-read or over-buffer (Suricata's "invalid length" event).

use rampart_modbus::{Adu, Deframer, FrameError, MAX_ADU_LEN, decode_request};

use crate::util::{adu, frame, frame_with_cuts};

#[test]
fn length_field_must_cover_exactly_the_pdu() {
    let mut bytes = adu(1, 1, &[0x03, 0, 0, 0, 1]);
    bytes[5] = 5; // one short: the last byte is left over
    assert_eq!(
        Adu::parse(&bytes),
        Err(FrameError::TrailingBytes {
            actual: 12,
            expected: 11
        })
    );
    bytes[5] = 7; // one long: the ADU is cut short
    assert_eq!(
        Adu::parse(&bytes),
        Err(FrameError::Truncated {
            actual: 12,
            needed: 13
        })
    );
}

#[test]
fn length_field_limits() {
    for (length, ok) in [
        (0_u16, false),
        (1, false),
        (2, true),
        (254, true),
        (255, false),
        (0xFFFF, false),
    ] {
        let [hi, lo] = length.to_be_bytes();
        let header = [0, 1, 0, 0, hi, lo, 1];
        let got = Deframer::new()
            .next_adu(&mut &header[..])
            .map(|adu| adu.is_some());
        if ok {
            assert_eq!(got, Ok(false), "length {length} waits for its PDU");
        } else {
            assert_eq!(
                got,
                Err(FrameError::Length { actual: length }),
                "length {length}"
            );
        }
    }
}

#[test]
fn a_short_length_desynchronises_nothing() {
    // A request whose length field says 2 (unit id + FC 3): the framer cuts there, and the
    // rest of the real request becomes the next header, which is rejected.
    let mut stream = adu(1, 1, &[0x03, 0, 0, 0, 1]);
    stream[5] = 2;
    let framed = frame(&stream);
    assert_eq!(framed.adus.len(), 1);
    assert!(
        decode_request(&framed.adus[0]).is_err(),
        "FC 3 without data is rejected"
    );
    assert_eq!(
        framed.error,
        Some(FrameError::Truncated {
            actual: 4,
            needed: 7
        })
    );
}

#[test]
fn a_long_length_never_buffers_past_one_adu() {
    // A header claiming the maximal PDU followed by a flood: at most one ADU is held.
    let mut stream = vec![0, 1, 0, 0, 0, 254, 1];
    stream.resize(10_000, 0x5A);
    let mut deframer = Deframer::new();
    let mut input = &stream[..100];
    assert_eq!(deframer.next_adu(&mut input), Ok(None));
    assert!(deframer.buffered() < MAX_ADU_LEN);
    let mut input = &stream[100..];
    let first = deframer
        .next_adu(&mut input)
        .unwrap()
        .map(|adu| adu.as_bytes().len());
    assert_eq!(first, Some(MAX_ADU_LEN));
    // The flood's next "header" has protocol id 0x5A5A.
    assert_eq!(
        deframer.next_adu(&mut input),
        Err(FrameError::ProtocolId { actual: 0x5A5A })
    );
}

#[test]
fn the_error_sticks() {
    let stream = [0, 1, 0, 7, 0, 2, 1, 7];
    let framed = frame_with_cuts(&stream, &[3]);
    assert_eq!(framed.error, Some(FrameError::ProtocolId { actual: 7 }));
    let mut deframer = Deframer::new();
    assert!(deframer.next_adu(&mut &stream[..]).is_err());
    let good = adu(2, 1, &[0x07]);
    assert_eq!(
        deframer.next_adu(&mut &good[..]),
        Err(FrameError::ProtocolId { actual: 7 })
    );
}

#[test]
fn error_messages_name_value_and_limit() {
    assert_eq!(
        FrameError::Length { actual: 300 }.to_string(),
        "MBAP length is 300, must be 2..=254 (unit id + PDU of at most 253 bytes)"
    );
    assert_eq!(
        FrameError::ProtocolId { actual: 1 }.to_string(),
        "MBAP protocol id is 0x0001, must be 0x0000 (Modbus)"
    );
}
