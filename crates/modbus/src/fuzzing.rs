//! Entry points for the fuzz targets in `fuzz/`; not part of the API.
//!
//! Each function panics when it finds a bug: that is how a fuzzer learns of one.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::{Adu, AduBuf, Deframer, RequestPdu, ResponsePdu};

/// Decodes `data` as a request PDU and as a response PDU; whatever decodes must encode back
/// to the same bytes, and a request must answer to its own exception response.
pub fn pdu(data: &[u8]) {
    if let Ok(request) = RequestPdu::decode(data) {
        let mut out = Vec::new();
        request.encode(&mut out).expect("a decoded request encodes");
        assert_eq!(out, data, "request round trip");
        let _ = request.access();
    }
    if let Ok(response) = ResponsePdu::decode(data) {
        let mut out = Vec::new();
        response
            .encode(&mut out)
            .expect("a decoded response encodes");
        assert_eq!(out, data, "response round trip");
    }
}

/// Frames `data` as one stream, then again in chunks whose sizes the first bytes choose; both
/// must give the same ADUs and the same error, and the deframer never buffers more than one
/// ADU. Every ADU is decoded both ways.
pub fn framer(data: &[u8]) {
    let (sizes, stream) = data.split_at(data.len().min(8));
    let whole = frame_all(stream, &[stream.len().max(1)]);
    let sizes: Vec<usize> = sizes.iter().map(|&size| usize::from(size) + 1).collect();
    let chunked = frame_all(stream, if sizes.is_empty() { &[1] } else { &sizes });
    assert_eq!(whole, chunked, "framing depends on chunking");
}

/// The ADUs and final error of framing `stream` in chunks of the given sizes (cycled).
fn frame_all(stream: &[u8], sizes: &[usize]) -> (Vec<AduBuf>, Option<crate::FrameError>) {
    let mut deframer = Deframer::new();
    let mut adus = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (mut chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        loop {
            match deframer.next_adu(&mut chunk) {
                Ok(Some(adu)) => {
                    check_adu(adu);
                    adus.push(AduBuf::new(adu));
                }
                Ok(None) => {
                    assert!(chunk.is_empty());
                    break;
                }
                Err(error) => return (adus, Some(error)),
            }
            assert!(deframer.buffered() < crate::MAX_ADU_LEN);
        }
    }
    (adus, deframer.finish().err())
}

fn check_adu(adu: Adu<'_>) {
    assert_eq!(Adu::parse(adu.as_bytes()), Ok(adu));
    if let Ok(request) = adu.decode_request() {
        let _ = request.access();
        let exception =
            crate::Response::exception(&request, crate::ExceptionCode::ILLEGAL_FUNCTION);
        assert_eq!(crate::validate_response(&request, &exception), Ok(()));
    }
    if let Ok(response) = adu.decode_response() {
        let _ = response.function_code();
    }
}
