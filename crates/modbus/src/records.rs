//! Zero-copy views of the variable-length structures inside a PDU: file record sub-requests
//! and sub-responses (FC 20, 21) and device identification objects (FC 43/14). Each view is
//! validated when it is built, so its iterators cannot fail.

use crate::error::PduError;
use crate::types::{FunctionCode, Registers};
use crate::wire::Reader;

/// The reference type every file record sub-request and sub-response carries.
pub const FILE_REFERENCE_TYPE: u8 = 6;
/// The number of records in a file: record numbers are `0..=9999`.
pub const FILE_RECORDS: u16 = 10_000;

/// One sub-request of a read file record request (FC 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileRead {
    /// The file, `1..=65535`.
    pub file_number: u16,
    /// The first record, `0..=9999`.
    pub record_number: u16,
    /// The number of 16-bit registers to read, at least 1, ending at record 9999 at most.
    pub record_length: u16,
}

/// The validated sub-requests of a read file record request (FC 20), as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileReads<'a> {
    bytes: &'a [u8],
}

impl<'a> FileReads<'a> {
    /// Sub-requests already validated by [`FileReads::parse`] (a request kept by
    /// [`crate::PendingRequest`] slices them again from its own copy of the bytes).
    pub(crate) const fn validated(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Parses the sub-requests (the bytes after the byte count).
    ///
    /// # Errors
    /// [`PduError`] naming the field: a reference type other than 6, file number 0, a record
    /// range past record 9999, a truncated sub-request, or no sub-request at all.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PduError> {
        let mut reader = Reader::new(FunctionCode::READ_FILE_RECORD, bytes);
        if reader.remaining() == 0 {
            return Err(empty(FunctionCode::READ_FILE_RECORD));
        }
        while reader.remaining() > 0 {
            read_file_header(&mut reader)?;
        }
        Ok(Self { bytes })
    }

    /// The sub-requests as on the wire.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// The number of sub-requests, at least 1.
    pub const fn len(self) -> usize {
        self.bytes.len() / 7
    }

    /// Always false: a request holds at least one sub-request.
    pub const fn is_empty(self) -> bool {
        self.bytes.is_empty()
    }

    /// The sub-requests in order.
    pub fn iter(self) -> impl Iterator<Item = FileRead> + 'a {
        let mut reader = Reader::new(FunctionCode::READ_FILE_RECORD, self.bytes);
        std::iter::from_fn(move || read_file_header(&mut reader).ok())
    }
}

/// One sub-request of a write file record request (FC 21), echoed by its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileWrite<'a> {
    /// The file, `1..=65535`.
    pub file_number: u16,
    /// The first record, `0..=9999`.
    pub record_number: u16,
    /// The registers written, at least one, ending at record 9999 at most.
    pub values: Registers<'a>,
}

/// The validated sub-requests of a write file record request or response (FC 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileWrites<'a> {
    bytes: &'a [u8],
}

impl<'a> FileWrites<'a> {
    /// Sub-requests already validated by [`FileWrites::parse`]; see [`FileReads::validated`].
    pub(crate) const fn validated(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Parses the sub-requests (the bytes after the request data length).
    ///
    /// # Errors
    /// As [`FileReads::parse`], and a record data block shorter than its record length says.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PduError> {
        let mut reader = Reader::new(FunctionCode::WRITE_FILE_RECORD, bytes);
        if reader.remaining() == 0 {
            return Err(empty(FunctionCode::WRITE_FILE_RECORD));
        }
        while reader.remaining() > 0 {
            write_file_record(&mut reader)?;
        }
        Ok(Self { bytes })
    }

    /// The sub-requests as on the wire.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// Always false: a request holds at least one sub-request.
    pub const fn is_empty(self) -> bool {
        self.bytes.is_empty()
    }

    /// The sub-requests in order.
    pub fn iter(self) -> impl Iterator<Item = FileWrite<'a>> + 'a {
        let mut reader = Reader::new(FunctionCode::WRITE_FILE_RECORD, self.bytes);
        std::iter::from_fn(move || write_file_record(&mut reader).ok())
    }
}

/// The validated sub-responses of a read file record response (FC 20): one block of
/// registers per sub-request, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileReadData<'a> {
    bytes: &'a [u8],
}

impl<'a> FileReadData<'a> {
    /// Parses the sub-responses (the bytes after the response data length).
    ///
    /// # Errors
    /// [`PduError`] naming the field: a file response length that is not `1 + 2N` with
    /// `N >= 1`, a reference type other than 6, a truncated sub-response, or none at all.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PduError> {
        let mut reader = Reader::new(FunctionCode::READ_FILE_RECORD, bytes);
        if reader.remaining() == 0 {
            return Err(empty(FunctionCode::READ_FILE_RECORD));
        }
        while reader.remaining() > 0 {
            file_sub_response(&mut reader)?;
        }
        Ok(Self { bytes })
    }

    /// The sub-responses as on the wire.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// Always false: a response holds at least one sub-response.
    pub const fn is_empty(self) -> bool {
        self.bytes.is_empty()
    }

    /// The record data of each sub-response, in order.
    pub fn iter(self) -> impl Iterator<Item = Registers<'a>> + 'a {
        let mut reader = Reader::new(FunctionCode::READ_FILE_RECORD, self.bytes);
        std::iter::from_fn(move || file_sub_response(&mut reader).ok())
    }
}

/// One object of a read device identification response (FC 43/14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceObject<'a> {
    /// The object id: 0x00 vendor name, 0x01 product code, 0x02 revision, ...
    pub id: u8,
    /// The value, usually ASCII text; never trust it to be.
    pub value: &'a [u8],
}

/// The validated object list of a read device identification response (FC 43/14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceObjects<'a> {
    count: u8,
    bytes: &'a [u8],
}

impl<'a> DeviceObjects<'a> {
    /// Parses `count` objects that must use up `bytes` exactly.
    ///
    /// # Errors
    /// [`PduError::TooShort`] when an object is cut short, [`PduError::ByteCount`] when bytes
    /// are left after `count` objects.
    pub fn parse(count: u8, bytes: &'a [u8]) -> Result<Self, PduError> {
        let mut reader = Reader::new(FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT, bytes);
        for _ in 0..count {
            device_object(&mut reader)?;
        }
        if reader.remaining() > 0 {
            return Err(PduError::ByteCount {
                function: FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT,
                field: "bytes after the last of `number of objects` objects",
                actual: reader.remaining(),
                expected: 0,
            });
        }
        Ok(Self { count, bytes })
    }

    /// The number of objects.
    pub const fn len(self) -> u8 {
        self.count
    }

    /// Whether there is no object.
    pub const fn is_empty(self) -> bool {
        self.count == 0
    }

    /// The objects as on the wire, without the count.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// The objects in order.
    pub fn iter(self) -> impl Iterator<Item = DeviceObject<'a>> + 'a {
        let mut reader = Reader::new(FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT, self.bytes);
        std::iter::from_fn(move || device_object(&mut reader).ok())
    }
}

fn empty(function: FunctionCode) -> PduError {
    PduError::TooShort {
        function,
        field: "sub-request list",
        actual: 0,
        min: 7,
    }
}

fn reference_type(reader: &mut Reader<'_>) -> Result<(), PduError> {
    let reference = reader.u8("reference type")?;
    if reference == FILE_REFERENCE_TYPE {
        Ok(())
    } else {
        Err(PduError::InvalidValue {
            function: reader.function(),
            field: "reference type",
            actual: reference.into(),
            allowed: "0x06",
        })
    }
}

fn read_file_header(reader: &mut Reader<'_>) -> Result<FileRead, PduError> {
    reference_type(reader)?;
    let file_number = reader.u16("file number")?;
    if file_number == 0 {
        return Err(PduError::OutOfRange {
            function: reader.function(),
            field: "file number",
            actual: 0,
            min: 1,
            max: u16::MAX.into(),
        });
    }
    let record_number = reader.u16("record number")?;
    if record_number >= FILE_RECORDS {
        return Err(PduError::OutOfRange {
            function: reader.function(),
            field: "record number",
            actual: record_number.into(),
            min: 0,
            max: u32::from(FILE_RECORDS) - 1,
        });
    }
    let record_length = reader.u16("record length")?;
    reader.check_quantity("record length", record_length, FILE_RECORDS - record_number)?;
    Ok(FileRead {
        file_number,
        record_number,
        record_length,
    })
}

fn write_file_record<'a>(reader: &mut Reader<'a>) -> Result<FileWrite<'a>, PduError> {
    let FileRead {
        file_number,
        record_number,
        record_length,
    } = read_file_header(reader)?;
    let data = reader.take("record data", 2 * usize::from(record_length))?;
    Ok(FileWrite {
        file_number,
        record_number,
        values: Registers::new(data)?,
    })
}

fn file_sub_response<'a>(reader: &mut Reader<'a>) -> Result<Registers<'a>, PduError> {
    let length = reader.u8("file response length")?;
    // The length counts the reference type and then whole registers: 1 + 2N, N >= 1.
    if length < 3 || length % 2 == 0 {
        return Err(PduError::InvalidValue {
            function: reader.function(),
            field: "file response length",
            actual: length.into(),
            allowed: "an odd number from 3 (reference type + 2 bytes per register)",
        });
    }
    reference_type(reader)?;
    let data = reader.take("record data", usize::from(length) - 1)?;
    Registers::new(data)
}

fn device_object<'a>(reader: &mut Reader<'a>) -> Result<DeviceObject<'a>, PduError> {
    let id = reader.u8("object id")?;
    let length = reader.u8("object length")?;
    let value = reader.take("object value", length.into())?;
    Ok(DeviceObject { id, value })
}

#[cfg(test)]
mod tests;
