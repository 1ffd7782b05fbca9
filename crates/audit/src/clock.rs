//! Time for audit records (CR 2.11): a timestamp type and the one place that reads the clock.
//!
//! Everything else in the crate gets the time from a [`Clock`], so tests control time with a
//! [`ManualClock`] and the sync status travels with every reading.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ParseError;

/// A point in time in UTC with microsecond precision, shown as RFC 3339
/// (`2024-05-01T12:00:00.000001Z`).
///
/// Invariant: the value is within the range that RFC 3339 can express (0001-01-01T00:00:00Z..=9999-12-30T22:00:00Z), so
/// formatting never fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The timestamp `micros` microseconds after the Unix epoch (negative: before it).
    ///
    /// # Errors
    /// [`ParseError::Timestamp`] when the value is outside 0001-01-01T00:00:00Z..=9999-12-30T22:00:00Z.
    pub fn from_unix_micros(micros: i64) -> Result<Timestamp, ParseError> {
        if (MIN_MICROS..=MAX_MICROS).contains(&micros) {
            Ok(Timestamp(micros))
        } else {
            Err(ParseError::Timestamp(format!(
                "{micros} µs since the Unix epoch is outside 0001-01-01T00:00:00Z..=9999-12-30T22:00:00Z"
            )))
        }
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// This timestamp moved forward by `by`, saturating at the latest representable time.
    #[must_use]
    pub fn saturating_add(self, by: Duration) -> Timestamp {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(micros).min(MAX_MICROS))
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        let micros = self.0.saturating_sub(earlier.0);
        Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    }

    fn to_jiff(self) -> jiff::Timestamp {
        // The constructor checked the range, so this cannot fail; fall back to the epoch rather
        // than panic should that invariant ever be broken.
        jiff::Timestamp::from_microsecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// 9999-12-30T22:00:00Z, the latest time `jiff` (which formats and parses) represents.
const MAX_MICROS: i64 = 253_402_207_200_000_000;

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with exactly six fractional digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}", self.to_jiff())
    }
}

impl FromStr for Timestamp {
    type Err = ParseError;

    /// Parses RFC 3339 with any offset (`Z`, `+02:00`); digits beyond microseconds are
    /// truncated.
    fn from_str(s: &str) -> Result<Timestamp, ParseError> {
        let parsed: jiff::Timestamp = s
            .parse()
            .map_err(|e| ParseError::Timestamp(format!("'{s}' ({e})")))?;
        Timestamp::from_unix_micros(parsed.as_microsecond()).map_err(|_| {
            ParseError::Timestamp(format!(
                "'{s}' is outside 0001-01-01T00:00:00Z..=9999-12-30T22:00:00Z"
            ))
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

vocabulary! {
    /// Where a timestamp came from.
    TimeSource, TimeSource {
        /// The operating system's real-time clock.
        System = "system",
        /// A clock set by hand: tests and simulations, never a deployed component.
        Manual = "manual",
    }
}

vocabulary! {
    /// Whether the clock was synchronised to a reference when it was read (CR 2.11 RE 1).
    ClockSync, ClockSync {
        /// Synchronised, e.g. NTP or PTP reports a locked clock.
        Synchronized = "synchronized",
        /// Known not to be synchronised.
        Unsynchronized = "unsynchronized",
        /// Nobody has told the clock; the default until the component's time service reports.
        Unknown = "unknown",
    }
}

impl ClockSync {
    fn code(self) -> u8 {
        match self {
            ClockSync::Synchronized => 1,
            ClockSync::Unsynchronized => 2,
            ClockSync::Unknown => 0,
        }
    }

    fn from_code(code: u8) -> ClockSync {
        match code {
            1 => ClockSync::Synchronized,
            2 => ClockSync::Unsynchronized,
            _ => ClockSync::Unknown,
        }
    }
}

/// One reading of a [`Clock`]: the time, where it came from and whether it was synchronised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    /// The time.
    pub at: Timestamp,
    /// The clock it came from.
    pub source: TimeSource,
    /// Its sync status at the moment of reading.
    pub sync: ClockSync,
}

/// A source of timestamps for audit records.
///
/// The store reads the clock once per event, on its writer thread, so `now` must be cheap and
/// must not block.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> ClockReading;
}

/// The operating system's clock, with a sync status that the component's time service sets.
///
/// Reading the sync status (adjtimex, `timedatectl`) is the caller's job: it can be slow and
/// needs privileges this crate should not assume. Clones share the status.
#[derive(Clone, Debug)]
pub struct SystemClock {
    sync: Arc<AtomicU8>,
}

impl SystemClock {
    /// A system clock whose sync status is [`ClockSync::Unknown`] until set.
    pub fn new() -> SystemClock {
        SystemClock {
            sync: Arc::new(AtomicU8::new(ClockSync::Unknown.code())),
        }
    }

    /// Records the clock's current sync status; later readings carry it.
    pub fn set_sync(&self, sync: ClockSync) {
        self.sync.store(sync.code(), Ordering::Relaxed);
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

/// A step of the wall clock that the monotonic clock did not make: someone set the time, or
/// a time service stepped it (CR 2.11: changes of the time source are auditable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockJump {
    /// What the wall clock should have read had it advanced like the monotonic clock.
    pub expected: Timestamp,
    /// What it reads.
    pub actual: Timestamp,
}

impl ClockJump {
    /// The step in microseconds: positive forward, negative backward.
    pub fn step_micros(&self) -> i64 {
        self.actual.0 - self.expected.0
    }
}

/// Watches a [`Clock`] for steps, against `Instant` (which no one can set).
///
/// A long-running component calls [`ClockWatch::check`] every few seconds and records an
/// audit event for each jump it returns.
#[derive(Debug)]
pub struct ClockWatch {
    wall: Timestamp,
    mono: std::time::Instant,
}

impl ClockWatch {
    /// Starts watching from the clock's reading now.
    pub fn new(clock: &dyn Clock) -> ClockWatch {
        ClockWatch {
            wall: clock.now().at,
            mono: std::time::Instant::now(),
        }
    }

    /// The jump since the last check, if the wall clock moved more than `tolerance` away from
    /// where the monotonic clock says it should be. Each jump is reported once.
    pub fn check(
        &mut self,
        clock: &dyn Clock,
        tolerance: std::time::Duration,
    ) -> Option<ClockJump> {
        let now_wall = clock.now().at;
        let now_mono = std::time::Instant::now();
        let elapsed =
            i64::try_from(now_mono.duration_since(self.mono).as_micros()).unwrap_or(MAX_MICROS);
        let expected = Timestamp(
            self.wall
                .0
                .saturating_add(elapsed)
                .clamp(MIN_MICROS, MAX_MICROS),
        );
        self.wall = now_wall;
        self.mono = now_mono;
        let tolerance = i64::try_from(tolerance.as_micros()).unwrap_or(MAX_MICROS);
        ((now_wall.0 - expected.0).abs() > tolerance).then_some(ClockJump {
            expected,
            actual: now_wall,
        })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> ClockReading {
        // This is the only place in the crate that reads the real-time clock.
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(MAX_MICROS),
            Err(before) => i64::try_from(before.duration().as_micros()).map_or(0, |m| -m),
        };
        ClockReading {
            at: Timestamp(micros.clamp(MIN_MICROS, MAX_MICROS)),
            source: TimeSource::System,
            sync: ClockSync::from_code(self.sync.load(Ordering::Relaxed)),
        }
    }
}

/// 0001-01-01T00:00:00Z.
const MIN_MICROS: i64 = -62_135_596_800_000_000;

/// A clock that stands still until told to move: for tests and simulations.
///
/// Clones share the time, so a test keeps one clone and hands another to the store.
#[derive(Clone, Debug)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
    sync: Arc<AtomicU8>,
}

impl ManualClock {
    /// A clock showing `at`, synchronised.
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock {
            micros: Arc::new(AtomicI64::new(at.0)),
            sync: Arc::new(AtomicU8::new(ClockSync::Synchronized.code())),
        }
    }

    /// Sets the time (it may go backwards, as a real clock can).
    pub fn set(&self, at: Timestamp) {
        self.micros.store(at.0, Ordering::Relaxed);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let now = Timestamp(self.micros.load(Ordering::Relaxed));
        self.set(now.saturating_add(by));
    }

    /// Sets the sync status later readings carry.
    pub fn set_sync(&self, sync: ClockSync) {
        self.sync.store(sync.code(), Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> ClockReading {
        ClockReading {
            at: Timestamp(self.micros.load(Ordering::Relaxed)),
            source: TimeSource::Manual,
            sync: ClockSync::from_code(self.sync.load(Ordering::Relaxed)),
        }
    }
}

/// Whether the system clock is synchronised (CR 2.11 RE 1), as systemd-timesyncd or
/// `timedatectl` report it; unknown where neither answers.
pub fn system_clock_sync() -> ClockSync {
    if std::path::Path::new("/run/systemd/timesync/synchronized").exists() {
        return ClockSync::Synchronized;
    }
    match std::process::Command::new("timedatectl")
        .args(["show", "--property=NTPSynchronized", "--value"])
        .stderr(std::process::Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => match String::from_utf8_lossy(&out.stdout).trim() {
            "yes" => ClockSync::Synchronized,
            "no" => ClockSync::Unsynchronized,
            _ => ClockSync::Unknown,
        },
        _ => ClockSync::Unknown,
    }
}

#[cfg(test)]
mod tests;
