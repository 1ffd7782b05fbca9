//! The event model (CR 2.8): what happened, who did it, from where, with what outcome.
//!
//! A caller builds a [`NewEvent`]; the store gives it a sequence number and a timestamp and
//! returns it later as an [`AuditEvent`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::chain::{AuditEntryHash, Encoder, canonical_json};
use crate::clock::{ClockSync, TimeSource, Timestamp};
use crate::error::{EventError, ParseError};

vocabulary! {
    /// The CR 2.8 category of an auditable event.
    Category, Category {
        /// Authentication, authorisation, sessions, role and account changes.
        AccessControl = "access_control",
        /// Malformed or rejected requests (e.g. a Modbus frame that fails the sanity check).
        RequestError = "request_error",
        /// Operations on the control system (e.g. a permitted or denied write to a PLC).
        ControlSystem = "control_system",
        /// Backups made and restored.
        BackupRestore = "backup_restore",
        /// Changes to configuration or policy.
        ConfigurationChange = "configuration_change",
        /// Potential reconnaissance: scans, probing, unexpected function codes.
        Reconnaissance = "reconnaissance",
        /// Events of the audit trail itself: capacity, pruning, start and stop.
        AuditLog = "audit_log",
    }
}

vocabulary! {
    /// How an attempted action ended.
    Outcome, Outcome {
        /// It was done.
        Success = "success",
        /// It was attempted and failed (e.g. wrong password, I/O error).
        Failure = "failure",
        /// Policy refused it.
        Denied = "denied",
    }
}

vocabulary! {
    /// Who did it.
    ActorKind, ActorKind {
        /// A human user, named by account name.
        User = "user",
        /// A client named by its X.509 certificate subject.
        Certificate = "certificate",
        /// A program or the component itself, named by process or service name.
        Process = "process",
    }
}

/// A syslog severity (RFC 5424 section 6.2.1); lower numbers are more severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// 0: the system is unusable.
    Emergency = 0,
    /// 1: action must be taken immediately.
    Alert = 1,
    /// 2: critical conditions.
    Critical = 2,
    /// 3: error conditions.
    Error = 3,
    /// 4: warning conditions.
    Warning = 4,
    /// 5: normal but significant.
    Notice = 5,
    /// 6: informational.
    Informational = 6,
    /// 7: debug-level messages.
    Debug = 7,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 8] = [
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Informational,
        Severity::Debug,
    ];

    /// The syslog number, 0..=7.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The severity with this syslog number.
    pub fn from_code(code: u8) -> Option<Severity> {
        Severity::ALL.get(usize::from(code)).copied()
    }

    /// The lower-case name, e.g. `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Emergency => "emergency",
            Severity::Alert => "alert",
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Informational => "informational",
            Severity::Debug => "debug",
        }
    }

    /// Whether `self` is at least as severe as `threshold` (e.g. `Error` is at least `Warning`).
    pub fn is_at_least(self, threshold: Severity) -> bool {
        self.code() <= threshold.code()
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ParseError;

    /// Accepts the name (`warning`), the common short forms `err`, `crit`, `emerg`, `info`, or
    /// the number (`4`).
    fn from_str(s: &str) -> Result<Severity, ParseError> {
        let by_name = match s.to_ascii_lowercase().as_str() {
            "emergency" | "emerg" => Some(Severity::Emergency),
            "alert" => Some(Severity::Alert),
            "critical" | "crit" => Some(Severity::Critical),
            "error" | "err" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "notice" => Some(Severity::Notice),
            "informational" | "info" => Some(Severity::Informational),
            "debug" => Some(Severity::Debug),
            _ => None,
        };
        by_name
            .or_else(|| s.parse::<u8>().ok().and_then(Severity::from_code))
            .ok_or_else(|| ParseError::Severity(s.to_owned()))
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Limits on text fields, in bytes. They bound the size of a row and of a syslog message.
pub(crate) mod limits {
    pub(crate) const ACTOR: usize = 1024;
    pub(crate) const ACTION: usize = 128;
    pub(crate) const SOURCE: usize = 256;
    pub(crate) const INTERFACE: usize = 64;
    pub(crate) const TARGET: usize = 1024;
    pub(crate) const DETAILS: usize = 64 * 1024;
}

fn checked_text(field: &'static str, value: String, max: usize) -> Result<String, EventError> {
    if value.is_empty() {
        return Err(EventError::Empty { field });
    }
    if value.len() > max {
        return Err(EventError::TooLong {
            field,
            len: value.len(),
            max,
        });
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(EventError::ControlCharacter {
            field,
            code: u32::from(c),
            value: value.escape_debug().to_string(),
        });
    }
    Ok(value)
}

/// Who performed an action: a user, a certificate subject or a process.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Actor {
    kind: ActorKind,
    name: String,
}

impl Actor {
    /// An actor of `kind` called `name`.
    ///
    /// # Errors
    /// [`EventError`] when `name` is empty, longer than 1024 bytes or holds a control character.
    pub fn new(kind: ActorKind, name: impl Into<String>) -> Result<Actor, EventError> {
        Ok(Actor {
            kind,
            name: checked_text("actor", name.into(), limits::ACTOR)?,
        })
    }

    /// A human user by account name.
    ///
    /// # Errors
    /// As [`Actor::new`].
    pub fn user(name: impl Into<String>) -> Result<Actor, EventError> {
        Actor::new(ActorKind::User, name)
    }

    /// A client by certificate subject, e.g. `CN=hmi-1,O=Plant`.
    ///
    /// # Errors
    /// As [`Actor::new`].
    pub fn certificate(subject: impl Into<String>) -> Result<Actor, EventError> {
        Actor::new(ActorKind::Certificate, subject)
    }

    /// A program or service by name.
    ///
    /// # Errors
    /// As [`Actor::new`].
    pub fn process(name: impl Into<String>) -> Result<Actor, EventError> {
        Actor::new(ActorKind::Process, name)
    }

    /// The audit trail itself, for the events the store writes on its own.
    pub(crate) fn audit_store() -> Actor {
        Actor {
            kind: ActorKind::Process,
            name: "rampart-audit".to_owned(),
        }
    }

    /// What kind of actor.
    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// An event ready to be appended: validated, with the part of its canonical encoding that does
/// not depend on the store already computed.
///
/// Build one with [`NewEvent::builder`].
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub(crate) category: Category,
    pub(crate) action: String,
    pub(crate) actor: Actor,
    pub(crate) source: Option<String>,
    pub(crate) interface: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) outcome: Outcome,
    pub(crate) severity: Severity,
    pub(crate) details: String,
    pub(crate) essential: bool,
    /// Canonical encoding of the body columns (see [`crate::chain`]), computed on the caller's
    /// thread so the single writer thread only hashes.
    pub(crate) body: Vec<u8>,
}

impl NewEvent {
    /// Starts an event: what happened (`action`, e.g. `login`, `modbus.write`), in which
    /// category, and who did it.
    pub fn builder(category: Category, action: impl Into<String>, actor: Actor) -> EventBuilder {
        EventBuilder {
            category,
            action: action.into(),
            actor,
            source: None,
            interface: None,
            target: None,
            outcome: Outcome::Success,
            severity: None,
            details: Value::Object(Map::new()),
            essential: false,
        }
    }

    /// The category.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The action.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// Whether the event may use the reserve kept for essential events when the store is full.
    pub fn is_essential(&self) -> bool {
        self.essential
    }
}

/// Builder for a [`NewEvent`]; validation happens in [`EventBuilder::build`].
#[derive(Clone, Debug)]
#[must_use]
pub struct EventBuilder {
    category: Category,
    action: String,
    actor: Actor,
    source: Option<String>,
    interface: Option<String>,
    target: Option<String>,
    outcome: Outcome,
    severity: Option<Severity>,
    details: Value,
    essential: bool,
}

impl EventBuilder {
    /// The network address the request came from, e.g. `192.0.2.7:50211`.
    pub fn source_address(mut self, address: impl fmt::Display) -> Self {
        self.source = Some(address.to_string());
        self
    }

    /// The interface it arrived on, e.g. `management`, `conduit:plc-1`, `cli`.
    pub fn interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// What it acted on, e.g. a user account, a register range, a file.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// How it ended; default [`Outcome::Success`].
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The severity; default [`Severity::Informational`] for a success and
    /// [`Severity::Warning`] otherwise.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    /// Structured details; must be a JSON object. Default `{}`.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Marks the event essential: when the store is full under the `Stop` policy it may still
    /// be recorded, from a small reserve (CR 2.10). Use for security alarms, not routine events.
    pub fn essential(mut self) -> Self {
        self.essential = true;
        self
    }

    /// Validates the fields and encodes the event.
    ///
    /// # Errors
    /// [`EventError`] for an empty, over-long or control-character text field, details that
    /// are not a JSON object, or details over 64 KiB.
    pub fn build(self) -> Result<NewEvent, EventError> {
        let action = checked_text("action", self.action, limits::ACTION)?;
        let source = self
            .source
            .map(|s| checked_text("source_address", s, limits::SOURCE))
            .transpose()?;
        let interface = self
            .interface
            .map(|s| checked_text("interface", s, limits::INTERFACE))
            .transpose()?;
        let target = self
            .target
            .map(|s| checked_text("target", s, limits::TARGET))
            .transpose()?;
        if !self.details.is_object() {
            return Err(EventError::DetailsNotObject {
                found: json_type(&self.details),
            });
        }
        let details = canonical_json(&self.details);
        if details.len() > limits::DETAILS {
            return Err(EventError::DetailsTooLarge {
                len: details.len(),
                max: limits::DETAILS,
            });
        }
        let severity = self.severity.unwrap_or(match self.outcome {
            Outcome::Success => Severity::Informational,
            Outcome::Failure | Outcome::Denied => Severity::Warning,
        });
        let mut event = NewEvent {
            category: self.category,
            action,
            actor: self.actor,
            source,
            interface,
            target,
            outcome: self.outcome,
            severity,
            details,
            essential: self.essential,
            body: Vec::new(),
        };
        event.body = encode_body(&event);
        Ok(event)
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The body columns in their canonical order (see [`crate::chain`]).
fn encode_body(event: &NewEvent) -> Vec<u8> {
    let mut enc = Encoder::with_capacity(64 + event.details.len());
    enc.text(event.actor.kind.as_str());
    enc.text(&event.actor.name);
    enc.opt_text(event.source.as_deref());
    enc.opt_text(event.interface.as_deref());
    enc.text(event.category.as_str());
    enc.text(&event.action);
    enc.opt_text(event.target.as_deref());
    enc.text(event.outcome.as_str());
    enc.int(i64::from(event.severity.code()));
    enc.text(&event.details);
    enc.into_bytes()
}

/// A recorded event, as read back from the store.
///
/// Reading an event does not verify it; [`crate::verify`] does. Serialises to the JSON object
/// used by exports (`timestamp` as RFC 3339, `hash` as hex).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEvent {
    pub(crate) seq: u64,
    pub(crate) timestamp: Timestamp,
    pub(crate) time_source: TimeSource,
    pub(crate) clock_sync: ClockSync,
    pub(crate) actor: Actor,
    pub(crate) source_address: Option<String>,
    pub(crate) interface: Option<String>,
    pub(crate) category: Category,
    pub(crate) action: String,
    pub(crate) target: Option<String>,
    pub(crate) outcome: Outcome,
    pub(crate) severity: Severity,
    pub(crate) details: Map<String, Value>,
    pub(crate) hash: AuditEntryHash,
}

impl AuditEvent {
    /// The sequence number: 1 for the first event of a store, then consecutive.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When the store recorded it (UTC, microseconds).
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The clock the timestamp came from.
    pub fn time_source(&self) -> TimeSource {
        self.time_source
    }

    /// Whether that clock was synchronised.
    pub fn clock_sync(&self) -> ClockSync {
        self.clock_sync
    }

    /// Who did it.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The network address it came from, if any.
    pub fn source_address(&self) -> Option<&str> {
        self.source_address.as_deref()
    }

    /// The interface it arrived on, if any.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_deref()
    }

    /// The CR 2.8 category.
    pub fn category(&self) -> Category {
        self.category
    }

    /// What happened.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// What it acted on, if any.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// How severe it is.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// Structured details.
    pub fn details(&self) -> &Map<String, Value> {
        &self.details
    }

    /// The chain hash after this event, as stored.
    pub fn hash(&self) -> AuditEntryHash {
        self.hash
    }
}

#[cfg(test)]
mod tests;
