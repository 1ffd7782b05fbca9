//! FC 43, encapsulated interface transport: the MEI types this crate decodes and the read
//! device identification response.

use crate::error::PduError;
use crate::records::DeviceObjects;
use crate::types::{FunctionCode, ReadDeviceIdCode};
use crate::wire::Reader;

/// MEI type 13: `CANopen` general reference.
pub const CANOPEN_GENERAL_REFERENCE: u8 = 0x0D;
/// MEI type 14: read device identification.
pub const READ_DEVICE_IDENTIFICATION: u8 = 0x0E;

/// A read device identification response (FC 43/14).
///
/// Fields are public so that a server can build one; encoding checks them with the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceIdentification<'a> {
    /// The access category, echoed from the request.
    pub code: ReadDeviceIdCode,
    /// The server's identification conformity level: 0x01..=0x03 (stream access only) or
    /// 0x81..=0x83 (stream and individual access).
    pub conformity_level: u8,
    /// Whether the objects did not fit and another request must follow.
    pub more_follows: bool,
    /// The object id to ask for next; 0 unless `more_follows`.
    pub next_object_id: u8,
    /// The objects.
    pub objects: DeviceObjects<'a>,
}

pub(crate) fn decode_identification(
    mut r: Reader<'_>,
) -> Result<DeviceIdentification<'_>, PduError> {
    let function = FunctionCode::ENCAPSULATED_INTERFACE_TRANSPORT;
    let code = ReadDeviceIdCode::new(r.u8("read device id code")?)?;
    let conformity_level = r.u8("conformity level")?;
    if !matches!(conformity_level, 0x01..=0x03 | 0x81..=0x83) {
        return Err(PduError::InvalidValue {
            function,
            field: "conformity level",
            actual: conformity_level.into(),
            allowed: "0x01..=0x03 or 0x81..=0x83",
        });
    }
    let more_follows = match r.u8("more follows")? {
        0x00 => false,
        0xFF => true,
        other => {
            return Err(PduError::InvalidValue {
                function,
                field: "more follows",
                actual: other.into(),
                allowed: "0x00 or 0xFF",
            });
        }
    };
    let next_object_id = r.u8("next object id")?;
    if !more_follows && next_object_id != 0 {
        return Err(PduError::InvalidValue {
            function,
            field: "next object id without more follows",
            actual: next_object_id.into(),
            allowed: "0x00",
        });
    }
    let count = r.u8("number of objects")?;
    let objects = DeviceObjects::parse(count, r.rest())?;
    Ok(DeviceIdentification {
        code,
        conformity_level,
        more_follows,
        next_object_id,
        objects,
    })
}
