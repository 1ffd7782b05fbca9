//! Identification, authentication and use control for Rampart components (IEC 62443-4-2 FR1
//! and FR2).
//!
//! One [`Identity`] value holds a component's accounts, roles, sessions and API tokens in a
//! `SQLite` file and answers the questions the rest of the component asks:
//!
//! - [`Identity::authenticate`] — who is this? Password and TOTP login for people (CR 1.1,
//!   RE 2), with generic failures (CR 1.10), lockout and per-source throttling (CR 1.11).
//! - [`Identity::authenticate_certificate`] and [`Identity::authenticate_token`] — processes
//!   and devices by X.509 certificate (CR 1.2, 1.9; [`CertificateIdentity`] reads the
//!   Modbus/TCP Security role) and by API token (CR 1.14).
//! - [`Identity::authorize`] — may they? Every check goes through this one default-deny
//!   function (CR 2.1), which also enforces supervisor overrides (RE 3) and dual approval
//!   (RE 4).
//! - [`Identity::create_session`] / [`Identity::validate_session`] — server-side sessions with
//!   idle lock, absolute lifetime, concurrency limit and remote termination (CR 2.5–2.7, 3.8).
//! - Account, role, password and MFA management (CR 1.3, 1.4, 1.5, 1.7, 2.1 RE 2) and the
//!   system use notification ([`Identity::banner`], CR 1.12).
//!
//! # Security model
//! - **Proof types.** An [`AuthenticatedPrincipal`] can only be made by this crate's
//!   authentication functions; names ([`AccountName`], [`RoleName`]) and certificates
//!   ([`CertificateIdentity`]) are parsed once into types with private fields.
//! - **Default deny.** A principal with no role (the NULL role) is allowed nothing; a
//!   principal with an initial password or pending MFA enrolment is allowed nothing until it
//!   fixes that.
//! - **Fail closed on audit.** Every security-relevant decision becomes an [`AuditRecord`]
//!   given to the [`AuditRecorder`] before it takes effect; if recording fails, the decision
//!   does not take effect.
//! - **No secrets at rest or in records.** Passwords are Argon2id hashes with their
//!   parameters (PHC strings); session ids and API tokens are stored as SHA-256; audit records
//!   and errors never contain an authenticator. Secrets in memory are zeroed on drop.
//! - **No enumeration.** A login for an unknown account costs the same Argon2id work as one
//!   with a wrong password ([`Identity::password_verifications`] lets tests prove it).
//! - **Bounded input.** Names, passwords, certificates, labels and reasons have size limits.
//!
//! Time comes from a [`Clock`], so tests control lockout windows, expiry and TOTP steps.
//! TOTP secrets (pending and enrolled) are sealed under the data directory's key-encryption
//! key ([`IdentityBuilder::sealing`], `rampart_vault::at_rest`), bound to their account (CR 4.1
//! RE 1); a store opened without a KEK (tests) keeps them as they are, in the 0600 file.

#![forbid(unsafe_code)]
// Input from the network and from files never panics the component: errors are returned.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(missing_docs)]

mod accounts;
mod audit;
mod authz;
mod certificates;
mod config;
mod error;
mod login;
mod mfa;
mod names;
mod outrank;
mod password;
mod permission;
mod principal;
mod roles;
mod secret;
mod service;
mod sessions;
mod store;
mod tokens;
pub mod totp;
pub mod x509;

pub use accounts::{AccountInfo, AccountKind, NewAccount};
pub use audit::{
    Actor, ActorKind, AuditCategory, AuditOutcome, AuditRecord, AuditRecorder, AuditUnavailable,
    MemoryRecorder,
};
pub use authz::{ApprovalRequest, ApprovalState, MAX_REASON_CHARS, OverrideInfo};
pub use certificates::CertificateBinding;
pub use config::{
    ApprovalPolicy, HardeningLevel, HashParams, IdentityConfig, LockoutPolicy, MAX_HISTORY,
    MfaPolicy, OverridePolicy, PasswordPolicy, SessionLimitAction, SessionPolicy, SourceThrottle,
    TokenPolicy,
};
pub use error::{
    CertificateError, ConfigError, Denied, DenyReason, IdentityError, LoginError, NameError,
    PasswordRejected, SessionError, StorageError, TokenError, UnknownPermission,
};
pub use names::{AccountName, MAX_NAME_LEN, RoleName};
pub use password::{Blocklist, MAX_BLOCKLIST_BYTES, Password, check_passphrase_strength};
pub use permission::{ADMIN_ROLE, Permission, PermissionSet, builtin_roles};
pub use principal::{AuthMethod, AuthenticatedPrincipal, Origin};
pub use rampart_clock::{Clock, ManualClock, SystemClock};
pub use roles::{MAX_DESCRIPTION_CHARS, RoleInfo};
pub use secret::{ApiToken, InitialPassword, SessionToken};
pub use service::{DEFAULT_BANNER, Identity, IdentityBuilder, MAX_BANNER_CHARS};
pub use sessions::{NewSession, SessionInfo};
pub use tokens::{MAX_LABEL_CHARS, NewApiToken, TokenInfo};
pub use totp::TotpEnrolment;
pub use x509::{CertificateIdentity, ROLE_EXTENSION_OID};
