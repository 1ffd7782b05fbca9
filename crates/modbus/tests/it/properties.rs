//! Property tests: the codec round-trips every valid PDU, never panics on any bytes, and
//! frames a stream the same way however it is chunked.

use proptest::collection::vec;
use proptest::prelude::*;
use rampart_modbus::{
    Adu, MAX_ADU_LEN, RequestPdu, Response, ResponsePdu, decode_request, decode_response,
    validate_response,
};

use crate::util::{adu, frame, frame_with_cuts};

/// A start address and quantity `1..=max` that fit the address space.
fn range(max: u16) -> impl Strategy<Value = (u16, u16)> {
    (1..=max).prop_flat_map(|count| {
        (
            0..=u16::try_from(65_536 - u32::from(count)).unwrap(),
            Just(count),
        )
    })
}

fn be(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|word| word.to_be_bytes()).collect()
}

fn with(code: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut pdu = vec![code];
    for part in parts {
        pdu.extend_from_slice(part);
    }
    pdu
}

fn count(len: usize) -> u8 {
    u8::try_from(len).unwrap()
}

/// Diagnostics sub-function and data that a request may carry.
fn diagnostics() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..=200).prop_map(|data| with(0x08, &[&[0, 0], &data])),
        prop_oneof![Just(0x0000_u16), Just(0xFF00)].prop_map(|word| with(0x08, &[&be(&[1, word])])),
        any::<u8>().prop_map(|ch| with(0x08, &[&[0, 3, ch, 0]])),
        prop_oneof![Just(2_u16), Just(4), 0x0A..=0x12_u16, Just(0x14)]
            .prop_map(|sub| with(0x08, &[&be(&[sub, 0])])),
        (0x15..=u16::MAX, vec(any::<u8>(), 0..=100))
            .prop_map(|(sub, data)| with(0x08, &[&be(&[sub]), &data])),
    ]
}

/// One file record sub-request header: file, record, length (fitting record 9999).
fn file_header(max_len: u16) -> impl Strategy<Value = (u16, u16, u16)> {
    (1..=u16::MAX, 1..=max_len)
        .prop_flat_map(|(file, len)| (Just(file), 0..=(10_000 - len), Just(len)))
}

fn file_writes() -> impl Strategy<Value = Vec<u8>> {
    vec(
        file_header(20).prop_flat_map(|(file, record, len)| {
            vec(any::<u8>(), 2 * usize::from(len))
                .prop_map(move |data| with(6, &[&be(&[file, record, len]), &data]))
        }),
        1..=3,
    )
    .prop_map(|subs| subs.concat())
}

/// Every valid request PDU, by function.
fn request_pdu() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (prop_oneof![Just(1_u8), Just(2)], range(2000))
            .prop_map(|(code, (start, n))| with(code, &[&be(&[start, n])])),
        (prop_oneof![Just(3_u8), Just(4)], range(125))
            .prop_map(|(code, (start, n))| with(code, &[&be(&[start, n])])),
        (any::<u16>(), prop_oneof![Just(0_u16), Just(0xFF00)])
            .prop_map(|(a, v)| with(5, &[&be(&[a, v])])),
        (any::<u16>(), any::<u16>()).prop_map(|(a, v)| with(6, &[&be(&[a, v])])),
        prop_oneof![Just(7_u8), Just(11), Just(12), Just(17)].prop_map(|code| vec![code]),
        diagnostics(),
        range(1968).prop_flat_map(|(start, n)| {
            vec(any::<u8>(), usize::from(n.div_ceil(8)))
                .prop_map(move |bits| with(15, &[&be(&[start, n]), &[count(bits.len())], &bits]))
        }),
        range(123).prop_flat_map(|(start, n)| {
            vec(any::<u8>(), 2 * usize::from(n))
                .prop_map(move |data| with(16, &[&be(&[start, n]), &[count(data.len())], &data]))
        }),
        vec(file_header(5), 1..=20).prop_map(|subs| {
            let bytes: Vec<u8> = subs
                .iter()
                .flat_map(|&(f, r, l)| with(6, &[&be(&[f, r, l])]))
                .collect();
            with(20, &[&[count(bytes.len())], &bytes])
        }),
        file_writes().prop_map(|bytes| with(21, &[&[count(bytes.len())], &bytes])),
        (any::<u16>(), any::<u16>(), any::<u16>())
            .prop_map(|(a, and, or)| with(22, &[&be(&[a, and, or])])),
        (range(125), range(121)).prop_flat_map(|((rs, rn), (ws, wn))| {
            vec(any::<u8>(), 2 * usize::from(wn)).prop_map(move |data| {
                with(23, &[&be(&[rs, rn, ws, wn]), &[count(data.len())], &data])
            })
        }),
        any::<u16>().prop_map(|a| with(24, &[&be(&[a])])),
        vec(any::<u8>(), 0..=251).prop_map(|data| with(43, &[&[13], &data])),
        (1..=4_u8, any::<u8>()).prop_map(|(code, id)| vec![43, 14, code, id]),
        (other_code(), vec(any::<u8>(), 0..=252)).prop_map(|(code, data)| with(code, &[&data])),
    ]
}

fn other_code() -> impl Strategy<Value = u8> {
    (1..=127_u8).prop_filter(
        "has a variant",
        |code| !matches!(code, 1..=8 | 11 | 12 | 15..=17 | 20..=24 | 43),
    )
}

/// Every valid response PDU, by function.
fn response_pdu() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (prop_oneof![Just(1_u8), Just(2)], vec(any::<u8>(), 1..=250))
            .prop_map(|(code, bits)| with(code, &[&[count(bits.len())], &bits])),
        (prop_oneof![Just(3_u8), Just(4), Just(23)], 1..=125_usize).prop_flat_map(|(code, n)| {
            vec(any::<u8>(), 2 * n).prop_map(move |data| with(code, &[&[count(data.len())], &data]))
        }),
        (any::<u16>(), prop_oneof![Just(0_u16), Just(0xFF00)])
            .prop_map(|(a, v)| with(5, &[&be(&[a, v])])),
        (prop_oneof![Just(6_u8), Just(22)], vec(any::<u16>(), 2..=2)).prop_map(|(code, words)| {
            let words = if code == 22 {
                [words.clone(), vec![7]].concat()
            } else {
                words
            };
            with(code, &[&be(&words)])
        }),
        any::<u8>().prop_map(|outputs| vec![7, outputs]),
        diagnostics(),
        (prop_oneof![Just(0_u16), Just(0xFFFF)], any::<u16>())
            .prop_map(|(s, n)| with(11, &[&be(&[s, n])])),
        (
            prop_oneof![Just(0_u16), Just(0xFFFF)],
            any::<u16>(),
            any::<u16>(),
            vec(any::<u8>(), 0..=64)
        )
            .prop_map(|(s, e, m, events)| with(
                12,
                &[&[count(6 + events.len())], &be(&[s, e, m]), &events]
            )),
        range(1968).prop_map(|(start, n)| with(15, &[&be(&[start, n])])),
        range(123).prop_map(|(start, n)| with(16, &[&be(&[start, n])])),
        vec(any::<u8>(), 0..=250).prop_map(|data| with(17, &[&[count(data.len())], &data])),
        vec(
            (1..=10_usize).prop_flat_map(|n| vec(any::<u8>(), 2 * n)),
            1..=10
        )
        .prop_map(|blocks| {
            let bytes: Vec<u8> = blocks
                .iter()
                .flat_map(|block| with(count(block.len() + 1), &[&[6], block]))
                .collect();
            with(20, &[&[count(bytes.len())], &bytes])
        }),
        file_writes().prop_map(|bytes| with(21, &[&[count(bytes.len())], &bytes])),
        (0..=31_u16).prop_flat_map(|n| {
            vec(any::<u8>(), 2 * usize::from(n))
                .prop_map(move |data| with(24, &[&be(&[2 + 2 * n, n]), &data]))
        }),
        vec(any::<u8>(), 0..=251).prop_map(|data| with(43, &[&[13], &data])),
        device_identification(),
        (other_code(), vec(any::<u8>(), 0..=252)).prop_map(|(code, data)| with(code, &[&data])),
        (1..=127_u8, any::<u8>()).prop_map(|(code, exception)| vec![code | 0x80, exception]),
    ]
}

fn device_identification() -> impl Strategy<Value = Vec<u8>> {
    let object = (any::<u8>(), vec(any::<u8>(), 0..=30))
        .prop_map(|(id, value)| with(id, &[&[count(value.len())], &value]));
    (
        1..=4_u8,
        prop_oneof![1..=3_u8, 0x81..=0x83_u8],
        prop_oneof![Just(None), any::<u8>().prop_map(Some)],
        vec(object, 0..=5),
    )
        .prop_map(|(code, level, next, objects)| {
            let (more, next) = next.map_or((0, 0), |id| (0xFF, id));
            with(
                43,
                &[
                    &[14, code, level, more, next, count(objects.len())],
                    &objects.concat(),
                ],
            )
        })
}

proptest! {
    #[test]
    fn valid_requests_round_trip(pdu in request_pdu(), transaction_id: u16, unit_id: u8) {
        let decoded = RequestPdu::decode(&pdu).map_err(|e| TestCaseError::fail(format!("{pdu:02x?}: {e}")))?;
        let mut out = Vec::new();
        decoded.encode(&mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&out, &pdu);
        prop_assert_eq!(RequestPdu::decode(&out), Ok(decoded));
        let bytes = adu(transaction_id, unit_id, &pdu);
        let request = decode_request(&bytes).unwrap();
        let mut slice = [0; MAX_ADU_LEN];
        let len = request.encode_to_slice(&mut slice).unwrap();
        prop_assert_eq!(&slice[..len], &bytes[..]);
        // Whatever the request, its exception response answers it.
        let exception = Response::exception(&request, rampart_modbus::ExceptionCode::SERVER_DEVICE_BUSY);
        prop_assert_eq!(validate_response(&request, &exception), Ok(()));
    }

    #[test]
    fn valid_responses_round_trip(pdu in response_pdu(), transaction_id: u16, unit_id: u8) {
        let decoded = ResponsePdu::decode(&pdu).map_err(|e| TestCaseError::fail(format!("{pdu:02x?}: {e}")))?;
        let mut out = Vec::new();
        decoded.encode(&mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&out, &pdu);
        prop_assert_eq!(ResponsePdu::decode(&out), Ok(decoded));
        let bytes = adu(transaction_id, unit_id, &pdu);
        let response = decode_response(&bytes).unwrap();
        out.clear();
        response.encode(&mut out).unwrap();
        prop_assert_eq!(out, bytes);
    }

    #[test]
    fn decoders_never_panic(bytes in vec(any::<u8>(), 0..=300)) {
        // Whatever decodes must encode back to the same bytes.
        rampart_modbus::fuzzing::pdu(&bytes);
        let _ = decode_request(&bytes);
        let _ = decode_response(&bytes);
        let _ = Adu::parse(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_near_valid_pdus(pdu in request_pdu(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut pdu = pdu;
        for (index, value) in flips {
            let at = index.index(pdu.len());
            pdu[at] = value;
        }
        rampart_modbus::fuzzing::pdu(&pdu);
    }

    #[test]
    fn framer_never_panics(bytes in vec(any::<u8>(), 0..=2000)) {
        rampart_modbus::fuzzing::framer(&bytes);
    }

    #[test]
    fn framing_is_independent_of_chunking(
        pdus in vec(prop_oneof![request_pdu(), response_pdu()], 0..20),
        garbage in vec(any::<u8>(), 0..20),
        cuts in vec(any::<prop::sample::Index>(), 0..30),
    ) {
        let adus: Vec<Vec<u8>> = pdus.iter().enumerate()
            .map(|(index, pdu)| adu(u16::try_from(index).unwrap(), 1, pdu))
            .collect();
        let mut stream = adus.concat();
        stream.extend(&garbage);
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let whole = frame(&stream);
        prop_assert_eq!(&whole.adus[..adus.len()], &adus[..]);
        prop_assert_eq!(frame_with_cuts(&stream, &cuts), whole);
    }
}
