//! The inspection pipeline: segments → streams → ADUs → decode → policy → IDS → report.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use rampart_conduit::{
    Adaptation, Alert, Baseline, CompiledPolicy, Decision, Ids, IdsConfig, Learner, LearningPeriod,
    LearningState, Observation, RoleRef,
};
use rampart_modbus::{Adu, AduBuf, Deframer, Request, RequestPdu, Response, ResponsePdu};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::capture::{self, CaptureError, Segment};
use crate::reassembly::{Chunk, HalfStream, Meta};

/// Flows tracked at once; the oldest is closed first beyond this.
const MAX_FLOWS: usize = 65_536;
/// Requests awaiting a response per flow (Modbus/TCP servers queue a handful).
const MAX_PENDING_REQUESTS: usize = 64;
/// Alerts kept in the report; beyond this they are counted but not listed.
pub const MAX_LISTED_ALERTS: usize = 100_000;
/// A request still without an answer this long after it was sent, while its flow carries
/// other traffic, counts as unanswered (Modbus/TCP clients time out after a few seconds).
pub const UNANSWERED_AFTER_US: u64 = 5_000_000;

/// What to inspect and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server ports that carry Modbus/TCP (502 unless told otherwise).
    pub ports: Vec<u16>,
    /// Keep one record per PDU for the report (memory grows with the capture).
    pub collect_frames: bool,
    /// The role every client is given when a policy is applied; `None`: a client whose
    /// address names a policy role (`client-10-0-0-5`, as `policy learn` writes) gets that
    /// role, any other client the NULL role.
    pub role: Option<String>,
    /// IDS thresholds.
    pub ids: IdsConfig,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ports: vec![502],
            collect_frames: false,
            role: None,
            ids: IdsConfig::default(),
        }
    }
}

/// Counts over everything inspected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Packets read.
    pub packets: u64,
    /// Bytes of Modbus/TCP stream payload inspected.
    pub bytes: u64,
    /// TCP flows to a Modbus port.
    pub flows: u64,
    /// Requests decoded.
    pub requests: u64,
    /// Responses decoded, exception responses included.
    pub responses: u64,
    /// Exception responses.
    pub exceptions: u64,
    /// Frames or PDUs that are not valid Modbus/TCP, and responses that do not match their
    /// request.
    pub malformed: u64,
    /// Requests the policy denied.
    pub denied: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Places where stream bytes were missing from the capture.
    pub gaps: u64,
}

/// Which way a PDU travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// One PDU as decoded, with the decision on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameRecord {
    /// The packet (1-based, per file) that completed the ADU.
    pub packet: u64,
    /// Capture time, microseconds since the Unix epoch.
    pub time_us: u64,
    /// The client's address and port.
    pub client: String,
    /// The server's address and port.
    pub server: String,
    /// Request or response.
    pub direction: Direction,
    /// MBAP transaction id.
    pub transaction_id: Option<u16>,
    /// MBAP unit id.
    pub unit_id: Option<u8>,
    /// Function code (without the exception bit).
    pub function_code: Option<u8>,
    /// FC 8 sub-function or FC 43 MEI type.
    pub sub_function: Option<u16>,
    /// First address read or written (FC 23: read).
    pub start_address: Option<u16>,
    /// Coils or registers read or written (FC 23: read).
    pub quantity: Option<u32>,
    /// FC 23: first address written.
    pub write_start_address: Option<u16>,
    /// FC 23: registers written.
    pub write_quantity: Option<u32>,
    /// The byte count field, where the PDU has one.
    pub byte_count: Option<u16>,
    /// The exception code of an exception response.
    pub exception_code: Option<u8>,
    /// `allow` or `deny` when a policy was applied to a request.
    pub decision: Option<&'static str>,
    /// Why it was denied, or why the frame is malformed.
    pub reason: Option<String>,
}

/// The result of an inspection.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Counts.
    pub totals: Totals,
    /// Alerts, in order (at most [`MAX_LISTED_ALERTS`]).
    pub alerts: Vec<Alert>,
    /// Where the IDS stood with its baseline at the end.
    pub baseline: LearningState,
    /// One record per PDU, when [`Options::collect_frames`] is set.
    pub frames: Vec<FrameRecord>,
}

#[derive(Default)]
struct Flow {
    to_server: HalfStream,
    to_client: HalfStream,
    state: FlowState,
}

/// Everything about a flow but its streams, so a stream can deliver into it.
#[derive(Default)]
struct FlowState {
    requests: Deframer,
    responses: Deframer,
    session: Session,
    last_seen_us: u64,
}

/// What the decoded PDUs of a flow share (apart from the deframers, which hold their bytes).
#[derive(Default)]
struct Session {
    /// Requests awaiting their response with the time they were sent, oldest first
    /// (usually one: a small list beats a map).
    pending: Vec<(AduBuf, u64)>,
    /// The client's role, resolved at its first request.
    role: Option<RoleRef>,
    /// The client as the IDS and the learner name it (its address), made once per flow.
    client: String,
    /// The server, named the same way.
    server: String,
}

/// The inspection pipeline over one or more captures.
pub struct Inspector {
    flows: FxHashMap<(SocketAddr, SocketAddr), Flow>,
    engine: Engine,
}

/// What happens to each ADU: decode, policy, IDS, learning, report.
struct Engine {
    options: Options,
    policy: Option<CompiledPolicy>,
    ids: Ids,
    learner: Option<Learner>,
    report: Report,
    /// The time of the last packet seen.
    last_time_us: u64,
}

/// Where an ADU came from, for records and alerts.
#[derive(Clone, Copy)]
struct Origin {
    packet: u64,
    time_us: u64,
    client: SocketAddr,
    server: SocketAddr,
}

impl Inspector {
    /// A pipeline with `options`, applying `policy` when given.
    pub fn new(options: Options, policy: Option<CompiledPolicy>) -> Inspector {
        Inspector {
            flows: FxHashMap::default(),
            engine: Engine {
                ids: Ids::new(options.ids),
                options,
                policy,
                learner: None,
                last_time_us: 0,
                report: Report {
                    totals: Totals::default(),
                    alerts: Vec::new(),
                    baseline: LearningState::None,
                    frames: Vec::new(),
                },
            },
        }
    }

    /// Learns a baseline of normal traffic for `period` of capture time (from the first
    /// request), raising no alert meanwhile, and detects anomalies on it afterwards.
    pub fn learn_baseline(&mut self, period: LearningPeriod, adaptation: Adaptation) {
        self.engine.ids.start_learning(period, adaptation);
    }

    /// Detects anomalies on `baseline` from the start.
    pub fn use_baseline(&mut self, baseline: Baseline) {
        self.engine.ids.use_baseline(baseline);
    }

    /// Also learns a least-privilege policy from the requests seen.
    pub fn learn(&mut self) {
        self.engine.learner = Some(Learner::new());
    }

    /// Inspects one capture file. `on_progress` gets the bytes of the file read so far.
    ///
    /// # Errors
    /// [`CaptureError`] for a file that cannot be read; what was inspected before stays in
    /// the report.
    pub fn inspect_file(
        &mut self,
        path: &Path,
        on_progress: impl FnMut(u64),
    ) -> Result<(), CaptureError> {
        let packets = capture::read_segments(path, |segment| self.segment(&segment), on_progress)?;
        self.engine.report.totals.packets += packets;
        // A capture ends every flow it holds: flush what the streams still hold.
        for ((client, server), mut flow) in self.flows.drain() {
            let origin = Origin {
                packet: packets,
                time_us: flow.state.last_seen_us,
                client,
                server,
            };
            self.engine.finish_flow(&mut flow, origin);
        }
        Ok(())
    }

    /// The report so far, and the learned policy if learning was on. Alerts that
    /// aggregation held back are reported now.
    pub fn finish(mut self) -> (Report, Option<Learner>) {
        let mut alerts = Vec::new();
        let end = self.engine.last_time_us;
        self.engine.ids.flush(end, &mut alerts);
        self.engine.alerts(alerts);
        self.engine.report.baseline = self.engine.ids.learning_state();
        (self.engine.report, self.engine.learner)
    }

    /// Ends learning at the last packet seen and gives the baseline learned (for `rampart
    /// ids learn`: learn over whole captures).
    pub fn finish_baseline(mut self) -> Option<Baseline> {
        let end = self.engine.last_time_us;
        self.engine.ids.finish_learning(end);
        self.engine.ids.baseline().cloned()
    }

    fn segment(&mut self, segment: &Segment<'_>) {
        let ports = &self.engine.options.ports;
        let (client, server, to_server) = if ports.contains(&segment.dst.port()) {
            (segment.src, segment.dst, true)
        } else if ports.contains(&segment.src.port()) {
            (segment.dst, segment.src, false)
        } else {
            return;
        };
        if self.flows.len() >= MAX_FLOWS && !self.flows.contains_key(&(client, server)) {
            self.evict_oldest_flow(segment.packet);
        }
        let flow = match self.flows.entry((client, server)) {
            std::collections::hash_map::Entry::Occupied(flow) => flow.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                self.engine.report.totals.flows += 1;
                slot.insert(Flow {
                    state: FlowState {
                        session: Session {
                            client: client_key(client.ip()),
                            server: client_key(server.ip()),
                            ..Session::default()
                        },
                        ..FlowState::default()
                    },
                    ..Flow::default()
                })
            }
        };
        flow.state.last_seen_us = segment.time_us;
        if to_server && segment.syn {
            // A connection attempt, answered or not: a sweep of port 502 across hosts shows
            // here before (or without) any Modbus request.
            let mut alerts = Vec::new();
            self.engine.ids.observe_flow(
                segment.time_us,
                &flow.state.session.client,
                Some(&flow.state.session.server),
                Observation::Connect,
                &mut alerts,
            );
            self.engine.alerts(alerts);
        }
        let origin = Origin {
            packet: segment.packet,
            time_us: segment.time_us,
            client,
            server,
        };
        let engine = &mut self.engine;
        engine.last_time_us = engine.last_time_us.max(segment.time_us);
        let state = &mut flow.state;
        let stream = if to_server {
            &mut flow.to_server
        } else {
            &mut flow.to_client
        };
        let mut deliver = |chunk: Chunk<'_>| engine.chunk(state, origin, to_server, chunk);
        let meta = Meta {
            packet: segment.packet,
            time_us: segment.time_us,
        };
        stream.push(
            segment.seq,
            segment.syn,
            segment.payload,
            meta,
            &mut deliver,
        );
        if segment.truncated {
            deliver(Chunk::Gap);
        }
        if segment.fin {
            // The sender is done: its half can hold no more frames.
            stream.finish(&mut deliver);
        }
    }

    fn evict_oldest_flow(&mut self, packet: u64) {
        let oldest = self
            .flows
            .iter()
            .min_by_key(|(_, f)| f.state.last_seen_us)
            .map(|(k, _)| *k);
        if let Some(key) = oldest
            && let Some(mut flow) = self.flows.remove(&key)
        {
            let origin = Origin {
                packet,
                time_us: flow.state.last_seen_us,
                client: key.0,
                server: key.1,
            };
            self.engine.finish_flow(&mut flow, origin);
        }
    }
}

impl Engine {
    fn finish_flow(&mut self, flow: &mut Flow, origin: Origin) {
        for to_server in [true, false] {
            let state = &mut flow.state;
            let stream = if to_server {
                &mut flow.to_server
            } else {
                &mut flow.to_client
            };
            stream.finish(&mut |chunk| self.chunk(state, origin, to_server, chunk));
            let deframer = if to_server {
                &flow.state.requests
            } else {
                &flow.state.responses
            };
            if deframer.buffered() > 0 {
                let reason = format!(
                    "the capture ends inside a frame ({} bytes buffered)",
                    deframer.buffered()
                );
                self.malformed(origin, to_server, &reason);
            }
        }
        // What the flow's last traffic shows was left unanswered (a request sent just
        // before the capture or the connection ended may still have been answered).
        let session = &mut flow.state.session;
        self.expire_pending(session, origin.time_us);
    }

    /// Reports the requests of `session` waiting longer than [`UNANSWERED_AFTER_US`] at
    /// `now_us` as unanswered and drops them.
    fn expire_pending(&mut self, session: &mut Session, now_us: u64) {
        if session
            .pending
            .first()
            .is_none_or(|(_, sent)| now_us.saturating_sub(*sent) < UNANSWERED_AFTER_US)
        {
            return;
        }
        let mut alerts = Vec::new();
        let mut kept = Vec::with_capacity(session.pending.len());
        for (request, sent) in session.pending.drain(..) {
            if now_us.saturating_sub(sent) < UNANSWERED_AFTER_US {
                kept.push((request, sent));
                continue;
            }
            let header = request.adu().header();
            let function = request.adu().pdu().first().copied().unwrap_or(0);
            self.ids.observe_flow(
                now_us,
                &session.client,
                Some(&session.server),
                Observation::Unanswered {
                    unit: header.unit_id(),
                    function,
                },
                &mut alerts,
            );
        }
        session.pending = kept;
        self.alerts(alerts);
    }

    fn chunk(&mut self, flow: &mut FlowState, origin: Origin, to_server: bool, chunk: Chunk<'_>) {
        let (bytes, meta) = match chunk {
            Chunk::Gap => {
                // Frames cannot be found across missing bytes: start afresh after the gap.
                self.report.totals.gaps += 1;
                if to_server {
                    flow.requests = Deframer::new();
                } else {
                    flow.responses = Deframer::new();
                }
                return;
            }
            Chunk::Bytes(bytes, meta) => (bytes, meta),
        };
        // Records name the packet that carried the bytes, even when it was held back.
        let origin = Origin {
            packet: meta.packet,
            time_us: meta.time_us,
            ..origin
        };
        self.report.totals.bytes += bytes.len() as u64;
        let mut rest = bytes;
        loop {
            let deframer = if to_server {
                &mut flow.requests
            } else {
                &mut flow.responses
            };
            match deframer.next_adu(&mut rest) {
                Ok(Some(adu)) => self.adu(&mut flow.session, origin, to_server, adu),
                Ok(None) => break,
                Err(error) => {
                    // Offline only: skip to the next segment and start afresh. The gateway
                    // closes the connection instead (see `Deframer`).
                    self.malformed(origin, to_server, &error.to_string());
                    if to_server {
                        flow.requests = Deframer::new();
                    } else {
                        flow.responses = Deframer::new();
                    }
                    break;
                }
            }
        }
    }

    fn adu(&mut self, flow: &mut Session, origin: Origin, to_server: bool, adu: Adu<'_>) {
        let max_pdu = self
            .policy
            .as_ref()
            .map_or(253, |p| p.policy().limits.max_pdu_bytes);
        if adu.pdu().len() > usize::from(max_pdu) {
            let reason = format!(
                "PDU of {} bytes exceeds the policy's max_pdu_bytes {max_pdu}",
                adu.pdu().len()
            );
            self.malformed(origin, to_server, &reason);
            return;
        }
        if to_server {
            match adu.decode_request() {
                Ok(request) => self.request(flow, origin, &request, adu),
                Err(error) => {
                    let mut record = Self::record(origin, Direction::Request);
                    record.transaction_id = Some(adu.header().transaction_id());
                    record.unit_id = Some(adu.header().unit_id());
                    record.function_code = adu.pdu().first().copied();
                    self.malformed_record(origin, record, &error.to_string());
                }
            }
        } else {
            match adu.decode_response() {
                Ok(response) => self.response(flow, origin, &response),
                Err(error) => {
                    let mut record = Self::record(origin, Direction::Response);
                    record.transaction_id = Some(adu.header().transaction_id());
                    record.unit_id = Some(adu.header().unit_id());
                    record.function_code = adu.pdu().first().map(|f| f & 0x7F);
                    self.malformed_record(origin, record, &error.to_string());
                }
            }
        }
    }

    fn request(&mut self, flow: &mut Session, origin: Origin, request: &Request<'_>, raw: Adu<'_>) {
        self.report.totals.requests += 1;
        self.expire_pending(flow, origin.time_us);
        let client_key = flow.client.as_str();
        let tid = request.transaction_id();
        flow.pending
            .retain(|(p, _)| p.adu().header().transaction_id() != tid);
        if flow.pending.len() >= MAX_PENDING_REQUESTS {
            flow.pending.remove(0);
        }
        flow.pending.push((AduBuf::new(raw), origin.time_us));
        if let Some(learner) = &mut self.learner {
            learner.observe(client_key, request);
        }
        let mut alerts = Vec::new();
        let decision = match &self.policy {
            Some(policy) => {
                let role = *flow.role.get_or_insert_with(|| match &self.options.role {
                    Some(role) => policy.resolve(Some(role)),
                    None => match policy.resolve(Some(&learned_role_name(client_key))) {
                        RoleRef::Unknown => RoleRef::Null,
                        role => role,
                    },
                });
                Some(policy.decide(role, request))
            }
            None => None,
        };
        self.ids.observe_flow(
            origin.time_us,
            client_key,
            Some(&flow.server),
            Observation::Request {
                request,
                decision: decision.as_ref(),
            },
            &mut alerts,
        );
        let mut record = self
            .options
            .collect_frames
            .then(|| request_record(Self::record(origin, Direction::Request), request));
        if let Some(decision) = &decision {
            let (word, reason) = match decision {
                Decision::Allow { .. } => ("allow", None),
                Decision::Deny(denial) => {
                    self.report.totals.denied += 1;
                    ("deny", Some(denial.to_string()))
                }
            };
            if let Some(record) = &mut record {
                record.decision = Some(word);
                record.reason = reason;
            }
        }
        if let Some(record) = record {
            self.report.frames.push(record);
        }
        self.alerts(alerts);
    }

    fn response(&mut self, flow: &mut Session, origin: Origin, response: &Response<'_>) {
        self.report.totals.responses += 1;
        if response.pdu().is_exception() {
            self.report.totals.exceptions += 1;
        }
        let mut alerts = Vec::new();
        self.ids.observe_flow(
            origin.time_us,
            &flow.client,
            Some(&flow.server),
            Observation::Response(response),
            &mut alerts,
        );
        let tid = response.transaction_id();
        let answered = flow
            .pending
            .iter()
            .position(|(p, _)| p.adu().header().transaction_id() == tid)
            .map(|i| flow.pending.remove(i));
        let mut mismatch = None;
        if let Some((pending, sent)) = answered
            && let Ok(request) = pending.adu().decode_request()
        {
            match rampart_modbus::validate_response(&request, response) {
                Ok(()) => self.ids.observe_flow(
                    origin.time_us,
                    &flow.client,
                    Some(&flow.server),
                    Observation::Answered {
                        unit: request.unit_id(),
                        function: request.function_code().value(),
                        latency_us: origin.time_us.saturating_sub(sent),
                    },
                    &mut alerts,
                ),
                Err(e) => mismatch = Some(e.to_string()),
            }
        }
        self.expire_pending(flow, origin.time_us);
        if self.options.collect_frames {
            let record = response_record(Self::record(origin, Direction::Response), response);
            self.report.frames.push(record);
        }
        if let Some(reason) = mismatch {
            self.report.totals.malformed += 1;
            self.ids.observe(
                origin.time_us,
                &flow.client,
                Observation::Malformed(&reason),
                &mut alerts,
            );
            if let Some(last) = self.report.frames.last_mut() {
                last.reason = Some(format!("response does not match its request: {reason}"));
            }
        }
        self.alerts(alerts);
    }

    fn malformed(&mut self, origin: Origin, to_server: bool, reason: &str) {
        let direction = if to_server {
            Direction::Request
        } else {
            Direction::Response
        };
        let record = Self::record(origin, direction);
        self.malformed_record(origin, record, reason);
    }

    fn malformed_record(&mut self, origin: Origin, mut record: FrameRecord, reason: &str) {
        self.report.totals.malformed += 1;
        let mut alerts = Vec::new();
        self.ids.observe(
            origin.time_us,
            &client_key(origin.client.ip()),
            Observation::Malformed(reason),
            &mut alerts,
        );
        if self.options.collect_frames {
            record.reason = Some(format!("malformed: {reason}"));
            self.report.frames.push(record);
        }
        self.alerts(alerts);
    }

    fn alerts(&mut self, alerts: Vec<Alert>) {
        self.report.totals.alerts += alerts.len() as u64;
        let room = MAX_LISTED_ALERTS.saturating_sub(self.report.alerts.len());
        self.report.alerts.extend(alerts.into_iter().take(room));
    }

    fn record(origin: Origin, direction: Direction) -> FrameRecord {
        FrameRecord {
            packet: origin.packet,
            time_us: origin.time_us,
            client: origin.client.to_string(),
            server: origin.server.to_string(),
            direction,
            transaction_id: None,
            unit_id: None,
            function_code: None,
            sub_function: None,
            start_address: None,
            quantity: None,
            write_start_address: None,
            write_quantity: None,
            byte_count: None,
            exception_code: None,
            decision: None,
            reason: None,
        }
    }
}

/// Clients are keyed by address: a client reconnecting from a new port is the same client.
fn client_key(ip: IpAddr) -> String {
    ip.to_string()
}

/// The role name `policy learn` gives a client.
pub fn learned_role_name(client: &str) -> String {
    let name: String = client
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("client-{}", name.trim_matches('-'))
}

fn request_record(mut record: FrameRecord, request: &Request<'_>) -> FrameRecord {
    record.transaction_id = Some(request.transaction_id());
    record.unit_id = Some(request.unit_id());
    record.function_code = Some(request.function_code().value());
    let pdu = request.pdu();
    record.sub_function = match pdu {
        RequestPdu::Diagnostics { sub_function, .. } => Some(*sub_function),
        pdu => pdu.mei_type().map(u16::from),
    };
    let access = request.access();
    if let Some(span) = access.read().or(access.write()) {
        record.start_address = Some(span.range.start());
        record.quantity = Some(span.range.count());
    }
    if let (Some(_), Some(write)) = (access.read(), access.write()) {
        record.write_start_address = Some(write.range.start());
        record.write_quantity = Some(write.range.count());
    }
    record.byte_count = match pdu {
        RequestPdu::WriteMultipleCoils { values, .. } => {
            u16::try_from(values.as_bytes().len()).ok()
        }
        RequestPdu::WriteMultipleRegisters { values, .. }
        | RequestPdu::ReadWriteMultipleRegisters { values, .. } => {
            u16::try_from(values.as_bytes().len()).ok()
        }
        _ => None,
    };
    record
}

fn response_record(mut record: FrameRecord, response: &Response<'_>) -> FrameRecord {
    record.transaction_id = Some(response.transaction_id());
    record.unit_id = Some(response.unit_id());
    record.function_code = Some(response.pdu().function_code().value());
    match response.pdu() {
        ResponsePdu::Exception { code, .. } => record.exception_code = Some(code.value()),
        ResponsePdu::ReadCoils(bits) | ResponsePdu::ReadDiscreteInputs(bits) => {
            record.byte_count = u16::try_from(bits.as_bytes().len()).ok();
        }
        ResponsePdu::ReadHoldingRegisters(regs)
        | ResponsePdu::ReadInputRegisters(regs)
        | ResponsePdu::ReadWriteMultipleRegisters(regs) => {
            record.byte_count = u16::try_from(regs.as_bytes().len()).ok();
        }
        ResponsePdu::WriteSingleCoil { address, .. }
        | ResponsePdu::WriteSingleRegister { address, .. }
        | ResponsePdu::MaskWriteRegister { address, .. } => record.start_address = Some(*address),
        ResponsePdu::WriteMultipleCoils(range) | ResponsePdu::WriteMultipleRegisters(range) => {
            record.start_address = Some(range.start());
            record.quantity = Some(range.count());
        }
        ResponsePdu::Diagnostics { sub_function, .. } => record.sub_function = Some(*sub_function),
        _ => {}
    }
    record
}
