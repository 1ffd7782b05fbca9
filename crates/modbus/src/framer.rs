//! Incremental framing of a Modbus/TCP byte stream into ADUs.

use crate::error::FrameError;
use crate::frame::{Adu, HEADER_LEN, Header, MAX_ADU_LEN};

/// Splits a TCP byte stream into ADUs, whatever the chunking: partial ADUs, several ADUs per
/// chunk, ADUs split across chunks.
///
/// Complete ADUs inside a chunk are returned as slices of the chunk (zero copy); only an ADU
/// split across chunks is copied, into a fixed buffer of one maximal ADU ([`MAX_ADU_LEN`],
/// 260 bytes). The deframer never allocates and never holds more than that.
///
/// ```
/// use rampart_modbus::Deframer;
///
/// let stream = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2, 0, 2, 0, 0, 0, 6, 1, 3, 0, 8, 0, 1];
/// let mut deframer = Deframer::new();
/// let mut ids = Vec::new();
/// for chunk in stream.chunks(5) {
///     let mut rest = chunk;
///     while let Some(adu) = deframer.next_adu(&mut rest)? {
///         ids.push(adu.header().transaction_id());
///     }
/// }
/// assert_eq!(ids, [1, 2]);
/// deframer.finish()?;
/// # Ok::<(), rampart_modbus::FrameError>(())
/// ```
///
/// # Security
/// A header with a protocol id other than 0 or a length field outside `2..=254` is
/// unrecoverable: the deframer returns [`FrameError`] at once, as soon as the 7 header
/// bytes are in (without waiting for a body), and returns the same error for ever after.
/// The caller must close the connection. Resynchronising by scanning for something that
/// looks like a header is unsafe in a security device: the attacker chooses the bytes, so
/// a "recovered" boundary can hide a frame from the policy that the server then parses
/// differently.
#[derive(Clone)]
pub struct Deframer {
    buf: [u8; MAX_ADU_LEN],
    /// Bytes of a partial ADU in `buf`.
    len: usize,
    failed: Option<FrameError>,
}

impl Deframer {
    /// A deframer at the start of a stream.
    pub const fn new() -> Self {
        Self {
            buf: [0; MAX_ADU_LEN],
            len: 0,
            failed: None,
        }
    }

    /// Returns the next complete ADU, consuming its bytes from the front of `input`.
    ///
    /// Returns `Ok(None)` once `input` is used up (then `input` is empty and any partial ADU
    /// is buffered). Call it in a loop until then for each chunk received; bytes left in
    /// `input` after an early stop stay the caller's.
    ///
    /// # Errors
    /// [`FrameError::ProtocolId`] or [`FrameError::Length`] for an invalid header; the
    /// deframer is then failed and returns that error on every later call.
    pub fn next_adu<'a, 'i: 'a>(
        &'a mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<Adu<'a>>, FrameError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if self.len > 0 {
            return self.continue_partial(input);
        }
        let chunk: &'i [u8] = input;
        if chunk.is_empty() {
            return Ok(None);
        }
        if chunk.len() < HEADER_LEN {
            self.stash(input);
            return Ok(None);
        }
        let header = self.header(chunk)?;
        if let Some((adu, rest)) = chunk.split_at_checked(header.adu_len()) {
            *input = rest;
            return Ok(Some(Adu::from_parts(header, adu)));
        }
        self.stash(input);
        Ok(None)
    }

    /// The number of bytes of a partial ADU held, `0..260`.
    pub const fn buffered(&self) -> usize {
        self.len
    }

    /// Checks that the stream ended on an ADU boundary; call it when the peer closes.
    ///
    /// # Errors
    /// [`FrameError::Truncated`] when a partial ADU is buffered, or the error that failed the
    /// deframer.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if self.len == 0 {
            return Ok(());
        }
        let needed = self
            .buf
            .get(..self.len)
            .and_then(|partial| Header::parse(partial).ok())
            .map_or(HEADER_LEN, Header::adu_len);
        Err(FrameError::Truncated {
            actual: self.len,
            needed,
        })
    }

    /// Completes the buffered partial ADU from `input`.
    fn continue_partial<'a>(
        &'a mut self,
        input: &mut &[u8],
    ) -> Result<Option<Adu<'a>>, FrameError> {
        if self.len < HEADER_LEN {
            self.fill(input, HEADER_LEN);
            if self.len < HEADER_LEN {
                return Ok(None);
            }
        }
        let header = match self.buf.first_chunk::<HEADER_LEN>() {
            Some(bytes) => {
                let bytes = *bytes;
                self.header(&bytes)?
            }
            None => return Ok(None),
        };
        let needed = header.adu_len();
        self.fill(input, needed);
        if self.len < needed {
            return Ok(None);
        }
        self.len = 0;
        Ok(self
            .buf
            .get(..needed)
            .map(|bytes| Adu::from_parts(header, bytes)))
    }

    fn header(&mut self, bytes: &[u8]) -> Result<Header, FrameError> {
        Header::parse(bytes).inspect_err(|error| self.failed = Some(*error))
    }

    /// Moves bytes from `input` into the buffer until it holds `target` bytes.
    fn fill(&mut self, input: &mut &[u8], target: usize) {
        let take = target.saturating_sub(self.len).min(input.len());
        let (head, rest) = input.split_at(take);
        if let Some(slot) = self.buf.get_mut(self.len..self.len + take) {
            slot.copy_from_slice(head);
            self.len += take;
        }
        *input = rest;
    }

    /// Buffers all of `input`, a partial ADU shorter than [`MAX_ADU_LEN`].
    fn stash(&mut self, input: &mut &[u8]) {
        self.fill(input, MAX_ADU_LEN);
    }
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Deframer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deframer")
            .field("buffered", &self.len)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
