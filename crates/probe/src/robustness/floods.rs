//! Storms below the transport layer: UDP datagrams, ICMP echo requests and TCP SYN segments
//! at fixed rates, sent in batches every 10 ms from non-blocking sockets.
//!
//! The UDP flood needs no privilege. The ICMP and SYN floods build their packets by hand
//! and send them on raw sockets, which need `CAP_NET_RAW` (root, or a user and network
//! namespace of one's own: `unshare -rn`); without it they are not tested, saying so. Only
//! IPv4 targets. By default nothing is spoofed: packets come from the storm's source address
//! (or the one the route to the target picks), so the target answers the prober, whose
//! kernel resets the SYN-ACKs of connections it never opened. With spoofed sources
//! (`--storm-spoof`) the SYN flood writes the IPv4 header too (`IP_HDRINCL`), each segment
//! from a random address of the network named: answers go to hosts that never reply, and
//! the target's half-open connections pile up — the backlog exhaustion of a real SYN flood.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use serde_json::{Map, Value, json};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::time::{Instant, MissedTickBehavior};

use super::SpoofedSources;
use super::storms::{StormReport, StormTarget};

/// UDP datagrams a second (64 bytes each).
pub(crate) const UDP_RATE: u32 = 2000;
/// ICMP echo requests a second (56 bytes of payload each, as `ping`).
pub(crate) const ICMP_RATE: u32 = 1000;
/// TCP SYN segments a second, each from another source port.
pub(crate) const SYN_RATE: u32 = 2000;
const BATCHES_PER_SECOND: u32 = 100;

/// Which flood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flood {
    Udp,
    Icmp,
    Syn,
}

/// The socket a flood sends on, and where to: opened before the monitor starts, so a
/// missing privilege is reported before anything is sent.
pub(crate) struct FloodSocket {
    flood: Flood,
    socket: Socket,
    source: Ipv4Addr,
    destination: SocketAddrV4,
    /// The SYN flood's spoofed sources (it then writes the IPv4 header itself).
    spoof: Option<SpoofedSources>,
}

/// Opens the socket of `flood` towards `storm`'s target.
///
/// # Errors
/// Why the flood cannot run: an IPv6 target, or no `CAP_NET_RAW` for a raw socket.
pub(crate) fn open(flood: Flood, storm: &StormTarget) -> Result<FloodSocket, String> {
    let SocketAddr::V4(destination) = storm.address else {
        return Err("the link-layer storms speak IPv4 only".to_owned());
    };
    let source = match storm.from {
        Some(IpAddr::V4(from)) => from,
        Some(IpAddr::V6(_)) => return Err("--storm-from is IPv6, the target IPv4".to_owned()),
        None => route_source(destination).map_err(|e| format!("no route to the target: {e}"))?,
    };
    let (kind, protocol) = match flood {
        Flood::Udp => (Type::DGRAM, Protocol::UDP),
        Flood::Icmp => (Type::RAW, Protocol::ICMPV4),
        Flood::Syn => (Type::RAW, Protocol::TCP),
    };
    let socket = Socket::new(Domain::IPV4, kind, Some(protocol)).map_err(|e| {
        if e.kind() == io::ErrorKind::PermissionDenied {
            "a raw socket needs CAP_NET_RAW (run as root, or inside a user and network \
             namespace of one's own: unshare -rn)"
                .to_owned()
        } else {
            format!("opening the socket: {e}")
        }
    })?;
    socket
        .bind(&SockAddr::from(SocketAddrV4::new(source, 0)))
        .map_err(|e| format!("binding to {source}: {e}"))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| format!("opening the socket: {e}"))?;
    let spoof = storm.spoof.filter(|_| flood == Flood::Syn);
    if let Some(spoof) = spoof {
        if spoof.contains(*destination.ip()) {
            return Err(format!(
                "--storm-spoof {spoof} holds the target's own address {}",
                destination.ip()
            ));
        }
        socket
            .set_header_included_v4(true)
            .map_err(|e| format!("writing IPv4 headers (IP_HDRINCL): {e}"))?;
    }
    Ok(FloodSocket {
        flood,
        socket,
        source,
        destination,
        spoof,
    })
}

/// The local address the route to `destination` uses (a connected UDP socket sends nothing).
fn route_source(destination: SocketAddrV4) -> io::Result<Ipv4Addr> {
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    probe.connect(destination)?;
    match probe.local_addr()? {
        SocketAddr::V4(local) => Ok(*local.ip()),
        SocketAddr::V6(_) => Err(io::Error::other("an IPv6 route to an IPv4 target")),
    }
}

/// Sends the flood until `until`: batches every 10 ms, `rate` packets a second.
pub(crate) async fn run(socket: FloodSocket, until: Instant, rate: u32) -> StormReport {
    let per_batch = (rate / BATCHES_PER_SECOND).max(1);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / BATCHES_PER_SECOND);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let destination = SockAddr::from(socket.destination);
    let (mut sent, mut dropped, mut errors) = (0u64, 0u64, 0u64);
    let mut last_error = None;
    let mut sequence: u16 = 0;
    let mut random = [0u8; 8 * 64];
    while Instant::now() < until {
        tick.tick().await;
        if rampart_vault::crypto::fill_random(&mut random).is_err() {
            errors += 1;
            continue;
        }
        for i in 0..per_batch as usize {
            let noise: [u8; 8] = random
                .get(i % 64 * 8..i % 64 * 8 + 8)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_default();
            sequence = sequence.wrapping_add(1);
            let packet = match socket.flood {
                Flood::Udp => noise.repeat(8),
                Flood::Icmp => echo_request(u16::from_be_bytes([noise[0], noise[1]]), sequence),
                Flood::Syn => {
                    let source = socket.spoof.map_or(socket.source, |spoof| {
                        spoof.pick(u32::from_be_bytes([noise[4], noise[5], noise[6], noise[7]]))
                    });
                    let segment = syn_segment(
                        source,
                        *socket.destination.ip(),
                        1024 + u16::from_be_bytes([noise[0], noise[1]]) % (u16::MAX - 1024),
                        socket.destination.port(),
                        u32::from_be_bytes([noise[2], noise[3], noise[4], noise[5]]),
                    );
                    if socket.spoof.is_some() {
                        let mut packet =
                            ipv4_header(source, *socket.destination.ip(), sequence, segment.len());
                        packet.extend_from_slice(&segment);
                        packet
                    } else {
                        segment
                    }
                }
            };
            match socket.socket.send_to(&packet, &destination) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => dropped += 1,
                Err(e) => {
                    // ECONNREFUSED from an ICMP port-unreachable to an earlier datagram,
                    // ENOBUFS: the packet did not go; the flood goes on.
                    errors += 1;
                    last_error = Some(e.to_string());
                }
            }
        }
    }
    let mut details = Map::new();
    details.insert("sent".into(), json!(sent));
    details.insert("dropped_by_the_prober".into(), json!(dropped));
    details.insert("send_errors".into(), json!(errors));
    details.insert(
        "source".into(),
        json!(socket.spoof.map_or_else(
            || socket.source.to_string(),
            |spoof| format!("{spoof} (spoofed)")
        )),
    );
    if let Some(e) = last_error {
        details.insert("last_send_error".into(), Value::String(e));
    }
    let what = match socket.flood {
        Flood::Udp => format!(
            "{sent} UDP datagrams of 64 bytes at {rate}/s to port {}",
            socket.destination.port()
        ),
        Flood::Icmp => format!("{sent} ICMP echo requests at {rate}/s"),
        Flood::Syn => format!(
            "{sent} TCP SYN segments at {rate}/s to port {} from {}",
            socket.destination.port(),
            socket.spoof.map_or_else(
                || socket.source.to_string(),
                |spoof| format!("random addresses of {spoof} (spoofed)")
            )
        ),
    };
    StormReport {
        summary: what,
        details,
        problems: Vec::new(),
    }
}

/// An ICMP echo request with 56 bytes of payload.
pub(crate) fn echo_request(identifier: u16, sequence: u16) -> Vec<u8> {
    let mut packet = vec![8, 0, 0, 0];
    packet.extend_from_slice(&identifier.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend((0u8..56).map(|b| b.wrapping_add(0x10)));
    let checksum = internet_checksum(&[&packet]);
    packet[2..4].copy_from_slice(&checksum.to_be_bytes());
    packet
}

/// A TCP SYN segment (header only, no options) from `source:source_port` to
/// `destination:destination_port`, its checksum over the IPv4 pseudo-header.
pub(crate) fn syn_segment(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    source_port: u16,
    destination_port: u16,
    sequence: u32,
) -> Vec<u8> {
    let mut segment = Vec::with_capacity(20);
    segment.extend_from_slice(&source_port.to_be_bytes());
    segment.extend_from_slice(&destination_port.to_be_bytes());
    segment.extend_from_slice(&sequence.to_be_bytes());
    segment.extend_from_slice(&0u32.to_be_bytes()); // acknowledgement
    segment.push(5 << 4); // data offset: 5 words, no options
    segment.push(0x02); // SYN
    segment.extend_from_slice(&64_240u16.to_be_bytes()); // window
    segment.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&source.octets());
    pseudo.extend_from_slice(&destination.octets());
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&20u16.to_be_bytes());
    let checksum = internet_checksum(&[&pseudo, &segment]);
    segment[16..18].copy_from_slice(&checksum.to_be_bytes());
    segment
}

/// An IPv4 header (20 bytes, no options, don't fragment, TTL 64, protocol TCP) from `source`
/// to `destination` before a payload of `payload_len` bytes, its checksum filled in.
pub(crate) fn ipv4_header(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    identification: u16,
    payload_len: usize,
) -> Vec<u8> {
    let total = u16::try_from(20 + payload_len).unwrap_or(u16::MAX);
    let mut header = Vec::with_capacity(20 + payload_len);
    header.push(0x45); // version 4, 5 words
    header.push(0); // DSCP, ECN
    header.extend_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&identification.to_be_bytes());
    header.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
    header.push(64); // TTL
    header.push(6); // TCP
    header.extend_from_slice(&[0, 0]); // checksum
    header.extend_from_slice(&source.octets());
    header.extend_from_slice(&destination.octets());
    let checksum = internet_checksum(&[&header]);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    header
}

/// The Internet checksum (RFC 1071) of the concatenation of `parts`, each of even length
/// but the last.
pub(crate) fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        let mut words = part.chunks(2);
        for word in &mut words {
            let value = match word {
                [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                [hi] => u16::from_be_bytes([*hi, 0]),
                _ => 0,
            };
            sum += u32::from(value);
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoofed_sources_are_a_network_and_addresses_are_drawn_from_it() {
        let sources = SpoofedSources::parse("198.18.0.0/15").unwrap();
        assert_eq!(sources.to_string(), "198.18.0.0/15");
        assert_eq!(sources.pick(0), Ipv4Addr::new(198, 18, 0, 0));
        assert_eq!(sources.pick(u32::MAX), Ipv4Addr::new(198, 19, 255, 255));
        for random in [1, 0x00AB_CDEF, 0xDEAD_BEEF] {
            assert!(sources.contains(sources.pick(random)));
        }
        assert!(!sources.contains(Ipv4Addr::new(198, 20, 0, 1)));
        let single = SpoofedSources::parse("203.0.113.7/32").unwrap();
        assert_eq!(single.pick(u32::MAX), Ipv4Addr::new(203, 0, 113, 7));
        for (bad, says) in [
            ("198.18.0.0", "expected an IPv4 network"),
            (
                "198.18.0.1/15",
                "host bits are set (the network is 198.18.0.0/15)",
            ),
            ("198.18.0.0/7", "the prefix length must be 8 to 32"),
            ("198.18.0.0/33", "the prefix length must be 8 to 32"),
            ("::1/128", "is not an IPv4 address"),
            ("127.0.0.0/8", "loopback"),
        ] {
            let e = SpoofedSources::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_spoofed_syn_carries_an_ipv4_header_that_checks_out() {
        let (source, destination) = (Ipv4Addr::new(198, 18, 3, 4), Ipv4Addr::LOCALHOST);
        let segment = syn_segment(source, destination, 40_000, 8020, 7);
        let header = ipv4_header(source, destination, 9, segment.len());
        assert_eq!(header.len(), 20);
        assert_eq!(
            internet_checksum(&[&header]),
            0,
            "the header's checksum verifies"
        );
        assert_eq!(u16::from_be_bytes([header[2], header[3]]), 40);
        assert_eq!(&header[12..16], &source.octets());
        assert_eq!(&header[16..20], &destination.octets());
    }

    #[test]
    fn the_checksum_is_rfc_1071s() {
        // RFC 1071's example: 0x0001 f203 f4f5 f6f7 sums to 0xddf2; its complement 0x220d.
        assert_eq!(
            internet_checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            0x220d
        );
        // A packet with its checksum in place sums to zero.
        let echo = echo_request(0x1234, 7);
        assert_eq!(internet_checksum(&[&echo]), 0);
    }

    #[test]
    fn a_syn_segment_checks_out_over_its_pseudo_header() {
        let (src, dst) = (Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::LOCALHOST);
        let segment = syn_segment(src, dst, 40_000, 802, 0xdead_beef);
        assert_eq!(segment.len(), 20);
        assert_eq!(&segment[0..4], &[0x9c, 0x40, 0x03, 0x22]);
        assert_eq!(segment[13], 0x02, "SYN only");
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&[0, 6, 0, 20]);
        assert_eq!(internet_checksum(&[&pseudo, &segment]), 0);
    }
}
