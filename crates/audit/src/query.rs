//! Reading the audit trail (CR 6.1): filtered queries in sequence order, the tail, checkpoints.
//!
//! Readers have their own `SQLite` connection with `query_only` set: nothing here can change the
//! store, and readers never block the writer (WAL).

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::chain::AuditEntryHash;
use crate::checkpoint::Checkpoint;
use crate::clock::Timestamp;
use crate::db::{self, EVENT_COLUMNS, seq_of, sqlite_error};
use crate::error::StoreError;
use crate::event::{ActorKind, AuditEvent, Category, Outcome, Severity};

/// A filter over events. Every condition set must hold; unset conditions match everything.
/// Results come in ascending sequence order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Query {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    categories: Vec<Category>,
    actor_name: Option<String>,
    actor_kind: Option<ActorKind>,
    action: Option<String>,
    outcomes: Vec<Outcome>,
    min_severity: Option<Severity>,
    limit: Option<usize>,
}

impl Query {
    /// Matches every event.
    pub fn new() -> Query {
        Query::default()
    }

    /// Events at or after `at`.
    ///
    /// Timestamps follow the clock, which may step backwards; sequence order is authoritative.
    pub fn since(mut self, at: Timestamp) -> Query {
        self.since = Some(at);
        self
    }

    /// Events before `at` (exclusive).
    pub fn until(mut self, at: Timestamp) -> Query {
        self.until = Some(at);
        self
    }

    /// Events whose sequence number is in `range`.
    pub fn seq_range(mut self, range: RangeInclusive<u64>) -> Query {
        self.first_seq = Some(*range.start());
        self.last_seq = Some(*range.end());
        self
    }

    /// Events after sequence number `seq` (exclusive): resume from the last one seen.
    pub fn after_seq(mut self, seq: u64) -> Query {
        self.first_seq = Some(seq.saturating_add(1));
        self
    }

    /// Events of this category; call again to add more categories.
    pub fn category(mut self, category: Category) -> Query {
        self.categories.push(category);
        self
    }

    /// Events by the actor of this name (any kind unless [`Query::actor_kind`] is set).
    pub fn actor(mut self, name: impl Into<String>) -> Query {
        self.actor_name = Some(name.into());
        self
    }

    /// Events by actors of this kind.
    pub fn actor_kind(mut self, kind: ActorKind) -> Query {
        self.actor_kind = Some(kind);
        self
    }

    /// Events of this action (e.g. `pki.revoked`): selected by `SQLite`, so a reader looking for
    /// one kind of event decodes only those.
    pub fn action(mut self, action: impl Into<String>) -> Query {
        self.action = Some(action.into());
        self
    }

    /// Events with this outcome; call again to add more outcomes.
    pub fn outcome(mut self, outcome: Outcome) -> Query {
        self.outcomes.push(outcome);
        self
    }

    /// Events at least as severe as `severity` (e.g. `Warning` matches warning..emergency).
    pub fn min_severity(mut self, severity: Severity) -> Query {
        self.min_severity = Some(severity);
        self
    }

    /// At most `limit` events (the first ones in sequence order).
    pub fn limit(mut self, limit: usize) -> Query {
        self.limit = Some(limit);
        self
    }

    /// The WHERE clause and its parameters, without the paging condition.
    fn conditions(&self) -> (String, Vec<SqlValue>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut values: Vec<SqlValue> = Vec::new();
        let mut push = |clause: &str, value: SqlValue| {
            values.push(value);
            clauses.push(clause.replace('?', &format!("?{}", values.len())));
        };
        if let Some(at) = self.since {
            push("ts >= ?", SqlValue::Integer(at.unix_micros()));
        }
        if let Some(at) = self.until {
            push("ts < ?", SqlValue::Integer(at.unix_micros()));
        }
        if let Some(seq) = self.first_seq {
            push("seq >= ?", SqlValue::Integer(clamp_seq(seq)));
        }
        if let Some(seq) = self.last_seq {
            push("seq <= ?", SqlValue::Integer(clamp_seq(seq)));
        }
        if let Some(name) = &self.actor_name {
            push("actor = ?", SqlValue::Text(name.clone()));
        }
        if let Some(kind) = self.actor_kind {
            push("actor_kind = ?", SqlValue::Text(kind.as_str().to_owned()));
        }
        if let Some(action) = &self.action {
            push("action = ?", SqlValue::Text(action.clone()));
        }
        if let Some(severity) = self.min_severity {
            push(
                "severity <= ?",
                SqlValue::Integer(i64::from(severity.code())),
            );
        }
        let mut any_of = |column: &str, texts: Vec<&'static str>| {
            if texts.is_empty() {
                return;
            }
            let mut placeholders = Vec::new();
            for text in texts {
                values.push(SqlValue::Text(text.to_owned()));
                placeholders.push(format!("?{}", values.len()));
            }
            clauses.push(format!("{column} IN ({})", placeholders.join(", ")));
        };
        any_of(
            "category",
            self.categories.iter().map(|c| c.as_str()).collect(),
        );
        any_of(
            "outcome",
            self.outcomes.iter().map(|o| o.as_str()).collect(),
        );
        (clauses.join(" AND "), values)
    }
}

fn clamp_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// How many rows one page of [`Events`] reads.
const PAGE: usize = 512;

/// A read-only view of a store; open as many as needed, from any thread or process (one per
/// thread or request: opening is cheap, and a reader is `Send` but not `Sync`).
#[derive(Debug)]
pub struct AuditReader {
    conn: Connection,
    path: PathBuf,
}

/// The extent of a store: which sequence numbers it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Extent {
    /// The first stored sequence number, if any.
    pub first_seq: Option<u64>,
    /// The last stored sequence number, if any.
    pub last_seq: Option<u64>,
    /// The number of stored events.
    pub events: u64,
}

impl AuditReader {
    /// Opens the store in `dir` for reading.
    ///
    /// # Errors
    /// [`StoreError`] when there is no store there or it is not of this format.
    pub fn open(dir: &Path) -> Result<AuditReader, StoreError> {
        let (conn, path) = db::open_reader(dir)?;
        Ok(AuditReader { conn, path })
    }

    /// The events matching `query`, in sequence order.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] on a read failure; [`StoreError::Corrupt`] for a value this crate
    /// never writes (the file was edited; run [`crate::verify`]).
    pub fn query(&self, query: &Query) -> Result<Vec<AuditEvent>, StoreError> {
        self.iter(query).collect()
    }

    /// The events matching `query` one at a time, in sequence order, reading a page at a time so
    /// that an export of millions of events runs in constant memory.
    pub fn iter<'r>(&'r self, query: &Query) -> Events<'r> {
        Events {
            reader: self,
            query: query.clone(),
            after: None,
            remaining: query.limit.unwrap_or(usize::MAX),
            page: VecDeque::new(),
            done: false,
        }
    }

    /// The last `n` events, in sequence order.
    ///
    /// # Errors
    /// As [`AuditReader::query`].
    pub fn tail(&self, n: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM (SELECT * FROM events ORDER BY seq DESC LIMIT ?1) ORDER BY seq"
        );
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        self.select(&sql, &[SqlValue::Integer(limit)])
    }

    /// The event with sequence number `seq`, if stored.
    ///
    /// # Errors
    /// As [`AuditReader::query`].
    pub fn event(&self, seq: u64) -> Result<Option<AuditEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq = ?1");
        Ok(self
            .select(&sql, &[SqlValue::Integer(clamp_seq(seq))])?
            .pop())
    }

    /// Which sequence numbers the store holds.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] on a read failure.
    pub fn extent(&self) -> Result<Extent, StoreError> {
        self.conn
            .query_row(
                "SELECT min(seq), max(seq), count(*) FROM events",
                [],
                |row| {
                    Ok(Extent {
                        first_seq: row.get::<_, Option<i64>>(0)?.map(seq_of),
                        last_seq: row.get::<_, Option<i64>>(1)?.map(seq_of),
                        events: row
                            .get::<_, i64>(2)
                            .map(|n| u64::try_from(n).unwrap_or(0))?,
                    })
                },
            )
            .map_err(sqlite_error(&self.path, "reading the extent"))
    }

    /// The latest signed checkpoint, unverified (verification needs the public key: see
    /// [`crate::verify`]).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] on a read failure; [`StoreError::Corrupt`] for a malformed row.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        let row: Option<(i64, Vec<u8>, i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, hash, ts, signature FROM checkpoints ORDER BY seq DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .map_err(sqlite_error(&self.path, "reading the latest checkpoint"))?;
        let Some((seq, hash, ts, signature)) = row else {
            return Ok(None);
        };
        let seq = seq_of(seq);
        let corrupt = |column: &'static str| StoreError::Corrupt {
            path: self.path.clone(),
            seq,
            column,
            value: "malformed checkpoint".into(),
        };
        Ok(Some(Checkpoint {
            seq,
            hash: AuditEntryHash::from_slice(&hash).ok_or_else(|| corrupt("hash"))?,
            timestamp: Timestamp::from_unix_micros(ts).map_err(|_| corrupt("ts"))?,
            signature: signature.try_into().map_err(|_| corrupt("signature"))?,
        }))
    }

    /// The public key recorded when the store was created, as 64 hex digits.
    ///
    /// # Security
    /// Whoever can edit the file can replace this key and re-sign everything with their own.
    /// Verify against the key from the component's key store; use this only to show which key
    /// the store claims, or to spot a mismatch.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] on a read failure.
    pub fn recorded_public_key(&self) -> Result<Option<String>, StoreError> {
        db::meta(&self.conn, &self.path, "public_key")
    }

    fn select(&self, sql: &str, values: &[SqlValue]) -> Result<Vec<AuditEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(sqlite_error(&self.path, "preparing a query"))?;
        let mut rows = stmt
            .query(params_from_iter(values.iter()))
            .map_err(sqlite_error(&self.path, "running a query"))?;
        let mut events = Vec::new();
        while let Some(row) = rows
            .next()
            .map_err(sqlite_error(&self.path, "reading a row"))?
        {
            events.push(db::event_from_row(&self.path, row)?);
        }
        Ok(events)
    }
}

/// The events of a query, page by page; see [`AuditReader::iter`].
#[derive(Debug)]
pub struct Events<'r> {
    reader: &'r AuditReader,
    query: Query,
    after: Option<u64>,
    remaining: usize,
    page: VecDeque<AuditEvent>,
    done: bool,
}

impl Events<'_> {
    fn fetch(&mut self) -> Result<(), StoreError> {
        let (conditions, mut values) = self.query.conditions();
        let mut clauses = vec![conditions];
        if let Some(after) = self.after {
            values.push(SqlValue::Integer(clamp_seq(after)));
            clauses.push(format!("seq > ?{}", values.len()));
        }
        let clauses: Vec<String> = clauses.into_iter().filter(|c| !c.is_empty()).collect();
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let page = PAGE.min(self.remaining);
        values.push(SqlValue::Integer(i64::try_from(page).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events {filter} ORDER BY seq LIMIT ?{}",
            values.len()
        );
        let events = self.reader.select(&sql, &values)?;
        if events.len() < page {
            self.done = true;
        }
        self.after = events.last().map(AuditEvent::seq).or(self.after);
        self.page.extend(events);
        Ok(())
    }
}

impl Iterator for Events<'_> {
    type Item = Result<AuditEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        if self.page.is_empty()
            && !self.done
            && let Err(e) = self.fetch()
        {
            self.done = true;
            return Some(Err(e));
        }
        let event = self.page.pop_front()?;
        self.remaining -= 1;
        Some(Ok(event))
    }
}

#[cfg(test)]
mod tests;
