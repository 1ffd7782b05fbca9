use super::*;

const READ: [u8; 12] = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];

fn drain(deframer: &mut Deframer, mut input: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
    let mut out = Vec::new();
    while let Some(adu) = deframer.next_adu(&mut input)? {
        out.push(adu.as_bytes().to_vec());
    }
    assert!(input.is_empty());
    Ok(out)
}

#[test]
fn whole_adus_are_borrowed_from_the_input() {
    let mut deframer = Deframer::new();
    let mut input = &READ[..];
    let adu = deframer.next_adu(&mut input).unwrap().unwrap();
    assert!(std::ptr::eq(adu.as_bytes().as_ptr(), READ.as_ptr()));
    assert!(input.is_empty());
}

#[test]
fn byte_by_byte() {
    let mut deframer = Deframer::new();
    for (index, byte) in READ.iter().enumerate() {
        let got = drain(&mut deframer, std::slice::from_ref(byte)).unwrap();
        if index + 1 < READ.len() {
            assert!(got.is_empty());
            assert_eq!(deframer.buffered(), index + 1);
        } else {
            assert_eq!(got, [READ.to_vec()]);
        }
    }
    assert_eq!(deframer.buffered(), 0);
    assert_eq!(deframer.finish(), Ok(()));
}

#[test]
fn pipelined_and_split() {
    let mut stream = Vec::new();
    for _ in 0..3 {
        stream.extend(READ);
    }
    let mut deframer = Deframer::new();
    let mut got = drain(&mut deframer, &stream[..17]).unwrap();
    got.extend(drain(&mut deframer, &stream[17..]).unwrap());
    assert_eq!(got, vec![READ.to_vec(); 3]);
}

#[test]
fn bad_header_fails_for_good_without_waiting_for_the_body() {
    let mut deframer = Deframer::new();
    let bad = [0, 1, 0, 1, 0, 6, 1];
    assert_eq!(drain(&mut deframer, &bad[..3]), Ok(vec![]));
    assert_eq!(
        drain(&mut deframer, &bad[3..]),
        Err(FrameError::ProtocolId { actual: 1 })
    );
    assert_eq!(
        drain(&mut deframer, &READ),
        Err(FrameError::ProtocolId { actual: 1 })
    );
    assert_eq!(deframer.finish(), Err(FrameError::ProtocolId { actual: 1 }));
}

#[test]
fn bad_length_in_a_whole_chunk() {
    let mut deframer = Deframer::new();
    let mut stream = READ.to_vec();
    stream.extend([0, 2, 0, 0, 0x01, 0x00, 1, 3]);
    let mut input = &stream[..];
    assert!(deframer.next_adu(&mut input).unwrap().is_some());
    assert_eq!(
        deframer.next_adu(&mut input),
        Err(FrameError::Length { actual: 256 })
    );
}

#[test]
fn finish_reports_a_truncated_stream() {
    let mut deframer = Deframer::new();
    assert_eq!(drain(&mut deframer, &READ[..3]), Ok(vec![]));
    assert_eq!(
        deframer.finish(),
        Err(FrameError::Truncated {
            actual: 3,
            needed: 7
        })
    );
    assert_eq!(drain(&mut deframer, &READ[3..9]), Ok(vec![]));
    assert_eq!(
        deframer.finish(),
        Err(FrameError::Truncated {
            actual: 9,
            needed: 12
        })
    );
}

#[test]
fn largest_adu_fits_the_buffer() {
    let mut adu = vec![0, 9, 0, 0, 0, 254, 1, 0x5A];
    adu.resize(MAX_ADU_LEN, 0xAA);
    let mut deframer = Deframer::new();
    let got = drain(&mut deframer, &adu[..259]).unwrap();
    assert!(got.is_empty());
    assert_eq!(deframer.buffered(), 259);
    assert_eq!(drain(&mut deframer, &adu[259..]).unwrap(), [adu]);
}
