//! The upstream pool: a few TCP connections to the PLC, shared by every client, with
//! transaction-id remapping, response validation, timeouts, reconnection with backoff and a
//! fair scheduler.
//!
//! # Fairness (CR 7.1)
//! Requests wait in one queue per client, and the pool's connections take from the queues
//! in turn (round robin), so a client that floods fills only its own queue: another
//! client's request waits behind at most one request of each other client.
//!
//! # Security
//! A response is forwarded only if it answers the request that the connection sent with that
//! transaction id (same unit, same function or its exception, consistent data:
//! [`rampart_modbus::validate_response_pdu`]). A response that does not, one with an unknown
//! transaction id, a framing error or a timeout closes the upstream connection: its stream
//! can no longer be trusted to stay in step. The client gets exception 0x0B.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rampart_conduit::Allowed;
use rampart_modbus::{Adu, Deframer, EncodeError, MAX_ADU_LEN, PduError, PendingRequest, Request};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, watch};
use tracing::Instrument as _;

use crate::config::Upstream;

/// One ADU in a fixed buffer that can be changed in place (its transaction id).
#[derive(Clone)]
pub(crate) struct Frame {
    len: usize,
    bytes: [u8; MAX_ADU_LEN],
}

impl Frame {
    /// Copies a framed ADU.
    pub(crate) fn copy(adu: Adu<'_>) -> Frame {
        let source = adu.as_bytes();
        let mut bytes = [0; MAX_ADU_LEN];
        let len = source.len().min(MAX_ADU_LEN);
        bytes[..len].copy_from_slice(&source[..len]);
        Frame { len, bytes }
    }

    /// The ADU bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The framed ADU; a `Frame` only ever holds one, so this does not fail.
    pub(crate) fn adu(&self) -> Option<Adu<'_>> {
        Adu::parse(self.as_bytes()).ok()
    }

    /// The request it holds, decoded: the one decode of a client's request.
    pub(crate) fn request(&self) -> Result<Request<'_>, PduError> {
        match self.adu() {
            Some(adu) => adu.decode_request(),
            None => Err(PduError::Empty),
        }
    }

    #[cfg(test)]
    pub(crate) fn transaction_id(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    pub(crate) fn set_transaction_id(&mut self, tid: u16) {
        self.bytes[..2].copy_from_slice(&tid.to_be_bytes());
    }

    /// The PDU length from the header.
    pub(crate) fn pdu_len(&self) -> usize {
        self.len.saturating_sub(rampart_modbus::HEADER_LEN)
    }

    /// Whether the response it holds is an exception (function code with the high bit).
    pub(crate) fn is_exception(&self) -> bool {
        self.bytes[rampart_modbus::HEADER_LEN] & 0x80 != 0
    }
}

/// A request on its way upstream: made only by [`Pool::submit`], from a request the policy
/// allowed.
pub(crate) struct Job {
    /// The client, for fair scheduling.
    pub(crate) client: u64,
    /// The request as the client sent it, decoded once, before the decision.
    pub(crate) request: PendingRequest,
    /// Where the completion goes.
    pub(crate) reply: mpsc::UnboundedSender<Completion>,
    /// When it was queued.
    pub(crate) queued: Instant,
}

/// The outcome of a job.
pub(crate) struct Completion {
    /// The request as the client sent it.
    pub(crate) request: PendingRequest,
    /// The validated response, with the client's transaction id, or why there is none.
    pub(crate) result: Result<Frame, UpstreamFailure>,
    /// When the request was queued: the response time the client sees starts there.
    pub(crate) queued: Instant,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpstreamFailure {
    /// No upstream connection took it in time (the PLC is unreachable, or traffic stopped).
    Unavailable(String),
    /// The PLC did not answer in time.
    Timeout,
    /// The PLC's answer failed validation; the connection was closed.
    Invalid(String),
    /// The connection was lost with the request outstanding.
    Lost(String),
}

impl std::fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamFailure::Unavailable(why) => write!(f, "upstream unavailable: {why}"),
            UpstreamFailure::Timeout => f.write_str("upstream response timeout"),
            UpstreamFailure::Invalid(why) => write!(f, "invalid upstream response: {why}"),
            UpstreamFailure::Lost(why) => write!(f, "upstream connection lost: {why}"),
        }
    }
}

/// Per-client queues, served round robin.
#[derive(Default)]
struct Scheduler {
    queues: HashMap<u64, VecDeque<Job>>,
    /// Clients with queued jobs, in service order.
    ring: VecDeque<u64>,
    len: usize,
}

impl Scheduler {
    fn push(&mut self, job: Job) {
        let queue = self.queues.entry(job.client).or_default();
        if queue.is_empty() {
            self.ring.push_back(job.client);
        }
        queue.push_back(job);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Job> {
        let client = self.ring.pop_front()?;
        let queue = self.queues.get_mut(&client)?;
        let job = queue.pop_front();
        if queue.is_empty() {
            self.queues.remove(&client);
        } else {
            self.ring.push_back(client);
        }
        if job.is_some() {
            self.len -= 1;
        }
        job
    }

    /// Removes the jobs queued before `cutoff` (all of them for `None`).
    fn expire(&mut self, cutoff: Option<Instant>) -> Vec<Job> {
        let mut expired = Vec::new();
        for queue in self.queues.values_mut() {
            while queue
                .front()
                .is_some_and(|j| cutoff.is_none_or(|c| j.queued < c))
            {
                if let Some(job) = queue.pop_front() {
                    expired.push(job);
                }
            }
        }
        self.queues.retain(|_, q| !q.is_empty());
        let queues = &self.queues;
        self.ring.retain(|c| queues.contains_key(c));
        self.len -= expired.len();
        expired
    }
}

/// What the pool reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamStatus {
    /// The device, as configured or as started (`simulator at 127.0.0.1:40211`).
    pub target: String,
    /// Connections configured.
    pub configured: usize,
    /// Connections up now.
    pub connected: usize,
    /// Requests waiting for a connection.
    pub queued: usize,
    /// Requests answered by the PLC.
    pub forwarded: u64,
    /// Connections opened since start.
    pub connects: u64,
    /// The last connection problem, if any.
    pub last_error: Option<String>,
}

/// The pool.
pub(crate) struct Pool {
    address: String,
    label: String,
    settings: Upstream,
    scheduler: Mutex<Scheduler>,
    work: Notify,
    /// A connection has been woken for queued work and has not taken it yet: further
    /// submissions need not wake another one, so the requests of many clients go out
    /// together in one write (fewer system calls here and in the PLC).
    waking: AtomicBool,
    /// Requests sent and not yet answered, all connections together.
    in_flight: AtomicUsize,
    connected: AtomicUsize,
    forwarded: AtomicU64,
    connects: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Pool {
    /// A pool for the device at `address` (`HOST:PORT`); `label` names it in status.
    pub(crate) fn new(address: String, label: String, settings: Upstream) -> Arc<Pool> {
        Arc::new(Pool {
            address,
            label,
            settings,
            scheduler: Mutex::new(Scheduler::default()),
            work: Notify::new(),
            waking: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            connected: AtomicUsize::new(0),
            forwarded: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    /// Queues a request the policy allowed; its answer goes to `reply`. Only an [`Allowed`]
    /// request can be queued, and only [`rampart_conduit::CompiledPolicy::decide`] makes one:
    /// a request reaches the PLC only if the policy allowed it.
    ///
    /// # Errors
    /// A request that was built rather than decoded and does not encode (never one the
    /// gateway decoded from a client).
    pub(crate) fn submit(
        &self,
        allowed: &Allowed<'_>,
        client: u64,
        reply: mpsc::UnboundedSender<Completion>,
    ) -> Result<(), EncodeError> {
        let job = Job {
            client,
            request: PendingRequest::new(allowed.request())?,
            reply,
            queued: Instant::now(),
        };
        self.lock().push(job);
        self.wake();
        Ok(())
    }

    /// Wakes one connection for queued work, unless one is already on its way.
    fn wake(&self) {
        if !self.waking.swap(true, Ordering::AcqRel) {
            self.work.notify_one();
        }
    }

    /// Fails every queued job.
    pub(crate) fn drain(&self, why: &str) {
        let jobs = self.lock().expire(None);
        for job in jobs {
            complete(job, Err(UpstreamFailure::Unavailable(why.to_owned())));
        }
    }

    pub(crate) fn status(&self) -> UpstreamStatus {
        UpstreamStatus {
            target: self.label.clone(),
            configured: self.settings.connections,
            connected: self.connected.load(Ordering::Relaxed),
            queued: self.lock().len,
            forwarded: self.forwarded.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// The connection workers and the queue sweeper, to be spawned by the caller. They run
    /// until `stop` changes (or its sender is dropped); while `open` is false they hold no
    /// connection.
    pub(crate) fn tasks(
        self: &Arc<Self>,
        open: &watch::Receiver<bool>,
        stop: &watch::Receiver<bool>,
    ) -> Vec<Pin<Box<dyn Future<Output = ()> + Send + 'static>>> {
        let mut tasks: Vec<Pin<Box<dyn Future<Output = ()> + Send + 'static>>> = Vec::new();
        for index in 0..self.settings.connections {
            let span =
                tracing::info_span!("upstream", upstream = %self.address, connection = index);
            tasks.push(Box::pin(
                worker(Arc::clone(self), open.clone(), stop.clone()).instrument(span),
            ));
        }
        tasks.push(Box::pin(sweeper(Arc::clone(self), stop.clone())));
        tasks
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Scheduler> {
        self.scheduler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn pop(&self) -> Option<Job> {
        self.lock().pop()
    }

    fn queued(&self) -> usize {
        self.lock().len
    }

    fn set_error(&self, error: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
    }
}

fn complete(job: Job, result: Result<Frame, UpstreamFailure>) {
    // The client may be gone; then nobody waits for this.
    let _ = job.reply.send(Completion {
        request: job.request,
        result,
        queued: job.queued,
    });
}

/// Fails queued jobs that no connection took within the response timeout.
async fn sweeper(pool: Arc<Pool>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => {
                pool.drain("the gateway is stopping");
                return;
            }
            _ = tick.tick() => {}
        }
        let Some(cutoff) = Instant::now().checked_sub(pool.settings.response_timeout) else {
            continue;
        };
        let expired = pool.lock().expire(Some(cutoff));
        if expired.is_empty() {
            continue;
        }
        let up = pool.connected.load(Ordering::Relaxed) > 0;
        for job in expired {
            let failure = if up {
                UpstreamFailure::Timeout
            } else {
                UpstreamFailure::Unavailable("no connection to the PLC".into())
            };
            complete(job, Err(failure));
        }
    }
}

async fn worker(pool: Arc<Pool>, mut open: watch::Receiver<bool>, mut stop: watch::Receiver<bool>) {
    let settings = pool.settings.clone();
    let mut backoff = settings.backoff_min;
    loop {
        if !*open.borrow_and_update() {
            tokio::select! {
                _ = stop.changed() => return,
                changed = open.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
            }
        }
        let connect = tokio::time::timeout(
            settings.connect_timeout,
            TcpStream::connect(pool.address.as_str()),
        );
        let connected = tokio::select! {
            _ = stop.changed() => return,
            result = connect => result,
        };
        let problem = match connected {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                pool.connects.fetch_add(1, Ordering::Relaxed);
                pool.connected.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("connected");
                let since = Instant::now();
                let result = run_connection(&pool, stream, &mut open, &mut stop).await;
                pool.connected.fetch_sub(1, Ordering::Relaxed);
                match result {
                    Ok(()) => {
                        if *stop.borrow() || stop.has_changed().is_err() {
                            return;
                        }
                        continue;
                    }
                    Err(problem) => {
                        if since.elapsed() > Duration::from_secs(5) {
                            backoff = settings.backoff_min;
                        }
                        problem
                    }
                }
            }
            Ok(Err(e)) => format!("cannot connect to {}: {e}", pool.address),
            Err(_) => format!(
                "cannot connect to {}: no answer within {} ms",
                pool.address,
                settings.connect_timeout.as_millis()
            ),
        };
        tracing::warn!(error = %problem, retry_ms = backoff.as_millis(), "upstream connection problem");
        pool.set_error(problem);
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(settings.backoff_max);
    }
}

struct Outstanding {
    tid: u16,
    job: Job,
    sent: Instant,
}

/// One connection's share of [`Pool::in_flight`]; withdrawn when the connection ends.
struct InFlight<'a> {
    pool: &'a Pool,
    counted: usize,
}

impl InFlight<'_> {
    fn set(&mut self, now: usize) {
        if now > self.counted {
            self.pool
                .in_flight
                .fetch_add(now - self.counted, Ordering::Relaxed);
        } else if now < self.counted {
            self.pool
                .in_flight
                .fetch_sub(self.counted - now, Ordering::Relaxed);
        }
        self.counted = now;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// Serves jobs over one connection until it fails (`Err`), traffic stops or the gateway
/// stops (`Ok`).
async fn run_connection(
    pool: &Pool,
    stream: TcpStream,
    open: &mut watch::Receiver<bool>,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let pipeline = pool.settings.pipeline;
    let timeout = pool.settings.response_timeout;
    let (mut reader, mut writer) = stream.into_split();
    let mut outstanding: Vec<Outstanding> = Vec::with_capacity(pipeline);
    let mut next_tid: u16 = 1;
    let mut deframer = Deframer::new();
    let mut input = vec![0u8; 8192];
    let mut output = Vec::with_capacity(pipeline * MAX_ADU_LEN);
    let mut in_flight = InFlight { pool, counted: 0 };
    // The response timer is armed for the earliest deadline of the requests outstanding and
    // moved only when a request with an earlier deadline goes out or when it fires (then it
    // checks the deadlines of what is outstanding now, and is armed again): answers come
    // long before the timeout, so a request does not register and cancel a timer of its own.
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    let fail_all = |outstanding: &mut Vec<Outstanding>, failure: &UpstreamFailure| {
        for o in outstanding.drain(..) {
            complete(o.job, Err(failure.clone()));
        }
    };
    loop {
        while outstanding.len() < pipeline {
            let Some(job) = pool.pop() else { break };
            while outstanding.iter().any(|o| o.tid == next_tid) {
                next_tid = next_tid.wrapping_add(1);
            }
            let tid = next_tid;
            next_tid = next_tid.wrapping_add(1);
            // The request as received, under this connection's transaction id.
            let start = output.len();
            output.extend_from_slice(job.request.as_bytes());
            if let Some(slot) = output.get_mut(start..start + 2) {
                slot.copy_from_slice(&tid.to_be_bytes());
            }
            outstanding.push(Outstanding {
                tid,
                job,
                sent: Instant::now(),
            });
        }
        if outstanding.len() == pipeline && pool.queued() > 0 {
            // This connection is full: another one takes the rest.
            pool.wake();
        }
        if !output.is_empty() {
            if let Err(e) = writer.write_all(&output).await {
                let why = format!("write failed: {e}");
                fail_all(&mut outstanding, &UpstreamFailure::Lost(why.clone()));
                return Err(why);
            }
            output.clear();
        }
        in_flight.set(outstanding.len());
        let deadline = outstanding
            .iter()
            .map(|o| o.sent)
            .min()
            .map(|sent| sent + timeout);
        match (deadline, armed) {
            (Some(deadline), Some(at)) if at <= deadline => {}
            (Some(deadline), _) => {
                timer
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(deadline));
                armed = Some(deadline);
            }
            (None, _) => {}
        }
        tokio::select! {
            biased;
            _ = stop.changed() => {
                fail_all(&mut outstanding, &UpstreamFailure::Unavailable("the gateway is stopping".into()));
                return Ok(());
            }
            changed = open.changed() => {
                if changed.is_err() || !*open.borrow_and_update() {
                    fail_all(&mut outstanding, &UpstreamFailure::Unavailable("traffic stopped".into()));
                    return Ok(());
                }
            }
            read = reader.read(&mut input) => {
                let n = match read {
                    Ok(0) => {
                        let why = "the PLC closed the connection".to_owned();
                        fail_all(&mut outstanding, &UpstreamFailure::Lost(why.clone()));
                        return Err(why);
                    }
                    Ok(n) => n,
                    Err(e) => {
                        let why = format!("read failed: {e}");
                        fail_all(&mut outstanding, &UpstreamFailure::Lost(why.clone()));
                        return Err(why);
                    }
                };
                let mut chunk = input.get(..n).unwrap_or_default();
                loop {
                    let adu = match deframer.next_adu(&mut chunk) {
                        Ok(Some(adu)) => adu,
                        Ok(None) => break,
                        Err(e) => {
                            let why = format!("framing error from the PLC: {e}");
                            fail_all(&mut outstanding, &UpstreamFailure::Invalid(why.clone()));
                            return Err(why);
                        }
                    };
                    let tid = adu.header().transaction_id();
                    let Some(index) = outstanding.iter().position(|o| o.tid == tid) else {
                        let why = format!("response with transaction id {tid}, which no request outstanding has");
                        fail_all(&mut outstanding, &UpstreamFailure::Invalid(why.clone()));
                        return Err(why);
                    };
                    let done = outstanding.swap_remove(index);
                    match check(&done.job.request, adu) {
                        Ok(mut response) => {
                            response.set_transaction_id(done.job.request.transaction_id());
                            pool.forwarded.fetch_add(1, Ordering::Relaxed);
                            complete(done.job, Ok(response));
                        }
                        Err(why) => {
                            complete(done.job, Err(UpstreamFailure::Invalid(why.clone())));
                            fail_all(
                                &mut outstanding,
                                &UpstreamFailure::Lost("closed after an invalid response".into()),
                            );
                            return Err(why);
                        }
                    }
                }
            }
            () = pool.work.notified(), if outstanding.len() < pipeline => {
                if pipeline - outstanding.len() > 1 && pool.in_flight.load(Ordering::Relaxed) > 0 {
                    // Under load (answers are awaited anyway), let the other client tasks
                    // that are ready run first, so that one write carries all the requests
                    // they queue: fewer system calls here and in the PLC. A lone request
                    // goes out at once, and so does one for a connection that can take
                    // only one more: nothing would join it, and the yield costs a turn of
                    // the scheduler (and of the I/O driver) per request.
                    tokio::task::yield_now().await;
                }
                // From here on a submission wakes a connection again; the jobs queued so
                // far are taken at the top of the loop.
                pool.waking.store(false, Ordering::Release);
            }
            () = &mut timer, if armed.is_some() => {
                armed = None;
                if deadline.is_none_or(|deadline| Instant::now() < deadline) {
                    // Armed for a request answered since; the loop arms it again.
                    continue;
                }
                fail_all(&mut outstanding, &UpstreamFailure::Timeout);
                return Err(format!("no response within {} ms; connection closed", timeout.as_millis()));
            }
        }
    }
}

/// Validates `response` against the request the client sent (decoded once, before the
/// decision: nothing here decodes it again).
fn check(request: &PendingRequest, response: Adu<'_>) -> Result<Frame, String> {
    let decoded = response
        .decode_response()
        .map_err(|e| format!("malformed response: {e}"))?;
    if decoded.unit_id() != request.unit_id() {
        return Err(format!(
            "response from unit {} to a request for unit {}",
            decoded.unit_id(),
            request.unit_id()
        ));
    }
    request
        .check(&decoded)
        .map_err(|e| format!("the response does not answer the request: {e}"))?;
    Ok(Frame::copy(response))
}

#[cfg(test)]
mod tests;
