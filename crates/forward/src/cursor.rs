//! The persistent cursor: how far forwarding to one collector has got.
//!
//! One small text file per collector, replaced atomically (`rampart_vault::write_atomic`,
//! mode 0600) and locked while a forwarder uses it (a sibling `.lock` file):
//!
//! ```text
//! rampart-forward-cursor 1
//! delivered 1234
//! delivered-hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! sent 1240
//! checkpoint-delivered 1200
//! checkpoint-sent 1200
//! ```
//!
//! `delivered` only moves forward once the forwarder has evidence that the collector holds the
//! events (see the crate docs); `sent` is written *before* a batch goes out, so after any crash
//! every event that may already be at the collector is known and its next copy is marked.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rampart_audit::AuditEntryHash;

use crate::error::ForwardError;

const MAGIC: &str = "rampart-forward-cursor 1";
/// The fields after the first line, in order.
const KEYS: [&str; 5] = [
    "delivered",
    "delivered-hash",
    "sent",
    "checkpoint-delivered",
    "checkpoint-sent",
];
/// A cursor file is a few hundred bytes; anything larger is not one.
const MAX_FILE: u64 = 4096;

/// Where forwarding to one collector stands.
///
/// Invariant: `delivered <= sent` and `checkpoint_delivered <= checkpoint_sent`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    delivered: u64,
    delivered_hash: Option<AuditEntryHash>,
    sent: u64,
    checkpoint_delivered: u64,
    checkpoint_sent: u64,
}

impl Cursor {
    /// The last sequence number known to be at the collector (0: none).
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The chain hash of event [`Cursor::delivered`], when known: the forwarder checks it
    /// against the trail on start to detect a replaced or rewritten trail.
    pub fn delivered_hash(&self) -> Option<AuditEntryHash> {
        self.delivered_hash
    }

    /// The highest sequence number ever handed to a connection: copies of events up to it
    /// carry the `resent` marker.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// The sequence number of the last checkpoint known to be at the collector (0: none).
    pub fn checkpoint_delivered(&self) -> u64 {
        self.checkpoint_delivered
    }

    /// The sequence number of the last checkpoint ever handed to a connection.
    pub fn checkpoint_sent(&self) -> u64 {
        self.checkpoint_sent
    }

    pub(crate) fn mark_sent(&mut self, seq: u64, checkpoint: u64) {
        self.sent = self.sent.max(seq);
        self.checkpoint_sent = self.checkpoint_sent.max(checkpoint);
    }

    pub(crate) fn mark_delivered(
        &mut self,
        seq: u64,
        hash: Option<AuditEntryHash>,
        checkpoint: u64,
    ) {
        if seq > self.delivered {
            self.delivered = seq;
            self.delivered_hash = hash;
        }
        self.checkpoint_delivered = self.checkpoint_delivered.max(checkpoint);
        self.sent = self.sent.max(self.delivered);
        self.checkpoint_sent = self.checkpoint_sent.max(self.checkpoint_delivered);
    }

    fn render(&self) -> String {
        let hash = self
            .delivered_hash
            .map_or_else(|| "-".to_owned(), |h| h.to_string());
        format!(
            "{MAGIC}\ndelivered {}\ndelivered-hash {hash}\nsent {}\ncheckpoint-delivered {}\n\
             checkpoint-sent {}\n",
            self.delivered, self.sent, self.checkpoint_delivered, self.checkpoint_sent
        )
    }

    fn parse(text: &str) -> Result<Cursor, String> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(format!("does not start with '{MAGIC}'"));
        }
        let mut fields: [Option<&str>; 5] = [None; 5];
        for line in lines {
            let (key, value) = line
                .split_once(' ')
                .ok_or_else(|| format!("malformed line '{}'", line.escape_debug()))?;
            let index = KEYS
                .iter()
                .position(|k| *k == key)
                .ok_or_else(|| format!("unknown field '{}'", key.escape_debug()))?;
            if fields[index].replace(value).is_some() {
                return Err(format!("field '{key}' appears twice"));
            }
        }
        let number = |i: usize| -> Result<u64, String> {
            let text = fields[i].ok_or_else(|| format!("field '{}' is missing", KEYS[i]))?;
            text.parse().map_err(|_| {
                format!(
                    "field '{}' = '{}' is not a number",
                    KEYS[i],
                    text.escape_debug()
                )
            })
        };
        let hash_text = fields[1].ok_or("field 'delivered-hash' is missing")?;
        let delivered_hash = if hash_text == "-" {
            None
        } else {
            Some(hash_text.parse::<AuditEntryHash>().map_err(|_| {
                format!(
                    "field 'delivered-hash' = '{}' is not 64 hex digits",
                    hash_text.escape_debug()
                )
            })?)
        };
        let cursor = Cursor {
            delivered: number(0)?,
            delivered_hash,
            sent: number(2)?,
            checkpoint_delivered: number(3)?,
            checkpoint_sent: number(4)?,
        };
        if cursor.delivered > cursor.sent || cursor.checkpoint_delivered > cursor.checkpoint_sent {
            return Err(format!(
                "delivered ({}, checkpoint {}) is past sent ({}, checkpoint {})",
                cursor.delivered, cursor.checkpoint_delivered, cursor.sent, cursor.checkpoint_sent
            ));
        }
        Ok(cursor)
    }
}

/// The cursor file of one collector, locked for as long as this value lives.
#[derive(Debug)]
pub struct CursorFile {
    path: PathBuf,
    cursor: Cursor,
    /// Holds the advisory lock; released when dropped.
    _lock: File,
}

impl CursorFile {
    /// Opens (or starts) the cursor at `path` and locks it against other forwarders.
    ///
    /// # Errors
    /// [`ForwardError::Busy`] when another forwarder holds it; [`ForwardError::Cursor`] when it
    /// cannot be read or is malformed (it is never silently reset: that would re-send the whole
    /// trail without duplicate markers).
    pub fn open(path: &Path) -> Result<CursorFile, ForwardError> {
        let io_error = |p: &Path, e: std::io::Error| ForwardError::Cursor {
            path: p.to_owned(),
            reason: e.to_string(),
        };
        let lock_path = sibling(path, ".lock");
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| io_error(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(ForwardError::Busy {
                    path: path.to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_error(&lock_path, e)),
        }
        let cursor = match rampart_vault::read_capped_text(path, MAX_FILE) {
            Err(e) if e.is_not_found() => Cursor::default(),
            Err(rampart_vault::CappedReadError::Io(e)) => return Err(io_error(path, e)),
            Err(e) => {
                return Err(ForwardError::Cursor {
                    path: path.to_owned(),
                    reason: format!("{e}: not a cursor file"),
                });
            }
            Ok(text) => Cursor::parse(&text).map_err(|reason| ForwardError::Cursor {
                path: path.to_owned(),
                reason,
            })?,
        };
        Ok(CursorFile {
            path: path.to_owned(),
            cursor,
            _lock: lock,
        })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cursor as last stored.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// Replaces the stored cursor (atomically, fsynced, mode 0600); a no-op when unchanged.
    pub(crate) fn store(&mut self, cursor: Cursor) -> Result<(), ForwardError> {
        if cursor == self.cursor {
            return Ok(());
        }
        rampart_vault::write_atomic(&self.path, cursor.render().as_bytes(), 0o600).map_err(
            |source| ForwardError::CursorWrite {
                path: self.path.clone(),
                source,
            },
        )?;
        self.cursor = cursor;
        Ok(())
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The cursor file for `collector` in `dir`: `<dir>/<collector>.cursor`, with every character
/// other than ASCII letters, digits, `.` and `-` replaced by `_` (so `siem.example.org:6514`
/// becomes `siem.example.org_6514.cursor`).
pub fn cursor_path(dir: &Path, collector: &str) -> PathBuf {
    let name: String = collector
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.cursor"))
}

#[cfg(test)]
mod tests;
