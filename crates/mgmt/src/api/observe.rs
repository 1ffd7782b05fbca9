//! Status, statistics, alerts, island mode, the audit trail, the configuration report, the
//! SBOM and Prometheus metrics.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rampart_audit::{AuditEvent, AuditReader, Category, Outcome, Query as AuditQuery, Severity};
use rampart_gateway::Traffic;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{event, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

/// Health.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `GET /api/v1/health`: says nothing an anonymous caller should not know.
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// The gateway's state.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatusView {
    /// `open`, `island` or `halted`.
    pub traffic: String,
    /// Why traffic is halted (fail close), if it is.
    pub halted_reason: Option<String>,
    /// Island mode is on.
    pub island: bool,
    /// The Modbus/TCP Security listener.
    pub secure_listen: String,
    /// The plain listener, if on.
    pub plain_listen: Option<String>,
    /// The management plane.
    pub management_listen: String,
    /// SHA-256 of the policy in force.
    pub policy_sha256: String,
    /// The upstream device.
    pub upstream: UpstreamView,
    /// Client connections open now.
    pub connections: usize,
    /// Each open client connection.
    pub clients: Vec<ClientView>,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Counters since start.
    pub counters: TrafficView,
    /// Where the IDS stands with its baseline.
    pub ids: super::ids::IdsView,
}

/// One open client connection.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ClientView {
    /// The client's address.
    pub peer: String,
    /// Certificate subject, or the address on the plain listener.
    pub client: String,
    /// The role the policy applies; null: the NULL role.
    pub role: Option<String>,
    /// `modbus-tls` or `modbus-plain`.
    pub interface: String,
    /// When it connected (RFC 3339).
    pub connected_at: String,
    /// Requests on this connection.
    pub requests: u64,
    /// Of them, denied.
    pub denied: u64,
}

/// The upstream pool.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct UpstreamView {
    /// The device.
    pub target: String,
    /// Connections configured.
    pub configured: usize,
    /// Connections up.
    pub connected: usize,
    /// Requests waiting.
    pub queued: usize,
    /// The last connection error, if any.
    pub last_error: Option<String>,
}

/// Traffic counters since start.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TrafficView {
    /// Client connections admitted.
    pub connections_accepted: u64,
    /// Client connections refused (allow-list, limits, role).
    pub connections_refused: u64,
    /// Failed TLS handshakes.
    pub handshakes_failed: u64,
    /// Requests framed.
    pub requests: u64,
    /// Requests allowed.
    pub allowed: u64,
    /// Requests denied by the policy.
    pub denied: u64,
    /// Malformed requests.
    pub malformed: u64,
    /// Times a client was slowed by its rate limit.
    pub throttled: u64,
    /// Allowed requests without a valid answer from the device.
    pub upstream_failures: u64,
    /// Requests forwarded upstream.
    pub forwarded: u64,
    /// IDS alerts.
    pub alerts: u64,
}

/// An IDS alert.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AlertView {
    /// Where it comes from: `ids` (the intrusion detection of the traffic) or `audit` (a
    /// system alert of the audit trail: an integrity change, a physical tamper, a refused
    /// update); for `audit`, `detector` is the audit action and the technique is empty.
    pub source: String,
    /// When (µs since the Unix epoch).
    pub time_us: u64,
    /// The client.
    pub client: String,
    /// The detector.
    pub detector: String,
    /// Severity.
    pub severity: String,
    /// MITRE ATT&CK for ICS technique id.
    pub technique_id: String,
    /// Technique name.
    pub technique: String,
    /// What was seen.
    pub explanation: String,
    /// The occurrences an aggregated alert stands for (1 otherwise).
    pub count: u32,
    /// The unit id concerned, where known.
    pub unit: Option<u8>,
    /// The function code concerned, where known.
    pub function: Option<u8>,
    /// The addresses concerned, where known.
    pub addresses: Option<String>,
    /// The baseline figure the traffic deviates from, for anomaly alerts.
    pub baseline: Option<String>,
}

/// Island mode on or off.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IslandSwitch {
    /// True stops all traffic across the conduit.
    pub on: bool,
}

fn status_view(state: &AppState) -> StatusView {
    let status = state.services.gateway.status();
    let (traffic, halted_reason, island) = match status.traffic {
        Traffic::Open => ("open", None, false),
        Traffic::Island => ("island", None, true),
        Traffic::Halted { reason, island } => ("halted", Some(reason), island),
    };
    let c = status.counters;
    StatusView {
        traffic: traffic.to_owned(),
        halted_reason,
        island,
        secure_listen: status.secure_addr.to_string(),
        plain_listen: status.plain_addr.map(|a| a.to_string()),
        management_listen: state
            .bound
            .get()
            .copied()
            .unwrap_or(state.config.listen)
            .to_string(),
        policy_sha256: status.policy.sha256,
        upstream: UpstreamView {
            target: status.upstream.target.clone(),
            configured: status.upstream.configured,
            connected: status.upstream.connected,
            queued: status.upstream.queued,
            last_error: status.upstream.last_error.clone(),
        },
        connections: status.connections,
        clients: status
            .clients
            .iter()
            .map(|c| ClientView {
                peer: c.peer.to_string(),
                client: c.client.clone(),
                role: c.role.clone(),
                interface: c.interface.to_owned(),
                connected_at: jiff::Timestamp::try_from(c.connected_at)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                requests: c.requests,
                denied: c.denied,
            })
            .collect(),
        uptime_s: status.uptime.as_secs(),
        counters: TrafficView {
            connections_accepted: c.connections_accepted,
            connections_refused: c.connections_refused,
            handshakes_failed: c.handshakes_failed,
            requests: c.requests,
            allowed: c.allowed,
            denied: c.denied,
            malformed: c.malformed,
            throttled: c.throttled,
            upstream_failures: c.upstream_failures,
            forwarded: status.upstream.forwarded,
            alerts: c.alerts,
        },
        ids: super::ids::view(&status.ids),
    }
}

/// `GET /api/v1/status`.
pub(crate) async fn status(State(state): State<Arc<AppState>>) -> Json<StatusView> {
    Json(status_view(&state))
}

/// `GET /api/v1/stats/traffic`.
pub(crate) async fn traffic(State(state): State<Arc<AppState>>) -> Json<TrafficView> {
    Json(status_view(&state).counters)
}

/// How far back `GET /api/v1/alerts` looks in the audit trail for system alerts.
const ALERT_TAIL_EVENTS: usize = 10_000;
/// The most system alerts `GET /api/v1/alerts` shows.
const MAX_SYSTEM_ALERTS: usize = 50;

/// `GET /api/v1/alerts`: the IDS's recent alerts, and the system alerts of the audit trail —
/// events of severity alert or worse among its last [`ALERT_TAIL_EVENTS`] (integrity changes,
/// physical tamper, refused updates; IDS alerts are at most critical, so none is listed
/// twice) — newest first.
pub(crate) async fn alerts(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<AlertView>>> {
    let status = state.services.gateway.status();
    let mut views: Vec<AlertView> = status
        .recent_alerts
        .iter()
        .map(|a| AlertView {
            source: "ids".to_owned(),
            time_us: a.time_us,
            client: a.client.clone(),
            detector: a.detector.to_string(),
            severity: super::enum_text(&a.severity),
            technique_id: a.technique.id.to_owned(),
            technique: a.technique.name.to_owned(),
            explanation: a.explanation.clone(),
            count: a.count,
            unit: a.unit,
            function: a.function,
            addresses: a.addresses.clone(),
            baseline: a.baseline.clone(),
        })
        .collect();
    let dir = state.services.audit.dir().to_owned();
    let system = tokio::task::spawn_blocking(move || {
        let reader = AuditReader::open(&dir).map_err(|e| ApiError::internal(&e))?;
        reader
            .tail(ALERT_TAIL_EVENTS)
            .map_err(|e| ApiError::internal(&e))
    })
    .await??;
    views.extend(
        system
            .iter()
            .rev()
            .filter(|e| e.severity() <= Severity::Alert)
            .take(MAX_SYSTEM_ALERTS)
            .map(|e| {
                let reason = e
                    .details()
                    .get("reasons")
                    .and_then(serde_json::Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(serde_json::Value::as_str)
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .or_else(|| {
                        e.details()
                            .get("reading")
                            .and_then(serde_json::Value::as_str)
                            .map(ToOwned::to_owned)
                    });
                AlertView {
                    source: "audit".to_owned(),
                    time_us: u64::try_from(e.timestamp().unix_micros()).unwrap_or(0),
                    client: e.actor().name().to_owned(),
                    detector: e.action().to_owned(),
                    severity: e.severity().as_str().to_owned(),
                    technique_id: String::new(),
                    technique: String::new(),
                    explanation: match (e.target(), reason) {
                        (Some(target), Some(reason)) => format!("{target}: {reason}"),
                        (Some(target), None) => target.to_owned(),
                        (None, Some(reason)) => reason,
                        (None, None) => e.action().to_owned(),
                    },
                    count: 1,
                    unit: None,
                    function: None,
                    addresses: None,
                    baseline: None,
                }
            }),
    );
    views.sort_by_key(|a| std::cmp::Reverse(a.time_us));
    Ok(Json(views))
}

/// `PUT /api/v1/island`.
pub(crate) async fn set_island(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(switch): Json<IslandSwitch>,
) -> ApiResult<Json<StatusView>> {
    state
        .services
        .gateway
        .set_island(switch.on, caller.principal.name())
        .await
        .map_err(|e| ApiError::unavailable(format!("island mode not changed: {e}")))?;
    Ok(Json(status_view(&state)))
}

/// Filters of the audit query.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Events at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Events before this time (RFC 3339).
    pub until: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this actor name.
    pub actor: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// At least this severity.
    pub severity: Option<String>,
    /// Events after this sequence number (paging).
    pub after_seq: Option<u64>,
    /// At most this many events (default 100, at most 1000; export: 100,000).
    pub limit: Option<usize>,
}

/// A page of audit events.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AuditPage {
    /// The events, oldest first, as stored (CR 2.8 fields, hash).
    pub events: Vec<serde_json::Value>,
    /// Pass as `after_seq` for the next page; absent on the last.
    pub next_after_seq: Option<u64>,
}

fn to_audit_query(filter: &AuditFilter, default_limit: usize, max: usize) -> ApiResult<AuditQuery> {
    let mut query = AuditQuery::new().limit(filter.limit.unwrap_or(default_limit).min(max));
    if let Some(since) = &filter.since {
        query = query.since(
            since
                .parse()
                .map_err(|e| ApiError::invalid(format!("since: {e}")))?,
        );
    }
    if let Some(until) = &filter.until {
        query = query.until(
            until
                .parse()
                .map_err(|e| ApiError::invalid(format!("until: {e}")))?,
        );
    }
    if let Some(c) = &filter.category {
        query = query.category(
            c.parse::<Category>()
                .map_err(|e| ApiError::invalid(format!("category: {e}")))?,
        );
    }
    if let Some(a) = &filter.actor {
        query = query.actor(a.clone());
    }
    if let Some(o) = &filter.outcome {
        query = query.outcome(
            o.parse::<Outcome>()
                .map_err(|e| ApiError::invalid(format!("outcome: {e}")))?,
        );
    }
    if let Some(s) = &filter.severity {
        query = query.min_severity(
            s.parse::<Severity>()
                .map_err(|e| ApiError::invalid(format!("severity: {e}")))?,
        );
    }
    if let Some(seq) = filter.after_seq {
        query = query.after_seq(seq);
    }
    Ok(query)
}

async fn read_events(state: &AppState, query: AuditQuery) -> ApiResult<Vec<AuditEvent>> {
    let dir = state.services.audit.dir().to_owned();
    tokio::task::spawn_blocking(move || {
        let reader = AuditReader::open(&dir).map_err(|e| ApiError::internal(&e))?;
        reader.query(&query).map_err(|e| ApiError::internal(&e))
    })
    .await?
}

/// `GET /api/v1/audit`.
pub(crate) async fn audit_query(
    State(state): State<Arc<AppState>>,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<Json<AuditPage>> {
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
    let events = read_events(&state, audit_query_of(&filter, limit)?).await?;
    let next_after_seq = (events.len() == limit)
        .then(|| events.last().map(AuditEvent::seq))
        .flatten();
    let events = events
        .iter()
        .map(|e| serde_json::to_value(e).map_err(|e| ApiError::internal(&e)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(AuditPage {
        events,
        next_after_seq,
    }))
}

fn audit_query_of(filter: &AuditFilter, limit: usize) -> ApiResult<AuditQuery> {
    to_audit_query(filter, limit, limit)
}

/// `GET /api/v1/audit/export`.
pub(crate) async fn audit_export(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<Response> {
    let events = read_events(&state, to_audit_query(&filter, 100_000, 100_000)?).await?;
    let built = event(
        &caller.principal,
        Some(peer),
        Category::AuditLog,
        "audit-exported",
    )
    .outcome(Outcome::Success)
    .details(serde_json::json!({ "events": events.len() }))
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    let mut body = String::new();
    for e in &events {
        body.push_str(&serde_json::to_string(e).map_err(|e| ApiError::internal(&e))?);
        body.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rampart-audit.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The result of verifying the audit trail.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct VerifyView {
    /// Whether the chain and every checkpoint verify.
    pub intact: bool,
    /// One sentence saying what was verified or where it breaks.
    pub statement: String,
    /// Events checked.
    pub events_checked: u64,
    /// Signed checkpoints verified.
    pub checkpoints_verified: u64,
    /// The first sequence number with a problem.
    pub first_bad_seq: Option<u64>,
    /// Events after the last signed checkpoint.
    pub unsigned_events: u64,
}

/// `POST /api/v1/audit/verify`.
pub(crate) async fn audit_verify(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<VerifyView>> {
    let dir = state.services.audit.dir().to_owned();
    let data = state.services.data.clone();
    let report = tokio::task::spawn_blocking(move || {
        let public = data
            .device_key()
            .map_err(|e| ApiError::internal(&e))?
            .public_key();
        rampart_audit::verify(&dir, &public).map_err(|e| ApiError::internal(&e))
    })
    .await??;
    Ok(Json(VerifyView {
        intact: report.is_intact(),
        statement: report.statement(),
        events_checked: report.events_checked(),
        checkpoints_verified: report.checkpoints_verified(),
        first_bad_seq: report.first_bad_seq(),
        unsigned_events: report.unsigned_events(),
    }))
}

/// `GET /api/v1/config-report`.
pub(crate) async fn config_report(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<crate::report::ConfigReport>> {
    let state2 = Arc::clone(&state);
    let report = tokio::task::spawn_blocking(move || crate::report::build(&state2)).await?;
    Ok(Json(report))
}

/// `GET /api/v1/crypto`: the cryptographic inventory (CR 4.3), one object per algorithm or
/// key.
pub(crate) async fn crypto(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<crate::crypto_inventory::CryptoAsset>>> {
    let state2 = Arc::clone(&state);
    let assets = tokio::task::spawn_blocking(move || {
        crate::crypto_inventory::inventory(
            Some(&state2.services.data),
            state2.services.gateway.tls_key_held(),
        )
    })
    .await?;
    Ok(Json(assets))
}

/// `GET /api/v1/sbom`.
pub(crate) async fn sbom() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.cyclonedx+json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rampart.cdx.json\"",
            ),
        ],
        crate::SBOM_JSON,
    )
        .into_response()
}

/// `GET /metrics`: Prometheus text exposition.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    const COUNTER: &str = "counter";
    const GAUGE: &str = "gauge";
    let view = status_view(&state);
    let audit = state.services.audit.status();
    let c = &view.counters;
    let h = &state.counters;
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let metrics: [(&str, &str, &str, u64); 25] = [
        (
            "rampart_connections_accepted_total",
            COUNTER,
            "Client connections admitted.",
            c.connections_accepted,
        ),
        (
            "rampart_connections_refused_total",
            COUNTER,
            "Client connections refused.",
            c.connections_refused,
        ),
        (
            "rampart_handshakes_failed_total",
            COUNTER,
            "Failed TLS handshakes on the data plane.",
            c.handshakes_failed,
        ),
        (
            "rampart_requests_total",
            COUNTER,
            "Modbus requests framed.",
            c.requests,
        ),
        (
            "rampart_requests_allowed_total",
            COUNTER,
            "Requests the policy allowed.",
            c.allowed,
        ),
        (
            "rampart_requests_denied_total",
            COUNTER,
            "Requests the policy denied.",
            c.denied,
        ),
        (
            "rampart_requests_malformed_total",
            COUNTER,
            "Requests that were not valid Modbus.",
            c.malformed,
        ),
        (
            "rampart_requests_throttled_total",
            COUNTER,
            "Times a client was slowed by its rate limit.",
            c.throttled,
        ),
        (
            "rampart_upstream_failures_total",
            COUNTER,
            "Allowed requests without a valid answer.",
            c.upstream_failures,
        ),
        (
            "rampart_upstream_forwarded_total",
            COUNTER,
            "Requests forwarded upstream.",
            c.forwarded,
        ),
        (
            "rampart_ids_alerts_total",
            COUNTER,
            "IDS alerts raised.",
            c.alerts,
        ),
        (
            "rampart_connections_open",
            GAUGE,
            "Client connections open now.",
            as_u64(view.connections),
        ),
        (
            "rampart_upstream_connected",
            GAUGE,
            "Upstream connections up.",
            as_u64(view.upstream.connected),
        ),
        (
            "rampart_traffic_open",
            GAUGE,
            "1 when traffic crosses the conduit.",
            u64::from(view.traffic == "open"),
        ),
        (
            "rampart_island_mode",
            GAUGE,
            "1 when island mode is on.",
            u64::from(view.island),
        ),
        (
            "rampart_audit_events_stored",
            GAUGE,
            "Events in the audit trail.",
            audit.stored,
        ),
        (
            "rampart_audit_capacity_events",
            GAUGE,
            "Audit trail capacity.",
            audit.max_events,
        ),
        (
            "rampart_audit_refusing",
            GAUGE,
            "1 when the audit trail refuses events.",
            u64::from(audit.refusing),
        ),
        (
            "rampart_mgmt_requests_total",
            COUNTER,
            "Management requests.",
            load(&h.requests),
        ),
        (
            "rampart_mgmt_unauthenticated_total",
            COUNTER,
            "Management requests without valid credentials.",
            load(&h.unauthenticated),
        ),
        (
            "rampart_mgmt_forbidden_total",
            COUNTER,
            "Management requests refused by authorisation or CSRF.",
            load(&h.forbidden),
        ),
        (
            "rampart_mgmt_rate_limited_total",
            COUNTER,
            "Management requests refused by the rate limit.",
            load(&h.rate_limited),
        ),
        (
            "rampart_mgmt_connections_refused_total",
            COUNTER,
            "Management connections refused.",
            load(&h.connections_refused),
        ),
        (
            "rampart_mgmt_handshakes_failed_total",
            COUNTER,
            "Failed TLS handshakes on the management plane.",
            load(&h.handshakes_failed),
        ),
        (
            "rampart_uptime_seconds",
            GAUGE,
            "Seconds since the gateway started.",
            view.uptime_s,
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in metrics {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
