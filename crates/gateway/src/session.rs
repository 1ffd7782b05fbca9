//! One client connection after authentication: frame, check, decide, forward or deny,
//! validate the answer, reply.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rampart_audit::{Category, Outcome, Severity};
use rampart_conduit::{Decision, DenyAction, Observation, RoleRef};
use rampart_modbus::{Access, Deframer, ExceptionCode, FunctionCode, Response, ResponsePdu};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::audit::{GatewayEvent, Who};
use crate::state::{ActivePolicy, Shared, Stats};
use crate::upstream::{Completion, Frame, UpstreamFailure};

/// A byte stream to a client that can be closed with a TCP reset.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Makes the coming close a reset (`SO_LINGER` 0).
    fn reset_on_close(&self);
}

impl Transport for TcpStream {
    fn reset_on_close(&self) {
        let _ = self.set_zero_linger();
    }
}

impl Transport for tokio_rustls::server::TlsStream<TcpStream> {
    fn reset_on_close(&self) {
        let _ = self.get_ref().0.set_zero_linger();
    }
}

/// Who is on the other end.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    pub(crate) who: Who,
    /// The role name: from the certificate (`None`: the NULL role) or the plain listener's.
    pub(crate) role: Option<String>,
    pub(crate) interface: &'static str,
    /// The identity that limits are kept for.
    pub(crate) client_key: String,
    /// How the IDS names the client.
    pub(crate) ids_name: String,
}

/// What to do after a request.
enum Flow {
    Continue,
    Close,
    Reset,
}

/// The role resolved against the policy in force, refreshed when the policy changes.
struct RoleCache {
    generation: u64,
    policy: Arc<ActivePolicy>,
    role: RoleRef,
}

impl RoleCache {
    fn new(shared: &Shared, role: Option<&str>) -> RoleCache {
        let generation = shared.policy_generation();
        let policy = shared.policy();
        let role = policy.compiled.resolve(role);
        RoleCache {
            generation,
            policy,
            role,
        }
    }

    fn refresh(&mut self, shared: &Shared, role: Option<&str>) {
        if shared.policy_generation() != self.generation {
            *self = RoleCache::new(shared, role);
        }
    }
}

struct Session<'a, S> {
    shared: &'a Shared,
    peer: &'a Peer,
    stream: S,
    roles: RoleCache,
    out: Vec<u8>,
    outstanding: usize,
    reply: mpsc::UnboundedSender<Completion>,
    client_id: u64,
    /// This connection's entry in the status.
    seen: Arc<crate::state::OpenConnection>,
}

/// Serves `stream` until the client leaves, breaks the protocol, idles out, stalls mid-frame
/// (`limits.frame_timeout`), or traffic stops.
pub(crate) async fn run<S: Transport>(shared: Arc<Shared>, stream: S, peer: Peer) {
    let client = shared.clients.join(peer.client_key.clone());
    let registered = shared
        .open_connections
        .register(crate::state::OpenConnection {
            peer: peer.addr,
            client: match &peer.who {
                Who::Certificate(subject) => subject.clone(),
                Who::Address(address) | Who::Gateway(address) => address.clone(),
            },
            role: peer.role.clone(),
            interface: peer.interface,
            connected_at: shared.clock.read().at.to_system_time(),
            requests: std::sync::atomic::AtomicU64::new(0),
            denied: std::sync::atomic::AtomicU64::new(0),
        });
    let (reply, mut completions) = mpsc::unbounded_channel();
    let roles = RoleCache::new(&shared, peer.role.as_deref());
    let mut session = Session {
        shared: &shared,
        peer: &peer,
        stream,
        roles,
        out: Vec::with_capacity(1024),
        outstanding: 0,
        reply,
        client_id: client.id,
        seen: Arc::clone(&registered.entry),
    };
    let cap = shared.config.limits.max_in_flight_per_connection;
    let idle = shared.config.limits.idle_timeout;
    let frame_timeout = shared.config.limits.frame_timeout;
    let mut open = shared.open_watch();
    let mut stop = shared.stop.clone();
    // Ends when the gateway stops or traffic across the conduit stops. Made once, not on
    // every turn of the loop, so that a request does not register and unregister watchers.
    let halted = async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                changed = open.changed() => {
                    if changed.is_err() || !*open.borrow_and_update() {
                        tracing::info!("traffic stopped; closing the connection");
                        return;
                    }
                }
            }
        }
    };
    tokio::pin!(halted);
    let mut deframer = Deframer::new();
    let mut input = vec![0u8; 4096];
    let (mut pos, mut end) = (0usize, 0usize);
    let mut pending: Option<Frame> = None;
    let mut throttled: Option<tokio::time::Instant> = None;
    let mut throttle_reported = false;
    let mut last_activity = tokio::time::Instant::now();
    // When the first byte of the frame the deframer holds in part was read: every byte is
    // activity, so only this deadline stops a client that trickles a frame.
    let mut frame_started: Option<tokio::time::Instant> = None;
    // The idle timer is armed once and moved on only when it fires early, instead of being
    // set and cancelled for every request.
    let idle_timer = tokio::time::sleep_until(last_activity + idle);
    tokio::pin!(idle_timer);
    loop {
        // Work through buffered input as far as the limits allow.
        while session.outstanding < cap && throttled.is_none() && shared.is_open() {
            let frame = if let Some(frame) = pending.take() {
                frame
            } else {
                if pos == end {
                    break;
                }
                let mut rest = input.get(pos..end).unwrap_or_default();
                let before = rest.len();
                let next = deframer.next_adu(&mut rest);
                let frame = match next {
                    Ok(Some(adu)) => Some(Frame::copy(adu)),
                    Ok(None) => None,
                    Err(error) => {
                        session.malformed_stream(&error.to_string()).await;
                        return;
                    }
                };
                pos += before - rest.len();
                let Some(frame) = frame else {
                    // The input is used up; a frame begun in it (or before) may be held.
                    if deframer.buffered() == 0 {
                        frame_started = None;
                    } else if frame_started.is_none() {
                        frame_started = Some(last_activity);
                    }
                    continue;
                };
                frame_started = None;
                frame
            };
            session.roles.refresh(&shared, peer.role.as_deref());
            let limits = session.roles.policy.compiled.policy().limits;
            if let Err(wait) = client.take_token(&limits) {
                Stats::add(&shared.stats.throttled);
                pending = Some(frame);
                throttled = Some(tokio::time::Instant::now() + wait);
                if !throttle_reported {
                    throttle_reported = true;
                    tracing::info!(
                        rate = limits.requests_per_second,
                        burst = limits.burst,
                        "client exceeds its request rate; throttling"
                    );
                }
                break;
            }
            match session.request(frame).await {
                Flow::Continue => {}
                Flow::Close => {
                    let _ = session.flush().await;
                    return;
                }
                Flow::Reset => {
                    let _ = session.flush().await;
                    session.stream.reset_on_close();
                    return;
                }
            }
        }
        if session.flush().await.is_err() || !shared.is_open() {
            return;
        }
        let can_read =
            pos == end && pending.is_none() && session.outstanding < cap && throttled.is_none();
        tokio::select! {
            biased;
            () = &mut halted => return,
            Some(done) = completions.recv() => {
                last_activity = tokio::time::Instant::now();
                // Answer everything that is ready, then write once.
                let mut next = Some(done);
                while let Some(done) = next {
                    session.outstanding -= 1;
                    if !session.completion(done).await {
                        let _ = session.flush().await;
                        return;
                    }
                    next = completions.try_recv().ok();
                }
            }
            () = tokio::time::sleep_until(throttled.unwrap_or(last_activity)), if throttled.is_some() => {
                throttled = None;
            }
            read = session.stream.read(&mut input), if can_read => {
                match read {
                    Ok(0) => {
                        if let Err(error) = deframer.finish() {
                            tracing::debug!(%error, "the client closed mid-frame");
                        }
                        return;
                    }
                    Ok(n) => {
                        pos = 0;
                        end = n;
                        last_activity = tokio::time::Instant::now();
                    }
                    Err(error) => {
                        tracing::debug!(%error, "read failed");
                        return;
                    }
                }
            }
            () = tokio::time::sleep_until(
                frame_started.map_or(last_activity, |started| started + frame_timeout)
            ), if can_read && frame_started.is_some() => {
                session.stalled_frame(deframer.buffered(), frame_timeout).await;
                return;
            }
            () = &mut idle_timer, if session.outstanding == 0 => {
                let idle_at = last_activity + idle;
                if tokio::time::Instant::now() >= idle_at {
                    tracing::info!(idle_s = idle.as_secs(), "idle timeout; closing the connection");
                    return;
                }
                idle_timer.as_mut().reset(idle_at);
            }
        }
    }
}

impl<S: Transport> Session<'_, S> {
    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let result = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        }
        .await;
        self.out.clear();
        result
    }

    fn event(&self, category: Category, action: &'static str) -> GatewayEvent {
        GatewayEvent::new(category, action, self.peer.who.clone())
            .source(self.peer.addr)
            .interface(self.peer.interface)
    }

    /// Checks, decides and forwards or answers one request.
    async fn request(&mut self, frame: Frame) -> Flow {
        let shared = self.shared;
        Stats::add(&shared.stats.requests);
        Stats::add(&self.seen.requests);
        let policy = Arc::clone(&self.roles.policy);
        let role = self.roles.role;
        let limits = policy.compiled.policy().limits;
        if frame.pdu_len() > usize::from(limits.max_pdu_bytes) {
            let reason = format!(
                "PDU of {} bytes is longer than the policy's max_pdu_bytes of {}",
                frame.pdu_len(),
                limits.max_pdu_bytes
            );
            return self.malformed(&frame, &reason).await;
        }
        let request = match frame.request() {
            Ok(request) => request,
            Err(error) => return self.malformed(&frame, &error.to_string()).await,
        };
        let decision = policy.compiled.decide(role, &request);
        let alerts = shared.observe(
            &self.peer.ids_name,
            Observation::Request {
                request: &request,
                decision: Some(&decision),
            },
        );
        if !alerts.is_empty() {
            let source = self.peer.addr.to_string();
            if !shared.record_alerts(alerts, &self.peer.who, &source).await {
                return Flow::Close;
            }
        }
        let role_name = || policy.compiled.role_label(role).to_string();
        match decision {
            Decision::Deny(denial) => {
                Stats::add(&shared.stats.denied);
                Stats::add(&self.seen.denied);
                let reason = denial.to_string();
                tracing::debug!(unit = request.unit_id(), function = request.function_code().value(), %reason, "request denied");
                let event = self
                    .event(Category::AccessControl, "modbus.request")
                    .outcome(Outcome::Denied)
                    .target(describe(
                        request.unit_id(),
                        request.function_code(),
                        request.access(),
                    ))
                    .details(json!({
                        "unit": request.unit_id(),
                        "function": request.function_code().value(),
                        "role": role_name(),
                        "reason": reason,
                        "policy_sha256": policy.sha256,
                        "action": match limits.on_deny {
                            DenyAction::Exception => "exception 0x01",
                            DenyAction::Reset => "connection reset",
                        },
                    }));
                if !shared.record(event).await {
                    return Flow::Close;
                }
                match limits.on_deny {
                    DenyAction::Exception => {
                        let response =
                            Response::exception(&request, ExceptionCode::ILLEGAL_FUNCTION);
                        // An exception for a decoded request always encodes.
                        let _ = response.encode(&mut self.out);
                        Flow::Continue
                    }
                    DenyAction::Reset => Flow::Reset,
                }
            }
            Decision::Allow(allowed) => {
                Stats::add(&shared.stats.allowed);
                let rule_line = allowed.rule_line();
                let access = request.access();
                if shared.config.audit.allowed_writes && access.write().is_some() {
                    let event = self
                        .event(Category::ControlSystem, "modbus.write")
                        .target(describe(request.unit_id(), request.function_code(), access))
                        .details(json!({
                            "unit": request.unit_id(),
                            "function": request.function_code().value(),
                            "role": role_name(),
                            "rule_line": rule_line,
                            "policy_sha256": policy.sha256,
                        }));
                    if !shared.record(event).await {
                        return Flow::Close;
                    }
                }
                if !shared.is_open() {
                    return Flow::Close;
                }
                // The pool takes only the proof of the decision, which carries the decoded
                // request: what was decided is what is forwarded.
                if let Err(error) = shared
                    .pool
                    .submit(&allowed, self.client_id, self.reply.clone())
                {
                    tracing::warn!(%error, "an allowed request could not be kept for forwarding");
                    return Flow::Close;
                }
                self.outstanding += 1;
                Flow::Continue
            }
        }
    }

    /// A frame that is framed correctly but whose PDU is not acceptable.
    async fn malformed(&mut self, frame: &Frame, reason: &str) -> Flow {
        let shared = self.shared;
        Stats::add(&shared.stats.malformed);
        tracing::debug!(%reason, "malformed request");
        let alerts = shared.observe(&self.peer.ids_name, Observation::Malformed(reason));
        let source = self.peer.addr.to_string();
        if !shared.record_alerts(alerts, &self.peer.who, &source).await {
            return Flow::Close;
        }
        let bytes = frame.as_bytes();
        let function = bytes.get(rampart_modbus::HEADER_LEN).copied().unwrap_or(0);
        let valid_function = FunctionCode::new(function).ok();
        let event = self
            .event(Category::RequestError, "modbus.malformed")
            .outcome(Outcome::Failure)
            .details(json!({
                "reason": reason,
                "function": function,
                "action": if valid_function.is_some() { "exception 0x03" } else { "connection closed" },
            }));
        if !shared.record(event).await {
            return Flow::Close;
        }
        let Some(function) = valid_function else {
            return Flow::Close;
        };
        let header = frame.adu().map(rampart_modbus::Adu::header);
        let Some(header) = header else {
            return Flow::Close;
        };
        let response = Response::new(
            header.transaction_id(),
            header.unit_id(),
            ResponsePdu::Exception {
                function,
                code: ExceptionCode::ILLEGAL_DATA_VALUE,
            },
        );
        let _ = response.encode(&mut self.out);
        Flow::Continue
    }

    /// A byte stream that is not Modbus/TCP: recorded, then the connection is closed.
    async fn malformed_stream(&mut self, reason: &str) {
        let shared = self.shared;
        Stats::add(&shared.stats.malformed);
        tracing::info!(%reason, "framing error; closing the connection");
        let alerts = shared.observe(&self.peer.ids_name, Observation::Malformed(reason));
        let source = self.peer.addr.to_string();
        if !shared.record_alerts(alerts, &self.peer.who, &source).await {
            return;
        }
        let event = self
            .event(Category::RequestError, "modbus.malformed")
            .outcome(Outcome::Failure)
            .details(json!({ "reason": reason, "action": "connection closed" }));
        shared.record(event).await;
        let _ = self.flush().await;
    }

    /// A frame begun but not completed within `timeout`: recorded, then the connection is
    /// closed (CR 7.1: a client trickling bytes would otherwise hold it until the idle
    /// timeout).
    async fn stalled_frame(&mut self, buffered: usize, timeout: Duration) {
        let ms = timeout.as_millis();
        tracing::info!(
            buffered,
            timeout_ms = ms,
            "frame not completed in time; closing the connection"
        );
        let event = self
            .event(Category::RequestError, "modbus.frame_timeout")
            .outcome(Outcome::Failure)
            .details(json!({
                "reason": format!("a Modbus frame was not complete {ms} ms after its first byte"),
                "buffered_bytes": buffered,
                "frame_timeout_ms": ms,
                "action": "connection closed",
            }));
        self.shared.record(event).await;
        let _ = self.flush().await;
    }

    /// Sends the answer to a forwarded request; `false` closes the connection.
    async fn completion(&mut self, done: Completion) -> bool {
        let shared = self.shared;
        if shared.ids_baselined() {
            let (unit, function) = (done.request.unit_id(), done.request.function_code().value());
            let observation = match &done.result {
                Ok(_) => Observation::Answered {
                    unit,
                    function,
                    latency_us: u64::try_from(done.queued.elapsed().as_micros())
                        .unwrap_or(u64::MAX),
                },
                Err(_) => Observation::Unanswered { unit, function },
            };
            let alerts = shared.observe(&self.peer.ids_name, observation);
            if !alerts.is_empty() {
                let source = self.peer.addr.to_string();
                if !shared.record_alerts(alerts, &self.peer.who, &source).await {
                    return false;
                }
            }
        }
        match done.result {
            Ok(response) => {
                if response.is_exception()
                    && let Some(Ok(decoded)) =
                        response.adu().map(rampart_modbus::Adu::decode_response)
                {
                    let alerts =
                        shared.observe(&self.peer.ids_name, Observation::Response(&decoded));
                    if !alerts.is_empty() {
                        let source = self.peer.addr.to_string();
                        if !shared.record_alerts(alerts, &self.peer.who, &source).await {
                            return false;
                        }
                    }
                }
                self.out.extend_from_slice(response.as_bytes());
                true
            }
            Err(failure) => {
                Stats::add(&shared.stats.upstream_failures);
                let request = &done.request;
                let code = match failure {
                    UpstreamFailure::Unavailable(_) => ExceptionCode::GATEWAY_PATH_UNAVAILABLE,
                    _ => ExceptionCode::GATEWAY_TARGET_FAILED_TO_RESPOND,
                };
                tracing::warn!(%failure, code = code.value(), "request failed upstream");
                if let UpstreamFailure::Invalid(reason) = &failure {
                    let event = GatewayEvent::new(
                        Category::RequestError,
                        "modbus.upstream_invalid",
                        Who::Gateway("rampart-gateway".into()),
                    )
                    .target(shared.pool.status().target)
                    .outcome(Outcome::Failure)
                    .severity(Severity::Warning)
                    .details(json!({
                        "reason": reason,
                        "client": self.peer.addr.to_string(),
                        "unit": request.unit_id(),
                        "function": request.function_code().value(),
                    }));
                    if !shared.record(event).await {
                        return false;
                    }
                }
                let _ = request.exception(code).encode(&mut self.out);
                true
            }
        }
    }
}

/// `unit 1, write single register (FC 6), holding registers 3..=3`.
fn describe(unit: u8, function: FunctionCode, access: Access) -> String {
    let name = rampart_conduit::functions::describe(function.value());
    match (access.read(), access.write()) {
        (_, Some(span)) | (Some(span), None) => format!("unit {unit}, {name}, {span}"),
        (None, None) => format!("unit {unit}, {name}"),
    }
}
