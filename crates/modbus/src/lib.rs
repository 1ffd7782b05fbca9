//! Modbus/TCP codec and stream framer. Does no I/O.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
