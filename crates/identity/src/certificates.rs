//! Certificate-bound identities of software processes and devices (CR 1.2) and
//! public-key authentication (CR 1.9).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::audit::{Actor, ActorKind, AuditCategory, AuditOutcome};
use crate::error::{CertificateError, DbResult, IdentityError};
use crate::names::{AccountName, RoleName};
use crate::permission::{Permission, PermissionSet};
use crate::principal::{AuthMethod, AuthenticatedPrincipal, Origin};
use crate::service::{Grants, Identity};
use crate::store::ts;
use crate::x509::{CertificateIdentity, hex};

/// A certificate bound to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateBinding {
    /// SHA-256 fingerprint of the DER encoding, lower-case hex.
    pub fingerprint: String,
    /// The certificate's subject.
    pub subject: String,
    /// The account it identifies.
    pub account: String,
    /// The role it confers; `None` means the account's roles.
    pub role: Option<String>,
    /// When it was bound.
    pub bound_at: Timestamp,
}

impl Identity {
    /// Binds a certificate (by SHA-256 fingerprint and subject) to an account, optionally
    /// with a role the account holds. If the certificate carries a Modbus/TCP Security role,
    /// it must be the same role. Needs [`Permission::CertificateManage`].
    ///
    /// # Errors
    /// [`IdentityError::Certificate`] for an unusable certificate or a role mismatch;
    /// [`IdentityError::CertificateAlreadyBound`]; [`IdentityError::Denied`];
    /// [`IdentityError::AccountNotFound`], [`IdentityError::RoleNotFound`],
    /// [`IdentityError::Invalid`] when the account does not hold the role; audit and storage
    /// errors.
    pub fn bind_certificate(
        &self,
        actor: &AuthenticatedPrincipal,
        der: &[u8],
        account: &AccountName,
        role: Option<&RoleName>,
    ) -> Result<CertificateBinding, IdentityError> {
        self.require(actor, Permission::CertificateManage, Some(account.as_str()))?;
        let cert = CertificateIdentity::from_der(der)?;
        if let (Some(carried), Some(bound)) = (cert.role(), role)
            && carried != bound
        {
            return Err(CertificateError::RoleMismatch {
                bound: bound.to_string(),
                carried: carried.to_string(),
            }
            .into());
        }
        let now = self.now();
        let fingerprint = cert.fingerprint_hex();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, account)?;
        if let Some(role) = role {
            if Self::role_permissions(&tx, role.as_str())?.is_none() {
                return Err(IdentityError::RoleNotFound(role.to_string()));
            }
            let held: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM account_roles WHERE account_id = ?1 AND role = ?2)",
                    params![row.id, role.as_str()],
                    |r| r.get(0),
                )
                .db()?;
            if !held {
                return Err(IdentityError::Invalid(format!(
                    "account '{account}' does not hold role '{role}'"
                )));
            }
        }
        let existing: Option<String> = tx
            .query_row(
                "SELECT a.name FROM certificates c JOIN accounts a ON a.id = c.account_id
                 WHERE c.fingerprint = ?1",
                [cert.fingerprint().as_slice()],
                |r| r.get(0),
            )
            .optional()
            .db()?;
        if let Some(bound_to) = existing {
            return Err(IdentityError::CertificateAlreadyBound {
                fingerprint,
                account: bound_to,
            });
        }
        tx.execute(
            "INSERT INTO certificates (fingerprint, subject, account_id, role, bound_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                cert.fingerprint().as_slice(),
                cert.subject(),
                row.id,
                role.map(RoleName::as_str),
                now.as_second()
            ],
        )
        .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "certificate-bind",
            Some(account.as_str()),
            AuditOutcome::Success,
            json!({
                "fingerprint": fingerprint,
                "subject": cert.subject(),
                "role": role.map(RoleName::as_str),
            }),
        )?;
        tx.commit().db()?;
        Ok(CertificateBinding {
            fingerprint,
            subject: cert.subject().to_owned(),
            account: account.to_string(),
            role: role.map(ToString::to_string),
            bound_at: now,
        })
    }

    /// Removes a certificate binding. Needs [`Permission::CertificateManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::CertificateNotBound`]; audit and storage
    /// errors.
    pub fn unbind_certificate(
        &self,
        actor: &AuthenticatedPrincipal,
        fingerprint_hex: &str,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::CertificateManage, None)?;
        let fingerprint = parse_fingerprint(fingerprint_hex)
            .ok_or_else(|| IdentityError::CertificateNotBound(fingerprint_hex.to_owned()))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let account: Option<String> = tx
            .query_row(
                "SELECT a.name FROM certificates c JOIN accounts a ON a.id = c.account_id
                 WHERE c.fingerprint = ?1",
                [fingerprint.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .db()?;
        let Some(account) = account else {
            return Err(IdentityError::CertificateNotBound(
                fingerprint_hex.to_owned(),
            ));
        };
        tx.execute(
            "DELETE FROM certificates WHERE fingerprint = ?1",
            [fingerprint.as_slice()],
        )
        .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "certificate-unbind",
            Some(&account),
            AuditOutcome::Success,
            json!({ "fingerprint": hex(&fingerprint) }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Every certificate binding. Needs [`Permission::CertificateManage`] or
    /// [`Permission::UserView`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`] and storage errors.
    pub fn list_certificates(
        &self,
        actor: &AuthenticatedPrincipal,
    ) -> Result<Vec<CertificateBinding>, IdentityError> {
        if self
            .decide(actor, Permission::CertificateManage, None)
            .is_err()
        {
            self.require(actor, Permission::UserView, None)?;
        }
        let conn = self.db();
        let mut stmt = conn
            .prepare(
                "SELECT c.fingerprint, c.subject, a.name, c.role, c.bound_at
                 FROM certificates c JOIN accounts a ON a.id = c.account_id ORDER BY a.name, c.bound_at",
            )
            .db()?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    CertificateBinding {
                        fingerprint: String::new(),
                        subject: r.get(1)?,
                        account: r.get(2)?,
                        role: r.get(3)?,
                        bound_at: Timestamp::UNIX_EPOCH,
                    },
                    r.get::<_, i64>(4)?,
                ))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (fingerprint, binding, bound_at) = row.db()?;
            out.push(CertificateBinding {
                fingerprint: hex(&fingerprint),
                bound_at: ts(bound_at)?,
                ..binding
            });
        }
        Ok(out)
    }

    /// Authenticates the holder of a certificate that the TLS layer has already validated
    /// (chain to a trust anchor, signature, revocation), checking again its validity period
    /// and key usage.
    ///
    /// A certificate bound to an account yields that account with the binding's role (or the
    /// account's roles); the account must be enabled and unexpired. An unbound certificate
    /// yields a certificate principal named by its subject, with the role from its Modbus/TCP
    /// Security extension, or the NULL role (no permissions) when it has none. The outcome is
    /// audited.
    ///
    /// # Errors
    /// [`IdentityError::Certificate`] for an unusable certificate;
    /// [`IdentityError::AuthenticationFailed`] for a bound account that is disabled, expired
    /// or removed; audit and storage errors.
    pub fn authenticate_certificate(
        &self,
        der: &[u8],
        origin: &Origin,
    ) -> Result<AuthenticatedPrincipal, IdentityError> {
        let now = self.now();
        let cert = match CertificateIdentity::from_der(der).and_then(|c| {
            c.check_client_use(now)?;
            Ok(c)
        }) {
            Ok(c) => c,
            Err(e) => {
                self.record_as(
                    &Actor::anonymous(),
                    origin,
                    AuditCategory::AccessControl,
                    "certificate-login",
                    None,
                    AuditOutcome::Failure,
                    json!({ "reason": e.to_string() }),
                )?;
                return Err(e.into());
            }
        };
        let conn = self.db();
        let binding: Option<(i64, Option<String>)> = conn
            .query_row(
                "SELECT account_id, role FROM certificates WHERE fingerprint = ?1",
                [cert.fingerprint().as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .db()?;
        let principal = if let Some((account_id, bound_role)) = binding {
            let row = Self::load_account_by_id(&conn, account_id)?;
            let Some(row) = row.filter(|r| r.enabled && !r.is_expired(now)) else {
                drop(conn);
                self.record_as(
                    &Actor::anonymous(),
                    origin,
                    AuditCategory::AccessControl,
                    "certificate-login",
                    None,
                    AuditOutcome::Failure,
                    json!({
                        "reason": "bound account unusable",
                        "fingerprint": cert.fingerprint_hex(),
                    }),
                )?;
                return Err(IdentityError::AuthenticationFailed);
            };
            let mut grants = Self::grants(&conn, row.id, now)?;
            if let Some(role) = bound_role {
                grants = Grants {
                    permissions: Self::role_permissions(&conn, &role)?.unwrap_or_default(),
                    roles: RoleName::parse(&role).into_iter().collect(),
                    mfa_required: false,
                    overrides: grants.overrides,
                };
            }
            self.principal_for(&row, grants, AuthMethod::Certificate, origin, now, None)
        } else {
            let permissions = match cert.role() {
                Some(role) => Self::role_permissions(&conn, role.as_str())?.unwrap_or_default(),
                None => PermissionSet::EMPTY,
            };
            AuthenticatedPrincipal {
                actor: Actor::new(ActorKind::Certificate, cert.subject()),
                account_id: None,
                account: None,
                roles: cert.role().cloned().into_iter().collect(),
                permissions,
                overrides: Vec::new(),
                restriction: None,
                approval: None,
                method: AuthMethod::Certificate,
                origin: origin.clone(),
                authenticated_at: now,
                session: None,
            }
        };
        drop(conn);
        self.record_for(
            &principal,
            AuditCategory::AccessControl,
            "certificate-login",
            principal.account.as_ref().map(AccountName::as_str),
            AuditOutcome::Success,
            json!({
                "fingerprint": cert.fingerprint_hex(),
                "subject": cert.subject(),
                "roles": principal.roles,
            }),
        )?;
        Ok(principal)
    }
}

fn parse_fingerprint(text: &str) -> Option<Vec<u8>> {
    let text: String = text.chars().filter(|c| *c != ':').collect();
    if text.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}
