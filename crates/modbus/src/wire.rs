//! Panic-free byte reading and bounded writing shared by the request and response codecs.

use crate::error::PduError;
use crate::frame::MAX_PDU_LEN;
use crate::types::{AddressRange, FunctionCode};

/// A cursor over a PDU's data that names the field in every error.
pub(crate) struct Reader<'a> {
    function: FunctionCode,
    rest: &'a [u8],
    /// Bytes consumed so far, for the "needs at least" part of errors.
    offset: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(function: FunctionCode, data: &'a [u8]) -> Self {
        Self {
            function,
            rest: data,
            offset: 0,
        }
    }

    pub(crate) const fn function(&self) -> FunctionCode {
        self.function
    }

    pub(crate) const fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], PduError> {
        let Some((head, rest)) = self.rest.split_at_checked(len) else {
            return Err(PduError::TooShort {
                function: self.function,
                field,
                actual: self.offset + self.rest.len(),
                min: self.offset + len,
            });
        };
        self.rest = rest;
        self.offset += len;
        Ok(head)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, PduError> {
        let [byte] = *self.array::<1>(field)?;
        Ok(byte)
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, PduError> {
        Ok(u16::from_be_bytes(*self.array::<2>(field)?))
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<&'a [u8; N], PduError> {
        let Some((head, rest)) = self.rest.split_first_chunk::<N>() else {
            return Err(PduError::TooShort {
                function: self.function,
                field,
                actual: self.offset + self.rest.len(),
                min: self.offset + N,
            });
        };
        self.rest = rest;
        self.offset += N;
        Ok(head)
    }

    /// The rest of the data; `count_field` names the byte count that must equal its length.
    pub(crate) fn rest_counted(
        self,
        count_field: &'static str,
        count: usize,
    ) -> Result<&'a [u8], PduError> {
        if self.rest.len() == count {
            Ok(self.rest)
        } else {
            Err(PduError::ByteCount {
                function: self.function,
                field: count_field,
                actual: count,
                expected: self.rest.len(),
            })
        }
    }

    /// The rest of the data, whatever its length.
    pub(crate) const fn rest(self) -> &'a [u8] {
        self.rest
    }

    /// Reads a start address and quantity and checks the quantity against `1..=max`.
    pub(crate) fn range(&mut self, max: u16) -> Result<AddressRange, PduError> {
        let start = self.u16("starting address")?;
        let quantity = self.u16("quantity")?;
        self.check_quantity("quantity", quantity, max)?;
        AddressRange::new(start, quantity).map_err(|source| PduError::AddressRange {
            function: self.function,
            source,
        })
    }

    pub(crate) fn check_quantity(
        &self,
        field: &'static str,
        quantity: u16,
        max: u16,
    ) -> Result<(), PduError> {
        if (1..=max).contains(&quantity) {
            Ok(())
        } else {
            Err(PduError::OutOfRange {
                function: self.function,
                field,
                actual: quantity.into(),
                min: 1,
                max: max.into(),
            })
        }
    }
}

/// Requires `data` to be exactly `N` bytes.
pub(crate) fn exact<const N: usize>(
    function: FunctionCode,
    data: &[u8],
) -> Result<&[u8; N], PduError> {
    data.try_into().map_err(|_| PduError::Length {
        function,
        actual: data.len(),
        expected: N,
    })
}

/// Requires `data` to be exactly `2 * N` bytes and reads them as `N` big-endian words.
pub(crate) fn words<const N: usize>(
    function: FunctionCode,
    data: &[u8],
) -> Result<[u16; N], PduError> {
    let (pairs, odd) = data.as_chunks::<2>();
    if pairs.len() != N || !odd.is_empty() {
        return Err(PduError::Length {
            function,
            actual: data.len(),
            expected: 2 * N,
        });
    }
    let mut out = [0; N];
    for (word, pair) in out.iter_mut().zip(pairs) {
        *word = u16::from_be_bytes(*pair);
    }
    Ok(out)
}

/// A PDU writer into a stack buffer of [`MAX_PDU_LEN`]; writes past the end are counted, not
/// stored, so that the caller can report the length it would have needed.
pub(crate) struct Writer {
    buf: [u8; MAX_PDU_LEN],
    len: usize,
}

impl Writer {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; MAX_PDU_LEN],
            len: 0,
        }
    }

    pub(crate) fn u8(&mut self, value: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = value;
        }
        self.len += 1;
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(slot) = self.buf.get_mut(self.len..end) {
            slot.copy_from_slice(bytes);
        }
        self.len = end;
    }

    /// Writes `len` as a one-byte count; a length that does not fit is written as 0xFF, and
    /// the decoder run afterwards rejects it.
    pub(crate) fn count_u8(&mut self, len: usize) {
        self.u8(u8::try_from(len).unwrap_or(u8::MAX));
    }

    pub(crate) fn finish(&self) -> Result<&[u8], PduError> {
        self.buf.get(..self.len).ok_or(PduError::TooLong {
            actual: self.len,
            max: MAX_PDU_LEN,
        })
    }
}
