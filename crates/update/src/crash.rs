//! Crash points for the power-cut test: in debug builds only, when `RAMPART_TEST_CRASH_AT`
//! is `N`, the Nth point reached prints `crash-point N: LABEL` on stderr and waits to be
//! killed (the test sends SIGKILL), so every write, sync and rename of an install can be
//! interrupted exactly where it would be by a power cut. Release builds compile this away.

#[cfg(debug_assertions)]
use std::sync::atomic::{AtomicU32, Ordering};

#[cfg(debug_assertions)]
static REACHED: AtomicU32 = AtomicU32::new(0);

/// The environment variable that arms the crash points.
pub const CRASH_AT_VAR: &str = "RAMPART_TEST_CRASH_AT";

/// Marks a point an install may be cut at.
#[cfg(debug_assertions)]
pub fn point(label: &str) {
    let Some(target) = std::env::var(CRASH_AT_VAR)
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return;
    };
    let reached = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    if reached == target {
        eprintln!("crash-point {reached}: {label}");
        // Wait for the SIGKILL; bounded so a test harness that died does not leave this
        // process forever.
        std::thread::sleep(std::time::Duration::from_mins(1));
        std::process::exit(137);
    }
}

/// Marks a point an install may be cut at (no-op in release builds).
#[cfg(not(debug_assertions))]
#[inline]
pub fn point(_label: &str) {}
