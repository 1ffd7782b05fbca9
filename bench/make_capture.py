#!/usr/bin/env python3
"""Builds a large Modbus/TCP capture by replaying the reference flows with fresh client ports
and sequence numbers, so every replay is a distinct, well-formed TCP flow.

usage: make_capture.py OUT.pcap SIZE_MB [SOURCE.pcap ...]
"""
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        raise SystemExit(f"{path}: only little-endian microsecond pcap is supported")
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"{path}: only Ethernet captures are supported")
    offset = 24
    while offset + 16 <= len(data):
        ts_sec, ts_usec, caplen, origlen = struct.unpack("<IIII", data[offset:offset + 16])
        yield ts_sec, ts_usec, bytearray(data[offset + 16:offset + 16 + caplen]), origlen
        offset += 16 + caplen


def tcp_offsets(frame):
    """Returns (ip_offset, tcp_offset) for an Ethernet/IPv4/TCP frame, or None."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = 14
    ihl = (frame[ip] & 0x0F) * 4
    if frame[ip + 9] != 6 or len(frame) < ip + ihl + 20:
        return None
    return ip, ip + ihl


def main():
    out, size_mb, sources = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    target = int(size_mb * 1024 * 1024)
    flows = []
    for source in sources:
        for ts_sec, ts_usec, frame, origlen in packets(source):
            offsets = tcp_offsets(frame)
            if offsets and len(frame) == origlen:
                flows.append((ts_sec, ts_usec, frame, offsets))
    if not flows:
        raise SystemExit("no TCP packets in the sources")
    written = 24
    replay = 0
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        while written < target:
            port_shift = replay % 20000
            seq_shift = (replay * 7919 * 65536) & 0xFFFFFFFF
            for ts_sec, ts_usec, frame, (ip, tcp) in flows:
                frame = bytearray(frame)
                sport, dport = struct.unpack(">HH", frame[tcp:tcp + 4])
                # Move the client port (the one that is not 502) to make a new flow.
                if dport == 502:
                    sport = 20000 + (sport + port_shift) % 40000
                elif sport == 502:
                    dport = 20000 + (dport + port_shift) % 40000
                seq, ack = struct.unpack(">II", frame[tcp + 4:tcp + 12])
                struct.pack_into(">HHII", frame, tcp, sport, dport, (seq + seq_shift) & 0xFFFFFFFF,
                                 (ack + seq_shift) & 0xFFFFFFFF if ack else 0)
                record = struct.pack("<IIII", ts_sec + replay, ts_usec, len(frame), len(frame))
                f.write(record)
                f.write(frame)
                written += len(record) + len(frame)
                if written >= target:
                    break
            replay += 1
    print(f"{out}: {written} bytes, {replay} replays of {len(flows)} packets")


if __name__ == "__main__":
    main()
