//! Sub-function codes of FC 8 (diagnostics) and the data each one carries.
//!
//! Diagnostics are defined for serial lines, but gateways forward them to serial devices
//! behind them; [`RESTART_COMMUNICATIONS`] and [`FORCE_LISTEN_ONLY_MODE`] take a device off
//! the bus, so a policy should treat FC 8 as a write.

use crate::error::PduError;
use crate::types::FunctionCode;

/// Echo the request data.
pub const RETURN_QUERY_DATA: u16 = 0x00;
/// Restart the serial port; data 0xFF00 also clears the event log.
pub const RESTART_COMMUNICATIONS: u16 = 0x01;
/// Return the 16-bit diagnostic register.
pub const RETURN_DIAGNOSTIC_REGISTER: u16 = 0x02;
/// Change the ASCII mode end-of-message character.
pub const CHANGE_ASCII_INPUT_DELIMITER: u16 = 0x03;
/// Stop answering until restarted; the server sends no response.
pub const FORCE_LISTEN_ONLY_MODE: u16 = 0x04;
/// Clear the counters and the diagnostic register.
pub const CLEAR_COUNTERS: u16 = 0x0A;
/// Clear the overrun error counter and flag.
pub const CLEAR_OVERRUN_COUNTER: u16 = 0x14;

/// Whether the specification defines `sub_function` (0x00..=0x04, 0x0A..=0x12, 0x14); the
/// others are reserved and carried as they are.
pub const fn is_defined(sub_function: u16) -> bool {
    matches!(sub_function, 0x00..=0x04 | 0x0A..=0x12 | 0x14)
}

/// Checks the data of a request: defined sub-functions other than 0x00 carry one word, and
/// most of them only the word 0x0000.
pub(crate) fn check_request(sub_function: u16, data: &[u8]) -> Result<(), PduError> {
    if sub_function == RETURN_QUERY_DATA || !is_defined(sub_function) {
        return Ok(());
    }
    let word = one_word(data)?;
    let (ok, allowed) = match sub_function {
        RESTART_COMMUNICATIONS => (word == 0x0000 || word == 0xFF00, "0x0000 or 0xFF00"),
        // A character then 0x00.
        CHANGE_ASCII_INPUT_DELIMITER => (
            word.trailing_zeros() >= 8,
            "0xCC00 (a character, then 0x00)",
        ),
        _ => (word == 0x0000, "0x0000"),
    };
    if ok {
        Ok(())
    } else {
        Err(PduError::InvalidValue {
            function: FunctionCode::DIAGNOSTICS,
            field: "diagnostics request data",
            actual: word,
            allowed,
        })
    }
}

/// Checks the data of a response: defined sub-functions other than 0x00 carry one word.
pub(crate) fn check_response(sub_function: u16, data: &[u8]) -> Result<(), PduError> {
    if sub_function == RETURN_QUERY_DATA || !is_defined(sub_function) {
        return Ok(());
    }
    one_word(data).map(|_| ())
}

fn one_word(data: &[u8]) -> Result<u16, PduError> {
    match *data {
        [hi, lo] => Ok(u16::from_be_bytes([hi, lo])),
        _ => Err(PduError::Length {
            function: FunctionCode::DIAGNOSTICS,
            actual: 2 + data.len(),
            expected: 4,
        }),
    }
}
