//! Storms below the transport layer: UDP datagrams, ICMP echo requests and TCP SYN segments
//! at fixed rates, sent in batches every 10 ms from non-blocking sockets.
//!
//! The UDP flood needs no privilege. The ICMP and SYN floods build their packets by hand
//! and send them on raw sockets, which need `CAP_NET_RAW` (root, or a user and network
//! namespace of one's own: `unshare -rn`); without it they are not tested, saying so. Only
//! IPv4 targets. Nothing is spoofed: packets come from the storm's source address (or the
//! one the route to the target picks), so the target answers the prober, whose kernel
//! resets the SYN-ACKs of connections it never opened.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use serde_json::{Map, Value, json};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::time::{Instant, MissedTickBehavior};

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
    Ok(FloodSocket {
        flood,
        socket,
        source,
        destination,
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
                Flood::Syn => syn_segment(
                    socket.source,
                    *socket.destination.ip(),
                    1024 + u16::from_be_bytes([noise[0], noise[1]]) % (u16::MAX - 1024),
                    socket.destination.port(),
                    u32::from_be_bytes([noise[2], noise[3], noise[4], noise[5]]),
                ),
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
    details.insert("source".into(), json!(socket.source.to_string()));
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
            socket.source
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
