//! The essential-function monitor: one holding register read through the target every
//! [`POLL_INTERVAL`], on a session of its own, while a storm loads the target.
//!
//! A poll is *due* every 100 ms from the monitor's start. Its latency is measured from the
//! time it was due, so a slow answer delays the polls after it and shows in their latencies
//! too (as it would for a controller scanning on a fixed cycle). A due poll is **missed**
//! when no answer with the register's value arrives within [`POLL_DEADLINE`] of its due
//! time: the answer was an exception, the session broke, or it was too late. After a missed
//! poll the monitor drops the session and opens a new one for the next poll.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_modbus::{AddressRange, Request, RequestPdu, ResponsePdu};
use tokio::io::AsyncWriteExt as _;
use tokio::time::Instant;

use crate::modbus::{self, Session};
use crate::net::{self, Context, Read};
use crate::target::Target;

/// How often the essential function is polled.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long after its due time a poll may be answered before it counts as missed.
pub(crate) const POLL_DEADLINE: Duration = Duration::from_secs(1);

/// The essential function a robustness check watches: holding register `address` of unit
/// `unit` (FC 3), read through a Modbus target (`modbus://`, or `modbus-tls://` with the
/// plan's client certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EssentialFunction {
    /// The Modbus target the monitor polls through.
    pub target: Target,
    /// The unit (slave) id.
    pub unit: u8,
    /// The holding register read.
    pub address: u16,
}

impl std::fmt::Display for EssentialFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "holding register {} of unit {} through {}",
            self.address, self.unit, self.target
        )
    }
}

/// One due poll: when it was due (since the monitor started) and its latency, `None` when
/// missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Poll {
    pub(crate) due: Duration,
    pub(crate) latency: Option<Duration>,
}

/// A running monitor: its own thread and runtime, so the storm's tasks on the probe's
/// runtime do not delay its polls (the latencies are the target's, not the probe's).
pub(crate) struct Monitor {
    started: Instant,
    polls: Arc<std::sync::Mutex<Vec<Poll>>>,
    stop: Arc<AtomicBool>,
    done: tokio::sync::oneshot::Receiver<()>,
}

impl Monitor {
    /// Opens the monitor's session and starts polling. The first read must be answered, or
    /// there is no essential function to watch.
    pub(crate) async fn start(
        context: &Context,
        function: &EssentialFunction,
    ) -> Result<Monitor, String> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<Instant, String>>();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let polls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread_context = context.for_monitor();
        let thread_function = function.clone();
        let thread_polls = Arc::clone(&polls);
        let thread_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("essential-function-monitor".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("starting the monitor: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let function = thread_function;
                    let mut session = match modbus::open(&thread_context, &function.target).await {
                        Ok(session) => session,
                        Err(e) => {
                            let _ = ready_tx
                                .send(Err(format!("could not connect: {}", net::describe_io(&e))));
                            return;
                        }
                    };
                    if poll_once(&mut session, &function, 0).await.is_none() {
                        let _ = ready_tx.send(Err(format!(
                            "{function} is not answered with its value before any load"
                        )));
                        return;
                    }
                    let started = Instant::now();
                    if ready_tx.send(Ok(started)).is_err() {
                        return;
                    }
                    poll_loop(
                        &thread_context,
                        &function,
                        session,
                        started,
                        &thread_polls,
                        &thread_stop,
                    )
                    .await;
                });
                let _ = done_tx.send(());
            })
            .map_err(|e| format!("starting the monitor thread: {e}"))?;
        let started = ready_rx
            .await
            .map_err(|_| "the monitor thread ended before it started".to_owned())??;
        Ok(Monitor {
            started,
            polls,
            stop,
            done,
        })
    }

    /// The time since the monitor started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The polls so far.
    pub(crate) fn polls(&self) -> Vec<Poll> {
        self.polls.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Stops polling and returns every poll.
    pub(crate) async fn stop(self) -> Vec<Poll> {
        self.stop.store(true, Ordering::Relaxed);
        // A poll in progress ends within its deadline; the polls so far stand either way.
        let _ = tokio::time::timeout(POLL_DEADLINE * 2, self.done).await;
        self.polls.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// One fresh session and one read of the essential function: its latency, or why not.
pub(crate) async fn check_once(
    context: &Context,
    function: &EssentialFunction,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut session = modbus::open(&context.for_monitor(), &function.target)
        .await
        .map_err(|e| format!("could not connect: {}", net::describe_io(&e)))?;
    poll_once(&mut session, function, 1)
        .await
        .map(|()| started.elapsed())
        .ok_or_else(|| format!("{function} is not answered with its value"))
}

async fn poll_loop(
    context: &Context,
    function: &EssentialFunction,
    session: Box<dyn Session>,
    started: Instant,
    polls: &std::sync::Mutex<Vec<Poll>>,
    stop: &AtomicBool,
) {
    let mut session = Some(session);
    let mut tid: u16 = 0;
    let mut index: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        let due = started + POLL_INTERVAL * index;
        index = index.saturating_add(1);
        tokio::time::sleep_until(due).await;
        let deadline = due + POLL_DEADLINE;
        let latency = if Instant::now() >= deadline {
            // Overrun by the polls before it: already too late.
            None
        } else {
            tid = tid.wrapping_add(1);
            let answered = tokio::time::timeout_at(deadline, async {
                if session.is_none() {
                    session = modbus::open(context, &function.target).await.ok();
                }
                match session.as_mut() {
                    Some(s) => poll_once(s, function, tid).await,
                    None => None,
                }
            })
            .await
            .ok()
            .flatten();
            if answered.is_some() {
                Some(Instant::now().saturating_duration_since(due))
            } else {
                // The session's state is unknown (a late answer may still come).
                session = None;
                None
            }
        };
        if let Ok(mut polls) = polls.lock() {
            polls.push(Poll {
                due: due.saturating_duration_since(started),
                latency,
            });
        }
    }
}

/// One read of the essential function: `Some` when answered with a value for `tid`.
async fn poll_once(
    session: &mut Box<dyn Session>,
    function: &EssentialFunction,
    tid: u16,
) -> Option<()> {
    let mut request = Vec::new();
    let range = AddressRange::new(function.address, 1).ok()?;
    Request::new(tid, function.unit, RequestPdu::ReadHoldingRegisters(range))
        .encode(&mut request)
        .ok()?;
    session.write_all(&request).await.ok()?;
    let Read::Complete(bytes) = net::read_answer(
        session,
        POLL_DEADLINE,
        modbus::MAX_ADU,
        modbus::adu_complete,
    )
    .await
    else {
        return None;
    };
    let response = rampart_modbus::decode_response(&bytes).ok()?;
    (response.transaction_id() == tid
        && matches!(response.pdu(), ResponsePdu::ReadHoldingRegisters(r) if r.get(0).is_some()))
    .then_some(())
}

/// What the polls of one window show.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Window {
    pub(crate) due: usize,
    pub(crate) missed: usize,
    pub(crate) p50: Option<Duration>,
    pub(crate) p99: Option<Duration>,
    pub(crate) max: Option<Duration>,
}

/// The polls due in `[from, to)`.
pub(crate) fn window(polls: &[Poll], from: Duration, to: Duration) -> Window {
    let inside: Vec<&Poll> = polls
        .iter()
        .filter(|p| p.due >= from && p.due < to)
        .collect();
    let mut latencies: Vec<Duration> = inside.iter().filter_map(|p| p.latency).collect();
    latencies.sort_unstable();
    Window {
        due: inside.len(),
        missed: inside.iter().filter(|p| p.latency.is_none()).count(),
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
        max: latencies.last().copied(),
    }
}

/// The `p`th percentile (nearest rank) of sorted `values`.
pub(crate) fn percentile(values: &[Duration], p: usize) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let rank = (values.len() * p).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

/// When the essential function recovered after `end`: the due time of the first of
/// `streak` consecutive polls answered within `healthy`, measured from `end`. `None` when
/// no such streak has been seen.
pub(crate) fn recovery(
    polls: &[Poll],
    end: Duration,
    healthy: Duration,
    streak: usize,
) -> Option<Duration> {
    let after: Vec<&Poll> = polls.iter().filter(|p| p.due >= end).collect();
    after
        .windows(streak)
        .find(|run| run.iter().all(|p| p.latency.is_some_and(|l| l <= healthy)))
        .and_then(|run| run.first())
        .map(|first| first.due.saturating_sub(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(due_ms: u64, latency_ms: Option<u64>) -> Poll {
        Poll {
            due: Duration::from_millis(due_ms),
            latency: latency_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&values, 99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&values[..1], 99), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 99), None);
    }

    #[test]
    fn a_window_counts_missed_polls_and_percentiles_of_the_answered() {
        let polls = [
            poll(0, Some(1)),
            poll(100, None),
            poll(200, Some(3)),
            poll(300, Some(2)),
            poll(400, Some(9)),
        ];
        let w = window(
            &polls,
            Duration::from_millis(100),
            Duration::from_millis(400),
        );
        assert_eq!(w.due, 3);
        assert_eq!(w.missed, 1);
        assert_eq!(w.p50, Some(Duration::from_millis(2)));
        assert_eq!(w.max, Some(Duration::from_millis(3)));
    }

    #[test]
    fn recovery_is_the_first_healthy_streak_after_the_end() {
        let polls = [
            poll(900, None),
            poll(1000, Some(50)),
            poll(1100, Some(1)),
            poll(1200, None),
            poll(1300, Some(1)),
            poll(1400, Some(1)),
            poll(1500, Some(2)),
        ];
        let healthy = Duration::from_millis(5);
        assert_eq!(
            recovery(&polls, Duration::from_secs(1), healthy, 3),
            Some(Duration::from_millis(300))
        );
        assert_eq!(recovery(&polls, Duration::from_secs(1), healthy, 4), None);
    }
}
