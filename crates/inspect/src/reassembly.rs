//! TCP stream reassembly for one direction of a flow: in-order delivery of payload bytes,
//! with retransmissions trimmed, out-of-order segments held (bounded), and gaps reported.

use std::collections::BTreeMap;

/// Out-of-order bytes held per direction before giving up on the missing segment.
const MAX_PENDING_BYTES: usize = 256 * 1024;

/// One direction of a TCP connection.
#[derive(Default)]
pub(crate) struct HalfStream {
    /// The next expected sequence number, once known.
    next_seq: Option<u32>,
    /// The same position on an unwrapped 64-bit scale, so held segments sort correctly
    /// across a sequence number wrap.
    next_abs: u64,
    /// Out-of-order segments by unwrapped position, with where they came from.
    pending: BTreeMap<u64, (Vec<u8>, Meta)>,
    pending_bytes: usize,
}

/// Where a segment came from: its packet number and capture time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) packet: u64,
    pub(crate) time_us: u64,
}

/// What [`HalfStream::push`] hands on.
#[derive(Clone, Copy)]
pub(crate) enum Chunk<'a> {
    /// The next bytes of the stream, from the segment `Meta` describes.
    Bytes(&'a [u8], Meta),
    /// Bytes were lost before what follows (not captured, or dropped as too far ahead).
    Gap,
}

impl HalfStream {
    /// Takes one segment and delivers, in order, every byte that is now contiguous.
    pub(crate) fn push(
        &mut self,
        seq: u32,
        syn: bool,
        payload: &[u8],
        meta: Meta,
        deliver: &mut impl FnMut(Chunk<'_>),
    ) {
        if syn {
            // The SYN takes one sequence number; data starts after it.
            self.next_seq = Some(seq.wrapping_add(1));
            self.next_abs = 1;
            self.pending.clear();
            self.pending_bytes = 0;
            return;
        }
        if payload.is_empty() {
            return;
        }
        let next = *self.next_seq.get_or_insert(seq);
        // Within ±2 GiB of the expected position, as TCP windows guarantee.
        #[allow(clippy::cast_possible_wrap)]
        let offset = seq.wrapping_sub(next) as i32;
        if offset <= 0 {
            // In order, or a retransmission overlapping what was delivered.
            let skip = offset.unsigned_abs() as usize;
            if payload.len() <= skip {
                return;
            }
            self.deliver_now(&payload[skip..], meta, deliver);
            self.drain(deliver);
        } else {
            let abs = self.next_abs + u64::from(offset.unsigned_abs());
            if self.pending_bytes + payload.len() > MAX_PENDING_BYTES {
                // Too far ahead to wait for: accept the loss and go on from the held data.
                self.skip_to_pending(deliver);
                if self.pending.is_empty() {
                    deliver(Chunk::Gap);
                    self.next_seq = Some(seq);
                    self.next_abs = abs;
                    self.deliver_now(payload, meta, deliver);
                    return;
                }
            }
            let entry = self.pending.entry(abs).or_default();
            if payload.len() > entry.0.len() {
                self.pending_bytes += payload.len() - entry.0.len();
                *entry = (payload.to_vec(), meta);
            }
        }
    }

    /// At the end of the capture: whatever is held is delivered after a gap.
    pub(crate) fn finish(&mut self, deliver: &mut impl FnMut(Chunk<'_>)) {
        while !self.pending.is_empty() {
            self.skip_to_pending(deliver);
        }
    }

    fn deliver_now(&mut self, bytes: &[u8], meta: Meta, deliver: &mut impl FnMut(Chunk<'_>)) {
        deliver(Chunk::Bytes(bytes, meta));
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.next_seq = self.next_seq.map(|n| n.wrapping_add(len));
        self.next_abs += u64::from(len);
    }

    /// Delivers held segments that are now contiguous.
    fn drain(&mut self, deliver: &mut impl FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let abs = *entry.key();
            if abs > self.next_abs {
                break;
            }
            let (bytes, meta) = entry.remove();
            self.pending_bytes -= bytes.len();
            let skip = usize::try_from(self.next_abs - abs).unwrap_or(usize::MAX);
            if skip < bytes.len() {
                self.deliver_now(&bytes[skip..], meta, deliver);
            }
        }
    }

    /// Declares the bytes before the first held segment lost and delivers from there.
    fn skip_to_pending(&mut self, deliver: &mut impl FnMut(Chunk<'_>)) {
        let Some((&abs, _)) = self.pending.first_key_value() else {
            return;
        };
        if abs > self.next_abs {
            deliver(Chunk::Gap);
            let jump = abs - self.next_abs;
            self.next_abs = abs;
            // Truncation is the point: sequence numbers are modulo 2^32.
            #[allow(clippy::cast_possible_truncation)]
            let jump32 = jump as u32;
            self.next_seq = self.next_seq.map(|n| n.wrapping_add(jump32));
        }
        self.drain(deliver);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(stream: &mut HalfStream, segments: &[(u32, &[u8])]) -> Vec<String> {
        let mut out = Vec::new();
        for (seq, bytes) in segments {
            stream.push(*seq, false, bytes, Meta::default(), &mut |c| match c {
                Chunk::Bytes(b, _) => out.push(String::from_utf8_lossy(b).into_owned()),
                Chunk::Gap => out.push("<gap>".into()),
            });
        }
        stream.finish(&mut |c| match c {
            Chunk::Bytes(b, _) => out.push(String::from_utf8_lossy(b).into_owned()),
            Chunk::Gap => out.push("<gap>".into()),
        });
        out
    }

    #[test]
    fn in_order_retransmitted_and_reordered_segments_come_out_in_order() {
        let mut s = HalfStream::default();
        s.push(99, true, b"", Meta::default(), &mut |_| {});
        let out = collect(
            &mut s,
            &[
                (100, b"abc"),
                (100, b"abc"),
                (106, b"ghi"),
                (103, b"def"),
                (104, b"efg"),
            ],
        );
        assert_eq!(out.concat(), "abcdefghi");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut s = HalfStream::default();
        s.push(u32::MAX - 2, true, b"", Meta::default(), &mut |_| {});
        let out = collect(&mut s, &[(u32::MAX, b"xy"), (u32::MAX - 1, b"a")]);
        assert_eq!(out.concat(), "axy");
    }

    #[test]
    fn a_missing_segment_becomes_a_gap_at_the_end() {
        let mut s = HalfStream::default();
        let out = collect(&mut s, &[(0, b"ab"), (5, b"fg")]);
        assert_eq!(out, ["ab", "<gap>", "fg"]);
    }

    #[test]
    fn held_bytes_are_bounded() {
        let mut s = HalfStream::default();
        let big = vec![b'x'; 200 * 1024];
        let mut gaps = 0;
        s.push(0, false, b"a", Meta::default(), &mut |_| {});
        for i in 1..5u32 {
            s.push(10 + i * 300_000, false, &big, Meta::default(), &mut |c| {
                if matches!(c, Chunk::Gap) {
                    gaps += 1;
                }
            });
            assert!(s.pending_bytes <= MAX_PENDING_BYTES);
        }
        assert!(gaps > 0);
    }
}
