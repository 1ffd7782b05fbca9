//! The storms: load generators with fixed rates, concurrency caps and a fixed duration.
//!
//! Each storm stops starting work at its end time, then waits at most [`DRAIN`] for what
//! it started, abandoning the rest. Storm connections bypass the probe's pacer (loading the
//! target is their purpose) but every one of them has its own deadline, and the number
//! open at once is capped, so memory and time stay bounded whatever the target does.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rampart_modbus::ResponsePdu;
use rustls::pki_types::ServerName;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::modbus::{self, Session};
use crate::net::{CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT};
use crate::target::{Scheme, Target};

/// How long a storm may wait, after its end, for the work it started.
pub(crate) const DRAIN: Duration = Duration::from_secs(6);

/// Connection attempts a second in the connection storm.
pub(crate) const CONNECTION_RATE: u32 = 100;
/// The most storm connections held open at once.
pub(crate) const MAX_HELD: usize = 256;
/// How long the connection storm holds each connection (sending nothing).
pub(crate) const HOLD: Duration = Duration::from_secs(2);
/// TLS handshakes a second in the handshake storm, and the most in progress at once.
pub(crate) const HANDSHAKE_RATE: u32 = 25;
const HANDSHAKES_IN_PROGRESS: usize = 8;
/// Slow connections opened (10 a second), each sending one byte a second.
pub(crate) const SLOW_CONNECTIONS: u32 = 64;
/// Malformed frames a second in all, over this many sessions.
pub(crate) const MALFORMED_RATE: u32 = 100;
const MALFORMED_SESSIONS: usize = 4;
/// Pipelined sessions, requests per burst and bursts a second per session.
pub(crate) const PIPELINE_SESSIONS: usize = 4;
pub(crate) const PIPELINE_BURST: usize = 16;
pub(crate) const PIPELINE_BURSTS_PER_SECOND: u32 = 6;
/// The longest a storm waits for one answer.
const ANSWER_WAIT: Duration = Duration::from_secs(1);

/// Where a storm goes and with what.
#[derive(Clone)]
pub(crate) struct StormTarget {
    pub(crate) target: Target,
    pub(crate) address: SocketAddr,
    /// The local address storm connections are made from (a second loopback address, or
    /// the tester's interface facing the target), so the target's per-source limits see
    /// the storm apart from the essential function's client.
    pub(crate) from: Option<IpAddr>,
    /// The network the SYN flood spoofs its sources from, if any.
    pub(crate) spoof: Option<super::SpoofedSources>,
    /// The TLS configuration for handshakes: the plan's client certificate for
    /// `modbus-tls://` when given, else the inspecting configuration without one.
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// Whether `tls` authenticates (so Modbus requests can follow the handshake).
    pub(crate) authenticated: bool,
}

impl StormTarget {
    async fn tcp(&self) -> io::Result<TcpStream> {
        let socket = if self.address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(from) = self.from {
            socket.bind(SocketAddr::new(from, 0))?;
        }
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(self.address))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn tls(&self) -> io::Result<Box<dyn Session>> {
        let tcp = self.tcp().await?;
        let name = ServerName::try_from(self.target.host().to_owned())
            .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        let tls = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            tokio_rustls::TlsConnector::from(Arc::clone(&self.tls)).connect(name, tcp),
        )
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))??;
        Ok(Box::new(tls))
    }

    /// A Modbus session: plain TCP for `modbus://`, an authenticated TLS session for
    /// `modbus-tls://`.
    async fn modbus_session(&self) -> io::Result<Box<dyn Session>> {
        if self.target.scheme() == Scheme::Modbus {
            Ok(Box::new(self.tcp().await?))
        } else {
            self.tls().await
        }
    }
}

impl StormTarget {
    /// The open Modbus session in `slot`, or a new one (counted as opened or failed).
    async fn session<'a>(
        &self,
        slot: &'a mut Option<Box<dyn Session>>,
        counters: &Counters,
    ) -> Option<&'a mut Box<dyn Session>> {
        if slot.is_none() {
            if let Ok(s) = self.modbus_session().await {
                counters.add("sessions_opened", 1);
                *slot = Some(s);
            } else {
                counters.add("sessions_failed", 1);
            }
        }
        slot.as_mut()
    }
}

/// Counters a storm's tasks share.
#[derive(Default)]
struct Counters(std::collections::BTreeMap<&'static str, AtomicU64>);

impl Counters {
    fn new(names: &[&'static str]) -> Arc<Counters> {
        Arc::new(Counters(
            names.iter().map(|n| (*n, AtomicU64::new(0))).collect(),
        ))
    }

    fn add(&self, name: &'static str, n: u64) {
        if let Some(c) = self.0.get(name) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn get(&self, name: &str) -> u64 {
        self.0.get(name).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    fn to_map(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v.load(Ordering::Relaxed))))
            .collect()
    }
}

/// Waits for `tasks` until `deadline`, then abandons what is left.
async fn drain(tasks: &mut JoinSet<()>, deadline: Instant) -> usize {
    while tokio::time::timeout_at(deadline, tasks.join_next())
        .await
        .ok()
        .flatten()
        .is_some()
    {}
    let abandoned = tasks.len();
    tasks.abort_all();
    abandoned
}

fn ticker(rate: u32) -> tokio::time::Interval {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tick
}

/// Starts `attempt` `rate` times a second until `until`, at most `cap` running at once
/// (a start that finds the cap reached is counted as `skipped_at_cap`), then drains: the
/// number of attempts abandoned.
async fn paced<F, Fut>(
    rate: u32,
    cap: usize,
    until: Instant,
    counters: &Arc<Counters>,
    attempt: F,
) -> usize
where
    F: Fn(Arc<Counters>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let running = Arc::new(Semaphore::new(cap));
    let mut tasks = JoinSet::new();
    let mut tick = ticker(rate);
    while Instant::now() < until {
        tick.tick().await;
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&running).try_acquire_owned() else {
            counters.add("skipped_at_cap", 1);
            continue;
        };
        counters.add("attempts", 1);
        let work = attempt(Arc::clone(counters));
        tasks.spawn(async move {
            let _permit = permit;
            work.await;
        });
    }
    drain(&mut tasks, Instant::now() + DRAIN).await
}

/// What a storm did: counters, and problems it saw in the target's answers (apart from
/// the essential function, which the monitor judges).
pub(crate) struct StormReport {
    pub(crate) summary: String,
    pub(crate) details: Map<String, Value>,
    pub(crate) problems: Vec<String>,
}

/// Connection attempts at `rate` a second ([`CONNECTION_RATE`] by default), each held open
/// for [`HOLD`] without a byte
/// sent, at most [`MAX_HELD`] at once.
pub(crate) async fn connections(storm: &StormTarget, until: Instant, rate: u32) -> StormReport {
    let counters = Counters::new(&[
        "attempts",
        "established",
        "refused",
        "failed",
        "closed_by_target",
        "skipped_at_cap",
    ]);
    let abandoned = paced(rate, MAX_HELD, until, &counters, {
        let storm = storm.clone();
        move |counters: Arc<Counters>| {
            let storm = storm.clone();
            async move {
                match storm.tcp().await {
                    Ok(mut tcp) => {
                        counters.add("established", 1);
                        let mut byte = [0u8; 1];
                        if let Ok(Ok(_)) = tokio::time::timeout(HOLD, tcp.read(&mut byte)).await {
                            counters.add("closed_by_target", 1);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        counters.add("refused", 1);
                    }
                    Err(_) => counters.add("failed", 1),
                }
            }
        }
    })
    .await;
    let mut details = counters.to_map();
    details.insert("abandoned".into(), json!(abandoned));
    StormReport {
        summary: format!(
            "{} connection attempts at {rate}/s, each held {} s ({} established, {} \
             refused, {} closed by the target while held)",
            counters.get("attempts"),
            HOLD.as_secs(),
            counters.get("established"),
            counters.get("refused") + counters.get("failed"),
            counters.get("closed_by_target"),
        ),
        details,
        problems: Vec::new(),
    }
}

/// Full TLS handshakes at `rate` a second ([`HANDSHAKE_RATE`] by default), closed at once.
pub(crate) async fn handshakes(storm: &StormTarget, until: Instant, rate: u32) -> StormReport {
    let counters = Counters::new(&["attempts", "completed", "refused", "skipped_at_cap"]);
    let abandoned = paced(rate, HANDSHAKES_IN_PROGRESS, until, &counters, {
        let storm = storm.clone();
        move |counters: Arc<Counters>| {
            let storm = storm.clone();
            async move {
                match storm.tls().await {
                    Ok(mut tls) => {
                        counters.add("completed", 1);
                        let _ = tokio::time::timeout(ANSWER_WAIT, tls.shutdown()).await;
                    }
                    Err(_) => counters.add("refused", 1),
                }
            }
        }
    })
    .await;
    let mut details = counters.to_map();
    details.insert("abandoned".into(), json!(abandoned));
    StormReport {
        summary: format!(
            "{} TLS handshakes at {rate}/s ({} completed by the client, {} refused \
             or failed)",
            counters.get("attempts"),
            counters.get("completed"),
            counters.get("refused"),
        ),
        details,
        problems: Vec::new(),
    }
}

/// What a slow connection sends, one byte a second: a request that never completes in
/// time. Over TLS without a session (no client certificate for Modbus/TCP Security, or a
/// plain TLS service) it is the `ClientHello` itself.
fn slow_bytes(storm: &StormTarget) -> Result<(bool, Vec<u8>), String> {
    Ok(match storm.target.scheme() {
        Scheme::Modbus => (false, modbus::read_request(1, 1).repeat(8)),
        Scheme::ModbusTls if storm.authenticated => (true, modbus::read_request(1, 1).repeat(8)),
        Scheme::Https => (
            true,
            format!(
                "GET / HTTP/1.1\r\nHost: {}\r\n{}",
                storm.target.host(),
                "X-Slow-Header: a\r\n".repeat(8)
            )
            .into_bytes(),
        ),
        Scheme::ModbusTls | Scheme::Tls => {
            let mut random = [0u8; 32];
            rampart_vault::crypto::fill_random(&mut random).map_err(|e| e.to_string())?;
            let hello = crate::legacy::client_hello(
                crate::legacy::TLS12,
                crate::legacy::TLS12_SUITES,
                &[0],
                None,
                &random,
            );
            (false, hello)
        }
    })
}

/// `connections` ([`SLOW_CONNECTIONS`] by default) opened at 10 a second (more a second when
/// there are more, so that all are open within about 6 s), each sending one byte a second of
/// a request it never finishes (slowloris): how many the target closes, and when.
pub(crate) async fn slow_requests(
    storm: &StormTarget,
    until: Instant,
    connections: u32,
) -> StormReport {
    let (over_tls, bytes) = match slow_bytes(storm) {
        Ok(b) => b,
        Err(e) => {
            return StormReport {
                summary: format!("no slow request could be made: {e}"),
                details: Map::new(),
                problems: Vec::new(),
            };
        }
    };
    let counters = Counters::new(&["opened", "failed", "closed_by_target", "open_at_end"]);
    let closed_after = Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));
    let bytes = Arc::new(bytes);
    let mut tasks = JoinSet::new();
    let mut tick = ticker(if connections <= SLOW_CONNECTIONS {
        10
    } else {
        connections.div_ceil(6)
    });
    for _ in 0..connections {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        let storm = storm.clone();
        let counters = Arc::clone(&counters);
        let closed_after = Arc::clone(&closed_after);
        let bytes = Arc::clone(&bytes);
        tasks.spawn(async move {
            let session: io::Result<Box<dyn Session>> = if over_tls {
                storm.tls().await
            } else {
                storm.tcp().await.map(|t| Box::new(t) as Box<dyn Session>)
            };
            let Ok(mut session) = session else {
                counters.add("failed", 1);
                return;
            };
            counters.add("opened", 1);
            let opened = Instant::now();
            let mut next = 0usize;
            let mut buffer = [0u8; 512];
            loop {
                if Instant::now() >= until {
                    counters.add("open_at_end", 1);
                    return;
                }
                let byte = bytes.get(next % bytes.len().max(1)..=next % bytes.len().max(1));
                next += 1;
                let closed = match byte {
                    Some(b) => session.write_all(b).await.is_err(),
                    None => true,
                };
                // Whatever the target answers (an error page, an alert) or a close: a read
                // of 0 bytes or an error is the target ending the connection.
                let read =
                    tokio::time::timeout(Duration::from_secs(1), session.read(&mut buffer)).await;
                if closed || matches!(read, Ok(Ok(0) | Err(_))) {
                    counters.add("closed_by_target", 1);
                    if let Ok(mut c) = closed_after.lock() {
                        c.push(opened.elapsed());
                    }
                    return;
                }
            }
        });
    }
    let abandoned = drain(&mut tasks, until + DRAIN).await;
    let mut close_times = closed_after.lock().map(|c| c.clone()).unwrap_or_default();
    close_times.sort_unstable();
    let median = super::monitor::percentile(&close_times, 50);
    let mut details = counters.to_map();
    details.insert("abandoned".into(), json!(abandoned));
    details.insert(
        "median_close_ms".into(),
        median.map_or(Value::Null, |m| json!(m.as_millis())),
    );
    let closed = counters.get("closed_by_target");
    StormReport {
        summary: format!(
            "{} slow connections sending a byte a second: the target closed {closed}{}, {} \
             still open at the end",
            counters.get("opened"),
            median.map_or_else(String::new, |m| format!(
                " (median after {:.1} s)",
                m.as_secs_f64()
            )),
            counters.get("open_at_end"),
        ),
        details,
        problems: Vec::new(),
    }
}

/// The malformed frames of the storm: valid reads with one field broken, and short or
/// oversized frames.
pub(crate) fn malformed_frames() -> Vec<(&'static str, Vec<u8>)> {
    let valid = modbus::read_request(31, 1);
    let with = |range: std::ops::Range<usize>, value: u16| {
        let mut frame = valid.clone();
        if let Some(field) = frame.get_mut(range) {
            field.copy_from_slice(&value.to_be_bytes());
        }
        frame
    };
    let mut unknown_function = valid.clone();
    if let Some(fc) = unknown_function.get_mut(7) {
        *fc = 0x64;
    }
    vec![
        ("protocol id 1", with(2..4, 1)),
        ("MBAP length 0", with(4..6, 0)),
        ("MBAP length 1", with(4..6, 1)),
        ("MBAP length 1024", with(4..6, 1024)),
        ("FC 3 quantity 0", with(10..12, 0)),
        ("FC 3 quantity 126", with(10..12, 126)),
        ("FC 100 (unassigned)", unknown_function),
    ]
}

/// Malformed frames at [`MALFORMED_RATE`] over Modbus sessions (reopened when the target
/// closes one): every answer must be an exception or a close, never data.
pub(crate) async fn malformed(storm: &StormTarget, until: Instant, rate: u32) -> StormReport {
    let counters = Counters::new(&[
        "sent",
        "exceptions",
        "closed",
        "silent",
        "data",
        "sessions_opened",
        "sessions_failed",
    ]);
    let frames = Arc::new(malformed_frames());
    let mut tasks = JoinSet::new();
    let per_session = (rate / u32::try_from(MALFORMED_SESSIONS).unwrap_or(1)).max(1);
    for offset in 0..MALFORMED_SESSIONS {
        let storm = storm.clone();
        let counters = Arc::clone(&counters);
        let frames = Arc::clone(&frames);
        tasks.spawn(async move {
            let mut tick = ticker(per_session);
            let mut session: Option<Box<dyn Session>> = None;
            let mut next = offset;
            while Instant::now() < until {
                tick.tick().await;
                let Some(s) = storm.session(&mut session, &counters).await else {
                    continue;
                };
                let Some((_, frame)) = frames.get(next % frames.len()) else {
                    continue;
                };
                next += 1;
                counters.add("sent", 1);
                if s.write_all(frame).await.is_err() {
                    counters.add("closed", 1);
                    session = None;
                    continue;
                }
                match crate::net::read_answer(s, ANSWER_WAIT, modbus::MAX_ADU, modbus::adu_complete)
                    .await
                {
                    crate::net::Read::Complete(bytes) => {
                        match rampart_modbus::decode_response(&bytes) {
                            Ok(r) if matches!(r.pdu(), ResponsePdu::Exception { .. }) => {
                                counters.add("exceptions", 1);
                            }
                            Ok(_) => counters.add("data", 1),
                            Err(_) => {
                                counters.add("closed", 1);
                                session = None;
                            }
                        }
                    }
                    crate::net::Read::Closed(..) => {
                        counters.add("closed", 1);
                        session = None;
                    }
                    crate::net::Read::Silent(_) => {
                        // Silence is allowed (the target may wait for the rest of a frame
                        // whose length it believes); the session is no longer in step.
                        counters.add("silent", 1);
                        session = None;
                    }
                }
            }
        });
    }
    let abandoned = drain(&mut tasks, until + DRAIN).await;
    let mut details = counters.to_map();
    details.insert("abandoned".into(), json!(abandoned));
    let data = counters.get("data");
    StormReport {
        summary: format!(
            "{} malformed frames at {rate}/s over {MALFORMED_SESSIONS} sessions: {} \
             exceptions, {} closes, {} unanswered, {data} answered with data",
            counters.get("sent"),
            counters.get("exceptions"),
            counters.get("closed"),
            counters.get("silent"),
        ),
        details,
        problems: if data > 0 {
            vec![format!("{data} malformed frame(s) were answered with data")]
        } else {
            Vec::new()
        },
    }
}

/// [`PIPELINE_SESSIONS`] sessions each sending bursts of [`PIPELINE_BURST`] pipelined reads
/// (one write), reading the answers before the next burst.
pub(crate) async fn pipelined(
    storm: &StormTarget,
    until: Instant,
    bursts_per_second: u32,
) -> StormReport {
    let counters = Counters::new(&[
        "sent",
        "answered",
        "exceptions",
        "unanswered",
        "sessions_opened",
        "sessions_failed",
    ]);
    let mut tasks = JoinSet::new();
    for session_index in 0..PIPELINE_SESSIONS {
        let storm = storm.clone();
        let counters = Arc::clone(&counters);
        tasks.spawn(async move {
            let mut tick = ticker(bursts_per_second);
            let mut session: Option<Box<dyn Session>> = None;
            let mut tid = u16::try_from(session_index)
                .unwrap_or(0)
                .wrapping_mul(10_000);
            while Instant::now() < until {
                tick.tick().await;
                let Some(s) = storm.session(&mut session, &counters).await else {
                    continue;
                };
                let mut burst = Vec::new();
                for _ in 0..PIPELINE_BURST {
                    tid = tid.wrapping_add(1);
                    burst.extend_from_slice(&modbus::read_request(tid, 1));
                }
                counters.add("sent", PIPELINE_BURST as u64);
                if s.write_all(&burst).await.is_err() {
                    counters.add("unanswered", PIPELINE_BURST as u64);
                    session = None;
                    continue;
                }
                let (answered, exceptions, complete) = read_answers(s, PIPELINE_BURST).await;
                counters.add("answered", answered);
                counters.add("exceptions", exceptions);
                counters.add(
                    "unanswered",
                    PIPELINE_BURST as u64 - answered.min(PIPELINE_BURST as u64),
                );
                if !complete {
                    session = None;
                }
            }
        });
    }
    let abandoned = drain(&mut tasks, until + DRAIN).await;
    let mut details = counters.to_map();
    details.insert("abandoned".into(), json!(abandoned));
    StormReport {
        summary: format!(
            "{} pipelined reads in bursts of {PIPELINE_BURST}, {bursts_per_second} bursts a second \
             over {PIPELINE_SESSIONS} sessions: {} answered ({} with an exception), {} unanswered",
            counters.get("sent"),
            counters.get("answered"),
            counters.get("exceptions"),
            counters.get("unanswered"),
        ),
        details,
        problems: Vec::new(),
    }
}

/// Reads up to `expected` answers: (answers, of which exceptions, whether all came).
async fn read_answers(session: &mut Box<dyn Session>, expected: usize) -> (u64, u64, bool) {
    let deadline = Instant::now() + ANSWER_WAIT * 2;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (mut answered, mut exceptions) = (0u64, 0u64);
    while answered < expected as u64 {
        // Take every whole ADU already read.
        while modbus::adu_complete(&buffer) {
            let len = 6 + usize::from(u16::from_be_bytes([buffer[4], buffer[5]]));
            if let Ok(r) = rampart_modbus::decode_response(buffer.get(..len).unwrap_or_default())
                && matches!(r.pdu(), ResponsePdu::Exception { .. })
            {
                exceptions += 1;
            }
            answered += 1;
            buffer.drain(..len.min(buffer.len()));
        }
        if answered >= expected as u64 {
            break;
        }
        match tokio::time::timeout_at(deadline, session.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            _ => return (answered, exceptions, false),
        }
        if buffer.len() > 64 * 1024 {
            return (answered, exceptions, false);
        }
    }
    (answered, exceptions, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_malformed_frame_is_refused_by_the_codec_or_the_policy() {
        for (name, frame) in malformed_frames() {
            // None of them is a request the one Modbus codec accepts as it is, except the
            // unassigned function code, which decodes only as an unknown function.
            let decoded = rampart_modbus::decode_request(&frame);
            if name.starts_with("FC 100") {
                continue;
            }
            assert!(decoded.is_err(), "{name} decodes: {decoded:?}");
        }
    }
}
