//! Reading packets from pcap and pcapng files, and finding the TCP segments in them.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use etherparse::{
    EtherType, Ethernet2HeaderSlice, IpNumber, Ipv4HeaderSlice, Ipv6HeaderSlice,
    SingleVlanHeaderSlice, TcpHeaderSlice,
};
use pcap_parser::{Block, Linktype, PcapBlockOwned, PcapError};

/// A capture that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file cannot be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a pcap or pcapng capture, or is corrupt at `offset`.
    #[error("{path}: not a readable pcap or pcapng capture at byte {offset}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// How far reading got.
        offset: u64,
        /// What the parser said.
        reason: String,
    },
}

/// One TCP segment found in a capture.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Capture time, microseconds since the Unix epoch.
    pub time_us: u64,
    /// The packet's number in its file, from 1 (as Wireshark counts).
    pub packet: u64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// TCP sequence number of the first payload byte (or of the SYN).
    pub seq: u32,
    /// SYN flag.
    pub syn: bool,
    /// FIN or RST flag: the sender is done.
    pub fin: bool,
    /// The TCP payload.
    pub payload: &'a [u8],
    /// Whether the capture cut the packet short (snap length), so payload bytes are missing.
    pub truncated: bool,
}

/// Per-interface link type and time resolution (pcapng has several interfaces; pcap one).
#[derive(Clone, Copy)]
struct Interface {
    linktype: Linktype,
    /// Units per second of the timestamps.
    resolution: u64,
}

/// Reads every packet of `path` and calls `on_segment` for each TCP segment; returns the
/// number of packets read. `on_progress` gets the bytes read so far from time to time.
///
/// # Errors
/// [`CaptureError`] naming the file and the byte offset where reading failed. Packets of
/// other protocols and link types are skipped, not errors.
pub fn read_segments(
    path: &Path,
    mut on_segment: impl FnMut(Segment<'_>),
    mut on_progress: impl FnMut(u64),
) -> Result<u64, CaptureError> {
    let io = |source| CaptureError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let format = |offset: u64, reason: String| CaptureError::Format {
        path: path.to_owned(),
        offset,
        reason,
    };
    let mut reader = pcap_parser::create_reader(1 << 20, file).map_err(|e| {
        format(
            0,
            match e {
                PcapError::Eof => "the file is empty".to_owned(),
                e => e.to_string(),
            },
        )
    })?;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut legacy = Interface {
        linktype: Linktype::ETHERNET,
        resolution: 1_000_000,
    };
    let mut offset: u64 = 0;
    let mut packets: u64 = 0;
    let mut since_progress: u64 = 0;
    loop {
        match reader.next() {
            Ok((size, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(header) => {
                        legacy = Interface {
                            linktype: header.network,
                            resolution: if header.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            },
                        };
                    }
                    PcapBlockOwned::Legacy(block) => {
                        packets += 1;
                        let ticks =
                            u64::from(block.ts_sec) * legacy.resolution + u64::from(block.ts_usec);
                        let time_us = ticks / (legacy.resolution / 1_000_000).max(1);
                        let truncated = block.caplen < block.origlen;
                        dissect(
                            legacy.linktype,
                            block.data,
                            time_us,
                            packets,
                            truncated,
                            &mut on_segment,
                        );
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            linktype: idb.linktype,
                            resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        packets += 1;
                        if let Some(interface) = interfaces.get(epb.if_id as usize) {
                            let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let time_us = if interface.resolution >= 1_000_000 {
                                ticks / (interface.resolution / 1_000_000)
                            } else {
                                ticks.saturating_mul(1_000_000 / interface.resolution)
                            };
                            let data = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
                            let truncated = epb.caplen < epb.origlen;
                            dissect(
                                interface.linktype,
                                data,
                                time_us,
                                packets,
                                truncated,
                                &mut on_segment,
                            );
                        }
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        packets += 1;
                        if let Some(interface) = interfaces.first() {
                            dissect(
                                interface.linktype,
                                spb.data,
                                0,
                                packets,
                                false,
                                &mut on_segment,
                            );
                        }
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                offset += size as u64;
                since_progress += size as u64;
                if since_progress >= 4 << 20 {
                    on_progress(offset);
                    since_progress = 0;
                }
                // No shift per block: `refill` moves only the partial block left at the end.
                reader.consume_noshift(size);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                reader.refill().map_err(|e| format(offset, e.to_string()))?;
            }
            Err(e) => return Err(format(offset, e.to_string())),
        }
    }
    on_progress(offset);
    Ok(packets)
}

/// Finds the TCP segment in a link-layer frame; anything else is ignored.
///
/// Only the header slices are parsed (the per-packet cost matters at hundreds of MB/s), and
/// leniently: a packet whose IP length claims more than was captured still yields the bytes
/// that are there, marked truncated, as Wireshark shows them.
fn dissect(
    linktype: Linktype,
    data: &[u8],
    time_us: u64,
    packet: u64,
    truncated: bool,
    on_segment: &mut impl FnMut(Segment<'_>),
) {
    let ip = match linktype {
        Linktype::ETHERNET => ethernet_payload(data),
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => Some(data),
        // BSD loopback: a 4-byte address family, then IP.
        Linktype::NULL | Linktype::LOOP => data.get(4..),
        // Linux cooked capture: 16 bytes, the protocol type in the last two.
        Linktype::LINUX_SLL => data.get(16..),
        _ => None,
    };
    let Some((src, dst, tcp, incomplete)) = ip.and_then(ip_payload) else {
        return;
    };
    let Ok(header) = TcpHeaderSlice::from_slice(tcp) else {
        return;
    };
    let payload = tcp
        .get(usize::from(header.data_offset()) * 4..)
        .unwrap_or_default();
    on_segment(Segment {
        time_us,
        packet,
        src: SocketAddr::new(src, header.source_port()),
        dst: SocketAddr::new(dst, header.destination_port()),
        seq: header.sequence_number(),
        syn: header.syn(),
        fin: header.fin() || header.rst(),
        payload,
        truncated: truncated || incomplete,
    });
}

/// The network-layer bytes of an Ethernet II frame, through up to two VLAN tags.
fn ethernet_payload(data: &[u8]) -> Option<&[u8]> {
    let ethernet = Ethernet2HeaderSlice::from_slice(data).ok()?;
    let mut ether_type = ethernet.ether_type();
    let mut rest = data.get(ethernet.slice().len()..)?;
    for _ in 0..2 {
        if ether_type != EtherType::VLAN_TAGGED_FRAME
            && ether_type != EtherType::PROVIDER_BRIDGING
            && ether_type != EtherType::VLAN_DOUBLE_TAGGED_FRAME
        {
            break;
        }
        let vlan = SingleVlanHeaderSlice::from_slice(rest).ok()?;
        ether_type = vlan.ether_type();
        rest = rest.get(vlan.slice().len()..)?;
    }
    (ether_type == EtherType::IPV4 || ether_type == EtherType::IPV6).then_some(rest)
}

/// Addresses and the TCP bytes of an IPv4 or IPv6 packet, and whether bytes are missing.
fn ip_payload(data: &[u8]) -> Option<(IpAddr, IpAddr, &[u8], bool)> {
    match data.first()? >> 4 {
        4 => {
            let header = Ipv4HeaderSlice::from_slice(data).ok()?;
            // A fragment's payload is not a TCP segment on its own.
            if header.protocol() != IpNumber::TCP
                || header.more_fragments()
                || header.fragments_offset().value() != 0
            {
                return None;
            }
            let start = usize::from(header.ihl()) * 4;
            let end = usize::from(header.total_len()).max(start);
            let tcp = data.get(start..end.min(data.len()))?;
            Some((
                header.source_addr().into(),
                header.destination_addr().into(),
                tcp,
                end > data.len(),
            ))
        }
        6 => {
            let header = Ipv6HeaderSlice::from_slice(data).ok()?;
            // TCP right after the fixed header; extension headers are not followed.
            if header.next_header() != IpNumber::TCP {
                return None;
            }
            let end = 40 + usize::from(header.payload_length());
            let tcp = data.get(40..end.min(data.len()))?;
            Some((
                header.source_addr().into(),
                header.destination_addr().into(),
                tcp,
                end > data.len(),
            ))
        }
        _ => None,
    }
}
