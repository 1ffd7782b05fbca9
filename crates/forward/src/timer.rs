//! Time, stopping and backoff: everything the forwarder waits for goes through a [`Timer`], so
//! tests run hours of outages in microseconds with a [`ManualTimer`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Monotonic time and waiting. The forwarder never reads a clock or sleeps except through this.
pub trait Timer: Send + Sync {
    /// Time since an arbitrary fixed origin; never goes backwards.
    fn now(&self) -> Duration;

    /// Waits for `duration`, returning early once `stop` is raised.
    fn sleep(&self, duration: Duration, stop: &Stop);
}

/// The operating system's monotonic clock and real sleeps.
#[derive(Debug, Clone, Copy)]
pub struct SystemTimer {
    origin: Instant,
}

impl SystemTimer {
    /// A timer whose origin is now.
    pub fn new() -> SystemTimer {
        SystemTimer {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemTimer {
    fn default() -> SystemTimer {
        SystemTimer::new()
    }
}

/// How often a sleep looks at the stop flag: a signal handler can only set a flag, so sleeps
/// are sliced.
const STOP_CHECK: Duration = Duration::from_millis(50);

impl Timer for SystemTimer {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration, stop: &Stop) {
        let until = Instant::now() + duration;
        while !stop.is_raised() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(STOP_CHECK));
        }
    }
}

/// A timer for tests: time stands still until a sleep (or [`ManualTimer::advance`]) moves it,
/// and every sleep is recorded.
#[derive(Debug, Clone, Default)]
pub struct ManualTimer {
    now_micros: Arc<AtomicU64>,
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl ManualTimer {
    /// A timer at time zero.
    pub fn new() -> ManualTimer {
        ManualTimer::default()
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let micros = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.now_micros.fetch_add(micros, Ordering::SeqCst);
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Timer for ManualTimer {
    fn now(&self) -> Duration {
        Duration::from_micros(self.now_micros.load(Ordering::SeqCst))
    }

    fn sleep(&self, duration: Duration, _stop: &Stop) {
        self.sleeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        self.advance(duration);
    }
}

/// A stop request shared between the forwarder and whoever ends it (a signal handler, another
/// thread). Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag that is not raised.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// A flag raised by SIGINT or SIGTERM. A second SIGINT or SIGTERM while the first is being
    /// handled exits the process at once with status 1 (for an operator whose collector hangs
    /// the graceful close).
    ///
    /// Installs process-wide signal handlers; call it once, from a binary.
    ///
    /// # Errors
    /// The operating system refused to install a handler.
    pub fn on_termination_signals() -> std::io::Result<Stop> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // The conditional shutdown must be registered first: it acts only if the flag was
            // already raised by an earlier signal.
            signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&flag))?;
            signal_hook::flag::register(signal, Arc::clone(&flag))?;
        }
        Ok(Stop(flag))
    }

    /// Asks the forwarder to stop: it closes the connection gracefully and returns.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Capped exponential backoff between connection attempts: `initial`, twice that, four times
/// that, … up to `max`. There is no jitter: one device reconnects to one collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// Starts at `initial` and doubles up to `max` (raised to `initial` if smaller).
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
        }
    }

    /// The wait before attempt number `failures + 1`, after `failures` consecutive failures
    /// (`failures >= 1`; zero failures wait nothing).
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The first wait.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }
}

impl Default for Backoff {
    /// 500 ms doubling up to 60 s.
    fn default() -> Backoff {
        Backoff::new(Duration::from_millis(500), Duration::from_mins(1))
    }
}

#[cfg(test)]
mod tests;
