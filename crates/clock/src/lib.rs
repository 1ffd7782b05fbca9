//! The one clock of Rampart (CR 2.11): a timestamp type, the [`Clock`] seam and the one place
//! that reads the wall clock.
//!
//! Every crate gets the time from a [`Clock`] (the audit trail's timestamps, the identity
//! store's lockout windows, expiry and TOTP steps, certificate validity, backups), so tests
//! control time with a [`ManualClock`] and the sync status travels with every reading. Reading
//! the system time anywhere else is refused by `clippy.toml` (`disallowed-methods`) and by
//! the architecture test.

#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Text that is not a timestamp, time source or sync status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not an RFC 3339 timestamp within 0001-01-01T00:00:00Z..=9999-12-30T22:00:00Z.
    #[error("invalid timestamp: {0}")]
    Timestamp(String),
    /// Not `system` or `manual`.
    #[error("unknown time source '{0}' (valid: system, manual)")]
    TimeSource(String),
    /// Not `synchronized`, `unsynchronized` or `unknown`.
    #[error("unknown clock sync status '{0}' (valid: synchronized, unsynchronized, unknown)")]
    ClockSync(String),
}

/// Defines an enum with a stable text form — `ALL`, `as_str`, `Display`, `FromStr` (failing
/// with `$error(text)` of `$error_type`) and serde as that text — for the vocabularies of the clock and the
/// audit trail (which uses it with its own error type).
#[macro_export]
#[doc(hidden)]
macro_rules! text_vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $error_type:ty, $error:path {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable text form, as stored, hashed and exported.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $error_type;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($error(s.to_owned())),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

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

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let micros = Duration::from_micros(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH + micros
        } else {
            UNIX_EPOCH - micros
        }
    }

    /// The same instant as a `jiff` timestamp, for calendar arithmetic.
    pub fn to_jiff(self) -> jiff::Timestamp {
        // The constructor checked the range, so this cannot fail; fall back to the epoch rather
        // than panic should that invariant ever be broken.
        jiff::Timestamp::from_microsecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

impl From<jiff::Timestamp> for Timestamp {
    /// Truncated to the microsecond and clamped to the representable range.
    fn from(at: jiff::Timestamp) -> Timestamp {
        let micros = at.as_microsecond();
        Timestamp(micros.clamp(MIN_MICROS, MAX_MICROS))
    }
}

impl From<Timestamp> for jiff::Timestamp {
    fn from(at: Timestamp) -> jiff::Timestamp {
        at.to_jiff()
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

text_vocabulary! {
    /// Where a timestamp came from.
    TimeSource, ParseError, ParseError::TimeSource {
        /// The operating system's real-time clock.
        System = "system",
        /// A clock set by hand: tests and simulations, never a deployed component.
        Manual = "manual",
    }
}

text_vocabulary! {
    /// Whether the clock was synchronised to a reference when it was read (CR 2.11 RE 1).
    ClockSync, ParseError, ParseError::ClockSync {
        /// Synchronised, e.g. NTP or PTP reports a locked clock.
        Synchronized = "synchronized",
        /// Known not to be synchronised.
        Unsynchronized = "unsynchronized",
        /// Nobody has told the clock; the default until the component's time service reports.
        Unknown = "unknown",
    }
}

impl ClockSync {
    /// A compact code, for keeping the status in an atomic.
    pub fn code(self) -> u8 {
        match self {
            ClockSync::Synchronized => 1,
            ClockSync::Unsynchronized => 2,
            ClockSync::Unknown => 0,
        }
    }

    /// The status of a [`ClockSync::code`]; unknown codes are [`ClockSync::Unknown`].
    pub fn from_code(code: u8) -> ClockSync {
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

/// The source of the current time: the one seam every crate reads time through.
///
/// The audit store reads it once per event, on its writer thread, so it must be cheap and
/// must not block.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time, where it came from and whether the clock was synchronised.
    fn read(&self) -> ClockReading;

    /// The current time, for calendar arithmetic (expiry, lockout windows, TOTP steps).
    fn now(&self) -> jiff::Timestamp {
        self.read().at.to_jiff()
    }
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
            wall: clock.read().at,
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
        let now_wall = clock.read().at;
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
    fn read(&self) -> ClockReading {
        // The only place in Rampart that reads the real-time clock.
        #[expect(clippy::disallowed_methods, reason = "this is the one clock")]
        let now = SystemTime::now();
        let micros = match now.duration_since(UNIX_EPOCH) {
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
    pub fn new(at: impl Into<Timestamp>) -> ManualClock {
        ManualClock {
            micros: Arc::new(AtomicI64::new(at.into().0)),
            sync: Arc::new(AtomicU8::new(ClockSync::Synchronized.code())),
        }
    }

    /// Sets the time (it may go backwards, as a real clock can).
    pub fn set(&self, at: impl Into<Timestamp>) {
        self.micros.store(at.into().0, Ordering::Relaxed);
    }

    /// Moves the time by `by`: a [`Duration`] forward, a [`jiff::SignedDuration`] either way;
    /// saturating at the ends of the representable range.
    pub fn advance(&self, by: impl Into<ClockStep>) {
        let micros = by.into().micros;
        let _ = self
            .micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                Some(now.saturating_add(micros).clamp(MIN_MICROS, MAX_MICROS))
            });
    }

    /// The time the clock shows (as [`Clock::now`], without importing the trait).
    pub fn now(&self) -> jiff::Timestamp {
        Timestamp(self.micros.load(Ordering::Relaxed)).to_jiff()
    }

    /// Sets the sync status later readings carry.
    pub fn set_sync(&self, sync: ClockSync) {
        self.sync.store(sync.code(), Ordering::Relaxed);
    }
}

/// How far [`ManualClock::advance`] moves the clock, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct ClockStep {
    micros: i64,
}

impl From<Duration> for ClockStep {
    fn from(by: Duration) -> ClockStep {
        ClockStep {
            micros: i64::try_from(by.as_micros()).unwrap_or(i64::MAX),
        }
    }
}

impl From<jiff::SignedDuration> for ClockStep {
    fn from(by: jiff::SignedDuration) -> ClockStep {
        ClockStep {
            micros: i64::try_from(by.as_micros()).unwrap_or(if by.is_negative() {
                i64::MIN
            } else {
                i64::MAX
            }),
        }
    }
}

impl Clock for ManualClock {
    fn read(&self) -> ClockReading {
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
