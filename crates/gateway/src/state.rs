//! The state every task of a running gateway shares: policy, traffic switch, audit, IDS,
//! counters and per-client limits.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rampart_audit::{Category, Outcome, Severity};
use rampart_conduit::{Alert, CompiledPolicy, Ids, Limits, Observation};
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ServerConfig;

use crate::admission::{PerSourceLimit, PreAuthBudget, RefusalLog, TokenBucket};
use crate::audit::{AuditSink, GatewayEvent, Who};
use crate::config::GatewayConfig;
use crate::upstream::Pool;

/// How long a required event may take to become durable before the trail counts as failed.
const AUDIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many recent IDS alerts the status keeps.
const RECENT_ALERTS: usize = 64;

/// The policy in force.
#[derive(Debug)]
pub(crate) struct ActivePolicy {
    pub(crate) compiled: CompiledPolicy,
    /// Where it came from (file path or the caller's label).
    pub(crate) origin: String,
    pub(crate) sha256: String,
    /// The policy text in force (shown and diffed by the management plane).
    pub(crate) text: Arc<str>,
}

/// Why traffic is stopped, if it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrafficState {
    pub(crate) island: bool,
    pub(crate) halted: Option<String>,
}

impl TrafficState {
    fn open(&self) -> bool {
        !self.island && self.halted.is_none()
    }
}

/// Counters, for status and metrics.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) handshakes_failed: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) allowed: AtomicU64,
    pub(crate) denied: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) upstream_failures: AtomicU64,
    pub(crate) alerts: AtomicU64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) struct Shared {
    pub(crate) config: GatewayConfig,
    pub(crate) data_root: PathBuf,
    pub(crate) audit: Arc<dyn AuditSink>,
    policy: RwLock<Arc<ActivePolicy>>,
    policy_generation: AtomicU64,
    tls: RwLock<Arc<ServerConfig>>,
    traffic: Mutex<TrafficState>,
    open: AtomicBool,
    open_tx: watch::Sender<bool>,
    ids: Mutex<Ids>,
    /// The IDS's time scale: microseconds since the Unix epoch as of the start, advanced by
    /// the monotonic clock (steps of the wall clock do not disturb its windows, and a
    /// baseline saved by one run reads on the same scale in the next).
    ids_epoch_us: u64,
    ids_baselined: AtomicBool,
    alerts: Mutex<VecDeque<Alert>>,
    pub(crate) stats: Stats,
    pub(crate) clients: Clients,
    /// The connections open now, for the status (who, which role, how much traffic).
    pub(crate) open_connections: OpenConnections,
    /// The budget of authenticated sessions (`limits.max_connections`).
    pub(crate) connections: Arc<Semaphore>,
    /// The budget of connections not authenticated (`limits.max_unauthenticated`): in the
    /// TLS handshake, or on the plain listener.
    pub(crate) unauthenticated: PreAuthBudget,
    /// Refusals before authentication, aggregated per source for the audit trail.
    refusals: RefusalLog<Refusal>,
    pub(crate) pool: Arc<Pool>,
    pub(crate) started: Instant,
    /// The wall clock, for the times the status shows.
    pub(crate) clock: Arc<dyn rampart_clock::Clock>,
    pub(crate) stop: watch::Receiver<bool>,
    /// Serialises island changes between the API and the island-file watcher.
    pub(crate) island_lock: tokio::sync::Mutex<()>,
}

pub(crate) struct SharedParts {
    pub(crate) config: GatewayConfig,
    pub(crate) data_root: PathBuf,
    pub(crate) audit: Arc<dyn AuditSink>,
    pub(crate) policy: ActivePolicy,
    pub(crate) tls: Arc<ServerConfig>,
    pub(crate) island: bool,
    pub(crate) ids: Ids,
    pub(crate) pool: Arc<Pool>,
    pub(crate) stop: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(parts: SharedParts) -> Arc<Shared> {
        let traffic = TrafficState {
            island: parts.island,
            halted: None,
        };
        let open = traffic.open();
        let (open_tx, _) = watch::channel(open);
        let max_connections = parts.config.limits.max_connections;
        let clock: Arc<dyn rampart_clock::Clock> = Arc::new(rampart_clock::SystemClock::new());
        let started = Instant::now();
        let unauthenticated = PreAuthBudget::new(
            parts.config.limits.max_unauthenticated,
            parts.config.limits.max_unauthenticated_per_ip,
        );
        Arc::new(Shared {
            config: parts.config,
            data_root: parts.data_root,
            audit: parts.audit,
            policy: RwLock::new(Arc::new(parts.policy)),
            policy_generation: AtomicU64::new(1),
            tls: RwLock::new(parts.tls),
            traffic: Mutex::new(traffic),
            open: AtomicBool::new(open),
            open_tx,
            ids: Mutex::new(parts.ids),
            ids_epoch_us: u64::try_from(clock.read().at.unix_micros()).unwrap_or(0),
            ids_baselined: AtomicBool::new(false),
            alerts: Mutex::new(VecDeque::new()),
            stats: Stats::default(),
            clients: Clients::default(),
            open_connections: OpenConnections::default(),
            connections: Arc::new(Semaphore::new(max_connections)),
            unauthenticated,
            refusals: RefusalLog::new(),
            pool: parts.pool,
            started,
            clock,
            stop: parts.stop,
            island_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Runs `task` on the runtime; if it panics, all traffic stops with the reason (fail
    /// close on an internal error, NDR 5.2 RE 3).
    pub(crate) fn supervise<F>(self: &Arc<Self>, what: &'static str, task: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let inner = tokio::spawn(task);
        let shared = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(error) = inner.await
                && error.is_panic()
            {
                tracing::error!(
                    what,
                    "internal error: a task panicked; stopping all traffic"
                );
                shared.halt(format!(
                    "fail close: internal error in the {what} (a task panicked)"
                ));
            }
        })
    }

    /// Records `event`; on failure stops all traffic (fail close) and returns `false`.
    pub(crate) async fn record(&self, event: GatewayEvent) -> bool {
        let action = event.action;
        let result = match event.build() {
            Ok(event) => {
                match tokio::time::timeout(AUDIT_TIMEOUT, self.audit.record(event)).await {
                    Ok(result) => result,
                    Err(_) => Err(crate::audit::AuditFailure {
                        action: action.to_owned(),
                        reason: format!("no acknowledgement within {} s", AUDIT_TIMEOUT.as_secs()),
                    }),
                }
            }
            Err(failure) => Err(failure),
        };
        match result {
            Ok(()) => true,
            Err(failure) => {
                tracing::error!(action, error = %failure, "audit failure: stopping all traffic");
                self.halt(format!("fail close: {failure}"));
                false
            }
        }
    }

    /// Notes a refusal before authentication, which an attacker can cause at will, and
    /// returns the event to record if it is the first of its source and reason in the
    /// interval; the others are counted into the summary [`Shared::record_refusal_summaries`]
    /// writes (see [`RefusalLog`]).
    pub(crate) fn refusal_event(
        &self,
        peer: SocketAddr,
        refusal: &Refusal,
    ) -> Option<GatewayEvent> {
        let kind = format!(
            "{} {} {}",
            refusal.action, refusal.interface, refusal.reason
        );
        if !self.refusals.note(peer.ip(), &kind, || refusal.clone()) {
            tracing::debug!(%peer, reason = %refusal.reason, "refusal counted for the summary");
            return None;
        }
        tracing::info!(%peer, reason = %refusal.reason, action = refusal.action, "refused");
        let interval = self.config.audit.refusal_interval.as_secs();
        Some(
            refusal
                .event(Who::Address(peer.to_string()), &peer.ip().to_string())
                .details(json!({
                    "reason": refusal.reason,
                    "count": 1,
                    "repeats": format!(
                        "counted and recorded as one summary event every {interval} s"
                    ),
                })),
        )
    }

    /// [`Shared::refusal_event`] and records it; `false` when the trail failed (fail close).
    pub(crate) async fn record_refusal(&self, peer: SocketAddr, refusal: Refusal) -> bool {
        match self.refusal_event(peer, &refusal) {
            Some(event) => self.record(event).await,
            None => true,
        }
    }

    /// Records one summary event per source and reason with the refusals counted since the
    /// last call; called once per `audit.refusal_interval` and at the stop.
    pub(crate) async fn record_refusal_summaries(&self) -> bool {
        let interval = self.config.audit.refusal_interval.as_secs();
        for summary in self.refusals.drain() {
            let source = summary
                .source
                .map_or_else(|| "(other sources)".to_owned(), |ip| ip.to_string());
            let refusal = summary.template;
            let event = refusal
                .event(Who::Address(source.clone()), &source)
                .details(json!({
                    "reason": refusal.reason,
                    "count": summary.count,
                    "summary": true,
                    "interval_s": interval,
                }));
            if !self.record(event).await {
                return false;
            }
        }
        true
    }

    /// Stops all traffic until [`Shared::resume`]; the first reason is kept.
    pub(crate) fn halt(&self, reason: String) {
        {
            let mut traffic = self.traffic.lock().unwrap_or_else(PoisonError::into_inner);
            if traffic.halted.is_none() {
                traffic.halted = Some(reason);
            }
            self.publish(&traffic);
        }
        self.pool.drain("traffic stopped (fail close)");
    }

    pub(crate) fn set_island(&self, on: bool) -> bool {
        let changed = {
            let mut traffic = self.traffic.lock().unwrap_or_else(PoisonError::into_inner);
            let changed = traffic.island != on;
            traffic.island = on;
            self.publish(&traffic);
            changed
        };
        if on {
            self.pool.drain("island mode");
        }
        changed
    }

    /// Clears a halt; returns the reason it had.
    pub(crate) fn resume(&self) -> Option<String> {
        let mut traffic = self.traffic.lock().unwrap_or_else(PoisonError::into_inner);
        let reason = traffic.halted.take();
        self.publish(&traffic);
        reason
    }

    fn publish(&self, traffic: &TrafficState) {
        let open = traffic.open();
        self.open.store(open, Ordering::SeqCst);
        self.open_tx.send_replace(open);
    }

    pub(crate) fn traffic(&self) -> TrafficState {
        self.traffic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether traffic may cross the conduit now.
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// Changes to [`Shared::is_open`].
    pub(crate) fn open_watch(&self) -> watch::Receiver<bool> {
        self.open_tx.subscribe()
    }

    pub(crate) fn policy(&self) -> Arc<ActivePolicy> {
        Arc::clone(&self.policy.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn policy_generation(&self) -> u64 {
        self.policy_generation.load(Ordering::Acquire)
    }

    /// Puts `policy` in force; returns the one it replaces.
    pub(crate) fn replace_policy(&self, policy: ActivePolicy) -> Arc<ActivePolicy> {
        let old = {
            let mut slot = self.policy.write().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *slot, Arc::new(policy))
        };
        self.policy_generation.fetch_add(1, Ordering::AcqRel);
        old
    }

    pub(crate) fn tls(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.tls.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn replace_tls(&self, config: Arc<ServerConfig>) {
        *self.tls.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// The IDS's time now (see `ids_epoch_us`).
    pub(crate) fn ids_time_us(&self) -> u64 {
        let elapsed = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.ids_epoch_us.saturating_add(elapsed)
    }

    /// The IDS's counting window.
    pub(crate) fn ids_window_us(&self) -> u64 {
        self.with_ids(|ids| ids.config().window_us)
    }

    /// Runs `f` on the IDS under its lock.
    pub(crate) fn with_ids<R>(&self, f: impl FnOnce(&mut Ids) -> R) -> R {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut ids);
        self.ids_baselined
            .store(ids.baseline().is_some(), Ordering::Relaxed);
        result
    }

    /// Whether the IDS learns or uses a baseline, which also wants response times and
    /// unanswered requests (without one, completions need not take the IDS lock).
    pub(crate) fn ids_baselined(&self) -> bool {
        self.ids_baselined.load(Ordering::Relaxed)
    }

    /// Shows `observation` of `client` to the IDS; returns the alerts it raised.
    pub(crate) fn observe(&self, client: &str, observation: Observation<'_, '_>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let time_us = self.ids_time_us();
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .observe(time_us, client, observation, &mut alerts);
        for alert in &alerts {
            self.remember_alert(alert);
        }
        alerts
    }

    /// Keeps `alert` among the recent ones the status shows.
    pub(crate) fn remember_alert(&self, alert: &Alert) {
        let mut recent = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() == RECENT_ALERTS {
            recent.pop_front();
        }
        recent.push_back(alert.clone());
    }

    /// Records IDS alerts in the audit trail.
    pub(crate) async fn record_alerts(&self, alerts: Vec<Alert>, who: &Who, source: &str) -> bool {
        for alert in alerts {
            Stats::add(&self.stats.alerts);
            tracing::warn!(
                detector = %alert.detector,
                severity = %alert.severity,
                technique = alert.technique.id,
                "{}",
                alert.explanation
            );
            let severity = match alert.severity {
                rampart_conduit::Severity::Low => Severity::Notice,
                rampart_conduit::Severity::Medium => Severity::Warning,
                rampart_conduit::Severity::High => Severity::Critical,
            };
            let event = GatewayEvent::new(Category::Reconnaissance, "ids.alert", who.clone())
                .source(source)
                .outcome(Outcome::Failure)
                .severity(severity)
                .target(alert.detector)
                .details(json!({
                    "detector": alert.detector,
                    "severity": alert.severity,
                    "technique": alert.technique,
                    "explanation": alert.explanation,
                    "count": alert.count,
                    "server": alert.server,
                    "unit": alert.unit,
                    "function": alert.function,
                    "addresses": alert.addresses,
                    "baseline": alert.baseline,
                }));
            if !self.record(event).await {
                return false;
            }
        }
        true
    }

    pub(crate) fn recent_alerts(&self) -> Vec<Alert> {
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// A refusal before authentication, as [`Shared::refusal_event`] records it.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// `modbus.connection_refused` or `modbus.handshake`.
    pub(crate) action: &'static str,
    pub(crate) interface: &'static str,
    pub(crate) outcome: Outcome,
    pub(crate) reason: String,
}

impl Refusal {
    pub(crate) fn connection(interface: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal {
            action: "modbus.connection_refused",
            interface,
            outcome: Outcome::Denied,
            reason: reason.into(),
        }
    }

    pub(crate) fn handshake(interface: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal {
            action: "modbus.handshake",
            interface,
            outcome: Outcome::Failure,
            reason: reason.into(),
        }
    }

    fn event(&self, who: Who, source: &str) -> GatewayEvent {
        GatewayEvent::new(Category::AccessControl, self.action, who)
            .source(source)
            .interface(self.interface)
            .outcome(self.outcome)
    }
}

/// Per-client state: connections per source address, and one token bucket per client
/// identity (certificate fingerprint, or address for the plain listener), shared by that
/// client's connections.
#[derive(Clone, Default)]
pub(crate) struct Clients {
    inner: Arc<Mutex<ClientsInner>>,
    per_source: PerSourceLimit,
}

#[derive(Default)]
struct ClientsInner {
    identities: HashMap<String, Identity>,
    next_id: u64,
}

struct Identity {
    id: u64,
    connections: usize,
    bucket: Arc<Mutex<TokenBucket>>,
}

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, ClientsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connections open per source address, which the listeners admit through.
    pub(crate) fn per_source(&self) -> &PerSourceLimit {
        &self.per_source
    }

    /// Joins the client `key`; its state lives while one of its connections does.
    pub(crate) fn join(&self, key: String) -> ClientHandle {
        let mut inner = self.lock();
        let next = inner.next_id;
        let identity = inner
            .identities
            .entry(key.clone())
            .or_insert_with(|| Identity {
                id: next,
                connections: 0,
                bucket: Arc::new(Mutex::new(TokenBucket::new())),
            });
        identity.connections += 1;
        let handle = ClientHandle {
            clients: self.clone(),
            key,
            id: identity.id,
            bucket: Arc::clone(&identity.bucket),
        };
        if handle.id == next {
            inner.next_id += 1;
        }
        handle
    }
}

/// A connection's membership in its client.
pub(crate) struct ClientHandle {
    clients: Clients,
    key: String,
    pub(crate) id: u64,
    bucket: Arc<Mutex<TokenBucket>>,
}

impl ClientHandle {
    /// Takes a request token under the policy's limits.
    pub(crate) fn take_token(&self, limits: &Limits) -> Result<(), Duration> {
        self.bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(
                Instant::now(),
                limits.requests_per_second.max(1),
                limits.burst.max(1),
            )
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        let mut inner = self.clients.lock();
        if let Some(identity) = inner.identities.get_mut(&self.key) {
            identity.connections -= 1;
            if identity.connections == 0 {
                inner.identities.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// One open client connection, as the status shows it.
#[derive(Debug)]
pub(crate) struct OpenConnection {
    pub(crate) peer: std::net::SocketAddr,
    /// Certificate subject, or the address for the plain listener.
    pub(crate) client: String,
    pub(crate) role: Option<String>,
    pub(crate) interface: &'static str,
    pub(crate) connected_at: std::time::SystemTime,
    pub(crate) requests: std::sync::atomic::AtomicU64,
    pub(crate) denied: std::sync::atomic::AtomicU64,
}

/// The registry of open connections. A connection registers once and counts its requests in
/// its own atomics, so the hot path takes no lock.
#[derive(Debug, Default)]
pub(crate) struct OpenConnections {
    next: std::sync::atomic::AtomicU64,
    open: Mutex<std::collections::BTreeMap<u64, Arc<OpenConnection>>>,
}

/// Removes its connection from the registry when dropped.
pub(crate) struct Registered<'a> {
    registry: &'a OpenConnections,
    id: u64,
    pub(crate) entry: Arc<OpenConnection>,
}

impl OpenConnections {
    pub(crate) fn register(&self, entry: OpenConnection) -> Registered<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(entry);
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&entry));
        Registered {
            registry: self,
            id,
            entry,
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<OpenConnection>> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.registry
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}
