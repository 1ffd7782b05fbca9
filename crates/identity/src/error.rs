//! Errors, one enum per layer.
//!
//! Login, session and token errors are deliberately uninformative to the caller (CR 1.10): the
//! reason a login failed is in the audit record, never in the error.

use std::fmt;

use jiff::Timestamp;
use thiserror::Error;

use crate::audit::AuditUnavailable;
use crate::permission::Permission;

/// A text that is not a valid account or role name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {kind} name '{value}': {problem}")]
pub struct NameError {
    /// `account` or `role`.
    pub kind: &'static str,
    /// The text given.
    pub value: String,
    /// Which rule it breaks.
    pub problem: String,
}

/// A text that is not the name of a permission.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown permission '{value}' (valid: {valid})")]
pub struct UnknownPermission {
    /// The text given.
    pub value: String,
    /// Every valid name, comma-separated.
    pub valid: String,
}

/// Why a new password is refused (CR 1.7). The message tells the user what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PasswordRejected {
    /// Fewer characters than the policy's minimum.
    #[error("password is too short: {length} characters, at least {minimum} required")]
    TooShort {
        /// Characters (Unicode code points) given.
        length: usize,
        /// The policy's minimum for this account.
        minimum: usize,
    },
    /// More characters than the policy accepts.
    #[error("password is too long: {length} characters, at most {maximum} accepted")]
    TooLong {
        /// Characters given.
        length: usize,
        /// The policy's maximum.
        maximum: usize,
    },
    /// A control character (such as a line feed or NUL), which cannot be typed reliably.
    #[error("password contains a control character (U+{code:04X}); use printable characters")]
    ControlCharacter {
        /// The code point found.
        code: u32,
    },
    /// Too easy to guess: a common password, a dictionary word, a pattern, or close to the
    /// account or product name.
    #[error("password is too easy to guess (strength {score} of 4, at least {minimum} required){}", advice(warning.as_deref(), suggestions))]
    TooGuessable {
        /// The estimated strength, 0 to 4.
        score: u8,
        /// The policy's minimum.
        minimum: u8,
        /// What makes it weak, when known.
        warning: Option<String>,
        /// How to make it stronger.
        suggestions: Vec<String>,
    },
    /// On the configured list of common or breached passwords.
    #[error("password is on the list of common or breached passwords; choose another")]
    Blocklisted,
    /// The same as one of the account's recent passwords (CR 1.7 RE 1).
    #[error("password was used recently; choose one different from the last {depth}")]
    Reused {
        /// How many previous passwords are remembered.
        depth: u32,
    },
    /// Changed again before the minimum lifetime has passed (CR 1.7 RE 1).
    #[error("password was changed too recently; it can be changed again from {earliest}")]
    TooSoon {
        /// When a change will be accepted.
        earliest: Timestamp,
    },
}

fn advice(warning: Option<&str>, suggestions: &[String]) -> String {
    let mut out = String::new();
    if let Some(w) = warning {
        out.push_str(": ");
        out.push_str(w);
    }
    if !suggestions.is_empty() {
        out.push_str(if warning.is_some() { " " } else { ": " });
        out.push_str(&suggestions.join(" "));
    }
    out
}

/// Why an authorisation check said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyReason {
    /// None of the principal's roles grants the permission (including the NULL role).
    MissingPermission,
    /// The principal must change its initial or expired password first (CR 1.5).
    PasswordChangeRequired,
    /// Multi-factor authentication is required and the principal has not enrolled yet.
    MfaEnrolmentRequired,
    /// The permission needs a second administrator's approval (CR 2.1 RE 4).
    ApprovalRequired,
    /// The principal carries an approval, but for another permission or target, or it has
    /// expired.
    ApprovalMismatch,
    /// The decision could not be recorded, so it is not taken (fail closed).
    AuditUnavailable,
    /// The action is on another account that holds permissions the principal does not, and no
    /// approval by someone who holds them is presented (CR 2.1).
    TargetOutranksActor,
    /// API tokens for another account are made only for process accounts (CR 1.14).
    HumanAccountToken,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingPermission => "no role grants it",
            Self::PasswordChangeRequired => "the password must be changed first",
            Self::MfaEnrolmentRequired => "multi-factor authentication must be set up first",
            Self::ApprovalRequired => "it needs approval by a second administrator",
            Self::ApprovalMismatch => "the approval presented does not cover it",
            Self::AuditUnavailable => "the audit trail is unavailable",
            Self::TargetOutranksActor => {
                "the account acted on holds permissions the actor does not; it needs approval \
                 by someone who holds them"
            }
            Self::HumanAccountToken => {
                "API tokens for another account are made only for process accounts"
            }
        })
    }
}

/// An authorisation check that said no (CR 2.1). Default deny: anything not granted is denied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("permission '{permission}' denied to {principal}: {reason}")]
pub struct Denied {
    /// The permission asked for.
    pub permission: Permission,
    /// The principal's name.
    pub principal: String,
    /// Why.
    pub reason: DenyReason,
}

/// A failed login (CR 1.10): the caller learns nothing about which part was wrong.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Wrong name, password or code; locked, disabled or expired account; throttled source.
    /// Deliberately one variant: the audit record says which.
    #[error("authentication failed")]
    Failed,
    /// The decision could not be audited, so no login happened.
    #[error(transparent)]
    AuditUnavailable(#[from] AuditUnavailable),
    /// The identity store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A session id that does not open a session (CR 2.6, CR 3.8).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Unknown, malformed, idle too long, past its lifetime, terminated, or its account is no
    /// longer usable. Deliberately one variant.
    #[error("session invalid or expired")]
    Invalid,
    /// The account already has the maximum number of sessions and the policy refuses new ones
    /// (CR 2.7).
    #[error("concurrent session limit reached: {limit} sessions per account")]
    LimitReached {
        /// The configured limit.
        limit: u32,
    },
    /// The decision could not be audited, so nothing happened.
    #[error(transparent)]
    AuditUnavailable(#[from] AuditUnavailable),
    /// The identity store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An API token that does not authenticate (CR 1.14).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Unknown, malformed, expired, revoked, or its account or role is no longer usable.
    /// Deliberately one variant.
    #[error("token invalid or expired")]
    Invalid,
    /// The decision could not be audited, so nothing happened.
    #[error(transparent)]
    AuditUnavailable(#[from] AuditUnavailable),
    /// The identity store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An X.509 certificate that cannot identify anyone (CR 1.2, 1.8, 1.9).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not a DER-encoded X.509 certificate.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// More than one Modbus/TCP Security role extension (at most one is allowed).
    #[error(
        "certificate carries {count} role extensions (OID 1.3.6.1.4.1.50316.802.1); at most one is allowed"
    )]
    MultipleRoles {
        /// How many were found.
        count: usize,
    },
    /// The role extension is not a single `UTF8String` naming a valid role.
    #[error("malformed role extension (OID 1.3.6.1.4.1.50316.802.1): {0}")]
    MalformedRole(String),
    /// The validity period has not started.
    #[error("certificate is not valid before {not_before}")]
    NotYetValid {
        /// Start of the validity period.
        not_before: Timestamp,
    },
    /// The validity period is over.
    #[error("certificate expired at {not_after}")]
    Expired {
        /// End of the validity period.
        not_after: Timestamp,
    },
    /// The key usage or extended key usage does not allow client authentication.
    #[error("certificate key usage does not allow client authentication: {0}")]
    KeyUsage(String),
    /// The certificate's role differs from the role its binding gives.
    #[error("certificate carries role '{carried}' but is bound with role '{bound}'")]
    RoleMismatch {
        /// The role of the binding.
        bound: String,
        /// The role in the certificate.
        carried: String,
    },
}

/// A configuration value outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("identity configuration: {key} = {value}: {problem}")]
pub struct ConfigError {
    /// The dotted key, for example `password.min_length`.
    pub key: &'static str,
    /// The value given.
    pub value: String,
    /// What is wrong and what is allowed.
    pub problem: String,
}

/// The identity store (`SQLite`) failed.
#[derive(Debug, Error)]
#[error("identity store: {message}")]
pub struct StorageError {
    message: String,
}

impl StorageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Turns `SQLite` errors into [`StorageError`] without exposing rusqlite in the public API.
pub(crate) trait DbResult<T> {
    fn db(self) -> Result<T, StorageError>;
}

impl<T> DbResult<T> for Result<T, rusqlite::Error> {
    fn db(self) -> Result<T, StorageError> {
        self.map_err(|e| StorageError::new(e.to_string()))
    }
}

/// An administrative or self-service operation that did not happen.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A name that does not parse.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A new password the policy refuses.
    #[error(transparent)]
    Password(#[from] PasswordRejected),
    /// The acting principal is not allowed.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// No account of that name.
    #[error("no account named '{0}'")]
    AccountNotFound(String),
    /// No role of that name.
    #[error("no role named '{0}'")]
    RoleNotFound(String),
    /// The name is taken by an existing account or role.
    #[error("{kind} '{name}' already exists")]
    AlreadyExists {
        /// `account` or `role`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// The name belonged to a removed account or role and is never reused (CR 1.4).
    #[error("{kind} name '{name}' was used before and is reserved; identifiers are never reused")]
    NameReserved {
        /// `account` or `role`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// The operation would leave no enabled account holding the admin role.
    #[error("refusing to {action} '{name}': it is the last enabled administrator")]
    LastAdmin {
        /// What was attempted.
        action: &'static str,
        /// The account.
        name: String,
    },
    /// The built-in admin role cannot be changed or deleted.
    #[error("refusing to {action} built-in role '{name}'")]
    BuiltinRole {
        /// What was attempted.
        action: &'static str,
        /// The role.
        name: String,
    },
    /// The account is a process or device account, which has no password or MFA.
    #[error("account '{0}' is a process or device account; it has no password or MFA")]
    NotHuman(String),
    /// The current password given for a self-service change is wrong (or the account is not
    /// usable); deliberately unspecific (CR 1.10).
    #[error("authentication failed")]
    AuthenticationFailed,
    /// A TOTP code that does not confirm the enrolment.
    #[error("the code does not match; check the authenticator app's clock and try the next code")]
    TotpCodeRejected,
    /// No TOTP enrolment is waiting for confirmation.
    #[error("no MFA enrolment is pending for '{0}'; start one first")]
    NoPendingEnrolment(String),
    /// A request argument outside its allowed range, for example an empty override reason.
    #[error("{0}")]
    Invalid(String),
    /// No approval request with that id.
    #[error("no approval request with id {0}")]
    ApprovalNotFound(i64),
    /// The approval request is not in the state the action needs: a decision needs it
    /// pending, a redemption approved (it was already decided, used or has expired).
    #[error("approval request {id} is {state}, not {needed}")]
    ApprovalNotPending {
        /// The request.
        id: i64,
        /// Its state.
        state: String,
        /// The state the action needs: `pending` or `approved`.
        needed: &'static str,
    },
    /// A requester tried to approve their own request (CR 2.1 RE 4).
    #[error("approval request {0} must be decided by a different administrator")]
    SelfApproval(i64),
    /// The certificate is unusable.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The certificate is already bound to an account.
    #[error("certificate {fingerprint} is already bound to account '{account}'")]
    CertificateAlreadyBound {
        /// SHA-256 fingerprint, hex.
        fingerprint: String,
        /// The account it is bound to.
        account: String,
    },
    /// No binding for that certificate fingerprint.
    #[error("no certificate with fingerprint {0} is bound")]
    CertificateNotBound(String),
    /// No session with that handle.
    #[error("no session with handle {0}")]
    SessionNotFound(i64),
    /// No API token with that id.
    #[error("no API token with id {0}")]
    TokenNotFound(i64),
    /// No override with that id.
    #[error("no override with id {0}")]
    OverrideNotFound(i64),
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The decision could not be audited, so it was not taken.
    #[error(transparent)]
    AuditUnavailable(#[from] AuditUnavailable),
    /// The identity store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_messages_say_why() {
        let e = PasswordRejected::TooShort {
            length: 9,
            minimum: 15,
        };
        assert_eq!(
            e.to_string(),
            "password is too short: 9 characters, at least 15 required"
        );
        let e = PasswordRejected::TooGuessable {
            score: 1,
            minimum: 3,
            warning: Some("This is a very common password.".into()),
            suggestions: vec!["Add another word or two.".into()],
        };
        assert_eq!(
            e.to_string(),
            "password is too easy to guess (strength 1 of 4, at least 3 required): This is a very common password. Add another word or two."
        );
    }

    #[test]
    fn login_failure_is_generic() {
        assert_eq!(LoginError::Failed.to_string(), "authentication failed");
        assert_eq!(
            SessionError::Invalid.to_string(),
            "session invalid or expired"
        );
    }
}
