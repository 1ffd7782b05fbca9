//! Sessions: session lock on inactivity (CR 2.5), remote session termination (CR 2.6),
//! concurrent session control (CR 2.7) and session integrity (CR 3.8).
//!
//! A session id is 128 random bits, handed to the client once; the store keeps only its
//! SHA-256. Each session also has a handle (a number, not a secret) by which administrators
//! list and terminate it.

use std::net::IpAddr;

use jiff::Timestamp;
use rampart_vault::crypto::{ct_eq, sha256};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::audit::{Actor, AuditCategory, AuditOutcome};
use crate::config::SessionLimitAction;
use crate::error::{DbResult, IdentityError, SessionError, StorageError};
use crate::names::AccountName;
use crate::permission::Permission;
use crate::principal::{AuthMethod, AuthenticatedPrincipal, Origin};
use crate::secret::{SessionToken, parse_token};
use crate::service::Identity;
use crate::store::ts;
use crate::x509::hex;

const PREFIX: &str = "rps_";
const ID_BYTES: usize = 16;

/// A session as shown to administrators; never contains the session id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// The handle by which to terminate it.
    pub handle: i64,
    /// The account.
    pub account: String,
    /// How the account authenticated.
    pub method: AuthMethod,
    /// When it started.
    pub created_at: Timestamp,
    /// Last activity.
    pub last_seen_at: Timestamp,
    /// When it locks if idle.
    pub idle_expires_at: Timestamp,
    /// When it ends regardless of activity.
    pub expires_at: Timestamp,
    /// The client's address at login.
    pub source: Option<IpAddr>,
    /// The interface.
    pub interface: Option<String>,
}

/// A new session: the id for the client (shown once) and the session's details.
#[derive(Debug)]
pub struct NewSession {
    /// The session id to give the client, for example in a `Secure; HttpOnly` cookie.
    pub token: SessionToken,
    /// The session.
    pub info: SessionInfo,
}

impl Identity {
    /// Starts a session for a principal that logged in with a password (and maybe TOTP).
    /// At the concurrent session limit (CR 2.7) the least recently used session is
    /// terminated, or the new one refused, as configured.
    ///
    /// # Errors
    /// [`SessionError::Invalid`] for principals without a human account (certificates, API
    /// tokens, the local console); [`SessionError::LimitReached`]; audit and storage errors.
    pub fn create_session(
        &self,
        principal: &AuthenticatedPrincipal,
    ) -> Result<NewSession, SessionError> {
        let (Some(account_id), Some(account), AuthMethod::Password | AuthMethod::PasswordAndTotp) =
            (principal.account_id, &principal.account, principal.method)
        else {
            return Err(SessionError::Invalid);
        };
        let policy = self.config.sessions;
        let now = self.now();
        let raw = Self::random_bytes(ID_BYTES).map_err(|e| StorageError::new(e.to_string()))?;
        let token = format!("{PREFIX}{}", hex(&raw));
        let digest = sha256(raw.as_slice()).to_vec();
        let expires_at = now
            .checked_add(policy.lifetime)
            .map_err(|e| StorageError::new(format!("session end out of range: {e}")))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        self.expire_sessions(&tx, now)?;
        let mut live = live_sessions(&tx, account_id)?;
        let limit = usize::try_from(policy.max_per_account).unwrap_or(usize::MAX);
        let mut evicted = Vec::new();
        while live.len() >= limit {
            match policy.on_limit {
                SessionLimitAction::RefuseNew => {
                    drop(tx);
                    drop(conn);
                    self.record_for(
                        principal,
                        AuditCategory::AccessControl,
                        "session-create",
                        Some(account.as_str()),
                        AuditOutcome::Denied,
                        json!({ "reason": "limit-reached", "limit": policy.max_per_account }),
                    )?;
                    return Err(SessionError::LimitReached {
                        limit: policy.max_per_account,
                    });
                }
                SessionLimitAction::EvictOldest => {
                    // `live` is ordered by last activity, oldest first.
                    let oldest = live.remove(0);
                    tx.execute("DELETE FROM sessions WHERE id = ?1", [oldest])
                        .db()?;
                    evicted.push(oldest);
                }
            }
        }
        tx.execute(
            "INSERT INTO sessions (token_hash, account_id, method, created_at, last_seen_at,
                                   expires_at, source, interface)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
            params![
                digest,
                account_id,
                principal.method.as_str(),
                now.as_second(),
                expires_at.as_second(),
                principal.origin.address.map(|a| a.to_string()),
                principal.origin.interface,
            ],
        )
        .db()?;
        let handle = tx.last_insert_rowid();
        for old in &evicted {
            self.record_for(
                principal,
                AuditCategory::AccessControl,
                "session-terminate",
                Some(account.as_str()),
                AuditOutcome::Success,
                json!({ "session": old, "reason": "evicted-by-limit" }),
            )?;
        }
        self.record_for(
            principal,
            AuditCategory::AccessControl,
            "session-create",
            Some(account.as_str()),
            AuditOutcome::Success,
            json!({ "session": handle, "expires_at": expires_at.to_string() }),
        )?;
        tx.commit().db()?;
        let idle_expires_at = now.checked_add(policy.idle_timeout).unwrap_or(expires_at);
        Ok(NewSession {
            token: SessionToken::new(&token),
            info: SessionInfo {
                handle,
                account: account.to_string(),
                method: principal.method,
                created_at: now,
                last_seen_at: now,
                idle_expires_at: idle_expires_at.min(expires_at),
                expires_at,
                source: principal.origin.address,
                interface: principal.origin.interface.clone(),
            },
        })
    }

    /// Gives the principal's session a new id and invalidates the old one (CR 2.5, CR 3.8),
    /// for every change of its authentication state (an initial or expired password changed,
    /// MFA enrolled): an id seen before the change — fixed by an attacker, or read from a
    /// shared machine — is worth nothing after it. The session keeps its handle, lifetime and
    /// activity. Returns the new id, which the caller hands to the client at once, and when the
    /// session ends.
    ///
    /// # Errors
    /// [`SessionError::Invalid`] when the principal has no live session; audit and storage
    /// errors (then the old id stays in force and the caller must not claim a rotation).
    pub fn rotate_session(
        &self,
        principal: &AuthenticatedPrincipal,
        reason: &str,
    ) -> Result<(SessionToken, Timestamp), SessionError> {
        let (Some(handle), Some(account_id), Some(account)) =
            (principal.session, principal.account_id, &principal.account)
        else {
            return Err(SessionError::Invalid);
        };
        let raw = Self::random_bytes(ID_BYTES).map_err(|e| StorageError::new(e.to_string()))?;
        let token = format!("{PREFIX}{}", hex(&raw));
        let digest = sha256(raw.as_slice()).to_vec();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let expires_at: Option<i64> = tx
            .query_row(
                "UPDATE sessions SET token_hash = ?3 WHERE id = ?1 AND account_id = ?2
                 RETURNING expires_at",
                params![handle, account_id, digest],
                |r| r.get(0),
            )
            .optional()
            .db()?;
        let Some(expires_at) = expires_at else {
            return Err(SessionError::Invalid);
        };
        self.record_for(
            principal,
            AuditCategory::AccessControl,
            "session-rotate",
            Some(account.as_str()),
            AuditOutcome::Success,
            json!({ "session": handle, "reason": reason }),
        )?;
        tx.commit().db()?;
        Ok((SessionToken::new(&token), ts(expires_at)?))
    }

    /// Resolves a session id to a fresh principal and records the activity. Fails for an
    /// unknown or malformed id, a session idle longer than `sessions.idle_timeout` (session
    /// lock, CR 2.5) or older than `sessions.lifetime`, and an account that is disabled,
    /// expired or removed; a session found dead is deleted.
    ///
    /// # Errors
    /// [`SessionError::Invalid`] (deliberately unspecific); audit and storage errors.
    pub fn validate_session(
        &self,
        token: &str,
        origin: &Origin,
    ) -> Result<AuthenticatedPrincipal, SessionError> {
        let now = self.now();
        let Some(raw) = parse_token(token, PREFIX, ID_BYTES) else {
            return self.session_refused(origin, None, "malformed-id");
        };
        let digest = sha256(&raw).to_vec();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let Some(found) = find_session(&tx, &digest)? else {
            drop(tx);
            drop(conn);
            return self.session_refused(origin, None, "unknown-id");
        };
        let idle_end = found
            .last_seen_at
            .checked_add(self.config.sessions.idle_timeout)
            .ok();
        let reason = if idle_end.is_none_or(|end| now >= end) {
            Some("idle-timeout")
        } else if now >= found.expires_at {
            Some("lifetime-exceeded")
        } else {
            None
        };
        let row = Self::load_account_by_id(&tx, found.account_id)?;
        let reason = reason.or(match &row {
            None => Some("account-removed"),
            Some(r) if !r.enabled => Some("account-disabled"),
            Some(r) if r.is_expired(now) => Some("account-expired"),
            Some(_) => None,
        });
        let (Some(row), None) = (row, reason) else {
            tx.execute("DELETE FROM sessions WHERE id = ?1", [found.id])
                .db()?;
            let account = found.account.clone();
            self.record_as(
                &Actor::anonymous(),
                origin,
                AuditCategory::AccessControl,
                "session-terminate",
                Some(&account),
                AuditOutcome::Success,
                json!({ "session": found.id, "reason": reason }),
            )?;
            tx.commit().db()?;
            return Err(SessionError::Invalid);
        };
        tx.execute(
            "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
            params![found.id, now.as_second()],
        )
        .db()?;
        let grants = Self::grants(&tx, row.id, now)?;
        tx.commit().db()?;
        Ok(self.principal_for(&row, grants, found.method, origin, now, Some(found.id)))
    }

    /// Ends the session with this id (logout); it cannot be used again.
    ///
    /// # Errors
    /// [`SessionError::Invalid`] for an unknown id; audit and storage errors.
    pub fn logout(&self, token: &str, origin: &Origin) -> Result<(), SessionError> {
        let Some(raw) = parse_token(token, PREFIX, ID_BYTES) else {
            return self.session_refused::<()>(origin, None, "malformed-id");
        };
        let digest = sha256(&raw).to_vec();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let Some(found) = find_session(&tx, &digest)? else {
            drop(tx);
            drop(conn);
            return self.session_refused::<()>(origin, None, "unknown-id");
        };
        tx.execute("DELETE FROM sessions WHERE id = ?1", [found.id])
            .db()?;
        let actor = Self::load_account_by_id(&tx, found.account_id)?
            .map_or_else(Actor::anonymous, |r| r.actor());
        self.record_as(
            &actor,
            origin,
            AuditCategory::AccessControl,
            "session-terminate",
            Some(&found.account),
            AuditOutcome::Success,
            json!({ "session": found.id, "reason": "logout" }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Live sessions, of one account or all. Anyone may list their own; others' need
    /// [`Permission::SessionView`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`] and storage errors.
    pub fn list_sessions(
        &self,
        actor: &AuthenticatedPrincipal,
        account: Option<&AccountName>,
    ) -> Result<Vec<SessionInfo>, IdentityError> {
        let own = account.is_some() && actor.account.as_ref() == account;
        if !own {
            self.require(
                actor,
                Permission::SessionView,
                account.map(AccountName::as_str),
            )?;
        }
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        self.expire_sessions(&tx, now)?;
        let mut sql = String::from(
            "SELECT s.id, a.name, s.method, s.created_at, s.last_seen_at, s.expires_at, s.source,
                    s.interface
             FROM sessions s JOIN accounts a ON a.id = s.account_id",
        );
        if account.is_some() {
            sql.push_str(" WHERE a.name = ?1");
        }
        sql.push_str(" ORDER BY s.id");
        let idle = self.config.sessions.idle_timeout;
        let mut out = Vec::new();
        {
            let mut stmt = tx.prepare(&sql).db()?;
            let map = |r: &rusqlite::Row<'_>| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            };
            let rows: Vec<_> = match account {
                Some(a) => stmt
                    .query_map([a.as_str()], map)
                    .db()?
                    .collect::<Result<_, _>>(),
                None => stmt.query_map([], map).db()?.collect::<Result<_, _>>(),
            }
            .db()?;
            for (handle, name, method, created, seen, expires, source, interface) in rows {
                let last_seen_at = ts(seen)?;
                let expires_at = ts(expires)?;
                out.push(SessionInfo {
                    handle,
                    account: name,
                    method: AuthMethod::parse(&method).unwrap_or(AuthMethod::Password),
                    created_at: ts(created)?,
                    last_seen_at,
                    idle_expires_at: last_seen_at
                        .checked_add(idle)
                        .unwrap_or(expires_at)
                        .min(expires_at),
                    expires_at,
                    source: source.and_then(|s| s.parse().ok()),
                    interface,
                });
            }
        }
        tx.commit().db()?;
        Ok(out)
    }

    /// Terminates a session by handle (CR 2.6). Anyone may end their own; others' need
    /// [`Permission::SessionManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::SessionNotFound`]; audit and storage
    /// errors.
    pub fn terminate_session(
        &self,
        actor: &AuthenticatedPrincipal,
        handle: i64,
    ) -> Result<(), IdentityError> {
        let owner: Option<(i64, String)> = {
            let conn = self.db();
            conn.query_row(
                "SELECT s.account_id, a.name FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.id = ?1",
                [handle],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .db()?
        };
        let Some((account_id, account)) = owner else {
            self.require(actor, Permission::SessionManage, None)?;
            return Err(IdentityError::SessionNotFound(handle));
        };
        if !Self::is_self(actor, account_id) {
            self.require(actor, Permission::SessionManage, Some(&account))?;
        }
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        if let Some(row) = Self::load_account_by_id(&tx, account_id)? {
            self.require_over_account(&tx, actor, Permission::SessionManage, &row, None)?;
        }
        if tx
            .execute("DELETE FROM sessions WHERE id = ?1", [handle])
            .db()?
            == 0
        {
            return Err(IdentityError::SessionNotFound(handle));
        }
        self.record_for(
            actor,
            AuditCategory::AccessControl,
            "session-terminate",
            Some(&account),
            AuditOutcome::Success,
            json!({ "session": handle, "reason": "terminated" }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Deletes sessions past their lifetime or idle timeout.
    fn expire_sessions(&self, conn: &Connection, now: Timestamp) -> Result<(), StorageError> {
        let idle_horizon = now
            .checked_sub(self.config.sessions.idle_timeout)
            .map_or(i64::MIN, Timestamp::as_second);
        conn.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at <= ?2",
            params![now.as_second(), idle_horizon],
        )
        .db()?;
        Ok(())
    }

    fn session_refused<T>(
        &self,
        origin: &Origin,
        account: Option<&str>,
        reason: &str,
    ) -> Result<T, SessionError> {
        self.record_as(
            &Actor::anonymous(),
            origin,
            AuditCategory::RequestError,
            "session-validate",
            account,
            AuditOutcome::Failure,
            json!({ "reason": reason }),
        )?;
        Err(SessionError::Invalid)
    }
}

struct FoundSession {
    id: i64,
    account_id: i64,
    account: String,
    method: AuthMethod,
    last_seen_at: Timestamp,
    expires_at: Timestamp,
}

fn find_session(conn: &Connection, digest: &[u8]) -> Result<Option<FoundSession>, StorageError> {
    let row = conn
        .query_row(
            "SELECT s.id, s.token_hash, s.account_id, a.name, s.method, s.last_seen_at,
                    s.expires_at
             FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?1",
            [digest],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            },
        )
        .optional()
        .db()?;
    let Some((id, stored, account_id, account, method, seen, expires)) = row else {
        return Ok(None);
    };
    // The lookup is by hash already; compare again in constant time so that correctness never
    // rests on the index alone.
    if !ct_eq(&stored, digest) {
        return Ok(None);
    }
    Ok(Some(FoundSession {
        id,
        account_id,
        account,
        method: AuthMethod::parse(&method).unwrap_or(AuthMethod::Password),
        last_seen_at: ts(seen)?,
        expires_at: ts(expires)?,
    }))
}

/// Live session handles of an account, least recently used first.
fn live_sessions(conn: &Connection, account_id: i64) -> Result<Vec<i64>, StorageError> {
    let mut stmt = conn
        .prepare_cached("SELECT id FROM sessions WHERE account_id = ?1 ORDER BY last_seen_at, id")
        .db()?;
    stmt.query_map([account_id], |r| r.get(0))
        .db()?
        .collect::<Result<_, _>>()
        .db()
}
