//! Intrusion detection on the conduit (CR 6.2 continuous monitoring, CR 3.4 RE 2-style
//! notification): detectors over the decoded traffic of each client that raise [`Alert`]s,
//! each with a severity, an explanation and the MITRE ATT&CK for ICS technique it matches.
//!
//! Detectors: policy violation, malformed frame, reconnaissance function codes (FC 8, 17,
//! 43/14), address scans, unit scans, write bursts, exception storms, request floods, and
//! function codes outside a client's learned baseline.
//!
//! Time is given by the caller (microseconds on any monotonic scale), so the same traffic
//! gives the same alerts live and from a capture. Memory is bounded: per-client state is
//! small and fixed in size, and at most [`IdsConfig::max_clients`] clients are tracked (the
//! least recently seen is forgotten first).

use std::fmt;

use rampart_modbus::{ExceptionCode, Request, RequestPdu, Response, ResponsePdu};
use serde::Serialize;

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
    /// Many writes in a short time.
    WriteBurst,
    /// Many exception responses to one client.
    ExceptionStorm,
    /// More requests than the flood threshold.
    RequestFlood,
    /// A function code the client did not use while its baseline was learned.
    UnusualFunction,
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Detector::PolicyViolation => "policy-violation",
            Detector::MalformedFrame => "malformed-frame",
            Detector::Reconnaissance => "reconnaissance",
            Detector::AddressScan => "address-scan",
            Detector::UnitScan => "unit-scan",
            Detector::WriteBurst => "write-burst",
            Detector::ExceptionStorm => "exception-storm",
            Detector::RequestFlood => "request-flood",
            Detector::UnusualFunction => "unusual-function",
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
    /// Distinct (table, start) pairs, capped at the threshold.
    addresses: Vec<(u8, u16)>,
    /// Detectors that already alerted in this window, as bits of `Detector as u16`.
    raised: u16,
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
}

impl Ids {
    /// Detectors with the given thresholds.
    pub fn new(config: IdsConfig) -> Ids {
        Ids {
            config,
            clients: hashbrown::HashMap::default(),
        }
    }

    /// The thresholds in force.
    pub fn config(&self) -> &IdsConfig {
        &self.config
    }

    /// Feeds one observation of `client` at `time_us` and appends any alerts to `alerts`.
    pub fn observe(
        &mut self,
        time_us: u64,
        client: &str,
        observation: Observation<'_, '_>,
        alerts: &mut Vec<Alert>,
    ) {
        let config = self.config;
        let state = self.state(client, time_us);
        let mut raise = |detector: Detector, severity, technique, explanation: String| {
            alerts.push(Alert {
                time_us,
                client: client.to_owned(),
                detector,
                severity,
                technique,
                explanation,
            });
        };
        match observation {
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
                        config.exception_storm,
                        Detector::ExceptionStorm,
                        T0888,
                        "exception responses",
                    ),
                    (
                        state.address_exceptions,
                        config.scan_address_exceptions,
                        Detector::AddressScan,
                        T0861,
                        "illegal-data-address exceptions: probing for valid addresses",
                    ),
                    (
                        state.gateway_exceptions,
                        config.scan_address_exceptions,
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
                if state.unit_count >= config.scan_units
                    && state.first_in_window(Detector::UnitScan)
                {
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
                if let Some(span) = request.access().read().or(request.access().write()) {
                    let key = (span.table as u8, span.range.start());
                    if state.addresses.len() < config.scan_addresses
                        && !state.addresses.contains(&key)
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
                for (count, limit, detector, technique, what) in [
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
                ] {
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
                    } else if !has(&state.baseline, function)
                        && !has(&state.unusual_reported, function)
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

    fn state(&mut self, client: &str, time_us: u64) -> &mut ClientState {
        if !self.clients.contains_key(client) && self.clients.len() >= self.config.max_clients {
            // Forget the least recently seen client; rare, and bounded by `max_clients`.
            if let Some(oldest) = self
                .clients
                .iter()
                .min_by_key(|(_, s)| s.last_seen_us)
                .map(|(k, _)| k.clone())
            {
                self.clients.remove(&oldest);
            }
        }
        let window = self.config.window_us;
        // Looked up by `&str`: the key is allocated only when the client is new, not on
        // every request.
        let state = self
            .clients
            .entry_ref(client)
            .or_insert_with(|| ClientState {
                window_start_us: time_us,
                ..ClientState::default()
            });
        state.last_seen_us = time_us;
        if time_us.saturating_sub(state.window_start_us) >= window {
            state.window_start_us = time_us;
            state.requests = 0;
            state.writes = 0;
            state.exceptions = 0;
            state.address_exceptions = 0;
            state.gateway_exceptions = 0;
            state.units = [0; 4];
            state.unit_count = 0;
            state.addresses.clear();
            state.raised = 0;
        }
        state
    }
}

impl ClientState {
    /// Whether `detector` has not yet alerted in this window (and marks it as alerted).
    fn first_in_window(&mut self, detector: Detector) -> bool {
        let bit = 1u16 << (detector as u16);
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
