//! The audit seam: every security-relevant decision of this crate becomes an [`AuditRecord`]
//! handed to an [`AuditRecorder`] before the decision takes effect.
//!
//! The recorder is the crate's only way out to the audit trail (CR 2.8). The crate fails
//! closed: when [`AuditRecorder::record`] returns [`AuditUnavailable`], the action it describes
//! does not happen and the caller gets an error. Records never carry authenticators: no
//! passwords, TOTP secrets or codes, API tokens or session ids.

use std::net::IpAddr;
use std::sync::Mutex;

use serde::Serialize;
use thiserror::Error;

/// The CR 2.8 category a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditCategory {
    /// Authentication and authorisation decisions: logins, lockouts, permission checks,
    /// sessions, tokens, overrides and approvals.
    AccessControl,
    /// Changes to accounts, roles, authenticators and settings.
    ConfigurationChange,
    /// Requests that could not be understood, such as a malformed token or certificate.
    RequestError,
}

/// What kind of party acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ActorKind {
    /// A human user account (or the local operator at the console).
    User,
    /// A party identified by an X.509 certificate that is not bound to an account.
    Certificate,
    /// A software process or device account (CR 1.2).
    Process,
    /// Nobody has been identified yet, for example a failed login.
    Anonymous,
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Actor {
    /// The kind of party.
    pub kind: ActorKind,
    /// The party's name: account name, certificate subject, or empty when anonymous.
    pub name: String,
}

impl Actor {
    /// An actor of `kind` called `name`.
    pub fn new(kind: ActorKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }

    /// The anonymous actor, used before anyone is identified.
    pub fn anonymous() -> Self {
        Self::new(ActorKind::Anonymous, "")
    }
}

/// How the decision came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditOutcome {
    /// The action happened.
    Success,
    /// The action was attempted and failed, for example a wrong password.
    Failure,
    /// The action was refused by policy, for example a missing permission.
    Denied,
}

/// One security-relevant decision.
///
/// # Security
/// `details` holds context such as a reason or a permission name, never an authenticator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// The CR 2.8 category.
    pub category: AuditCategory,
    /// What was decided, in kebab-case, for example `login` or `role-grant`.
    pub action: String,
    /// Who acted.
    pub actor: Actor,
    /// The network address the request came from, when there is one.
    pub source: Option<IpAddr>,
    /// The interface the request came in on, for example `https` or `local-console`.
    pub interface: Option<String>,
    /// What was acted on, for example an account or role name.
    pub target: Option<String>,
    /// How it came out.
    pub outcome: AuditOutcome,
    /// Further context as a JSON object.
    pub details: serde_json::Value,
}

/// The audit trail cannot take a record; the action it describes must not happen.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("audit trail unavailable: {reason}")]
pub struct AuditUnavailable {
    /// Why, in words for an operator.
    pub reason: String,
}

impl AuditUnavailable {
    /// An error saying why the audit trail cannot take records.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// The sink for audit records; implemented by the audit trail.
///
/// # Errors
/// An implementation returns [`AuditUnavailable`] when it cannot store the record durably
/// enough for its own guarantees; this crate then refuses the action (fail closed).
pub trait AuditRecorder: Send + Sync {
    /// Stores one record.
    ///
    /// # Errors
    /// [`AuditUnavailable`] when the record cannot be stored.
    fn record(&self, record: AuditRecord) -> Result<(), AuditUnavailable>;
}

/// A recorder that keeps records in memory, for tests and examples.
///
/// It can be switched to refuse records, to test fail-closed behaviour.
#[derive(Debug, Default)]
pub struct MemoryRecorder {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    records: Vec<AuditRecord>,
    unavailable: bool,
}

impl MemoryRecorder {
    /// An empty, available recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every record taken so far, oldest first.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.lock().records.clone()
    }

    /// The records whose action is `action`, oldest first.
    pub fn with_action(&self, action: &str) -> Vec<AuditRecord> {
        self.lock()
            .records
            .iter()
            .filter(|r| r.action == action)
            .cloned()
            .collect()
    }

    /// Makes [`AuditRecorder::record`] fail (`false`) or succeed again (`true`).
    pub fn set_available(&self, available: bool) {
        self.lock().unavailable = !available;
    }

    /// Forgets every record taken so far.
    pub fn clear(&self) {
        self.lock().records.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A poisoned lock only means another thread panicked while pushing a record; the
        // vector is still valid.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AuditRecorder for MemoryRecorder {
    fn record(&self, record: AuditRecord) -> Result<(), AuditUnavailable> {
        let mut state = self.lock();
        if state.unavailable {
            return Err(AuditUnavailable::new("memory recorder switched off"));
        }
        state.records.push(record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuditRecord {
        AuditRecord {
            category: AuditCategory::AccessControl,
            action: "login".into(),
            actor: Actor::anonymous(),
            source: None,
            interface: None,
            target: None,
            outcome: AuditOutcome::Failure,
            details: serde_json::json!({}),
        }
    }

    #[test]
    fn memory_recorder_keeps_records_and_can_fail() {
        let r = MemoryRecorder::new();
        r.record(sample()).unwrap();
        r.set_available(false);
        assert!(r.record(sample()).is_err());
        r.set_available(true);
        r.record(sample()).unwrap();
        assert_eq!(r.records().len(), 2);
        assert_eq!(r.with_action("login").len(), 2);
    }

    #[test]
    fn record_serialises_with_kebab_case_enums() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["category"], "access-control");
        assert_eq!(json["outcome"], "failure");
        assert_eq!(json["actor"]["kind"], "anonymous");
    }
}
