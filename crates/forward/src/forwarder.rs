//! The forwarding loop: read the trail after the cursor, send, confirm, advance, and re-send
//! the uncertain window after every reconnect.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rampart_audit::{AuditEntryHash, AuditReader, Query};

use crate::cursor::{Cursor, CursorFile};
use crate::error::{ConfigError, ForwardError};
use crate::syslog::{self, SyslogFormat};
use crate::timer::{Backoff, Stop, SystemTimer, Timer};
use crate::transport::{Connector, Transport};

/// The largest batch: bounds the memory a batch takes (batch × message limit).
pub const MAX_BATCH: usize = 4096;

/// Settings of a [`Forwarder`]. Start from [`ForwardConfig::new`] and change fields.
#[derive(Clone)]
#[non_exhaustive]
pub struct ForwardConfig {
    /// Facility, HOSTNAME and message size limit.
    pub format: SyslogFormat,
    /// Events read and sent per write (1..=[`MAX_BATCH`]); memory is bounded by this times the
    /// message size limit. Default 256.
    pub batch_size: usize,
    /// How long sent events must have been on a connection that is still open before they
    /// count as delivered. Default 10 s.
    pub settle: Duration,
    /// Waits between connection attempts. Default 500 ms doubling to 60 s.
    pub backoff: Backoff,
    /// How often [`Forwarder::follow`] looks for new events when idle. Default 1 s.
    pub poll_interval: Duration,
    /// How long a graceful close waits for the collector to close its side. Default 5 s.
    pub close_timeout: Duration,
    /// How long [`Forwarder::drain`] keeps trying without any delivery being confirmed before
    /// it gives up with [`ForwardError::Unreachable`]. Default 30 s. ([`Forwarder::follow`]
    /// never gives up.)
    pub retry_for: Duration,
    /// Time and sleeping. Default [`SystemTimer`].
    pub timer: Arc<dyn Timer>,
    /// Told about connections, outages, gaps and confirmations (for a CLI's stderr); every
    /// notice is also a `tracing` event.
    pub observer: Option<Arc<dyn Observer>>,
}

impl ForwardConfig {
    /// The defaults listed on each field, with `format`.
    pub fn new(format: SyslogFormat) -> ForwardConfig {
        ForwardConfig {
            format,
            batch_size: 256,
            settle: Duration::from_secs(10),
            backoff: Backoff::default(),
            poll_interval: Duration::from_secs(1),
            close_timeout: Duration::from_secs(5),
            retry_for: Duration::from_secs(30),
            timer: Arc::new(SystemTimer::new()),
            observer: None,
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            return Err(ConfigError::Range {
                setting: "batch size",
                value: self.batch_size as u64,
                min: 1,
                max: MAX_BATCH as u64,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for ForwardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardConfig")
            .field("format", &self.format)
            .field("batch_size", &self.batch_size)
            .field("settle", &self.settle)
            .field("backoff", &self.backoff)
            .field("poll_interval", &self.poll_interval)
            .field("close_timeout", &self.close_timeout)
            .field("retry_for", &self.retry_for)
            .finish_non_exhaustive()
    }
}

/// Receives [`Notice`]s; implemented for every `Fn(&Notice) + Send + Sync`.
pub trait Observer: Send + Sync {
    /// Called on the forwarder's thread; keep it quick.
    fn notice(&self, notice: &Notice);
}

impl<F: Fn(&Notice) + Send + Sync> Observer for F {
    fn notice(&self, notice: &Notice) {
        self(notice);
    }
}

/// Something the forwarder wants an operator to know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// Connected; `resending` events after the cursor are re-sent with the `resent` marker.
    Connected {
        /// The collector.
        collector: String,
        /// How many events of the uncertain window are re-sent.
        resending: u64,
    },
    /// A connection attempt failed; the next one follows after `retry_in` (`None`: there is
    /// no next one, [`Forwarder::drain`] gives up).
    ConnectFailed {
        /// The collector.
        collector: String,
        /// Why.
        error: String,
        /// The wait before the next attempt.
        retry_in: Option<Duration>,
    },
    /// An open connection broke; the events after the cursor will be re-sent.
    Disconnected {
        /// The collector.
        collector: String,
        /// Why.
        error: String,
        /// Events sent on it whose delivery was not confirmed.
        unconfirmed: u64,
    },
    /// Events missing from the trail (pruned before forwarding); a `gap` message says so.
    Gap {
        /// The first missing sequence number.
        first: u64,
        /// The last missing sequence number.
        last: u64,
    },
    /// The connection was closed at the end; `confirmed` when the collector confirmed it read
    /// everything.
    Closed {
        /// The collector.
        collector: String,
        /// Whether the collector closed its side after ours.
        confirmed: bool,
        /// Why not, when not.
        error: Option<String>,
    },
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Connected {
                collector,
                resending,
            } => {
                write!(f, "connected to {collector}")?;
                if *resending > 0 {
                    write!(
                        f,
                        "; re-sending {resending} events whose delivery was not confirmed (marked resent=\"1\")"
                    )?;
                }
                Ok(())
            }
            Notice::ConnectFailed {
                collector,
                error,
                retry_in: Some(retry_in),
            } => write!(
                f,
                "cannot reach {collector}: {error}; retrying in {:.1} s",
                retry_in.as_secs_f64()
            ),
            Notice::ConnectFailed {
                collector,
                error,
                retry_in: None,
            } => write!(f, "cannot reach {collector}: {error}; giving up"),
            Notice::Disconnected {
                collector,
                error,
                unconfirmed,
            } => write!(
                f,
                "connection to {collector} lost: {error}; {unconfirmed} unconfirmed events will be re-sent"
            ),
            Notice::Gap { first, last } => write!(
                f,
                "events {first}..={last} are not in the audit trail (pruned before forwarding); sent a gap marker"
            ),
            Notice::Closed {
                collector,
                confirmed: true,
                ..
            } => write!(
                f,
                "closed the connection to {collector}; delivery confirmed"
            ),
            Notice::Closed {
                collector,
                confirmed: false,
                error,
            } => write!(
                f,
                "closed the connection to {collector} without confirmation ({}); the last events \
                 will be re-sent, marked, next time",
                error.as_deref().unwrap_or("unknown")
            ),
        }
    }
}

/// What a [`Forwarder::drain`] or [`Forwarder::follow`] run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Event messages written (first copies and re-sent copies).
    pub events_sent: u64,
    /// Of those, copies marked `resent`.
    pub events_resent: u64,
    /// Checkpoint messages written.
    pub checkpoints_sent: u64,
    /// Gap markers written.
    pub gaps_sent: u64,
    /// Connections opened.
    pub connections: u32,
    /// Connections that broke.
    pub disconnects: u32,
    /// The cursor at the end: the last sequence number known delivered.
    pub delivered: u64,
    /// Events sent whose delivery was not confirmed at the end (re-sent, marked, next time).
    pub unconfirmed: u64,
    /// Whether the run ended because a stop was requested.
    pub stopped: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events sent ({} re-sent with the resent marker), {} checkpoints, {} gap markers; \
             delivered up to sequence number {}",
            self.events_sent,
            self.events_resent,
            self.checkpoints_sent,
            self.gaps_sent,
            self.delivered
        )?;
        if self.unconfirmed > 0 {
            write!(
                f,
                "; {} events not confirmed (re-sent, marked, next time)",
                self.unconfirmed
            )?;
        }
        if self.stopped {
            f.write_str("; stopped on request")?;
        }
        Ok(())
    }
}

/// Forwards one audit trail to one collector. See the crate documentation for the delivery
/// guarantee.
pub struct Forwarder {
    reader: AuditReader,
    public_key: Option<String>,
    cursor_file: CursorFile,
    /// The cursor in memory; stored whenever it changes.
    cursor: Cursor,
    connector: Box<dyn Connector>,
    collector: String,
    config: ForwardConfig,
    link: Option<Link>,
    /// Consecutive failures (connects and broken connections) since the last confirmation.
    failures: u32,
    attempts: u32,
    /// When [`Forwarder::drain`] stops trying: no attempt starts at or after this time.
    give_up_at: Option<Duration>,
    last_error: String,
    report: Report,
}

/// An open connection and what was sent on it.
struct Link {
    transport: Box<dyn Transport>,
    /// The last event sequence number sent on this connection (starts at the cursor).
    seq: u64,
    hash: Option<AuditEntryHash>,
    /// The last checkpoint sent on this connection.
    checkpoint: u64,
    /// Sent but unconfirmed positions, oldest first; see [`Forwarder::record_mark`].
    marks: VecDeque<Mark>,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    seq: u64,
    hash: Option<AuditEntryHash>,
    checkpoint: u64,
    /// When the first write it covers was made.
    created: Duration,
    /// When the last write it covers was made.
    written: Duration,
}

/// Why a step failed: the connection (reconnect and re-send) or something that must stop
/// forwarding.
enum Fault {
    Link(io::Error),
    Fatal(ForwardError),
}

impl From<ForwardError> for Fault {
    fn from(e: ForwardError) -> Fault {
        Fault::Fatal(e)
    }
}

impl From<rampart_audit::StoreError> for Fault {
    fn from(e: rampart_audit::StoreError) -> Fault {
        Fault::Fatal(e.into())
    }
}

impl fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forwarder")
            .field("collector", &self.collector)
            .field("cursor", &self.cursor)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// A forwarder of the trail in `audit_dir` to `connector`, resuming from the cursor at
    /// `cursor_path` (created on the first delivery; locked while the forwarder lives).
    ///
    /// # Errors
    /// [`ForwardError::Store`] when the trail cannot be opened; [`ForwardError::Busy`],
    /// [`ForwardError::Cursor`] for the cursor; [`ForwardError::CursorAhead`] and
    /// [`ForwardError::ChainMismatch`] when the trail no longer matches the cursor (replaced,
    /// rolled back or rewritten); [`ForwardError::Config`] for a setting out of range.
    pub fn open(
        audit_dir: &Path,
        cursor_path: &Path,
        connector: Box<dyn Connector>,
        config: ForwardConfig,
    ) -> Result<Forwarder, ForwardError> {
        config.check()?;
        let reader = AuditReader::open(audit_dir)?;
        let cursor_file = CursorFile::open(cursor_path)?;
        let cursor = cursor_file.cursor();
        let last = reader.extent()?.last_seq.unwrap_or(0);
        if cursor.sent() > last {
            return Err(ForwardError::CursorAhead {
                path: cursor_path.to_owned(),
                sent: cursor.sent(),
                last,
            });
        }
        if let Some(expected) = cursor.delivered_hash()
            && let Some(event) = reader.event(cursor.delivered())?
            && event.hash() != expected
        {
            return Err(ForwardError::ChainMismatch {
                path: cursor_path.to_owned(),
                seq: cursor.delivered(),
                expected,
                found: event.hash(),
            });
        }
        let public_key = reader.recorded_public_key()?;
        let collector = connector.collector();
        Ok(Forwarder {
            reader,
            public_key,
            cursor_file,
            cursor,
            connector,
            collector,
            config,
            link: None,
            failures: 0,
            attempts: 0,
            give_up_at: None,
            last_error: String::new(),
            report: Report::default(),
        })
    }

    /// The cursor as stored.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// Sends every event after the cursor up to the end of the trail as it is now (and the
    /// latest checkpoint they reach), closes the connection gracefully, and returns.
    ///
    /// Reconnects with backoff after failures; gives up with [`ForwardError::Unreachable`]
    /// when [`ForwardConfig::retry_for`] passes without a confirmed delivery. A raised `stop`
    /// ends it early (`Report::stopped`).
    ///
    /// # Errors
    /// [`ForwardError::Unreachable`]; [`ForwardError::Store`] and cursor write errors.
    pub fn drain(&mut self, stop: &Stop) -> Result<Report, ForwardError> {
        self.start_report();
        let target = self.reader.extent()?.last_seq.unwrap_or(0);
        let checkpoint = self.reader.latest_checkpoint()?.map_or(0, |c| c.seq());
        if self.cursor.delivered() >= target && self.cursor.checkpoint_delivered() >= checkpoint {
            // Nothing to send: do not bother the collector.
            return Ok(self.finish_report());
        }
        let mut progress_at = self.config.timer.now();
        self.give_up_at = Some(progress_at.saturating_add(self.config.retry_for));
        // Whether a graceful close already failed to confirm: from then on, delivery is
        // confirmed by the settle heuristic before closing.
        let mut close_failed = false;
        loop {
            if stop.is_raised() {
                self.report.stopped = true;
                self.close()?;
                break;
            }
            if self.link.is_none() {
                if self.failures > 0 && !self.may_retry() {
                    let waited = self.config.timer.now().saturating_sub(progress_at);
                    return Err(self.unreachable(waited));
                }
                if !self.connect(stop) {
                    continue;
                }
            }
            let delivered = self.cursor.delivered();
            let result = match self.step(Some(target)) {
                // Everything up to the target is sent: now make sure it arrived.
                Ok(0) if !self.has_unconfirmed() => {
                    self.close()?;
                    break;
                }
                Ok(0) if !close_failed => {
                    if self.close()? {
                        break;
                    }
                    // The connection is gone unconfirmed: reconnect and re-send, marked.
                    close_failed = true;
                    self.failures = self.failures.saturating_add(1);
                    Ok(())
                }
                Ok(0) => {
                    // This collector does not confirm by closing: wait for the sent events to
                    // settle on a connection that stays open.
                    let settle = self.config.settle;
                    self.config
                        .timer
                        .sleep(self.config.poll_interval.min(settle), stop);
                    self.idle_probe()
                }
                Ok(_) => Ok(()),
                Err(fault) => Err(fault),
            };
            match result {
                Ok(()) => {}
                Err(Fault::Link(e)) => self.disconnect(&e),
                Err(Fault::Fatal(e)) => return Err(e),
            }
            if self.cursor.delivered() > delivered {
                progress_at = self.config.timer.now();
                self.give_up_at = Some(progress_at.saturating_add(self.config.retry_for));
            }
        }
        Ok(self.finish_report())
    }

    /// Whether another connection attempt, after the backoff it is due, starts in time.
    fn may_retry(&self) -> bool {
        let next = self
            .config
            .timer
            .now()
            .saturating_add(self.config.backoff.delay(self.failures));
        self.give_up_at.is_none_or(|at| next < at)
    }

    /// Whether messages sent on the open connection are not yet confirmed.
    fn has_unconfirmed(&self) -> bool {
        self.link.as_ref().is_some_and(|l| !l.marks.is_empty())
    }

    /// Forwards continuously: everything after the cursor, then new events as they are
    /// appended (polling every [`ForwardConfig::poll_interval`]), reconnecting after outages
    /// for as long as it runs. Returns once `stop` is raised, after a graceful close.
    ///
    /// # Errors
    /// [`ForwardError::Store`] and cursor write errors; never for an unreachable collector.
    pub fn follow(&mut self, stop: &Stop) -> Result<Report, ForwardError> {
        self.start_report();
        while !stop.is_raised() {
            if self.link.is_none() && !self.connect(stop) {
                continue;
            }
            match self.step(None) {
                Ok(0) => {
                    if let Err(fault) = self.idle_probe() {
                        match fault {
                            Fault::Link(e) => self.disconnect(&e),
                            Fault::Fatal(e) => return Err(e),
                        }
                        continue;
                    }
                    self.config.timer.sleep(self.config.poll_interval, stop);
                }
                Ok(_) => {}
                Err(Fault::Link(e)) => self.disconnect(&e),
                Err(Fault::Fatal(e)) => return Err(e),
            }
        }
        self.report.stopped = true;
        let _confirmed = self.close()?;
        Ok(self.finish_report())
    }

    fn start_report(&mut self) {
        self.failures = 0;
        self.attempts = 0;
        self.give_up_at = None;
        self.report = Report {
            delivered: self.cursor.delivered(),
            ..Report::default()
        };
    }

    fn finish_report(&mut self) -> Report {
        self.report.delivered = self.cursor.delivered();
        self.report
    }

    fn unreachable(&self, waited: Duration) -> ForwardError {
        ForwardError::Unreachable {
            collector: self.collector.clone(),
            attempts: self.attempts,
            waited,
            last_error: self.last_error.clone(),
        }
    }

    /// Waits out the backoff, then connects. `false` when it failed (or a stop came).
    fn connect(&mut self, stop: &Stop) -> bool {
        let delay = self.config.backoff.delay(self.failures);
        if !delay.is_zero() {
            self.config.timer.sleep(delay, stop);
            if stop.is_raised() {
                return false;
            }
        }
        self.attempts = self.attempts.saturating_add(1);
        match self.connector.connect() {
            Ok(transport) => {
                self.report.connections += 1;
                let cursor = self.cursor;
                self.link = Some(Link {
                    transport,
                    seq: cursor.delivered(),
                    hash: cursor.delivered_hash(),
                    checkpoint: cursor.checkpoint_delivered(),
                    marks: VecDeque::new(),
                });
                self.notify(&Notice::Connected {
                    collector: self.collector.clone(),
                    resending: cursor.sent() - cursor.delivered(),
                });
                true
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                self.last_error = e.to_string();
                self.notify(&Notice::ConnectFailed {
                    collector: self.collector.clone(),
                    error: e.to_string(),
                    retry_in: self
                        .may_retry()
                        .then(|| self.config.backoff.delay(self.failures)),
                });
                false
            }
        }
    }

    /// Drops a broken connection; the next connection starts again from the cursor.
    fn disconnect(&mut self, error: &io::Error) {
        if let Some(link) = self.link.take() {
            self.failures = self.failures.saturating_add(1);
            self.report.disconnects += 1;
            self.last_error = error.to_string();
            self.notify(&Notice::Disconnected {
                collector: self.collector.clone(),
                error: error.to_string(),
                unconfirmed: link.seq - self.cursor.delivered(),
            });
        }
    }

    /// Closes gracefully; when the collector confirms, everything sent counts as delivered.
    /// Returns whether it confirmed (`true` without a connection).
    fn close(&mut self) -> Result<bool, ForwardError> {
        let confirmed = match self.link.take() {
            None => true,
            Some(mut link) => {
                let result = link.transport.finish(self.config.close_timeout);
                let confirmed = result.is_ok();
                if confirmed {
                    let mut cursor = self.cursor;
                    cursor.mark_delivered(link.seq, link.hash, link.checkpoint);
                    self.store(cursor)?;
                    self.failures = 0;
                }
                self.notify(&Notice::Closed {
                    collector: self.collector.clone(),
                    confirmed,
                    error: result.err().map(|e| e.to_string()),
                });
                confirmed
            }
        };
        self.report.unconfirmed = self.cursor.sent() - self.cursor.delivered();
        Ok(confirmed)
    }

    /// Sends one batch after the connection's position (up to `target`), plus the latest
    /// checkpoint once the events it covers are sent, then confirms what has settled.
    /// Returns the number of messages sent (0: nothing to send).
    fn step(&mut self, target: Option<u64>) -> Result<usize, Fault> {
        let Some(link) = self.link.as_ref() else {
            return Ok(0);
        };
        let after = link.seq;
        let room = target.map_or(usize::MAX, |t| {
            usize::try_from(t.saturating_sub(after)).unwrap_or(usize::MAX)
        });
        let limit = self.config.batch_size.min(room);
        let mut events = Vec::with_capacity(limit);
        if limit > 0 {
            for event in self
                .reader
                .iter(&Query::new().after_seq(after).limit(limit))
            {
                events.push(event?);
            }
        }
        let format = &self.config.format;
        let cursor = self.cursor;
        let mut buffer = Vec::new();
        let mut messages = 0;
        let mut resent = 0;
        let mut gaps = Vec::new();
        let mut last_seq = after;
        let mut last_hash = link.hash;
        for event in &events {
            if event.seq() > last_seq + 1 {
                let (first, last) = (last_seq + 1, event.seq() - 1);
                let message = format.gap(first, last, event.timestamp(), last <= cursor.sent());
                syslog::frame(&message, &mut buffer);
                gaps.push((first, last));
            }
            let is_resent = event.seq() <= cursor.sent();
            syslog::frame(&format.event(event, is_resent), &mut buffer);
            messages += 1;
            resent += u64::from(is_resent);
            last_seq = event.seq();
            last_hash = Some(event.hash());
        }
        let mut last_checkpoint = link.checkpoint;
        if let Some(checkpoint) = self.reader.latest_checkpoint()?
            && checkpoint.seq() > link.checkpoint
            && checkpoint.seq() <= last_seq
        {
            let is_resent = checkpoint.seq() <= cursor.checkpoint_sent();
            let message = format.checkpoint(&checkpoint, self.public_key.as_deref(), is_resent);
            syslog::frame(&message, &mut buffer);
            last_checkpoint = checkpoint.seq();
        }
        if buffer.is_empty() {
            self.confirm()?;
            return Ok(0);
        }
        // Write-ahead: the cursor names every event that may reach the collector before any
        // byte of it is sent, so a copy after a crash is always marked.
        let mut ahead = cursor;
        ahead.mark_sent(last_seq, last_checkpoint);
        self.store(ahead)?;
        for (first, last) in gaps {
            self.report.gaps_sent += 1;
            self.notify(&Notice::Gap { first, last });
        }
        let now = self.config.timer.now();
        let settle = self.config.settle;
        let Some(link) = self.link.as_mut() else {
            return Ok(0);
        };
        link.transport.send(&buffer).map_err(Fault::Link)?;
        if last_checkpoint > link.checkpoint {
            self.report.checkpoints_sent += 1;
        }
        link.seq = last_seq;
        link.hash = last_hash;
        link.checkpoint = last_checkpoint;
        record_mark(
            &mut link.marks,
            settle,
            now,
            last_seq,
            last_hash,
            last_checkpoint,
        );
        self.report.events_sent += messages;
        self.report.events_resent += resent;
        self.confirm()?;
        Ok(usize::try_from(messages).unwrap_or(usize::MAX).max(1))
    }

    /// Counts as delivered what was sent at least `settle` ago on a connection that is still
    /// open now.
    fn confirm(&mut self) -> Result<(), Fault> {
        let now = self.config.timer.now();
        let settle = self.config.settle;
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        let ripe = link
            .marks
            .iter()
            .take_while(|m| now.saturating_sub(m.written) >= settle)
            .count();
        if ripe == 0 {
            return Ok(());
        }
        link.transport.probe().map_err(Fault::Link)?;
        let Some(mark) = link.marks.drain(..ripe).next_back() else {
            return Ok(());
        };
        let mut cursor = self.cursor;
        cursor.mark_delivered(mark.seq, mark.hash, mark.checkpoint);
        self.store(cursor)?;
        self.failures = 0;
        Ok(())
    }

    /// When idle: confirm what has settled, and find a dead connection before the next write.
    fn idle_probe(&mut self) -> Result<(), Fault> {
        self.confirm()?;
        if let Some(link) = self.link.as_mut() {
            link.transport.probe().map_err(Fault::Link)?;
        }
        Ok(())
    }

    fn store(&mut self, cursor: Cursor) -> Result<(), ForwardError> {
        self.cursor_file.store(cursor)?;
        self.cursor = cursor;
        Ok(())
    }

    fn notify(&self, notice: &Notice) {
        match notice {
            Notice::ConnectFailed { .. } | Notice::Disconnected { .. } | Notice::Gap { .. } => {
                tracing::warn!(collector = %self.collector, "{notice}");
            }
            Notice::Closed {
                confirmed: false, ..
            } => tracing::warn!(collector = %self.collector, "{notice}"),
            _ => tracing::info!(collector = %self.collector, "{notice}"),
        }
        if let Some(observer) = &self.config.observer {
            observer.notice(notice);
        }
    }
}

/// Records that everything up to `seq` was written at `now`. Writes within `settle / 8` of a
/// mark's first write join it (its confirmation time moves to the latest write, never earlier),
/// so a connection holds at most about nine marks per settle period whatever the event rate.
fn record_mark(
    marks: &mut VecDeque<Mark>,
    settle: Duration,
    now: Duration,
    seq: u64,
    hash: Option<AuditEntryHash>,
    checkpoint: u64,
) {
    if let Some(mark) = marks.back_mut()
        && now.saturating_sub(mark.created) < settle / 8
    {
        mark.seq = seq;
        mark.hash = hash;
        mark.checkpoint = checkpoint;
        mark.written = now;
        return;
    }
    marks.push_back(Mark {
        seq,
        hash,
        checkpoint,
        created: now,
        written: now,
    });
}

#[cfg(test)]
mod tests;
