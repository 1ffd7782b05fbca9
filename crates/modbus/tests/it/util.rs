//! Helpers shared by the integration tests: ADU builders, stream framing, a pcap reader.

use std::collections::BTreeMap;

use rampart_modbus::{AduBuf, Deframer, FrameError};

/// An ADU with the given header fields around `pdu`.
pub(crate) fn adu(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> Vec<u8> {
    let length = u16::try_from(pdu.len() + 1).unwrap();
    let mut out = transaction_id.to_be_bytes().to_vec();
    out.extend([0, 0]);
    out.extend(length.to_be_bytes());
    out.push(unit_id);
    out.extend(pdu);
    out
}

/// The result of framing a whole stream: the ADUs and the error that ended it, if any.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Framed {
    pub(crate) adus: Vec<Vec<u8>>,
    pub(crate) error: Option<FrameError>,
}

/// Frames `stream` fed in chunks that end at each of `cuts` (sorted offsets), then checks
/// that it ended on a frame boundary.
pub(crate) fn frame_with_cuts(stream: &[u8], cuts: &[usize]) -> Framed {
    let mut deframer = Deframer::new();
    let mut adus = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        let end = end.clamp(start, stream.len());
        let mut chunk = &stream[start..end];
        start = end;
        loop {
            match deframer.next_adu(&mut chunk) {
                Ok(Some(adu)) => adus.push(AduBuf::new(adu).adu().as_bytes().to_vec()),
                Ok(None) => break,
                Err(error) => {
                    return Framed {
                        adus,
                        error: Some(error),
                    };
                }
            }
        }
        assert!(chunk.is_empty(), "the deframer consumes its input");
        assert!(deframer.buffered() < rampart_modbus::MAX_ADU_LEN);
    }
    Framed {
        adus,
        error: deframer.finish().err(),
    }
}

/// Frames `stream` as one chunk.
pub(crate) fn frame(stream: &[u8]) -> Framed {
    frame_with_cuts(stream, &[])
}

/// One direction of a TCP connection in a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FlowKey {
    pub(crate) client: ([u8; 4], u16),
    pub(crate) server: ([u8; 4], u16),
    /// True for client to server (requests).
    pub(crate) to_server: bool,
}

/// The reassembled TCP payload streams of a pcap file from `testdata/pcaps`, per direction,
/// with port 502 as the server. Segments are appended in sequence order; retransmissions
/// (a sequence number already covered) are dropped.
pub(crate) fn tcp_streams(name: &str) -> BTreeMap<FlowKey, Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcaps")
        .join(name);
    let file = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_eq!(
        &file[..4],
        &[0xD4, 0xC3, 0xB2, 0xA1],
        "little-endian classic pcap"
    );
    let mut streams: BTreeMap<FlowKey, (u32, Vec<u8>)> = BTreeMap::new();
    let mut offset = 24;
    while offset + 16 <= file.len() {
        let captured = u32::from_le_bytes(file[offset + 8..offset + 12].try_into().unwrap());
        let start = offset + 16;
        let end = start + usize::try_from(captured).unwrap();
        offset = end;
        let Some(frame) = file.get(start..end) else {
            break;
        };
        let Some((key, seq, syn, payload)) = tcp_segment(frame) else {
            continue;
        };
        let entry = streams
            .entry(key)
            .or_insert((seq.wrapping_add(u32::from(syn)), Vec::new()));
        if syn {
            *entry = (seq.wrapping_add(1), Vec::new());
            continue;
        }
        let (next, data) = entry;
        let behind = next.wrapping_sub(seq);
        if behind == 0 {
            data.extend_from_slice(payload);
            *next = next.wrapping_add(u32::try_from(payload.len()).unwrap());
        } else if (behind as usize) < payload.len() && behind < 0x8000_0000 {
            // Partly retransmitted: keep the new tail.
            data.extend_from_slice(&payload[behind as usize..]);
            *next = seq.wrapping_add(u32::try_from(payload.len()).unwrap());
        }
    }
    streams
        .into_iter()
        .map(|(key, (_, data))| (key, data))
        .collect()
}

/// Parses an Ethernet / IPv4 / TCP frame: flow key, sequence number, SYN flag and payload.
fn tcp_segment(frame: &[u8]) -> Option<(FlowKey, u32, bool, &[u8])> {
    let mut ip = frame.get(14..)?;
    let mut ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    if ethertype == 0x8100 {
        ethertype = u16::from_be_bytes(frame.get(16..18)?.try_into().ok()?);
        ip = frame.get(18..)?;
    }
    if ethertype != 0x0800 || ip.get(9) != Some(&6) {
        return None;
    }
    let header_len = usize::from(ip.first()? & 0x0F) * 4;
    let total_len = usize::from(u16::from_be_bytes(ip.get(2..4)?.try_into().ok()?));
    let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
    let tcp = ip.get(header_len..total_len.min(ip.len()))?;
    let src_port = u16::from_be_bytes(tcp.get(0..2)?.try_into().ok()?);
    let dst_port = u16::from_be_bytes(tcp.get(2..4)?.try_into().ok()?);
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let data_offset = usize::from(tcp.get(12)? >> 4) * 4;
    let syn = tcp.get(13)? & 0x02 != 0;
    let payload = tcp.get(data_offset..)?;
    let key = if dst_port == 502 {
        FlowKey {
            client: (src, src_port),
            server: (dst, dst_port),
            to_server: true,
        }
    } else if src_port == 502 {
        FlowKey {
            client: (dst, dst_port),
            server: (src, src_port),
            to_server: false,
        }
    } else {
        return None;
    };
    Some((key, seq, syn, payload))
}
