//! Threat: pipelined and fragmented ADUs, to slip a frame past a parser that assumes one ADU
//! per TCP segment. The framer's output must not depend on segmentation.

use rampart_modbus::{Adu, FrameError};

use crate::util::{adu, frame, frame_with_cuts};

fn mixed_stream() -> Vec<Vec<u8>> {
    vec![
        adu(1, 1, &[0x03, 0, 0, 0, 125]),
        adu(2, 1, &[0x06, 0, 1, 0, 3]),
        adu(3, 0xFF, &[0x10, 0, 1, 0, 2, 4, 0, 0x0A, 1, 2]),
        adu(4, 1, &[0x5A, 0x00, 0x02]),
        adu(5, 1, &[0x07]),
    ]
}

#[test]
fn every_two_cut_segmentation_gives_the_same_adus() {
    let adus = mixed_stream();
    let stream = adus.concat();
    assert_eq!(frame(&stream).adus, adus);
    for first in 0..=stream.len() {
        for second in first..=stream.len() {
            let framed = frame_with_cuts(&stream, &[first, second]);
            assert_eq!(framed.adus, adus, "cuts at {first}, {second}");
            assert_eq!(framed.error, None);
        }
    }
}

#[test]
fn byte_at_a_time() {
    let adus = mixed_stream();
    let stream = adus.concat();
    let cuts: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(frame_with_cuts(&stream, &cuts).adus, adus);
}

#[test]
fn garbage_after_valid_frames_stops_the_stream_at_the_same_frame() {
    let mut stream = mixed_stream().concat();
    let valid = stream.len();
    stream.extend(b"GET / HTTP/1.1\r\n");
    for cut in 0..stream.len() {
        let framed = frame_with_cuts(&stream, &[cut]);
        assert_eq!(framed.adus.len(), 5, "cut at {cut}");
        assert_eq!(
            framed.error,
            Some(FrameError::ProtocolId {
                actual: u16::from_be_bytes(*b"T ")
            })
        );
    }
    assert_eq!(
        frame(&stream[..valid + 3]).error,
        Some(FrameError::Truncated {
            actual: 3,
            needed: 7
        })
    );
}

#[test]
fn zero_copy_when_a_chunk_holds_whole_adus() {
    let stream = mixed_stream().concat();
    let mut deframer = rampart_modbus::Deframer::new();
    let mut input = &stream[..];
    let range = stream.as_ptr_range();
    while let Some(adu) = deframer.next_adu(&mut input).unwrap() {
        assert!(
            range.contains(&adu.as_bytes().as_ptr()),
            "borrowed from the input"
        );
        assert_eq!(Adu::parse(adu.as_bytes()), Ok(adu));
    }
}
