//! The capture generator: Modbus/TCP conversations written as a classic pcap (Ethernet,
//! IPv4, TCP with correct sequence numbers and checksums), for tests of the IDS and the DPI
//! and for demonstrations. It writes bytes and does no I/O.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use rampart_inspect::synth::{Capture, Conversation};
//!
//! let mut capture = Capture::new();
//! let hmi = Conversation::new(Ipv4Addr::new(10, 0, 0, 11), 40002, Ipv4Addr::new(10, 0, 0, 20), 502);
//! capture.connect(0, hmi);
//! // Read holding registers 100..=119 of unit 1, answered 2 ms later.
//! capture.exchange(1_000, hmi, 1, &[3, 0, 100, 0, 20], Some((2_000, &[3, 40, 0, 0])));
//! let pcap: Vec<u8> = capture.to_pcap();
//! assert_eq!(&pcap[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
//! ```

use std::collections::HashMap;
use std::net::Ipv4Addr;

/// One TCP connection from a client to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conversation {
    /// The client's address.
    pub client: Ipv4Addr,
    /// The client's port.
    pub client_port: u16,
    /// The server's address.
    pub server: Ipv4Addr,
    /// The server's port (502 for Modbus/TCP).
    pub server_port: u16,
}

impl Conversation {
    /// A conversation between the two ends.
    pub fn new(client: Ipv4Addr, client_port: u16, server: Ipv4Addr, server_port: u16) -> Self {
        Conversation {
            client,
            client_port,
            server,
            server_port,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Sequences {
    client: u32,
    server: u32,
    transaction: u16,
}

/// A capture being built. Packets may be added in any order: [`Capture::to_pcap`] sorts
/// them by time, and sequence numbers follow the order in which each direction's bytes were
/// added (add a conversation's packets in time order).
#[derive(Default)]
pub struct Capture {
    packets: Vec<(u64, usize, Vec<u8>)>,
    conversations: HashMap<Conversation, Sequences>,
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

impl Capture {
    /// An empty capture.
    pub fn new() -> Capture {
        Capture::default()
    }

    /// Packets added so far.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether no packet was added.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// The three-way handshake of `conversation` at `time_us`.
    pub fn connect(&mut self, time_us: u64, conversation: Conversation) {
        let seed = u32::from(conversation.client_port).wrapping_mul(2_654_435_761);
        let sequences = Sequences {
            client: seed,
            server: seed ^ 0x5a5a_5a5a,
            transaction: 0,
        };
        self.conversations.insert(conversation, sequences);
        self.segment(time_us, conversation, true, SYN, &[], sequences.client, 0);
        self.segment(
            time_us + 50,
            conversation,
            false,
            SYN | ACK,
            &[],
            sequences.server,
            sequences.client.wrapping_add(1),
        );
        self.segment(
            time_us + 100,
            conversation,
            true,
            ACK,
            &[],
            sequences.client.wrapping_add(1),
            sequences.server.wrapping_add(1),
        );
        if let Some(s) = self.conversations.get_mut(&conversation) {
            s.client = s.client.wrapping_add(1);
            s.server = s.server.wrapping_add(1);
        }
    }

    /// The client closes `conversation` at `time_us` (FIN both ways).
    pub fn close(&mut self, time_us: u64, conversation: Conversation) {
        let s = self.sequences(conversation);
        self.segment(
            time_us,
            conversation,
            true,
            FIN | ACK,
            &[],
            s.client,
            s.server,
        );
        self.segment(
            time_us + 50,
            conversation,
            false,
            FIN | ACK,
            &[],
            s.server,
            s.client.wrapping_add(1),
        );
    }

    /// A request with `pdu` to `unit` at `time_us` and, if given, its response PDU after
    /// the given delay; the transaction id counts up per conversation. Returns the
    /// transaction id.
    pub fn exchange(
        &mut self,
        time_us: u64,
        conversation: Conversation,
        unit: u8,
        pdu: &[u8],
        response: Option<(u64, &[u8])>,
    ) -> u16 {
        let tid = {
            let s = self.conversations.entry(conversation).or_default();
            s.transaction = s.transaction.wrapping_add(1);
            s.transaction
        };
        self.adu(time_us, conversation, true, tid, unit, pdu);
        if let Some((delay_us, answer)) = response {
            self.adu(time_us + delay_us, conversation, false, tid, unit, answer);
        }
        tid
    }

    /// One ADU in one direction (`to_server`), with the given transaction id.
    pub fn adu(
        &mut self,
        time_us: u64,
        conversation: Conversation,
        to_server: bool,
        tid: u16,
        unit: u8,
        pdu: &[u8],
    ) {
        let mut payload = Vec::with_capacity(7 + pdu.len());
        payload.extend_from_slice(&tid.to_be_bytes());
        payload.extend_from_slice(&[0, 0]);
        let length = u16::try_from(pdu.len() + 1).unwrap_or(u16::MAX);
        payload.extend_from_slice(&length.to_be_bytes());
        payload.push(unit);
        payload.extend_from_slice(pdu);
        let s = self.sequences(conversation);
        let (seq, ack) = if to_server {
            (s.client, s.server)
        } else {
            (s.server, s.client)
        };
        self.segment(
            time_us,
            conversation,
            to_server,
            PSH | ACK,
            &payload,
            seq,
            ack,
        );
        let advance = u32::try_from(payload.len()).unwrap_or(0);
        if let Some(s) = self.conversations.get_mut(&conversation) {
            if to_server {
                s.client = s.client.wrapping_add(advance);
            } else {
                s.server = s.server.wrapping_add(advance);
            }
        }
    }

    fn sequences(&mut self, conversation: Conversation) -> Sequences {
        *self.conversations.entry(conversation).or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        time_us: u64,
        conversation: Conversation,
        to_server: bool,
        flags: u8,
        payload: &[u8],
        seq: u32,
        ack: u32,
    ) {
        let (src, sport, dst, dport) = if to_server {
            (
                conversation.client,
                conversation.client_port,
                conversation.server,
                conversation.server_port,
            )
        } else {
            (
                conversation.server,
                conversation.server_port,
                conversation.client,
                conversation.client_port,
            )
        };
        let mut frame = Vec::with_capacity(54 + payload.len());
        // Ethernet: locally administered MACs derived from the addresses.
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, dst.octets()[3]]);
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, src.octets()[3]]);
        frame.extend_from_slice(&[0x08, 0x00]);
        // IPv4.
        let total = u16::try_from(20 + 20 + payload.len()).unwrap_or(u16::MAX);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src.octets());
        ip[16..20].copy_from_slice(&dst.octets());
        let checksum = internet_checksum(&ip, 0);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        frame.extend_from_slice(&ip);
        // TCP.
        let mut tcp = [0u8; 20];
        tcp[0..2].copy_from_slice(&sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&dport.to_be_bytes());
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp[8..12].copy_from_slice(&ack.to_be_bytes());
        tcp[12] = 0x50;
        tcp[13] = flags;
        tcp[14..16].copy_from_slice(&65_535u16.to_be_bytes());
        let mut pseudo = Vec::with_capacity(12 + 20 + payload.len());
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&[0, 6]);
        let tcp_len = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
        pseudo.extend_from_slice(&tcp_len.to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        pseudo.extend_from_slice(payload);
        let checksum = internet_checksum(&pseudo, 0);
        tcp[16..18].copy_from_slice(&checksum.to_be_bytes());
        frame.extend_from_slice(&tcp);
        frame.extend_from_slice(payload);
        let order = self.packets.len();
        self.packets.push((time_us, order, frame));
    }

    /// The capture as a classic little-endian pcap with microsecond timestamps (link type
    /// Ethernet), packets in time order.
    pub fn to_pcap(&self) -> Vec<u8> {
        let mut packets: Vec<&(u64, usize, Vec<u8>)> = self.packets.iter().collect();
        packets.sort_by_key(|(time, order, _)| (*time, *order));
        let mut out =
            Vec::with_capacity(24 + packets.iter().map(|p| 16 + p.2.len()).sum::<usize>());
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&65_535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (time_us, _, frame) in packets {
            let seconds = u32::try_from(time_us / 1_000_000).unwrap_or(u32::MAX);
            let micros = u32::try_from(time_us % 1_000_000).unwrap_or(0);
            let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&seconds.to_le_bytes());
            out.extend_from_slice(&micros.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(frame);
        }
        out
    }

    /// The packets alone (pcap records without the file header), to append to a capture
    /// with the same link type and timestamp precision.
    pub fn to_records(&self) -> Vec<u8> {
        self.to_pcap().split_off(24)
    }
}

/// The ones' complement sum of RFC 1071.
fn internet_checksum(bytes: &[u8], initial: u32) -> u16 {
    let mut sum = initial;
    for pair in bytes.chunks(2) {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum = sum.wrapping_add(u32::from(word));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(u16::try_from(sum).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_of_the_rfc_1071_example() {
        // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2; the checksum is its complement.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            !0xddf2
        );
    }
}
