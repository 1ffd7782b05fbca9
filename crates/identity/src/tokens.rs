//! API tokens: symmetric-key authentication (CR 1.14) for scripts and integrations.
//!
//! A token is 256 random bits shown once; the store keeps its SHA-256. Each token is scoped to
//! one role its owner holds, expires, and can be revoked. Every use is audited.

use jiff::{SignedDuration, Timestamp};
use rampart_vault::crypto::{ct_eq, sha256};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::audit::{Actor, AuditCategory, AuditOutcome};
use crate::error::{DbResult, DenyReason, IdentityError, StorageError, TokenError};
use crate::names::{AccountName, RoleName};
use crate::permission::Permission;
use crate::principal::{AuthMethod, AuthenticatedPrincipal, Origin};
use crate::secret::{ApiToken, parse_token};
use crate::service::{Grants, Identity};
use crate::store::{opt_ts, ts};
use crate::x509::hex;

const PREFIX: &str = "rpt_";
const TOKEN_BYTES: usize = 32;
/// The longest token label accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// An API token as shown to its owner and administrators; never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The token's id.
    pub id: i64,
    /// The owning account.
    pub account: String,
    /// The role it is scoped to.
    pub role: String,
    /// What it is for.
    pub label: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When it was last used.
    pub last_used_at: Option<Timestamp>,
}

/// A new token: the secret (shown once) and its details.
#[derive(Debug)]
pub struct NewApiToken {
    /// The token to give the client, for example as `Authorization: Bearer`.
    pub token: ApiToken,
    /// The token.
    pub info: TokenInfo,
}

impl Identity {
    /// Creates an API token for `owner`, scoped to `role` (which the owner must hold) and
    /// valid for `lifetime` (at most `tokens.max_lifetime`). Anyone may create tokens for
    /// themselves; for others it needs [`Permission::TokenManage`]. A token cannot create
    /// tokens.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::Invalid`] (role not held, bad lifetime or label); audit, storage and
    /// random-number errors.
    pub fn create_token(
        &self,
        actor: &AuthenticatedPrincipal,
        owner: &AccountName,
        role: &RoleName,
        label: &str,
        lifetime: SignedDuration,
    ) -> Result<NewApiToken, IdentityError> {
        let own = actor.account.as_ref() == Some(owner) && actor.method != AuthMethod::ApiToken;
        if own {
            self.require_unrestricted(actor, Permission::TokenManage)?;
        } else {
            self.require(actor, Permission::TokenManage, Some(owner.as_str()))?;
        }
        let label = label.trim();
        let chars = label.chars().count();
        if label.is_empty() || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(IdentityError::Invalid(format!(
                "token label must be 1 to {MAX_LABEL_CHARS} printable characters, got {chars}"
            )));
        }
        let max = self.config.tokens.max_lifetime;
        if !lifetime.is_positive() || lifetime > max {
            return Err(IdentityError::Invalid(format!(
                "token lifetime {lifetime:#} must be positive and at most {max:#}"
            )));
        }
        let now = self.now();
        let expires_at = now
            .checked_add(lifetime)
            .map_err(|e| IdentityError::Invalid(format!("token end out of range: {e}")))?;
        let raw = Self::random_bytes(TOKEN_BYTES)?;
        let token = format!("{PREFIX}{}", hex(&raw));
        let digest = sha256(raw.as_slice()).to_vec();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, owner)?;
        if !holds_role(&tx, row.id, role.as_str())? {
            return Err(IdentityError::Invalid(format!(
                "account '{owner}' does not hold role '{role}'"
            )));
        }
        if !own {
            // A token for someone else is a credential for them: only for process accounts,
            // and only with every permission it carries (CR 1.14, CR 2.1).
            if row.human {
                // `deny` always answers with the recorded denial.
                self.deny(
                    actor,
                    Permission::TokenManage,
                    Some(owner.as_str()),
                    DenyReason::HumanAccountToken,
                )?;
            }
            let carried = Self::role_permissions(&tx, role.as_str())?.unwrap_or_default();
            self.require_over_account(&tx, actor, Permission::TokenManage, &row, Some(carried))?;
        }
        tx.execute(
            "INSERT INTO api_tokens (token_hash, account_id, role, label, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                digest,
                row.id,
                role.as_str(),
                label,
                now.as_second(),
                expires_at.as_second()
            ],
        )
        .db()?;
        let id = tx.last_insert_rowid();
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "token-create",
            Some(owner.as_str()),
            AuditOutcome::Success,
            json!({
                "token": id,
                "role": role.as_str(),
                "label": label,
                "expires_at": expires_at.to_string(),
            }),
        )?;
        tx.commit().db()?;
        Ok(NewApiToken {
            token: ApiToken::new(&token),
            info: TokenInfo {
                id,
                account: owner.to_string(),
                role: role.to_string(),
                label: label.to_owned(),
                created_at: now,
                expires_at,
                revoked_at: None,
                last_used_at: None,
            },
        })
    }

    /// Authenticates an API token. The principal holds exactly the permissions of the token's
    /// role, and only while the owner still holds that role and the account is usable.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] (deliberately unspecific); [`TokenError::AuditUnavailable`]
    /// (every use is audited; without the record there is no use); storage errors.
    pub fn authenticate_token(
        &self,
        token: &str,
        origin: &Origin,
    ) -> Result<AuthenticatedPrincipal, TokenError> {
        let now = self.now();
        let Some(raw) = parse_token(token, PREFIX, TOKEN_BYTES) else {
            return self.token_refused(origin, None, None, "malformed-token");
        };
        let digest = sha256(&raw).to_vec();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let Some(found) = find_token(&tx, &digest)? else {
            drop(tx);
            drop(conn);
            return self.token_refused(origin, None, None, "unknown-token");
        };
        let row = Self::load_account_by_id(&tx, found.account_id)?;
        let role_perms = Self::role_permissions(&tx, &found.role)?;
        let held = holds_role(&tx, found.account_id, &found.role)?;
        let reason = if found.revoked_at.is_some() {
            Some("token-revoked")
        } else if now >= found.expires_at {
            Some("token-expired")
        } else {
            match &row {
                None => Some("account-removed"),
                Some(r) if !r.enabled => Some("account-disabled"),
                Some(r) if r.is_expired(now) => Some("account-expired"),
                Some(_) if !held || role_perms.is_none() => Some("role-not-held"),
                Some(_) => None,
            }
        };
        let (Some(row), None, Some(permissions)) = (row, reason, role_perms) else {
            drop(tx);
            drop(conn);
            return self.token_refused(
                origin,
                Some(&found.account),
                Some(found.id),
                reason.unwrap_or("role-not-held"),
            );
        };
        tx.execute(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
            params![found.id, now.as_second()],
        )
        .db()?;
        let grants = Grants {
            roles: RoleName::parse(&found.role).into_iter().collect(),
            mfa_required: false,
            permissions,
            overrides: Vec::new(),
        };
        let principal = self.principal_for(&row, grants, AuthMethod::ApiToken, origin, now, None);
        self.record_as(
            &principal.actor,
            origin,
            AuditCategory::AccessControl,
            "token-use",
            Some(&found.account),
            AuditOutcome::Success,
            json!({ "token": found.id, "role": found.role }),
        )?;
        tx.commit().db()?;
        Ok(principal)
    }

    /// Revokes a token at once. Owners may revoke their own; others need
    /// [`Permission::TokenManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::TokenNotFound`]; audit and storage errors.
    pub fn revoke_token(
        &self,
        actor: &AuthenticatedPrincipal,
        id: i64,
    ) -> Result<(), IdentityError> {
        let owner: Option<(i64, String)> = {
            let conn = self.db();
            conn.query_row(
                "SELECT t.account_id, a.name FROM api_tokens t JOIN accounts a ON a.id = t.account_id
                 WHERE t.id = ?1 AND t.revoked_at IS NULL",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .db()?
        };
        let Some((account_id, account)) = owner else {
            self.require(actor, Permission::TokenManage, None)?;
            return Err(IdentityError::TokenNotFound(id));
        };
        if !Self::is_self(actor, account_id) {
            self.require(actor, Permission::TokenManage, Some(&account))?;
        }
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        if let Some(row) = Self::load_account_by_id(&tx, account_id)? {
            self.require_over_account(&tx, actor, Permission::TokenManage, &row, None)?;
        }
        tx.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now.as_second()],
        )
        .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "token-revoke",
            Some(&account),
            AuditOutcome::Success,
            json!({ "token": id }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Tokens of one account (anyone may list their own) or of all (needs
    /// [`Permission::TokenManage`]), including revoked and expired ones.
    ///
    /// # Errors
    /// [`IdentityError::Denied`] and storage errors.
    pub fn list_tokens(
        &self,
        actor: &AuthenticatedPrincipal,
        owner: Option<&AccountName>,
    ) -> Result<Vec<TokenInfo>, IdentityError> {
        let own = owner.is_some() && actor.account.as_ref() == owner;
        if !own {
            self.require(
                actor,
                Permission::TokenManage,
                owner.map(AccountName::as_str),
            )?;
        }
        let conn = self.db();
        let mut sql = String::from(
            "SELECT t.id, a.name, t.role, t.label, t.created_at, t.expires_at, t.revoked_at,
                    t.last_used_at
             FROM api_tokens t JOIN accounts a ON a.id = t.account_id",
        );
        if owner.is_some() {
            sql.push_str(" WHERE a.name = ?1");
        }
        sql.push_str(" ORDER BY t.id");
        let mut stmt = conn.prepare(&sql).db()?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        };
        let rows: Vec<_> = match owner {
            Some(o) => stmt
                .query_map([o.as_str()], map)
                .db()?
                .collect::<Result<_, _>>(),
            None => stmt.query_map([], map).db()?.collect::<Result<_, _>>(),
        }
        .db()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, account, role, label, created, expires, revoked, used) in rows {
            out.push(TokenInfo {
                id,
                account,
                role,
                label,
                created_at: ts(created)?,
                expires_at: ts(expires)?,
                revoked_at: opt_ts(revoked)?,
                last_used_at: opt_ts(used)?,
            });
        }
        Ok(out)
    }

    fn token_refused<T>(
        &self,
        origin: &Origin,
        account: Option<&str>,
        id: Option<i64>,
        reason: &str,
    ) -> Result<T, TokenError> {
        self.record_as(
            &Actor::anonymous(),
            origin,
            if id.is_some() {
                AuditCategory::AccessControl
            } else {
                AuditCategory::RequestError
            },
            "token-use",
            account,
            AuditOutcome::Failure,
            json!({ "token": id, "reason": reason }),
        )?;
        Err(TokenError::Invalid)
    }
}

struct FoundToken {
    id: i64,
    account_id: i64,
    account: String,
    role: String,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

fn find_token(conn: &Connection, digest: &[u8]) -> Result<Option<FoundToken>, StorageError> {
    let row = conn
        .query_row(
            "SELECT t.id, t.token_hash, t.account_id, a.name, t.role, t.expires_at, t.revoked_at
             FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = ?1",
            [digest],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                ))
            },
        )
        .optional()
        .db()?;
    let Some((id, stored, account_id, account, role, expires, revoked)) = row else {
        return Ok(None);
    };
    // Compare the stored hash in constant time; the index lookup alone is not relied on.
    if !ct_eq(&stored, digest) {
        return Ok(None);
    }
    Ok(Some(FoundToken {
        id,
        account_id,
        account,
        role,
        expires_at: ts(expires)?,
        revoked_at: opt_ts(revoked)?,
    }))
}

fn holds_role(conn: &Connection, account_id: i64, role: &str) -> Result<bool, StorageError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM account_roles WHERE account_id = ?1 AND role = ?2)",
        params![account_id, role],
        |r| r.get(0),
    )
    .db()
}
