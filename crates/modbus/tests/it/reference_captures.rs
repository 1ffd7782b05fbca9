//! Real captures (`testdata/pcaps` at the repository root): the framer, both decoders and response validation over
//! public Modbus/TCP traffic, benign and hostile. Each expectation was checked against the
//! capture's description in `shared/reference/pcaps/README.md`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rampart_modbus::{Adu, AduBuf, FrameError, validate_response};

use crate::util::{frame, tcp_streams};

/// What the codec makes of one capture.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    requests: usize,
    responses: usize,
    /// Function codes of the requests that decoded.
    functions: BTreeSet<u8>,
    /// Messages of PDU errors, with their counts.
    pdu_errors: BTreeMap<String, usize>,
    /// Errors that ended a stream.
    frame_errors: Vec<FrameError>,
    /// Responses that answer their request (paired in order by transaction id).
    matched: usize,
    /// Responses that do not.
    mismatched: Vec<String>,
}

fn summarize(name: &str) -> Summary {
    let mut summary = Summary::default();
    let streams = tcp_streams(name);
    // Per connection, the requests in order (`None` for one that did not decode); a response
    // answers the oldest request with its transaction id. Captures reuse transaction ids.
    let mut pending: BTreeMap<_, VecDeque<(u16, Option<AduBuf>)>> = BTreeMap::new();
    for (key, stream) in streams.iter().filter(|(key, _)| key.to_server) {
        let framed = frame(stream);
        summary.frame_errors.extend(framed.error);
        let queue = pending.entry((key.client, key.server)).or_default();
        for bytes in &framed.adus {
            let adu = Adu::parse(bytes).expect("framed ADUs parse");
            let transaction_id = adu.header().transaction_id();
            match adu.decode_request() {
                Ok(request) => {
                    summary.requests += 1;
                    summary.functions.insert(request.function_code().value());
                    queue.push_back((transaction_id, Some(AduBuf::new(adu))));
                }
                Err(error) => {
                    *summary.pdu_errors.entry(error.to_string()).or_default() += 1;
                    queue.push_back((transaction_id, None));
                }
            }
        }
    }
    for (key, stream) in streams.iter().filter(|(key, _)| !key.to_server) {
        let framed = frame(stream);
        summary.frame_errors.extend(framed.error);
        let queue = pending.entry((key.client, key.server)).or_default();
        for bytes in &framed.adus {
            let adu = Adu::parse(bytes).expect("framed ADUs parse");
            let transaction_id = adu.header().transaction_id();
            let request = queue
                .iter()
                .position(|(id, _)| *id == transaction_id)
                .and_then(|index| queue.remove(index))
                .and_then(|(_, request)| request);
            match adu.decode_response() {
                Ok(response) => {
                    summary.responses += 1;
                    let Some(request) = request else { continue };
                    let request = request.adu().decode_request().expect("decoded before");
                    match validate_response(&request, &response) {
                        Ok(()) => summary.matched += 1,
                        Err(error) => summary.mismatched.push(error.to_string()),
                    }
                }
                Err(error) => *summary.pdu_errors.entry(error.to_string()).or_default() += 1,
            }
        }
    }
    summary
}

fn errors(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|&(message, count)| (message.to_owned(), count))
        .collect()
}

#[test]
fn suricata_verify_capture() {
    let summary = summarize("suricata-verify_modbus.pcap");
    assert_eq!(
        summary.functions,
        BTreeSet::from([1, 3, 5, 6, 8, 17]),
        "{summary:#?}"
    );
    assert_eq!(
        (summary.requests, summary.responses, summary.matched),
        (16, 16, 16),
        "{summary:#?}"
    );
    assert!(summary.mismatched.is_empty(), "{summary:#?}");
    // The two malformed ADUs: FC 43/14 with a trailing byte, and a stream whose first
    // header has a length of 0x8804. Exception replies carry a trailing byte too.
    assert_eq!(
        summary.pdu_errors,
        errors(&[
            ("FC 1 (read coils): data is 2 bytes, must be 1", 5),
            (
                "FC 43 (encapsulated interface transport): data is 4 bytes, must be 3",
                2
            ),
        ])
    );
    assert_eq!(
        summary.frame_errors,
        [FrameError::Length { actual: 0x8804 }]
    );
}

#[test]
fn function_code_sweep() {
    // One request for every function code 0..=127.
    let summary = summarize("digitalbond_modbus_test_data_part2.pcap");
    assert_eq!(summary.frame_errors, []);
    assert!(summary.mismatched.is_empty(), "{summary:#?}");
    // 141 requests, 17 of them malformed (zero quantities, spare bytes, FC 0); 140 responses,
    // one of them the exception form of FC 0.
    assert_eq!(
        (summary.requests, summary.responses),
        (124, 139),
        "{summary:#?}"
    );
    assert_eq!(summary.pdu_errors.values().sum::<usize>(), 17 + 1);
    assert_eq!(
        summary.pdu_errors["function code 0 is not valid here (must be 1..=127)"],
        2
    );
    assert!(
        summary
            .pdu_errors
            .contains_key("FC 43: MEI type 0 is reserved (must be 13 or 14)")
    );
    // Every assigned-or-not code from 25 to 127 other than 43 decodes, as `Other`.
    for code in (25..=127).filter(|&code| code != 43) {
        assert!(
            summary.functions.contains(&code),
            "FC {code} missing: {summary:#?}"
        );
    }
}

#[test]
fn umas_vendor_protocol() {
    let summary = summarize("iti_modicon_test_umas_fc90.pcap");
    assert_eq!(summary.functions, BTreeSet::from([90]));
    assert_eq!(
        (summary.requests, summary.responses, summary.matched),
        (7, 7, 7)
    );
    // The capture's two frames with a length field of 255 (a 254-byte PDU) end both
    // directions: a stream cannot be trusted past a frame the specification forbids.
    assert_eq!(
        summary.frame_errors,
        [FrameError::Length { actual: 255 }; 2]
    );
}

#[test]
fn non_modbus_on_port_502_is_refused() {
    let summary = summarize("zeek_modbus-and-non-modbus-p502.pcap");
    assert_eq!((summary.requests, summary.matched), (6, 6));
    let protocol_ids: BTreeSet<u16> = summary
        .frame_errors
        .iter()
        .map(|error| match error {
            FrameError::ProtocolId { actual } => *actual,
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(protocol_ids.len(), 6, "{summary:#?}");
}

#[test]
fn read_write_length_mismatch() {
    // 4SICS: an FC 23 request of 253 bytes whose quantities are nonsense.
    let summary = summarize("zeek_4SICS-GeekLounge-151022-min.pcap");
    assert_eq!(summary.requests, 0);
    assert_eq!(
        summary.pdu_errors,
        errors(&[(
            "FC 23 (read/write multiple registers): quantity is 0, must be 1..=125",
            1
        )])
    );
    assert_eq!(summary.responses, 1);
}

#[test]
fn device_identification_capture() {
    let summary = summarize("zeek_modbus-eit.pcap");
    assert_eq!(summary.functions, BTreeSet::from([43]));
    assert_eq!(
        (summary.requests, summary.responses, summary.matched),
        (2, 1, 1)
    );
    // One response claims conformity level 0 and "more follows" 0x4D: not a valid 43/14.
    assert_eq!(summary.pdu_errors.len(), 1, "{summary:#?}");
}

#[test]
fn quickdraw_ids_capture() {
    let summary = summarize("digitalbond_modbus_test_data_part1.pcap");
    assert!(summary.mismatched.is_empty(), "{summary:#?}");
    assert_eq!(
        summary.frame_errors,
        [
            FrameError::Length { actual: 0x8804 },
            FrameError::ProtocolId { actual: 0x2300 }
        ]
    );
}

#[test]
fn fuzzed_capture() {
    let summary = summarize("zeek_fuzz-72.pcap");
    assert!(summary.mismatched.is_empty(), "{summary:#?}");
}
