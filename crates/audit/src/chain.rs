//! The canonical encoding of an event and the hash chain over it.
//!
//! # Canonical encoding (format version 1)
//!
//! An event is encoded from its stored columns, in this fixed order:
//!
//! | # | column | type |
//! |---|---|---|
//! | 1 | `seq` | integer |
//! | 2 | `ts` (µs since the Unix epoch, UTC) | integer |
//! | 3 | `time_source` | text |
//! | 4 | `clock_sync` | text |
//! | 5 | `actor_kind` | text |
//! | 6 | `actor` | text |
//! | 7 | `source` | text or null |
//! | 8 | `interface` | text or null |
//! | 9 | `category` | text |
//! | 10 | `action` | text |
//! | 11 | `target` | text or null |
//! | 12 | `outcome` | text |
//! | 13 | `severity` (syslog number) | integer |
//! | 14 | `details` (canonical JSON) | text |
//!
//! ```text
//! canonical(event) = 0x01 || enc(column 1) || ... || enc(column 14)
//! enc(null)        = 0x00
//! enc(integer i)   = 0x01 || i as 8 bytes, big-endian two's complement
//! enc(text t)      = 0x02 || len(t) as 4 bytes, big-endian || the UTF-8 bytes of t
//! enc(real r)      = 0x03 || the IEEE 754 bits of r, 8 bytes big-endian
//! enc(blob b)      = 0x04 || len(b) as 4 bytes, big-endian || b
//! ```
//!
//! Every value is typed and length-prefixed, so no two different rows share an encoding. The
//! writer only produces null, integer and text; real and blob exist so that a verifier can
//! encode whatever a tampered file holds and see the hash differ.
//!
//! Canonical JSON for `details`: objects with keys sorted by their UTF-8 bytes, no
//! insignificant whitespace, strings escaped as `serde_json` does, numbers as `serde_json`
//! prints them. The text is stored as produced and hashed as stored, so verification never
//! re-parses JSON.
//!
//! # Chain
//!
//! ```text
//! hash_0 = SHA-256("rampart-audit/v1/genesis")
//! hash_n = SHA-256(hash_{n-1} || canonical(event_n))
//! ```
//!
//! Each row stores its `hash_n`, so a verifier can locate the first broken link, and a signed
//! checkpoint fixes `hash_n` at a sequence number so a rewritten chain cannot pass.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use rampart_vault::crypto::{Sha256, sha256};
use rusqlite::types::ValueRef;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::ParseError;

/// The format version: the first byte of every canonical encoding.
pub(crate) const FORMAT_VERSION: u8 = 1;

/// A SHA-256 chain hash: the state of the audit chain after one event.
///
/// Only the chain computation and parsing produce one, so a value in hand was either computed
/// here or read from text that had the right shape.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditEntryHash([u8; 32]);

impl AuditEntryHash {
    /// The fixed value before the first event: `SHA-256("rampart-audit/v1/genesis")`.
    pub fn genesis() -> AuditEntryHash {
        *GENESIS
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads a hash stored by this crate; `None` when the blob is not 32 bytes.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<AuditEntryHash> {
        bytes.try_into().ok().map(AuditEntryHash)
    }

    /// The next link: `SHA-256(self || canonical)`.
    pub(crate) fn next(&self, canonical: &[u8]) -> AuditEntryHash {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(canonical);
        AuditEntryHash(hasher.finish())
    }
}

static GENESIS: LazyLock<AuditEntryHash> =
    LazyLock::new(|| AuditEntryHash(sha256(b"rampart-audit/v1/genesis")));

impl fmt::Display for AuditEntryHash {
    /// Lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for AuditEntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditEntryHash({self})")
    }
}

impl FromStr for AuditEntryHash {
    type Err = ParseError;

    /// Parses 64 hexadecimal digits (either case).
    fn from_str(s: &str) -> Result<AuditEntryHash, ParseError> {
        let bad = || ParseError::Hash(s.to_owned());
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            // The input is ASCII, so each pair is valid UTF-8.
            let digits = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(digits, 16).map_err(|_| bad())?;
        }
        Ok(AuditEntryHash(out))
    }
}

impl Serialize for AuditEntryHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AuditEntryHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Writes values in the canonical encoding.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    pub(crate) fn with_capacity(capacity: usize) -> Encoder {
        Encoder {
            bytes: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
    }

    pub(crate) fn version(&mut self) {
        self.bytes.push(FORMAT_VERSION);
    }

    pub(crate) fn null(&mut self) {
        self.bytes.push(0x00);
    }

    pub(crate) fn int(&mut self, value: i64) {
        self.bytes.push(0x01);
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn text(&mut self, value: &str) {
        self.bytes.push(0x02);
        self.len_prefixed(value.as_bytes());
    }

    pub(crate) fn opt_text(&mut self, value: Option<&str>) {
        match value {
            Some(text) => self.text(text),
            None => self.null(),
        }
    }

    /// Whatever `SQLite` holds, so a tampered column still encodes (and fails to match).
    pub(crate) fn value(&mut self, value: ValueRef<'_>) {
        match value {
            ValueRef::Null => self.null(),
            ValueRef::Integer(i) => self.int(i),
            ValueRef::Text(t) => {
                self.bytes.push(0x02);
                self.len_prefixed(t);
            }
            ValueRef::Real(r) => {
                self.bytes.push(0x03);
                self.bytes.extend_from_slice(&r.to_bits().to_be_bytes());
            }
            ValueRef::Blob(b) => {
                self.bytes.push(0x04);
                self.len_prefixed(b);
            }
        }
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn len_prefixed(&mut self, bytes: &[u8]) {
        // Rows are bounded far below 4 GiB by the event limits and SQLite's own maximum
        // (1 GB by default), so the length always fits; saturate rather than panic.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(bytes);
    }
}

/// The JSON text of `value` with object keys sorted by their UTF-8 bytes and no whitespace.
///
/// Written by hand rather than with `serde_json::to_string` because `serde_json`'s key order
/// depends on its `preserve_order` feature, which any crate in a build can switch on.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    // Serialising a str to JSON cannot fail; the fallback keeps the output valid JSON anyway.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

#[cfg(test)]
mod tests;
