//! The authenticated principal: the only proof of identity the rest of the component accepts.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::Serialize;

use crate::audit::{Actor, ActorKind};
use crate::error::DenyReason;
use crate::names::{AccountName, RoleName};
use crate::permission::{Permission, PermissionSet};

/// Where a request came from: the network address and the interface.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Origin {
    /// The peer's address, when the request came over the network.
    pub address: Option<IpAddr>,
    /// The interface, for example `https`, `modbus-tls` or `local-console`.
    pub interface: Option<String>,
}

impl Origin {
    /// A request on `interface` with no known address.
    pub fn new(interface: impl Into<String>) -> Self {
        Self {
            address: None,
            interface: Some(interface.into()),
        }
    }

    /// The same origin with the peer's address.
    #[must_use]
    pub fn with_address(mut self, address: IpAddr) -> Self {
        self.address = Some(address);
        self
    }

    /// The local console: the CLI working directly on the data directory.
    pub fn local_console() -> Self {
        Self::new("local-console")
    }
}

/// How the principal proved its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// Password only.
    Password,
    /// Password and a TOTP code (multi-factor).
    PasswordAndTotp,
    /// An API token (CR 1.14).
    ApiToken,
    /// An X.509 certificate (CR 1.2, 1.9).
    Certificate,
    /// The operating-system user at the local console, who can read the data directory.
    LocalConsole,
    /// The component itself, creating the first administrator.
    Bootstrap,
}

impl AuthMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::PasswordAndTotp => "password-and-totp",
            Self::ApiToken => "api-token",
            Self::Certificate => "certificate",
            Self::LocalConsole => "local-console",
            Self::Bootstrap => "bootstrap",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "password" => Self::Password,
            "password-and-totp" => Self::PasswordAndTotp,
            "api-token" => Self::ApiToken,
            "certificate" => Self::Certificate,
            "local-console" => Self::LocalConsole,
            "bootstrap" => Self::Bootstrap,
            _ => return None,
        })
    }
}

/// A permission held temporarily through a supervisor override (CR 2.1 RE 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeldOverride {
    pub(crate) permission: Permission,
    pub(crate) expires_at: Timestamp,
}

/// A redeemed dual approval (CR 2.1 RE 4) the principal carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldApproval {
    pub(crate) id: i64,
    pub(crate) permission: Permission,
    pub(crate) target: Option<String>,
    pub(crate) valid_until: Timestamp,
}

/// Someone whose identity has been verified: a human user, a process or device account, a
/// certificate holder, or the local console.
///
/// Only this crate constructs principals (by authenticating a password, session, API token or
/// certificate), so holding one is proof of authentication. It is a snapshot: permissions are
/// resolved when it is made. Derive one per request (for example with
/// `Identity::validate_session`) so that role changes take effect at once.
#[derive(Debug, Clone)]
pub struct AuthenticatedPrincipal {
    pub(crate) actor: Actor,
    pub(crate) account_id: Option<i64>,
    pub(crate) account: Option<AccountName>,
    pub(crate) roles: Vec<RoleName>,
    pub(crate) permissions: PermissionSet,
    pub(crate) overrides: Vec<HeldOverride>,
    pub(crate) restriction: Option<DenyReason>,
    pub(crate) approval: Option<HeldApproval>,
    pub(crate) method: AuthMethod,
    pub(crate) origin: Origin,
    pub(crate) authenticated_at: Timestamp,
    pub(crate) session: Option<i64>,
}

impl AuthenticatedPrincipal {
    /// Who this is, as the audit trail names it.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The principal's name: account name, certificate subject or operating-system user.
    pub fn name(&self) -> &str {
        &self.actor.name
    }

    /// The kind of party.
    pub fn kind(&self) -> ActorKind {
        self.actor.kind
    }

    /// The account, for users and process accounts; `None` for an unbound certificate or the
    /// local console.
    pub fn account(&self) -> Option<&AccountName> {
        self.account.as_ref()
    }

    /// The roles in effect. Empty is the NULL role, which is allowed nothing.
    pub fn roles(&self) -> &[RoleName] {
        &self.roles
    }

    /// The permissions the roles grant (without overrides or restrictions).
    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    /// How the principal authenticated.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// Where the request came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// When the credential was verified.
    pub fn authenticated_at(&self) -> Timestamp {
        self.authenticated_at
    }

    /// The handle of the session this principal came from, if any.
    pub fn session(&self) -> Option<i64> {
        self.session
    }

    /// Whether the principal must change its password before anything else is allowed
    /// (CR 1.5: initial and expired passwords).
    pub fn password_change_required(&self) -> bool {
        self.restriction == Some(DenyReason::PasswordChangeRequired)
    }

    /// Whether the principal must enrol in MFA before anything else is allowed.
    pub fn mfa_enrolment_required(&self) -> bool {
        self.restriction == Some(DenyReason::MfaEnrolmentRequired)
    }

    /// The id of the redeemed approval this principal carries, if any.
    pub fn approval(&self) -> Option<i64> {
        self.approval.as_ref().map(|a| a.id)
    }

    pub(crate) fn same_party(&self, kind: &str, name: &str) -> bool {
        actor_kind_str(self.actor.kind) == kind && self.actor.name == name
    }
}

pub(crate) fn actor_kind_str(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::User => "user",
        ActorKind::Certificate => "certificate",
        ActorKind::Process => "process",
        ActorKind::Anonymous => "anonymous",
    }
}
