//! Intrusion detection on the conduit (CR 6.2 continuous monitoring, CR 3.4 RE 2-style
//! notification): detectors over the decoded traffic of each client that raise [`Alert`]s,
//! each with a severity, an explanation and the MITRE ATT&CK for ICS technique it matches.
//!
//! Fixed-threshold detectors: policy violation, malformed frame, reconnaissance function
//! codes (FC 8, 17, 43/14), address scans, unit scans, write bursts, exception storms,
//! request floods, and function codes outside a client's first requests.
//!
//! With a [`Baseline`] (learned by [`Ids::start_learning`] or loaded with
//! [`Ids::use_baseline`]) the anomaly detectors compare traffic with what was normal: a new
//! talker, a role reversal (a device seen only as a server sends requests), a new unit,
//! function code or write target for a client, a rate outside the learned band (which then
//! replaces the fixed write-burst and flood thresholds for that client), requests left
//! unanswered and response-time drift. Their alerts are aggregated: one per cause and
//! counting window, with the count of occurrences it stands for. While a baseline is being
//! learned no alert is raised at all.
//!
//! Time is given by the caller (microseconds on any monotonic scale), so the same traffic
//! gives the same alerts live and from a capture. Memory is bounded: per-client state is
//! small and fixed in size, and at most [`IdsConfig::max_clients`] clients are tracked (the
//! least recently seen is forgotten first).

use std::collections::HashMap;
use std::fmt;

use rampart_modbus::{ExceptionCode, Request, RequestPdu, Response, ResponsePdu};
use serde::Serialize;

use crate::baseline::{
    Adaptation, Baseline, ClientBaseline, WindowCounts, WriteTarget, approx, count_ceiling,
};
use crate::decide::Decision;
use crate::functions;

/// How serious an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording; often benign (identification by an engineering tool).
    Low,
    /// Suspicious.
    Medium,
    /// Likely an attack or a dangerous action.
    High,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        })
    }
}

/// What raised an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    /// A request the policy denied.
    PolicyViolation,
    /// A frame that is not valid Modbus/TCP.
    MalformedFrame,
    /// A function used to learn about a device (FC 8, 17, 43/14).
    Reconnaissance,
    /// Many distinct addresses, or illegal-address exceptions, from one client.
    AddressScan,
    /// Many distinct unit ids, or gateway-path exceptions, from one client.
    UnitScan,
    /// Requests to many distinct servers from one client: a sweep for Modbus devices.
    HostScan,
    /// Many writes in a short time.
    WriteBurst,
    /// Many exception responses to one client.
    ExceptionStorm,
    /// More requests than the flood threshold.
    RequestFlood,
    /// A function code the client did not use while its baseline was learned.
    UnusualFunction,
    /// A client the baseline does not know, or a known client talking to a new server.
    NewTalker,
    /// A device seen only as a server while the baseline was learned sends requests.
    RoleReversal,
    /// A unit id the client did not use while the baseline was learned.
    NewUnit,
    /// A write outside the ranges the client wrote while the baseline was learned.
    NewWriteTarget,
    /// A request rate outside the learned band.
    RateAnomaly,
    /// More requests left unanswered than the baseline allows.
    Unanswered,
    /// Response times far above the learned ones.
    ResponseTimeDrift,
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Detector::PolicyViolation => "policy-violation",
            Detector::MalformedFrame => "malformed-frame",
            Detector::Reconnaissance => "reconnaissance",
            Detector::AddressScan => "address-scan",
            Detector::UnitScan => "unit-scan",
            Detector::HostScan => "host-scan",
            Detector::WriteBurst => "write-burst",
            Detector::ExceptionStorm => "exception-storm",
            Detector::RequestFlood => "request-flood",
            Detector::UnusualFunction => "unusual-function",
            Detector::NewTalker => "new-talker",
            Detector::RoleReversal => "role-reversal",
            Detector::NewUnit => "new-unit",
            Detector::NewWriteTarget => "new-write-target",
            Detector::RateAnomaly => "rate-anomaly",
            Detector::Unanswered => "unanswered-requests",
            Detector::ResponseTimeDrift => "response-time-drift",
        })
    }
}

/// A MITRE ATT&CK for ICS technique.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Technique {
    /// The technique id, e.g. `T0855`.
    pub id: &'static str,
    /// Its name.
    pub name: &'static str,
}

const T0801: Technique = Technique {
    id: "T0801",
    name: "Monitor Process State",
};
const T0826: Technique = Technique {
    id: "T0826",
    name: "Loss of Availability",
};
const T0836: Technique = Technique {
    id: "T0836",
    name: "Modify Parameter",
};
const T0848: Technique = Technique {
    id: "T0848",
    name: "Rogue Master",
};
const T0806: Technique = Technique {
    id: "T0806",
    name: "Brute Force I/O",
};
const T0814: Technique = Technique {
    id: "T0814",
    name: "Denial of Service",
};
const T0816: Technique = Technique {
    id: "T0816",
    name: "Device Restart/Shutdown",
};
const T0843: Technique = Technique {
    id: "T0843",
    name: "Program Download",
};
const T0846: Technique = Technique {
    id: "T0846",
    name: "Remote System Discovery",
};
const T0855: Technique = Technique {
    id: "T0855",
    name: "Unauthorized Command Message",
};
const T0858: Technique = Technique {
    id: "T0858",
    name: "Change Operating Mode",
};
const T0861: Technique = Technique {
    id: "T0861",
    name: "Point & Tag Identification",
};
const T0866: Technique = Technique {
    id: "T0866",
    name: "Exploitation of Remote Services",
};
const T0888: Technique = Technique {
    id: "T0888",
    name: "Remote System Information Discovery",
};

/// One intrusion alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// When, in the caller's microseconds.
    pub time_us: u64,
    /// The client, as the caller names it (address, certificate subject).
    pub client: String,
    /// What raised it.
    pub detector: Detector,
    /// How serious it is.
    pub severity: Severity,
    /// The ATT&CK for ICS technique it matches.
    pub technique: Technique,
    /// What was seen, for a person.
    pub explanation: String,
    /// How many occurrences this alert stands for (aggregated alerts: the first of a cause
    /// in a counting window, and those suppressed since the previous alert of that cause).
    pub count: u32,
    /// The server the request went to, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The unit id concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<u8>,
    /// The function code concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<u8>,
    /// The addresses concerned (`holding registers 3..=3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<String>,
    /// The baseline figure the traffic deviates from, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

impl Alert {
    fn new(
        time_us: u64,
        client: &str,
        detector: Detector,
        severity: Severity,
        technique: Technique,
        explanation: String,
    ) -> Alert {
        Alert {
            time_us,
            client: client.to_owned(),
            detector,
            severity,
            technique,
            explanation,
            count: 1,
            server: None,
            unit: None,
            function: None,
            addresses: None,
            baseline: None,
        }
    }
}

/// Thresholds of the detectors. Counts are per client per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdsConfig {
    /// The counting window, in microseconds.
    pub window_us: u64,
    /// Distinct start addresses that make an address scan.
    pub scan_addresses: usize,
    /// Illegal-data-address exceptions that make an address scan.
    pub scan_address_exceptions: u32,
    /// Distinct unit ids that make a unit scan.
    pub scan_units: usize,
    /// Distinct servers that make a host scan.
    pub scan_servers: usize,
    /// Writes that make a write burst.
    pub write_burst: u32,
    /// Exception responses that make an exception storm.
    pub exception_storm: u32,
    /// Requests that make a flood.
    pub flood_requests: u32,
    /// Requests per client that form its baseline of function codes; 0 turns the
    /// unusual-function detector off.
    pub baseline_requests: u32,
    /// Clients tracked at once.
    pub max_clients: usize,
}

impl Default for IdsConfig {
    fn default() -> IdsConfig {
        IdsConfig {
            window_us: 10_000_000,
            scan_addresses: 64,
            scan_address_exceptions: 5,
            scan_units: 8,
            scan_servers: 8,
            write_burst: 100,
            exception_storm: 20,
            flood_requests: 5_000,
            baseline_requests: 0,
            max_clients: 10_000,
        }
    }
}

/// What the IDS is shown.
#[derive(Clone, Copy, Debug)]
pub enum Observation<'a, 'r> {
    /// A request, with the policy's decision when a policy is in force.
    Request {
        /// The decoded request.
        request: &'a Request<'r>,
        /// The policy decision, if a policy was applied.
        decision: Option<&'a Decision<'a>>,
    },
    /// A response from the server to the client.
    Response(&'a Response<'r>),
    /// Bytes that are not a valid frame; the text says why.
    Malformed(&'a str),
    /// A request of the client was answered after `latency_us`.
    Answered {
        /// Its unit id.
        unit: u8,
        /// Its function code.
        function: u8,
        /// From the request to the response, in microseconds.
        latency_us: u64,
    },
    /// The client opened (or tried to open) a connection to the server.
    Connect,
    /// A request of the client got no answer (timed out, or the connection ended first).
    Unanswered {
        /// Its unit id.
        unit: u8,
        /// Its function code.
        function: u8,
    },
}

#[derive(Default)]
struct ClientState {
    last_seen_us: u64,
    window_start_us: u64,
    requests: u32,
    writes: u32,
    exceptions: u32,
    address_exceptions: u32,
    gateway_exceptions: u32,
    units: [u64; 4],
    unit_count: usize,
    /// Distinct servers in this window (by hash), capped at the threshold.
    servers: Vec<u64>,
    /// Distinct (table, start) pairs, capped at the threshold.
    addresses: Vec<(u8, u16)>,
    /// Detectors that already alerted in this window, as bits of `Detector as u32`.
    raised: u32,
    /// Counts of the current window for the baseline's bands.
    window: WindowCounts,
    /// Baseline function codes (bit per code), the requests seen while learning, and the
    /// codes already reported as unusual.
    baseline: [u64; 2],
    baseline_seen: u32,
    unusual_reported: [u64; 2],
    /// Reconnaissance functions already reported (bit per code).
    recon_reported: [u64; 2],
}

fn has(bits: &[u64; 2], code: u8) -> bool {
    bits[usize::from(code / 64) & 1] & (1 << (code % 64)) != 0
}

fn set(bits: &mut [u64; 2], code: u8) {
    bits[usize::from(code / 64) & 1] |= 1 << (code % 64);
}

/// The detectors and their per-client state.
pub struct Ids {
    config: IdsConfig,
    /// `entry_ref` looks a client up by `&str` and allocates its key only on insertion.
    clients: hashbrown::HashMap<String, ClientState, rustc_hash::FxBuildHasher>,
    /// The baseline being learned or in force.
    profile: Option<Profile>,
}

/// How long a baseline is learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearningPeriod {
    /// For this many microseconds from the first observation.
    For(u64),
    /// Until this time (the caller's microseconds).
    Until(u64),
    /// Until [`Ids::finish_learning`].
    Open,
}

/// Where the IDS stands with its baseline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum LearningState {
    /// No baseline: the fixed-threshold detectors only.
    None,
    /// Learning: no alert is raised until it ends.
    Learning {
        /// When it ends (`None`: not yet known, or when told).
        until_us: Option<u64>,
        /// Clients learned so far.
        clients: usize,
        /// Requests learned so far.
        requests: u64,
    },
    /// Detecting on a baseline.
    Detecting {
        /// The end of its learning period.
        learned_until_us: u64,
        /// Clients it knows.
        clients: usize,
        /// Frozen or adaptive.
        adaptation: String,
    },
}

enum Phase {
    Learning(LearningPeriod),
    Detecting,
}

/// The last alert of one cause, for aggregation.
struct Reported {
    last_us: u64,
    suppressed: u32,
    template: Alert,
}

/// Windows a rate band needs before it is used (a band of fewer than three is three times
/// as wide: [`crate::baseline::Band::upper`]).
const MIN_BAND_WINDOWS: u64 = 1;

/// Causes whose aggregation state is kept at once.
const MAX_REPORTED: usize = 10_000;

struct Profile {
    baseline: Baseline,
    phase: Phase,
    reported: HashMap<(String, Detector, u64), Reported>,
}

/// A client's window that just closed.
struct ClosedWindow {
    start_us: u64,
    counts: WindowCounts,
}

impl Ids {
    /// Detectors with the given thresholds.
    pub fn new(config: IdsConfig) -> Ids {
        Ids {
            config,
            clients: hashbrown::HashMap::default(),
            profile: None,
        }
    }

    /// The thresholds in force.
    pub fn config(&self) -> &IdsConfig {
        &self.config
    }

    /// Starts learning a new baseline (replacing any): no alert is raised until the period
    /// ends; then the anomaly detectors compare traffic with it.
    pub fn start_learning(&mut self, period: LearningPeriod, adaptation: Adaptation) {
        let window_s = (self.config.window_us / 1_000_000).max(1);
        self.profile = Some(Profile {
            baseline: Baseline::new(window_s, adaptation),
            phase: Phase::Learning(period),
            reported: HashMap::new(),
        });
    }

    /// Ends learning at `time_us` (the learned baseline is then in force).
    pub fn finish_learning(&mut self, time_us: u64) {
        if let Some(profile) = &mut self.profile
            && matches!(profile.phase, Phase::Learning(_))
        {
            profile.baseline.learned_until_us = time_us;
            profile.phase = Phase::Detecting;
            end_learning(profile, &mut self.clients, &self.config);
        }
    }

    /// Ends a learning period that is over by `time_us` even when no traffic came (the
    /// caller's timer); `true` if it ended now.
    pub fn advance(&mut self, time_us: u64) -> bool {
        let Ids {
            config,
            clients,
            profile,
        } = self;
        let Some(profile) = profile.as_mut() else {
            return false;
        };
        if !profile.advance(time_us) {
            return false;
        }
        end_learning(profile, clients, config);
        true
    }

    /// Drops the baseline: the fixed-threshold detectors only, from now on.
    pub fn clear_baseline(&mut self) {
        self.profile = None;
    }

    /// Detects on `baseline` from now on.
    pub fn use_baseline(&mut self, baseline: Baseline) {
        self.profile = Some(Profile {
            baseline,
            phase: Phase::Detecting,
            reported: HashMap::new(),
        });
    }

    /// The baseline being learned or in force.
    pub fn baseline(&self) -> Option<&Baseline> {
        self.profile.as_ref().map(|p| &p.baseline)
    }

    /// Where the IDS stands with its baseline.
    pub fn learning_state(&self) -> LearningState {
        match &self.profile {
            None => LearningState::None,
            Some(profile) => match profile.phase {
                Phase::Learning(_) => LearningState::Learning {
                    until_us: profile.learning_until(),
                    clients: profile.baseline.clients.len(),
                    requests: profile.baseline.requests,
                },
                Phase::Detecting => LearningState::Detecting {
                    learned_until_us: profile.baseline.learned_until_us,
                    clients: profile.baseline.clients.len(),
                    adaptation: profile.baseline.adaptation.to_string(),
                },
            },
        }
    }

    /// Appends one alert for every cause whose occurrences since its last alert were
    /// suppressed by aggregation (at the end of a capture, or periodically live).
    pub fn flush(&mut self, time_us: u64, alerts: &mut Vec<Alert>) {
        let Some(profile) = &mut self.profile else {
            return;
        };
        let mut pending: Vec<Alert> = Vec::new();
        for reported in profile.reported.values_mut() {
            if reported.suppressed == 0 {
                continue;
            }
            let mut alert = reported.template.clone();
            alert.time_us = time_us;
            alert.count = reported.suppressed;
            reported.suppressed = 0;
            reported.last_us = time_us;
            pending.push(alert);
        }
        pending.sort_by(|a, b| (&a.client, a.detector as u32).cmp(&(&b.client, b.detector as u32)));
        alerts.extend(pending);
    }

    /// Feeds one observation of `client` at `time_us` and appends any alerts to `alerts`.
    pub fn observe(
        &mut self,
        time_us: u64,
        client: &str,
        observation: Observation<'_, '_>,
        alerts: &mut Vec<Alert>,
    ) {
        self.observe_flow(time_us, client, None, observation, alerts);
    }

    /// Feeds one observation of `client` talking to `server` (where known: who talks to
    /// whom is part of the baseline) and appends any alerts to `alerts`.
    pub fn observe_flow(
        &mut self,
        time_us: u64,
        client: &str,
        server: Option<&str>,
        observation: Observation<'_, '_>,
        alerts: &mut Vec<Alert>,
    ) {
        let Ids {
            config,
            clients,
            profile,
        } = self;
        let config = *config;
        if let Some(profile) = profile.as_mut()
            && profile.advance(time_us)
        {
            end_learning(profile, clients, &config);
        }
        let learning = profile
            .as_ref()
            .is_some_and(|p| matches!(p.phase, Phase::Learning(_)));
        let first_alert = alerts.len();
        let (state, closed) = client_state(clients, &config, client, time_us);
        if let (Some(profile), Some(closed)) = (profile.as_mut(), closed) {
            profile.close_window(&config, time_us, client, &closed, alerts);
        }
        // A band learned over too few windows says little: the fixed thresholds stay.
        let learned = profile
            .as_ref()
            .filter(|_| !learning)
            .and_then(|p| p.baseline.client(client))
            .filter(|c| c.rate.samples >= MIN_BAND_WINDOWS);
        let limits = FixedLimits {
            banded: learned.is_some(),
            // A client that routinely gets exceptions (polling an address the device lacks)
            // is not a storm or a scan: its learned band raises those thresholds, never
            // lowers them.
            exceptions_floor: learned.map_or(0, |c| count_ceiling(c.exceptions.upper(5.0))),
        };
        fixed(
            &config,
            state,
            time_us,
            client,
            server,
            observation,
            limits,
            alerts,
        );
        if let Some(profile) = profile.as_mut() {
            profile.observe(&config, state, time_us, client, server, observation, alerts);
        }
        if learning {
            alerts.truncate(first_alert);
        } else if alerts.len() > first_alert {
            state.window.alerted = true;
        }
    }
}

/// The state of `client`, with the window that closed if this observation opened a new one.
fn client_state<'c>(
    clients: &'c mut hashbrown::HashMap<String, ClientState, rustc_hash::FxBuildHasher>,
    config: &IdsConfig,
    client: &str,
    time_us: u64,
) -> (&'c mut ClientState, Option<ClosedWindow>) {
    if !clients.contains_key(client) && clients.len() >= config.max_clients {
        // Forget the least recently seen client; rare, and bounded by `max_clients`.
        if let Some(oldest) = clients
            .iter()
            .min_by_key(|(_, s)| s.last_seen_us)
            .map(|(k, _)| k.clone())
        {
            clients.remove(&oldest);
        }
    }
    let window = config.window_us;
    // Looked up by `&str`: the key is allocated only when the client is new, not on
    // every request.
    let state = clients.entry_ref(client).or_insert_with(|| ClientState {
        window_start_us: time_us,
        ..ClientState::default()
    });
    state.last_seen_us = time_us;
    let mut closed = None;
    if time_us.saturating_sub(state.window_start_us) >= window {
        closed = Some(state.start_window(time_us));
    }
    (state, closed)
}

/// Learning just ended: every client's window in progress is learned (scaled to a whole
/// window when it is a tenth of one or more, so that a short learning period still gives
/// each client a rate), and a fresh window starts, so that detection never judges traffic
/// that was learned.
fn end_learning(
    profile: &mut Profile,
    clients: &mut hashbrown::HashMap<String, ClientState, rustc_hash::FxBuildHasher>,
    config: &IdsConfig,
) {
    let until = profile.baseline.learned_until_us;
    let window = config.window_us.max(1);
    for (name, state) in clients.iter_mut() {
        let elapsed = until.saturating_sub(state.window_start_us);
        let closed = state.start_window(until);
        if elapsed >= window / 10 && elapsed > 0 {
            let scale = (approx(window) / approx(elapsed)).max(1.0);
            profile
                .baseline
                .learn_scaled_window(name, &closed.counts, scale);
        }
    }
}

/// Counts `server` among the client's servers of this window; the alert when they reach
/// the host-scan threshold.
fn host_scan(
    config: &IdsConfig,
    state: &mut ClientState,
    time_us: u64,
    client: &str,
    server: Option<&str>,
) -> Option<Alert> {
    use std::hash::BuildHasher as _;
    let key = rustc_hash::FxBuildHasher.hash_one(server?);
    if state.servers.len() >= config.scan_servers || state.servers.contains(&key) {
        return None;
    }
    state.servers.push(key);
    (state.servers.len() == config.scan_servers && state.first_in_window(Detector::HostScan))
        .then(|| {
            Alert::new(
                time_us,
                client,
                Detector::HostScan,
                Severity::Medium,
                T0846,
                format!(
                    "connections or requests to {} distinct servers within {} s: a sweep for Modbus devices",
                    config.scan_servers,
                    config.window_us / 1_000_000
                ),
            )
        })
}

/// What a baseline changes in the fixed-threshold detectors for one client.
#[derive(Clone, Copy)]
struct FixedLimits {
    /// The client has a learned rate band, which replaces the write-burst and flood
    /// thresholds.
    banded: bool,
    /// The exception counts the client's baseline holds routine: the exception-storm and
    /// exception-scan thresholds are at least this.
    exceptions_floor: u32,
}

/// The fixed-threshold detectors, with what a baseline changes in them (`limits`).
#[allow(clippy::too_many_arguments)]
fn fixed(
    config: &IdsConfig,
    state: &mut ClientState,
    time_us: u64,
    client: &str,
    server: Option<&str>,
    observation: Observation<'_, '_>,
    limits: FixedLimits,
    alerts: &mut Vec<Alert>,
) {
    let mut raise = |detector: Detector, severity, technique, explanation: String| {
        alerts.push(Alert::new(
            time_us,
            client,
            detector,
            severity,
            technique,
            explanation,
        ));
    };
    match observation {
        Observation::Answered { .. } | Observation::Unanswered { .. } => {}
        Observation::Connect => {
            if let Some(alert) = host_scan(config, state, time_us, client, server) {
                alerts.push(alert);
            }
        }
        Observation::Malformed(why) => {
            if state.first_in_window(Detector::MalformedFrame) {
                raise(
                    Detector::MalformedFrame,
                    Severity::Medium,
                    T0866,
                    format!("malformed Modbus/TCP frame: {why}"),
                );
            }
        }
        Observation::Response(response) => {
            if let ResponsePdu::Exception { code, .. } = response.pdu() {
                state.exceptions += 1;
                if *code == ExceptionCode::ILLEGAL_DATA_ADDRESS {
                    state.address_exceptions += 1;
                }
                if *code == ExceptionCode::GATEWAY_PATH_UNAVAILABLE
                    || *code == ExceptionCode::GATEWAY_TARGET_FAILED_TO_RESPOND
                {
                    state.gateway_exceptions += 1;
                }
            }
            let secs = config.window_us / 1_000_000;
            for (count, limit, detector, technique, what) in [
                (
                    state.exceptions,
                    config.exception_storm.max(limits.exceptions_floor),
                    Detector::ExceptionStorm,
                    T0888,
                    "exception responses",
                ),
                (
                    state.address_exceptions,
                    config.scan_address_exceptions.max(limits.exceptions_floor),
                    Detector::AddressScan,
                    T0861,
                    "illegal-data-address exceptions: probing for valid addresses",
                ),
                (
                    state.gateway_exceptions,
                    config.scan_address_exceptions.max(limits.exceptions_floor),
                    Detector::UnitScan,
                    T0846,
                    "gateway-path exceptions: probing for unit ids",
                ),
            ] {
                if count >= limit && state.first_in_window(detector) {
                    raise(
                        detector,
                        Severity::Medium,
                        technique,
                        format!("{count} {what} within {secs} s"),
                    );
                }
            }
        }
        Observation::Request { request, decision } => {
            let function = request.function_code().value();
            let write = request.access().write().is_some()
                || matches!(function, 21)
                || matches!(request.pdu(), RequestPdu::Other { .. });
            state.requests += 1;
            if write {
                state.writes += 1;
            }
            if let Some(Decision::Deny(denial)) = decision {
                let (severity, technique) = if write {
                    (Severity::High, T0855)
                } else {
                    (Severity::Medium, T0855)
                };
                raise(
                    Detector::PolicyViolation,
                    severity,
                    technique,
                    format!("denied {}: {denial}", functions::describe(function)),
                );
            }
            if let Some((severity, technique, what)) = reconnaissance(request)
                && !has(&state.recon_reported, function)
            {
                set(&mut state.recon_reported, function);
                raise(Detector::Reconnaissance, severity, technique, what);
            }
            // Unit and address scans.
            let unit = request.unit_id();
            let word = &mut state.units[usize::from(unit / 64)];
            if *word & (1 << (unit % 64)) == 0 {
                *word |= 1 << (unit % 64);
                state.unit_count += 1;
            }
            if state.unit_count >= config.scan_units && state.first_in_window(Detector::UnitScan) {
                raise(
                    Detector::UnitScan,
                    Severity::Medium,
                    T0846,
                    format!(
                        "{} distinct unit ids within {} s",
                        state.unit_count,
                        config.window_us / 1_000_000
                    ),
                );
            }
            if let Some(scan) = host_scan(config, state, time_us, client, server) {
                raise(
                    scan.detector,
                    scan.severity,
                    scan.technique,
                    scan.explanation,
                );
            }
            if let Some(span) = request.access().read().or(request.access().write()) {
                let key = (span.table as u8, span.range.start());
                if state.addresses.len() < config.scan_addresses && !state.addresses.contains(&key)
                {
                    state.addresses.push(key);
                    if state.addresses.len() == config.scan_addresses
                        && state.first_in_window(Detector::AddressScan)
                    {
                        raise(
                            Detector::AddressScan,
                            Severity::Medium,
                            T0861,
                            format!(
                                "{} distinct start addresses within {} s",
                                config.scan_addresses,
                                config.window_us / 1_000_000
                            ),
                        );
                    }
                }
            }
            let secs = config.window_us / 1_000_000;
            // With a baseline for this client, its learned rate band replaces these.
            let rate_limits = if limits.banded {
                Vec::new()
            } else {
                vec![
                    (
                        state.writes,
                        config.write_burst,
                        Detector::WriteBurst,
                        T0806,
                        "writes",
                    ),
                    (
                        state.requests,
                        config.flood_requests,
                        Detector::RequestFlood,
                        T0814,
                        "requests",
                    ),
                ]
            };
            for (count, limit, detector, technique, what) in rate_limits {
                if count >= limit && state.first_in_window(detector) {
                    raise(
                        detector,
                        Severity::High,
                        technique,
                        format!("{count} {what} within {secs} s"),
                    );
                }
            }
            // Baseline of function codes.
            if config.baseline_requests > 0 {
                if state.baseline_seen < config.baseline_requests {
                    state.baseline_seen += 1;
                    set(&mut state.baseline, function);
                } else if !has(&state.baseline, function) && !has(&state.unusual_reported, function)
                {
                    set(&mut state.unusual_reported, function);
                    let (severity, technique) = if functions::is_public(function) {
                        (Severity::Medium, T0855)
                    } else {
                        (Severity::High, T0843)
                    };
                    raise(
                        Detector::UnusualFunction,
                        severity,
                        technique,
                        format!(
                            "{} is outside this client's baseline of its first {} requests",
                            functions::describe(function),
                            config.baseline_requests
                        ),
                    );
                }
            }
        }
    }
}

impl Profile {
    /// When the learning period ends: `None` when detecting, when it ends on request, or
    /// while a period counted from the first request has seen none.
    fn learning_until(&self) -> Option<u64> {
        match self.phase {
            Phase::Learning(LearningPeriod::Until(until)) => Some(until),
            Phase::Learning(LearningPeriod::For(micros)) if self.baseline.requests > 0 => {
                Some(self.baseline.learned_from_us.saturating_add(micros))
            }
            Phase::Learning(_) | Phase::Detecting => None,
        }
    }

    /// Ends a learning period that is over by `time_us`; `true` if it just ended.
    fn advance(&mut self, time_us: u64) -> bool {
        let Some(until) = self.learning_until() else {
            return false;
        };
        if time_us < until {
            return false;
        }
        self.baseline.learned_until_us = until;
        self.phase = Phase::Detecting;
        true
    }

    fn learning(&self) -> bool {
        matches!(self.phase, Phase::Learning(_))
    }

    /// Raises `alert` unless an alert of the same cause was raised within the counting
    /// window; then it is counted and reported with the next one (or by [`Ids::flush`]).
    fn raise(&mut self, window_us: u64, detail: u64, alert: Alert, alerts: &mut Vec<Alert>) {
        let key = (alert.client.clone(), alert.detector, detail);
        if let Some(reported) = self.reported.get_mut(&key) {
            if alert.time_us.saturating_sub(reported.last_us) < window_us {
                reported.suppressed = reported.suppressed.saturating_add(1);
                return;
            }
            let mut alert = alert;
            alert.count = reported.suppressed.saturating_add(1);
            reported.last_us = alert.time_us;
            reported.suppressed = 0;
            reported.template = alert.clone();
            alerts.push(alert);
            return;
        }
        if self.reported.len() >= MAX_REPORTED {
            let now = alert.time_us;
            self.reported
                .retain(|_, r| r.suppressed > 0 || now.saturating_sub(r.last_us) < window_us);
        }
        if self.reported.len() < MAX_REPORTED {
            self.reported.insert(
                key,
                Reported {
                    last_us: alert.time_us,
                    suppressed: 0,
                    template: alert.clone(),
                },
            );
        }
        alerts.push(alert);
    }

    #[allow(clippy::too_many_arguments)]
    fn observe(
        &mut self,
        config: &IdsConfig,
        state: &mut ClientState,
        time_us: u64,
        client: &str,
        server: Option<&str>,
        observation: Observation<'_, '_>,
        alerts: &mut Vec<Alert>,
    ) {
        let learning = self.learning();
        match observation {
            Observation::Request { request, .. } => {
                let (unit, function) = (request.unit_id(), request.function_code().value());
                if let Some(count) = state.window.function(unit, function) {
                    count.requests = count.requests.saturating_add(1);
                }
                if learning {
                    self.baseline
                        .learn_request(time_us, client, server, request);
                } else {
                    self.detect_request(config, state, time_us, client, server, request, alerts);
                }
            }
            Observation::Answered {
                unit,
                function,
                latency_us,
            } => {
                if learning {
                    self.baseline
                        .learn_latency(client, unit, function, latency_us);
                } else if let Some(count) = state.window.function(unit, function) {
                    count.latency_sum_us = count.latency_sum_us.saturating_add(latency_us);
                    count.latency_samples = count.latency_samples.saturating_add(1);
                }
            }
            Observation::Unanswered { unit, function } => {
                let Some(count) = state.window.function(unit, function) else {
                    return;
                };
                count.unanswered = count.unanswered.saturating_add(1);
                let unanswered = count.unanswered;
                if learning {
                    return;
                }
                let learned = self
                    .baseline
                    .client(client)
                    .and_then(|c| c.function(unit, function))
                    .map(|f| f.unanswered);
                let Some(band) = learned else { return };
                let upper = band.upper(2.0);
                if unanswered >= 3 && f64::from(unanswered) > upper {
                    let mut alert = Alert::new(
                        time_us,
                        client,
                        Detector::Unanswered,
                        Severity::Medium,
                        T0814,
                        format!(
                            "{unanswered} {} requests to unit {unit} unanswered within {} s: the device may be unavailable",
                            functions::describe(function),
                            config.window_us / 1_000_000
                        ),
                    );
                    alert.unit = Some(unit);
                    alert.function = Some(function);
                    alert.server = server.map(str::to_owned);
                    alert.baseline = Some(format!(
                        "at most {:.0} unanswered per window while learned",
                        band.max
                    ));
                    self.raise(config.window_us, detail(unit, function, 0), alert, alerts);
                }
            }
            Observation::Response(_) | Observation::Malformed(_) | Observation::Connect => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn detect_request(
        &mut self,
        config: &IdsConfig,
        state: &mut ClientState,
        time_us: u64,
        client: &str,
        server: Option<&str>,
        request: &Request<'_>,
        alerts: &mut Vec<Alert>,
    ) {
        let (unit, function) = (request.unit_id(), request.function_code().value());
        let access = request.access();
        let write = access.write().is_some()
            || function == 21
            || matches!(request.pdu(), RequestPdu::Other { .. });
        // Texts are made only for an alert: most requests raise none.
        let what = || functions::describe(function);
        let window_us = config.window_us;
        let context = |mut alert: Alert| {
            alert.server = server.map(str::to_owned);
            alert.unit = Some(unit);
            alert.function = Some(function);
            alert.addresses = access
                .write()
                .or(access.read())
                .map(|span| span.to_string());
            alert
        };
        let Some(learned) = self.baseline.client(client) else {
            let alert = if self.baseline.servers.contains(client) {
                Alert::new(
                    time_us,
                    client,
                    Detector::RoleReversal,
                    Severity::High,
                    T0848,
                    format!(
                        "{client}, seen only as a server while the baseline was learned, sends requests: {what} to unit {unit}",
                        what = what()
                    ),
                )
            } else {
                let (severity, technique, verb) = if write {
                    (Severity::High, T0848, "writes")
                } else {
                    (Severity::Medium, T0846, "sends requests")
                };
                Alert::new(
                    time_us,
                    client,
                    Detector::NewTalker,
                    severity,
                    technique,
                    format!(
                        "{client}, a client the baseline does not know, {verb}: {what} to unit {unit}",
                        what = what()
                    ),
                )
            };
            let mut alert = context(alert);
            alert.baseline = Some(format!("{} clients learned", self.baseline.clients.len()));
            let key = u64::from(write);
            self.raise(window_us, key, alert, alerts);
            return;
        };
        let mut found: Vec<(u64, Alert)> = Vec::new();
        if let Some(server) = server
            && !learned.servers.is_empty()
            && !learned.servers.contains(server)
        {
            let severity = if write {
                Severity::High
            } else {
                Severity::Medium
            };
            let mut alert = context(Alert::new(
                time_us,
                client,
                Detector::NewTalker,
                severity,
                if write { T0848 } else { T0846 },
                format!(
                    "{client} sends {what} to {server}, a server it did not talk to while the baseline was learned",
                    what = what()
                ),
            ));
            alert.baseline = Some(format!("learned servers: {}", join(&learned.servers)));
            found.push((2, alert));
        }
        if !learned.uses_unit(unit) {
            let (severity, technique) = if write {
                (Severity::Medium, T0855)
            } else {
                (Severity::Low, T0846)
            };
            let mut alert = context(Alert::new(
                time_us,
                client,
                Detector::NewUnit,
                severity,
                technique,
                format!(
                    "{what} to unit {unit}, which this client did not use while the baseline was learned",
                    what = what()
                ),
            ));
            alert.baseline = Some(format!("learned units: {}", units(learned)));
            found.push((detail(unit, 0, 0), alert));
        } else if learned.function(unit, function).is_none() {
            let (severity, technique) = if !functions::is_public(function) {
                (Severity::High, T0843)
            } else if write && !learned.uses_function(function) {
                (Severity::Medium, T0855)
            } else if write {
                (Severity::Low, T0855)
            } else {
                (Severity::Low, T0801)
            };
            let mut alert = context(Alert::new(
                time_us,
                client,
                Detector::UnusualFunction,
                severity,
                technique,
                format!(
                    "{what} to unit {unit}, a function this client did not use there while the baseline was learned",
                    what = what()
                ),
            ));
            alert.baseline = Some(format!(
                "learned functions on unit {unit}: {}",
                functions_on(learned, unit)
            ));
            found.push((detail(unit, function, 0), alert));
        }
        if let Some(span) = access.write() {
            let target = learned
                .ranges(unit, span.table)
                .map_or(WriteTarget::Unknown, |r| r.classify_write(span));
            let severity = match target {
                WriteTarget::Known => None,
                WriteTarget::NearRoutine => Some(Severity::Low),
                WriteTarget::Unknown => Some(Severity::Medium),
            };
            if let Some(severity) = severity {
                let mut alert = context(Alert::new(
                    time_us,
                    client,
                    Detector::NewWriteTarget,
                    severity,
                    T0836,
                    format!(
                        "{what} writes unit {unit} {span}, outside what this client wrote while the baseline was learned{}",
                        if target == WriteTarget::NearRoutine {
                            " (inside or next to addresses it routinely reads or writes)"
                        } else {
                            ""
                        },
                        what = what()
                    ),
                ));
                alert.baseline = Some(match learned.ranges(unit, span.table) {
                    Some(ranges) => format!(
                        "learned on unit {unit} {}: written {}, read {}",
                        span.table,
                        spans(&ranges.written),
                        spans(&ranges.read)
                    ),
                    None => format!("nothing learned on unit {unit} {}", span.table),
                });
                let bucket = u64::from(span.range.start() / 64);
                found.push((detail(unit, span.table as u8, bucket), alert));
            }
        }
        // Rates within the current window: per (unit, function), and all requests.
        let secs = window_us / 1_000_000;
        if let Some(band) = learned
            .function(unit, function)
            .map(|f| f.rate)
            .filter(|band| band.samples >= MIN_BAND_WINDOWS)
            && let Some(count) = state.window.function(unit, function)
        {
            let limit = if write {
                config.write_burst
            } else {
                config.flood_requests
            };
            let level = rate_level(count.requests, band.upper(5.0), limit);
            // Reported once per window at each level: medium, then high if it grows on.
            if level > count.rate_level {
                count.rate_level = level;
                let upper = band.upper(5.0);
                let mut alert = context(Alert::new(
                    time_us,
                    client,
                    Detector::RateAnomaly,
                    if level == 2 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    if write { T0806 } else { T0814 },
                    format!(
                        "{} {what} requests to unit {unit} within {secs} s, above the learned band",
                        count.requests,
                        what = what()
                    ),
                ));
                alert.baseline = Some(format!(
                    "up to {upper:.0} per {secs} s (learned max {:.0}, mean {:.1})",
                    band.max, band.mean
                ));
                alerts.push(alert);
            }
        }
        let band = learned.rate;
        let level = if band.samples >= MIN_BAND_WINDOWS {
            rate_level(state.requests, band.upper(5.0), config.flood_requests)
        } else {
            0
        };
        if level > state.window.rate_level {
            state.window.rate_level = level;
            let upper = band.upper(5.0);
            let mut alert = Alert::new(
                time_us,
                client,
                Detector::RateAnomaly,
                if level == 2 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                T0814,
                format!(
                    "{} requests within {secs} s, above this client's learned band",
                    state.requests
                ),
            );
            alert.server = server.map(str::to_owned);
            alert.baseline = Some(format!(
                "up to {upper:.0} per {secs} s (learned max {:.0}, mean {:.1})",
                band.max, band.mean
            ));
            alerts.push(alert);
        }
        for (key, alert) in found {
            self.raise(window_us, key, alert, alerts);
        }
    }

    /// A client's window closed: learn it, or check what can only be judged over a whole
    /// window (rates that fell, response times, adaptation).
    fn close_window(
        &mut self,
        config: &IdsConfig,
        time_us: u64,
        client: &str,
        closed: &ClosedWindow,
        alerts: &mut Vec<Alert>,
    ) {
        let window_us = config.window_us;
        let end = closed.start_us.saturating_add(window_us);
        if self.learning() {
            self.baseline.learn_window(client, &closed.counts);
            return;
        }
        if closed.start_us < self.baseline.learned_until_us {
            // Begun while learning: part learned, part not; neither learned nor judged.
            if end <= self.baseline.learned_until_us {
                self.baseline.learn_window(client, &closed.counts);
            }
            return;
        }
        let Some(learned) = self.baseline.client(client) else {
            return;
        };
        // Traffic went on right after the window: a rate that fell is not a client that
        // simply left.
        let contiguous = time_us < end.saturating_add(window_us);
        let secs = window_us / 1_000_000;
        let mut found: Vec<(u64, Alert)> = Vec::new();
        for function in &learned.functions {
            let count = closed
                .counts
                .functions
                .iter()
                .find(|c| c.unit == function.unit && c.function == function.function)
                .copied()
                .unwrap_or_default();
            let what = functions::describe(function.function);
            let mut context = |mut alert: Alert, baseline: String, key: u64| {
                alert.unit = Some(function.unit);
                alert.function = Some(function.function);
                alert.baseline = Some(baseline);
                found.push((key, alert));
            };
            if contiguous
                && let Some(lower) = function.rate.lower()
                && f64::from(count.requests) < lower
            {
                context(
                    Alert::new(
                        time_us,
                        client,
                        Detector::RateAnomaly,
                        Severity::Low,
                        T0814,
                        format!(
                            "only {} {what} requests to unit {} within {secs} s, below the learned band",
                            count.requests, function.unit
                        ),
                    ),
                    format!(
                        "at least {lower:.0} per {secs} s (learned min {:.0}, mean {:.1})",
                        function.rate.min, function.rate.mean
                    ),
                    detail(function.unit, function.function, 1),
                );
            }
            let latency = function.latency_us;
            if count.latency_samples >= 5 && latency.samples >= 10 {
                let mean = approx(count.latency_sum_us) / f64::from(count.latency_samples);
                let threshold = (latency.mean + 6.0 * latency.sd)
                    .max(3.0 * latency.mean)
                    .max(latency.mean + 5_000.0);
                if mean > threshold {
                    context(
                        Alert::new(
                            time_us,
                            client,
                            Detector::ResponseTimeDrift,
                            Severity::Medium,
                            T0826,
                            format!(
                                "{what} requests to unit {} answered in {:.1} ms on average over {secs} s",
                                function.unit,
                                mean / 1000.0
                            ),
                        ),
                        format!(
                            "learned {:.1} ms on average (sd {:.1} ms, max {:.1} ms)",
                            latency.mean / 1000.0,
                            latency.sd / 1000.0,
                            latency.max / 1000.0
                        ),
                        detail(function.unit, function.function, 2),
                    );
                }
            }
        }
        let quiet = found.is_empty() && !closed.counts.alerted;
        for (key, alert) in found {
            self.raise(window_us, key, alert, alerts);
        }
        if quiet && self.baseline.adaptation == Adaptation::Adaptive {
            self.baseline.adapt_window(client, &closed.counts);
        }
    }
}

/// How far `count` is above a band whose upper edge is `upper`: 0 inside, 1 above (medium),
/// 2 more than four times above and past the fixed threshold `limit` too (high).
fn rate_level(count: u32, upper: f64, limit: u32) -> u8 {
    let count_f = f64::from(count);
    if count_f <= upper {
        0
    } else if count_f > 4.0 * upper && count >= limit {
        2
    } else {
        1
    }
}

/// The aggregation key of a cause below the client and detector.
fn detail(unit: u8, function: u8, extra: u64) -> u64 {
    (u64::from(unit) << 56) | (u64::from(function) << 48) | (extra & 0xFFFF_FFFF_FFFF)
}

fn join(items: &std::collections::BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn units(learned: &ClientBaseline) -> String {
    let mut units: Vec<u8> = learned.functions.iter().map(|f| f.unit).collect();
    units.dedup();
    units
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn functions_on(learned: &ClientBaseline, unit: u8) -> String {
    learned
        .functions
        .iter()
        .filter(|f| f.unit == unit)
        .map(|f| format!("FC {}", f.function))
        .collect::<Vec<_>>()
        .join(", ")
}

fn spans(ranges: &[[u16; 2]]) -> String {
    if ranges.is_empty() {
        return "nothing".into();
    }
    ranges
        .iter()
        .map(|[a, b]| format!("{a}..={b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ClientState {
    /// Closes the current counting window and opens one at `time_us`.
    fn start_window(&mut self, time_us: u64) -> ClosedWindow {
        let mut counts = std::mem::take(&mut self.window);
        counts.requests = self.requests;
        counts.exceptions = self.exceptions;
        let closed = ClosedWindow {
            start_us: self.window_start_us,
            counts,
        };
        self.window_start_us = time_us;
        self.requests = 0;
        self.writes = 0;
        self.exceptions = 0;
        self.address_exceptions = 0;
        self.gateway_exceptions = 0;
        self.units = [0; 4];
        self.unit_count = 0;
        self.servers.clear();
        self.addresses.clear();
        self.raised = 0;
        closed
    }

    /// Whether `detector` has not yet alerted in this window (and marks it as alerted).
    fn first_in_window(&mut self, detector: Detector) -> bool {
        let bit = 1u32 << (detector as u32);
        let first = self.raised & bit == 0;
        self.raised |= bit;
        first
    }
}

/// Whether the request is a reconnaissance function, with severity, technique and text.
fn reconnaissance(request: &Request<'_>) -> Option<(Severity, Technique, String)> {
    match request.pdu() {
        RequestPdu::Diagnostics { sub_function, .. } => Some(match sub_function {
            1 => (
                Severity::High,
                T0816,
                "diagnostics: restart communications option (FC 8/1) restarts the device's communications".into(),
            ),
            4 => (
                Severity::High,
                T0858,
                "diagnostics: force listen only mode (FC 8/4) silences the device".into(),
            ),
            sub => (
                Severity::Low,
                T0888,
                format!("diagnostics request (FC 8, sub-function {sub}) reveals device state"),
            ),
        }),
        RequestPdu::ReportServerId => Some((
            Severity::Low,
            T0888,
            "report server id (FC 17) identifies the device".into(),
        )),
        RequestPdu::ReadDeviceIdentification { .. } => Some((
            Severity::Low,
            T0888,
            "read device identification (FC 43/14) reveals vendor, product and version".into(),
        )),
        _ => None,
    }
}
