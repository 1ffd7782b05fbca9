//! Modbus/TCP codec and stream framer. Pure logic: no I/O, no async, no allocation on the
//! decode path.
//!
//! Rampart's gateway, its offline pcap inspector and its DPI policy engine (`conduit`) read
//! Modbus/TCP through this crate. It follows the Modbus Application Protocol specification
//! v1.1b3 and the Modbus Messaging on TCP/IP implementation guide v1.0b, strictly: a frame the
//! specification does not allow is an error, not a best guess.
//!
//! # Layers and key types
//! 1. **Stream** — [`Deframer`] cuts a TCP byte stream into [`Adu`]s (zero copy where the
//!    chunking allows, one 260-byte buffer otherwise).
//! 2. **Frame** — [`Adu`] is one application data unit: a validated MBAP [`Header`]
//!    (protocol id 0, length `2..=254`) and its PDU bytes. [`Adu::parse`] takes exactly one
//!    ADU from a datagram or a pcap segment; [`AduBuf`] keeps one past its input.
//! 3. **PDU** — [`RequestPdu`] and [`ResponsePdu`] decode every public function code (1–8,
//!    11, 12, 15–17, 20–24, 43/13, 43/14), exception responses, and any other code as
//!    `Other` with its raw bytes, so that a policy can deny vendor codes such as 90 (UMAS).
//!    Register and coil data are views ([`Registers`], [`Bits`]) borrowing the input.
//! 4. **Transaction** — [`Request`] and [`Response`] add the transaction and unit ids;
//!    [`Request::access`] gives the [`Access`] a policy checks (table and [`AddressRange`]
//!    read and/or written); [`validate_response`] checks a response against its request.
//!    [`PendingRequest`] keeps a decoded request, with no borrow, while its response is
//!    awaited, and checks that response without decoding the request again.
//!
//! [`decode_request`] and [`decode_response`] do 2 and 3 in one call. Every decoded value
//! encodes back to the same bytes (`encode`, `encode_to_slice`); encoding a built value runs
//! the decoder on the result, so the crate cannot emit a frame it would reject.
//!
//! Errors come in one enum per layer: [`FrameError`], [`PduError`], [`RangeError`],
//! [`MismatchError`] (and [`EncodeError`]); each message names the field, the value and the
//! limit.
//!
//! # Security model
//! Every byte is attacker-controlled (IEC 62443-4-2 CR 3.5, input validation; NDR 5.2 and
//! CR 5.1, the zone boundary this codec serves).
//! - **Bounded**: no input makes the crate allocate or buffer more than one maximal ADU
//!   (260 bytes); PDUs are at most 253 bytes, every count is checked against its
//!   specification limit and against the bytes actually present.
//! - **No panics on input**: decoding and framing are panic-free for every byte sequence
//!   (checked by property tests and the fuzz targets in `fuzz/`); library code denies
//!   `unwrap`, `expect`, `panic!` and slice indexing outside tests.
//! - **No resynchronisation**: a framing error ends the stream ([`Deframer`] stays failed);
//!   the caller closes the connection rather than guess where the next frame starts.
//! - **Unknown is visible, not dropped**: unknown function codes decode as `Other` and
//!   report [`Access::Unmodelled`], so default-deny policies see and refuse them.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod diagnostics;
mod error;
mod frame;
mod framer;
pub mod limits;
pub mod mei;
mod pending;
mod records;
mod request;
mod response;
mod types;
mod validate;
mod wire;

#[doc(hidden)]
pub mod fuzzing;

pub use error::{DecodeError, EncodeError, FrameError, MismatchError, PduError, RangeError};
pub use frame::{
    Adu, AduBuf, HEADER_LEN, Header, MAX_ADU_LEN, MAX_MBAP_LENGTH, MAX_PDU_LEN, MIN_MBAP_LENGTH,
    decode_request, decode_response,
};
pub use framer::Deframer;
pub use pending::PendingRequest;
pub use records::{
    DeviceObject, DeviceObjects, FILE_RECORDS, FILE_REFERENCE_TYPE, FileRead, FileReadData,
    FileReads, FileWrite, FileWrites,
};
pub use request::{Request, RequestPdu};
pub use response::{Response, ResponsePdu};
pub use types::{
    ADDRESS_SPACE, Access, AddressRange, Bits, ExceptionCode, FunctionCode, ReadDeviceIdCode,
    Registers, Span, Table,
};
pub use validate::{validate_response, validate_response_pdu};
