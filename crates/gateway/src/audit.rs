//! Where the gateway's audit events go (CR 2.8), and the events it records.
//!
//! [`AuditSink`] is the seam: [`rampart_audit::AuditStore`] implements it (the hash-chained
//! store in `DATA/audit`), and [`MemoryAuditSink`] keeps events in memory for tests and can be
//! told to fail, to exercise fail-close (NDR 5.2 RE 3).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rampart_audit::{Actor, AuditStore, Category, NewEvent, Outcome, Severity};
use serde_json::Value;

/// The audit trail could not record an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit trail could not record '{action}': {reason}")]
pub struct AuditFailure {
    /// The event's action.
    pub action: String,
    /// Why.
    pub reason: String,
}

/// Records audit events.
///
/// # Security
/// The gateway treats an `Err` as "the required event was not recorded": it stops all traffic
/// (fail close) and shows the reason in its status.
pub trait AuditSink: Send + Sync + 'static {
    /// Hands `event` to the trail; the future resolves once it is durable.
    fn record(
        &self,
        event: NewEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), AuditFailure>> + Send>>;
}

impl AuditSink for AuditStore {
    fn record(
        &self,
        event: NewEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), AuditFailure>> + Send>> {
        let action = event.action().to_owned();
        let pending = self.submit(event);
        Box::pin(async move {
            pending.await.map(drop).map_err(|e| AuditFailure {
                action,
                reason: e.to_string(),
            })
        })
    }
}

impl<T: AuditSink + ?Sized> AuditSink for Arc<T> {
    fn record(
        &self,
        event: NewEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), AuditFailure>> + Send>> {
        (**self).record(event)
    }
}

/// An in-memory sink for tests: keeps every event, and fails on demand.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<NewEvent>>,
    failing: AtomicBool,
}

impl MemoryAuditSink {
    /// An empty sink that records.
    pub fn new() -> MemoryAuditSink {
        MemoryAuditSink::default()
    }

    /// From now on, fail (`true`) or record (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<NewEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The actions of the events recorded so far, in order.
    pub fn actions(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e.action().to_owned())
            .collect()
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(
        &self,
        event: NewEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), AuditFailure>> + Send>> {
        let result = if self.failing.load(Ordering::SeqCst) {
            Err(AuditFailure {
                action: event.action().to_owned(),
                reason: "the test sink is set to fail".into(),
            })
        } else {
            self.events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(event);
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }
}

/// Identity decisions go to the audit trail; if it cannot record, identity fails closed
/// (CR 2.8, CR 2.10). Used by every process that opens the identity store next to a trail.
pub struct IdentityAuditBridge(pub Arc<AuditStore>);

impl rampart_identity::AuditRecorder for IdentityAuditBridge {
    fn record(
        &self,
        record: rampart_identity::AuditRecord,
    ) -> Result<(), rampart_identity::AuditUnavailable> {
        let unavailable = |e: &dyn std::fmt::Display| rampart_identity::AuditUnavailable {
            reason: e.to_string(),
        };
        let actor = match record.actor.kind {
            rampart_identity::ActorKind::User => Actor::user(&record.actor.name),
            rampart_identity::ActorKind::Certificate => Actor::certificate(&record.actor.name),
            rampart_identity::ActorKind::Process => Actor::process(&record.actor.name),
            _ => Actor::user("anonymous"),
        }
        .map_err(|e| unavailable(&e))?;
        let category = match record.category {
            rampart_identity::AuditCategory::ConfigurationChange => Category::ConfigurationChange,
            rampart_identity::AuditCategory::RequestError => Category::RequestError,
            _ => Category::AccessControl,
        };
        let outcome = match record.outcome {
            rampart_identity::AuditOutcome::Success => Outcome::Success,
            rampart_identity::AuditOutcome::Failure => Outcome::Failure,
            _ => Outcome::Denied,
        };
        let mut builder = NewEvent::builder(category, record.action, actor)
            .outcome(outcome)
            .details(record.details);
        if let Some(source) = record.source {
            builder = builder.source_address(source);
        }
        if let Some(interface) = record.interface {
            builder = builder.interface(interface);
        }
        if let Some(target) = record.target {
            builder = builder.target(target);
        }
        let event = builder.build().map_err(|e| unavailable(&e))?;
        self.0
            .append(event)
            .map(|_| ())
            .map_err(|e| unavailable(&e))
    }
}

/// The interface names used in events.
pub(crate) const SECURE_INTERFACE: &str = "modbus-tls";
pub(crate) const PLAIN_INTERFACE: &str = "modbus-plain";

/// Who an event is about.
#[derive(Debug, Clone)]
pub(crate) enum Who {
    /// The gateway itself, or an operator acting through its API.
    Gateway(String),
    /// A client authenticated by a certificate, by subject.
    Certificate(String),
    /// A client not (yet) authenticated, by address.
    Address(String),
}

impl Who {
    fn actor(&self) -> Result<Actor, String> {
        let result = match self {
            Who::Gateway(name) => Actor::process(sanitize(name)),
            Who::Certificate(subject) => Actor::certificate(sanitize(subject)),
            Who::Address(address) => Actor::process(format!("client {}", sanitize(address))),
        };
        result.map_err(|e| e.to_string())
    }
}

/// An event to record, built by [`GatewayEvent::build`].
#[derive(Debug, Clone)]
pub(crate) struct GatewayEvent {
    pub(crate) category: Category,
    pub(crate) action: &'static str,
    pub(crate) who: Who,
    pub(crate) source: Option<String>,
    pub(crate) interface: Option<&'static str>,
    pub(crate) target: Option<String>,
    pub(crate) outcome: Outcome,
    pub(crate) severity: Option<Severity>,
    pub(crate) essential: bool,
    pub(crate) details: Value,
}

impl GatewayEvent {
    pub(crate) fn new(category: Category, action: &'static str, who: Who) -> GatewayEvent {
        GatewayEvent {
            category,
            action,
            who,
            source: None,
            interface: None,
            target: None,
            outcome: Outcome::Success,
            severity: None,
            essential: false,
            details: Value::Object(serde_json::Map::new()),
        }
    }

    pub(crate) fn source(mut self, source: impl std::fmt::Display) -> Self {
        self.source = Some(source.to_string());
        self
    }

    pub(crate) fn interface(mut self, interface: &'static str) -> Self {
        self.interface = Some(interface);
        self
    }

    pub(crate) fn target(mut self, target: impl std::fmt::Display) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub(crate) fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub(crate) fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    pub(crate) fn essential(mut self) -> Self {
        self.essential = true;
        self
    }

    pub(crate) fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// The store's event; fails only on a bug (every text is sanitised first).
    pub(crate) fn build(self) -> Result<NewEvent, AuditFailure> {
        let fail = |reason: String| AuditFailure {
            action: self.action.to_owned(),
            reason,
        };
        let actor = self.who.actor().map_err(fail)?;
        let mut builder = NewEvent::builder(self.category, self.action, actor)
            .outcome(self.outcome)
            .details(self.details.clone());
        if let Some(source) = &self.source {
            builder = builder.source_address(sanitize(source));
        }
        if let Some(interface) = self.interface {
            builder = builder.interface(interface);
        }
        if let Some(target) = &self.target {
            builder = builder.target(sanitize(target));
        }
        if let Some(severity) = self.severity {
            builder = builder.severity(severity);
        }
        if self.essential {
            builder = builder.essential();
        }
        builder.build().map_err(|e| fail(e.to_string()))
    }
}

/// Attacker-influenced text (certificate subjects, error messages) made safe for the
/// trail's text fields: control characters replaced, at most 200 characters.
pub(crate) fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect();
    if out.is_empty() {
        out.push('-');
    }
    out
}
