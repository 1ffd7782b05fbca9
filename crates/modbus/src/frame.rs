//! The MBAP header and the application data unit (ADU) it frames.
//!
//! ```text
//! | transaction id: u16 | protocol id: u16 = 0 | length: u16 | unit id: u8 | PDU: 1..=253 bytes |
//!                                               `--------- length counts these ---------'
//! ```

use crate::error::{DecodeError, FrameError, PduError};
use crate::request::{Request, RequestPdu};
use crate::response::{Response, ResponsePdu};

/// The size of the MBAP header, unit id included.
pub const HEADER_LEN: usize = 7;
/// The largest PDU: function code plus 252 bytes of data.
pub const MAX_PDU_LEN: usize = 253;
/// The largest ADU: header plus the largest PDU.
pub const MAX_ADU_LEN: usize = HEADER_LEN + MAX_PDU_LEN;
/// The smallest valid MBAP length field: unit id plus a function code.
pub const MIN_MBAP_LENGTH: u16 = 2;
/// The largest valid MBAP length field: unit id plus the largest PDU.
pub const MAX_MBAP_LENGTH: u16 = 254;

/// A validated MBAP header: protocol id 0 and a length field in `2..=254`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    transaction_id: u16,
    length: u16,
    unit_id: u8,
}

impl Header {
    /// Parses the first [`HEADER_LEN`] bytes of `bytes`; the rest is ignored.
    ///
    /// # Errors
    /// [`FrameError::Truncated`] for fewer than 7 bytes, [`FrameError::ProtocolId`] and
    /// [`FrameError::Length`] for the framing violations.
    pub fn parse(bytes: &[u8]) -> Result<Self, FrameError> {
        let Some(&[t0, t1, p0, p1, l0, l1, unit_id]) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Truncated {
                actual: bytes.len(),
                needed: HEADER_LEN,
            });
        };
        let protocol_id = u16::from_be_bytes([p0, p1]);
        if protocol_id != 0 {
            return Err(FrameError::ProtocolId {
                actual: protocol_id,
            });
        }
        let length = u16::from_be_bytes([l0, l1]);
        if !(MIN_MBAP_LENGTH..=MAX_MBAP_LENGTH).contains(&length) {
            return Err(FrameError::Length { actual: length });
        }
        Ok(Self {
            transaction_id: u16::from_be_bytes([t0, t1]),
            length,
            unit_id,
        })
    }

    /// The header of an ADU that carries a PDU of `pdu_len` bytes.
    ///
    /// # Errors
    /// [`FrameError::Length`] unless `pdu_len` is in `1..=253`.
    pub fn new(transaction_id: u16, unit_id: u8, pdu_len: usize) -> Result<Self, FrameError> {
        match u16::try_from(pdu_len + 1) {
            Ok(length) if (MIN_MBAP_LENGTH..=MAX_MBAP_LENGTH).contains(&length) => Ok(Self {
                transaction_id,
                length,
                unit_id,
            }),
            _ => Err(FrameError::Length {
                actual: u16::try_from(pdu_len + 1).unwrap_or(u16::MAX),
            }),
        }
    }

    /// The transaction id that pairs a response with its request.
    pub const fn transaction_id(self) -> u16 {
        self.transaction_id
    }

    /// The unit id: the addressed server behind a gateway, or 0xFF / 0 for the device itself.
    pub const fn unit_id(self) -> u8 {
        self.unit_id
    }

    /// The length field: unit id plus PDU, in `2..=254`.
    pub const fn length(self) -> u16 {
        self.length
    }

    /// The length of the PDU this header frames, in `1..=253`.
    pub const fn pdu_len(self) -> usize {
        self.length as usize - 1
    }

    /// The length of the whole ADU, in `8..=260`.
    pub const fn adu_len(self) -> usize {
        HEADER_LEN - 1 + self.length as usize
    }

    /// The header as it travels on the wire.
    pub const fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [t0, t1] = self.transaction_id.to_be_bytes();
        let [l0, l1] = self.length.to_be_bytes();
        [t0, t1, 0, 0, l0, l1, self.unit_id]
    }
}

/// One complete, framed ADU: a valid [`Header`] and exactly as many PDU bytes as it says. The
/// PDU itself is not decoded yet; see [`Adu::decode_request`] and [`Adu::decode_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Adu<'a> {
    header: Header,
    bytes: &'a [u8],
}

impl<'a> Adu<'a> {
    /// Parses `bytes` as exactly one ADU, as it arrives in a datagram or a pcap segment that
    /// is known to hold one.
    ///
    /// # Errors
    /// Any [`FrameError`]: a bad header, fewer bytes than the header says
    /// ([`FrameError::Truncated`]) or more ([`FrameError::TrailingBytes`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        let header = Header::parse(bytes)?;
        let needed = header.adu_len();
        match bytes.len().cmp(&needed) {
            std::cmp::Ordering::Less => Err(FrameError::Truncated {
                actual: bytes.len(),
                needed,
            }),
            std::cmp::Ordering::Greater => Err(FrameError::TrailingBytes {
                actual: bytes.len(),
                expected: needed,
            }),
            std::cmp::Ordering::Equal => Ok(Self { header, bytes }),
        }
    }

    /// An ADU from a header already parsed from the front of `bytes`, which the caller has
    /// cut to `header.adu_len()`.
    pub(crate) const fn from_parts(header: Header, bytes: &'a [u8]) -> Self {
        Self { header, bytes }
    }

    /// The MBAP header.
    pub const fn header(self) -> Header {
        self.header
    }

    /// The whole ADU as received, to forward unchanged.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// The PDU: function code and data.
    pub fn pdu(self) -> &'a [u8] {
        self.bytes.get(HEADER_LEN..).unwrap_or_default()
    }

    /// Decodes the PDU as a request (client to server).
    ///
    /// # Errors
    /// Any [`PduError`].
    pub fn decode_request(self) -> Result<Request<'a>, PduError> {
        Ok(Request::decoded(
            self.bytes,
            self.header,
            RequestPdu::decode(self.pdu())?,
        ))
    }

    /// Decodes the PDU as a response (server to client).
    ///
    /// # Errors
    /// Any [`PduError`].
    pub fn decode_response(self) -> Result<Response<'a>, PduError> {
        Ok(Response::from_header(
            self.header,
            ResponsePdu::decode(self.pdu())?,
        ))
    }
}

/// An owned copy of one ADU in a fixed buffer of [`MAX_ADU_LEN`] bytes, to keep past the
/// input it was framed from: a pending request waiting for its response, say. Never
/// allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AduBuf {
    header: Header,
    bytes: [u8; MAX_ADU_LEN],
}

impl AduBuf {
    /// Copies `adu`.
    pub fn new(adu: Adu<'_>) -> Self {
        let mut bytes = [0; MAX_ADU_LEN];
        let source = adu.as_bytes();
        // An `Adu` is never longer than `MAX_ADU_LEN`: its header length field is bounded.
        if let Some(slot) = bytes.get_mut(..source.len()) {
            slot.copy_from_slice(source);
        }
        Self {
            header: adu.header(),
            bytes,
        }
    }

    /// The ADU, borrowed from this buffer.
    pub fn adu(&self) -> Adu<'_> {
        let bytes = self.bytes.get(..self.header.adu_len()).unwrap_or_default();
        Adu::from_parts(self.header, bytes)
    }
}

impl std::fmt::Debug for AduBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AduBuf").field(&self.adu()).finish()
    }
}

impl<'a> From<Adu<'a>> for AduBuf {
    fn from(adu: Adu<'a>) -> Self {
        Self::new(adu)
    }
}

/// Parses `bytes` as exactly one request ADU and decodes it.
///
/// # Errors
/// [`DecodeError::Frame`] for an MBAP problem, [`DecodeError::Pdu`] for a PDU problem.
pub fn decode_request(bytes: &[u8]) -> Result<Request<'_>, DecodeError> {
    Ok(Adu::parse(bytes)?.decode_request()?)
}

/// Parses `bytes` as exactly one response ADU and decodes it.
///
/// # Errors
/// [`DecodeError::Frame`] for an MBAP problem, [`DecodeError::Pdu`] for a PDU problem.
pub fn decode_response(bytes: &[u8]) -> Result<Response<'_>, DecodeError> {
    Ok(Adu::parse(bytes)?.decode_response()?)
}

/// Writes `header` and then `pdu` into `out`, which must have room.
pub(crate) fn write_adu(
    transaction_id: u16,
    unit_id: u8,
    pdu: &[u8],
    out: &mut [u8],
) -> Result<usize, crate::EncodeError> {
    let header =
        Header::new(transaction_id, unit_id, pdu.len()).map_err(|_| PduError::TooLong {
            actual: pdu.len(),
            max: MAX_PDU_LEN,
        })?;
    let needed = header.adu_len();
    let available = out.len();
    let Some((head, body)) = out
        .get_mut(..needed)
        .and_then(|slot| slot.split_first_chunk_mut::<HEADER_LEN>())
    else {
        return Err(crate::EncodeError::BufferTooSmall { needed, available });
    };
    *head = header.to_bytes();
    body.copy_from_slice(pdu);
    Ok(needed)
}

#[cfg(test)]
mod tests;
