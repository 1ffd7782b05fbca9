//! Account management (CR 1.3), identifier management (CR 1.4) and administrative
//! authenticator management (CR 1.5).

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::{Actor, ActorKind, AuditCategory, AuditOutcome};
use crate::error::{DbResult, IdentityError, PasswordRejected};
use crate::names::{AccountName, RoleName};
use crate::password::{Password, Verification, check_strength, params_of};
use crate::permission::{ADMIN_ROLE, Permission};
use crate::principal::{AuthMethod, AuthenticatedPrincipal, Origin};
use crate::secret::InitialPassword;
use crate::service::{AccountRow, Identity};

/// Human user or software process / device (CR 1.1, 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AccountKind {
    /// A person; authenticates with a password and optionally TOTP.
    Human,
    /// A software process or device; authenticates with a certificate or API token.
    Process,
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// The unique name.
    pub name: AccountName,
    /// The roles to give it.
    pub roles: Vec<RoleName>,
    /// When it stops working, if ever (CR 1.3).
    pub expires_at: Option<Timestamp>,
    /// Whether the password set now must be changed at first use (CR 1.5). Default true:
    /// a password chosen by an administrator is an initial password.
    pub must_change_password: bool,
}

impl NewAccount {
    /// An account called `name` with no roles, no expiry, and an initial password.
    pub fn new(name: AccountName) -> Self {
        Self {
            name,
            roles: Vec::new(),
            expires_at: None,
            must_change_password: true,
        }
    }

    /// Adds a role.
    #[must_use]
    pub fn role(mut self, role: RoleName) -> Self {
        self.roles.push(role);
        self
    }

    /// Sets the expiry.
    #[must_use]
    pub fn expires_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets whether the password must be changed at first use.
    #[must_use]
    pub fn must_change_password(mut self, must: bool) -> Self {
        self.must_change_password = must;
        self
    }
}

/// An account as shown to administrators. Never contains an authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(clippy::struct_excessive_bools)] // A flat record for tables and JSON.
pub struct AccountInfo {
    /// The unique name.
    pub name: String,
    /// Human or process.
    pub kind: AccountKind,
    /// Roles held.
    pub roles: Vec<String>,
    /// Whether it is enabled.
    pub enabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires, if ever.
    pub expires_at: Option<Timestamp>,
    /// Whether it has expired.
    pub expired: bool,
    /// Whether it is locked after failed logins.
    pub locked: bool,
    /// Until when, if the lock is temporary.
    pub locked_until: Option<Timestamp>,
    /// Failed logins in the current window.
    pub failed_logins: i64,
    /// When the password was last set.
    pub password_changed_at: Option<Timestamp>,
    /// Whether the password must be changed at next use.
    pub must_change_password: bool,
    /// Whether TOTP is set up.
    pub mfa_enrolled: bool,
    /// Whether a TOTP enrolment was started and awaits confirmation.
    pub mfa_pending: bool,
    /// The Argon2id parameters of the stored password hash (CR 1.5), to see which hashes
    /// will be strengthened at next login.
    pub password_hash_params: Option<crate::config::HashParams>,
    /// Last successful login.
    pub last_login_at: Option<Timestamp>,
}

impl Identity {
    /// Creates a human account with an initial password. Needs [`Permission::UserManage`] and
    /// every permission of the roles given. The password must satisfy the policy (CR 1.7).
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::RoleNotFound`],
    /// [`IdentityError::Password`] saying why the password is refused,
    /// [`IdentityError::AlreadyExists`], [`IdentityError::NameReserved`]; audit and storage
    /// errors.
    pub fn create_user(
        &self,
        actor: &AuthenticatedPrincipal,
        account: &NewAccount,
        password: &Password,
    ) -> Result<AccountInfo, IdentityError> {
        self.require(actor, Permission::UserManage, Some(account.name.as_str()))?;
        let mfa = self.check_roles_grantable(actor, account)?;
        check_strength(
            &self.config.password,
            self.blocklist.as_ref(),
            password,
            &account.name,
            mfa,
        )?;
        let hash = Zeroizing::new(self.hasher.hash(password)?);
        self.insert_account(
            &actor.actor,
            &actor.origin,
            account,
            AccountKind::Human,
            Some(&hash),
        )
    }

    /// Creates a software process or device account (CR 1.2): no password; it authenticates
    /// with a bound certificate or an API token. Needs [`Permission::UserManage`].
    ///
    /// # Errors
    /// As [`Identity::create_user`], without the password errors.
    pub fn create_process_account(
        &self,
        actor: &AuthenticatedPrincipal,
        account: &NewAccount,
    ) -> Result<AccountInfo, IdentityError> {
        self.require(actor, Permission::UserManage, Some(account.name.as_str()))?;
        self.check_roles_grantable(actor, account)?;
        self.insert_account(
            &actor.actor,
            &actor.origin,
            account,
            AccountKind::Process,
            None,
        )
    }

    /// Creates the first administrator when no human account holds the admin role: a random
    /// initial password (104 bits) that must be changed at first login, shown once. Returns
    /// `None` when an administrator exists. Audited with the component itself as actor.
    ///
    /// # Errors
    /// [`IdentityError::AlreadyExists`] or [`IdentityError::NameReserved`] when the name is
    /// taken by a non-administrator; audit, storage and random-number errors.
    pub fn bootstrap_admin(
        &self,
        name: &AccountName,
    ) -> Result<Option<InitialPassword>, IdentityError> {
        {
            let conn = self.db();
            let admins: i64 = conn
                .query_row(
                    "SELECT count(*) FROM account_roles ar JOIN accounts a ON a.id = ar.account_id
                     WHERE ar.role = ?1 AND a.kind = 'human'",
                    [ADMIN_ROLE],
                    |r| r.get(0),
                )
                .db()?;
            if admins > 0 {
                return Ok(None);
            }
        }
        let random = Self::random_bytes(13)?;
        let text = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&random).to_lowercase());
        let password = Password::from(text.as_str());
        let hash = Zeroizing::new(self.hasher.hash(&password)?);
        let account = NewAccount::new(name.clone()).role(RoleName::parse(ADMIN_ROLE)?);
        self.insert_account(
            &Actor::new(ActorKind::Process, "rampart"),
            &Origin::new("bootstrap"),
            &account,
            AccountKind::Human,
            Some(&hash),
        )?;
        Ok(Some(InitialPassword::new(&text)))
    }

    /// Checks the roles exist and the actor may give them; returns whether any requires MFA.
    fn check_roles_grantable(
        &self,
        actor: &AuthenticatedPrincipal,
        account: &NewAccount,
    ) -> Result<bool, IdentityError> {
        let mut mfa = self.config.mfa.required_for_all;
        let mut wanted = crate::permission::PermissionSet::EMPTY;
        {
            let conn = self.db();
            for role in &account.roles {
                let perms = Self::role_permissions(&conn, role.as_str())?
                    .ok_or_else(|| IdentityError::RoleNotFound(role.to_string()))?;
                wanted = wanted.union(perms);
                let role_mfa: bool = conn
                    .query_row(
                        "SELECT mfa_required FROM roles WHERE name = ?1",
                        [role.as_str()],
                        |r| r.get(0),
                    )
                    .db()?;
                mfa |= role_mfa;
            }
        }
        self.require_superset(actor, wanted, account.name.as_str())?;
        Ok(mfa)
    }

    fn insert_account(
        &self,
        actor: &Actor,
        origin: &Origin,
        account: &NewAccount,
        kind: AccountKind,
        hash: Option<&str>,
    ) -> Result<AccountInfo, IdentityError> {
        let now = self.now();
        let name = account.name.as_str();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        if Self::load_account(&tx, name)?.is_some() {
            return Err(IdentityError::AlreadyExists {
                kind: "account",
                name: name.to_owned(),
            });
        }
        if Self::is_reserved(&tx, "account", name)? {
            return Err(IdentityError::NameReserved {
                kind: "account",
                name: name.to_owned(),
            });
        }
        tx.execute(
            "INSERT INTO accounts (name, kind, enabled, created_at, expires_at, password_hash,
                                   password_changed_at, must_change_password)
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
            params![
                name,
                kind_str(kind),
                now.as_second(),
                account.expires_at.map(Timestamp::as_second),
                hash,
                hash.map(|_| now.as_second()),
                hash.is_some() && account.must_change_password,
            ],
        )
        .db()?;
        let id = tx.last_insert_rowid();
        Self::reserve(&tx, "account", name, now)?;
        for role in &account.roles {
            tx.execute(
                "INSERT OR IGNORE INTO account_roles (account_id, role) VALUES (?1, ?2)",
                params![id, role.as_str()],
            )
            .db()?;
        }
        if let Some(hash) = hash {
            self.push_history(&tx, id, hash, now)?;
        }
        self.record_as(
            actor,
            origin,
            AuditCategory::ConfigurationChange,
            "account-create",
            Some(name),
            AuditOutcome::Success,
            json!({
                "kind": kind_str(kind),
                "roles": account.roles,
                "expires_at": account.expires_at.map(|t| t.to_string()),
                "must_change_password": hash.is_some() && account.must_change_password,
            }),
        )?;
        let info = account_info(&tx, &require_row(&tx, name)?, now)?;
        tx.commit().db()?;
        Ok(info)
    }

    /// Disables an account and terminates its sessions (CR 1.3). Needs
    /// [`Permission::UserManage`]. Refuses to disable the last enabled administrator.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::LastAdmin`]; audit and storage errors.
    pub fn disable_account(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(name.as_str()))?;
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, name)?;
        self.require_over_account(&tx, actor, Permission::UserManage, &row, None)?;
        if Self::is_last_admin(&tx, row.id, now)? {
            return Err(IdentityError::LastAdmin {
                action: "disable",
                name: name.to_string(),
            });
        }
        tx.execute("UPDATE accounts SET enabled = 0 WHERE id = ?1", [row.id])
            .db()?;
        let sessions = Self::drop_sessions(&tx, row.id)?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "account-disable",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({ "sessions_terminated": sessions }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Enables a disabled account (CR 1.3). Needs [`Permission::UserManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`]; audit and storage
    /// errors.
    pub fn enable_account(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(name.as_str()))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, name)?;
        self.require_over_account(&tx, actor, Permission::UserManage, &row, None)?;
        tx.execute("UPDATE accounts SET enabled = 1 WHERE id = ?1", [row.id])
            .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "account-enable",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({}),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Removes an account with its sessions, tokens, certificate bindings and overrides
    /// (CR 1.3). The name stays reserved and is never given to another account (CR 1.4).
    /// Needs [`Permission::UserRemove`] for this account (it can be configured for dual
    /// approval with the account name as target). Refuses to remove the last enabled
    /// administrator.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::LastAdmin`]; audit and storage errors.
    pub fn remove_account(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserRemove, Some(name.as_str()))?;
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, name)?;
        self.require_over_account(&tx, actor, Permission::UserRemove, &row, None)?;
        if Self::is_last_admin(&tx, row.id, now)? {
            return Err(IdentityError::LastAdmin {
                action: "remove",
                name: name.to_string(),
            });
        }
        tx.execute("DELETE FROM accounts WHERE id = ?1", [row.id])
            .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "account-remove",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({}),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Sets or clears the date an account expires (CR 1.3); an expiry in the past terminates
    /// its sessions at once. Needs [`Permission::UserManage`]. Refuses to set an expiry on the
    /// last enabled administrator.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::LastAdmin`]; audit and storage errors.
    pub fn set_account_expiry(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
        expires_at: Option<Timestamp>,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(name.as_str()))?;
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, name)?;
        self.require_over_account(&tx, actor, Permission::UserManage, &row, None)?;
        if expires_at.is_some() && Self::is_last_admin(&tx, row.id, now)? {
            return Err(IdentityError::LastAdmin {
                action: "set an expiry on",
                name: name.to_string(),
            });
        }
        tx.execute(
            "UPDATE accounts SET expires_at = ?2 WHERE id = ?1",
            params![row.id, expires_at.map(Timestamp::as_second)],
        )
        .db()?;
        let sessions = if expires_at.is_some_and(|at| at <= now) {
            Self::drop_sessions(&tx, row.id)?
        } else {
            0
        };
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "account-expire",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({
                "expires_at": expires_at.map(|t| t.to_string()),
                "sessions_terminated": sessions,
            }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Unlocks an account locked after failed logins (CR 1.11). Needs
    /// [`Permission::UserManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`]; audit and storage
    /// errors.
    pub fn unlock_account(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(name.as_str()))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, name)?;
        self.require_over_account(&tx, actor, Permission::UserManage, &row, None)?;
        tx.execute(
            "UPDATE accounts SET locked = 0, locked_until = NULL, failed_count = 0,
                                 failure_window_start = NULL WHERE id = ?1",
            [row.id],
        )
        .db()?;
        tx.execute(
            "DELETE FROM account_source_lockouts WHERE account_id = ?1",
            [row.id],
        )
        .db()?;
        self.record_for(
            actor,
            AuditCategory::AccessControl,
            "unlock",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({ "was_locked": row.is_locked(self.now()) }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Every account, by name. Needs [`Permission::UserView`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`] and storage errors.
    pub fn list_accounts(
        &self,
        actor: &AuthenticatedPrincipal,
    ) -> Result<Vec<AccountInfo>, IdentityError> {
        self.require(actor, Permission::UserView, None)?;
        let now = self.now();
        let conn = self.db();
        let mut stmt = conn
            .prepare("SELECT name FROM accounts ORDER BY name")
            .db()?;
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .db()?
            .collect::<Result<_, _>>()
            .db()?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            out.push(account_info(&conn, &require_row(&conn, &name)?, now)?);
        }
        Ok(out)
    }

    /// One account. Needs [`Permission::UserView`], except for one's own.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`] and storage errors.
    pub fn account(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
    ) -> Result<AccountInfo, IdentityError> {
        if actor.account.as_ref() != Some(name) {
            self.require(actor, Permission::UserView, Some(name.as_str()))?;
        }
        let now = self.now();
        let conn = self.db();
        let row = Self::require_account(&conn, name)?;
        account_info(&conn, &row, now)
    }

    /// Sets a new password for someone else's account (CR 1.5), terminating its sessions.
    /// Needs [`Permission::UserManage`]. With `must_change` the password is an initial one
    /// that must be changed at first use. Strength and history rules apply; the minimum
    /// lifetime does not.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::NotHuman`], [`IdentityError::Password`]; audit and storage errors.
    pub fn set_password(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
        password: &Password,
        must_change: bool,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(name.as_str()))?;
        let (row, mfa, history) = self.password_context(name)?;
        self.require_over_account(&self.db(), actor, Permission::UserManage, &row, None)?;
        check_strength(
            &self.config.password,
            self.blocklist.as_ref(),
            password,
            name,
            mfa,
        )?;
        self.check_history(&history, password)?;
        let hash = Zeroizing::new(self.hasher.hash(password)?);
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        self.store_password(&tx, row.id, &hash, must_change, now)?;
        let sessions = Self::drop_sessions(&tx, row.id)?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "password-change",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({
                "by": "administrator",
                "must_change_password": must_change,
                "sessions_terminated": sessions,
            }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Changes one's own password (CR 1.5), proving knowledge of the current one. The
    /// strength, history and minimum-lifetime rules apply. A wrong current password counts as
    /// a failed login (CR 1.11) and gives the generic
    /// [`IdentityError::AuthenticationFailed`]. Other sessions of the account are terminated;
    /// the principal's own session is kept.
    ///
    /// # Errors
    /// [`IdentityError::AuthenticationFailed`], [`IdentityError::Password`],
    /// [`IdentityError::NotHuman`]; audit and storage errors.
    pub fn change_password(
        &self,
        principal: &AuthenticatedPrincipal,
        current: &Password,
        new: &Password,
    ) -> Result<(), IdentityError> {
        let Some(name) = principal.account.clone() else {
            return Err(IdentityError::AuthenticationFailed);
        };
        if principal.method == AuthMethod::ApiToken {
            return Err(IdentityError::AuthenticationFailed);
        }
        let (row, mfa, history) = self.password_context(&name)?;
        let now = self.now();
        let stored = row
            .password_hash
            .as_deref()
            .map(String::as_str)
            .unwrap_or_default();
        let verified = self.hasher.verify(current, stored);
        if verified == Verification::Mismatch
            || !row.enabled
            || row.is_expired(now)
            || row.is_locked(now)
        {
            self.register_failure(&row, principal.origin(), now, "password-change")?;
            return Err(IdentityError::AuthenticationFailed);
        }
        if let (Some(min), Some(changed), false) = (
            self.config.password.min_lifetime,
            row.password_changed_at,
            row.must_change,
        ) {
            let earliest = changed.checked_add(min).map_err(|e| {
                IdentityError::Invalid(format!("minimum lifetime out of range: {e}"))
            })?;
            if now < earliest {
                return Err(PasswordRejected::TooSoon { earliest }.into());
            }
        }
        check_strength(
            &self.config.password,
            self.blocklist.as_ref(),
            new,
            &name,
            mfa,
        )?;
        self.check_history(&history, new)?;
        if history.is_empty()
            && matches!(self.hasher.verify(new, stored), Verification::Match { .. })
        {
            return Err(PasswordRejected::Reused { depth: 1 }.into());
        }
        let hash = Zeroizing::new(self.hasher.hash(new)?);
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        self.store_password(&tx, row.id, &hash, false, now)?;
        let sessions = match principal.session {
            Some(keep) => tx
                .execute(
                    "DELETE FROM sessions WHERE account_id = ?1 AND id != ?2",
                    params![row.id, keep],
                )
                .db()?,
            None => Self::drop_sessions(&tx, row.id)?,
        };
        self.record_for(
            principal,
            AuditCategory::ConfigurationChange,
            "password-change",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({ "by": "self", "sessions_terminated": sessions }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Removes an account's TOTP enrolment, for a lost authenticator; if MFA is required the
    /// user must enrol again at next login. Needs [`Permission::UserManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::NotHuman`]; audit and storage errors.
    pub fn reset_mfa(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &AccountName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(name.as_str()))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, name)?;
        self.require_over_account(&tx, actor, Permission::UserManage, &row, None)?;
        if !row.human {
            return Err(IdentityError::NotHuman(name.to_string()));
        }
        tx.execute(
            "UPDATE accounts SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL
             WHERE id = ?1",
            [row.id],
        )
        .db()?;
        let sessions = Self::drop_sessions(&tx, row.id)?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "mfa-reset",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({ "sessions_terminated": sessions }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// The account row, whether MFA applies to it, and its remembered password hashes.
    fn password_context(
        &self,
        name: &AccountName,
    ) -> Result<(AccountRow, bool, Vec<Zeroizing<String>>), IdentityError> {
        let now = self.now();
        let conn = self.db();
        let row = Self::require_account(&conn, name)?;
        if !row.human {
            return Err(IdentityError::NotHuman(name.to_string()));
        }
        let grants = Self::grants(&conn, row.id, now)?;
        let mfa = row.totp_secret.is_some() || self.mfa_required(&grants);
        let depth = i64::from(self.config.password.history);
        let mut history = Vec::new();
        if depth > 0 {
            let mut stmt = conn
                .prepare(
                    "SELECT hash FROM password_history WHERE account_id = ?1
                     ORDER BY set_at DESC, rowid DESC LIMIT ?2",
                )
                .db()?;
            history = stmt
                .query_map(params![row.id, depth], |r| {
                    r.get::<_, String>(0).map(Zeroizing::new)
                })
                .db()?
                .collect::<Result<_, _>>()
                .db()?;
        }
        Ok((row, mfa, history))
    }

    /// Refuses a password that matches one of `history` (CR 1.7 RE 1).
    fn check_history(
        &self,
        history: &[Zeroizing<String>],
        password: &Password,
    ) -> Result<(), PasswordRejected> {
        for old in history {
            if matches!(
                self.hasher.verify(password, old),
                Verification::Match { .. }
            ) {
                return Err(PasswordRejected::Reused {
                    depth: self.config.password.history,
                });
            }
        }
        Ok(())
    }

    fn store_password(
        &self,
        conn: &Connection,
        id: i64,
        hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<(), IdentityError> {
        conn.execute(
            "UPDATE accounts SET password_hash = ?2, password_changed_at = ?3,
                                 must_change_password = ?4 WHERE id = ?1",
            params![id, hash, now.as_second(), must_change],
        )
        .db()?;
        self.push_history(conn, id, hash, now)
    }

    /// Remembers a password hash for the history rule, keeping only as many as configured.
    fn push_history(
        &self,
        conn: &Connection,
        id: i64,
        hash: &str,
        now: Timestamp,
    ) -> Result<(), IdentityError> {
        let depth = i64::from(self.config.password.history);
        if depth == 0 {
            conn.execute("DELETE FROM password_history WHERE account_id = ?1", [id])
                .db()?;
            return Ok(());
        }
        conn.execute(
            "INSERT INTO password_history (account_id, hash, set_at) VALUES (?1, ?2, ?3)",
            params![id, hash, now.as_second()],
        )
        .db()?;
        conn.execute(
            "DELETE FROM password_history WHERE account_id = ?1 AND rowid NOT IN
             (SELECT rowid FROM password_history WHERE account_id = ?1
              ORDER BY set_at DESC, rowid DESC LIMIT ?2)",
            params![id, depth],
        )
        .db()?;
        Ok(())
    }
}

fn kind_str(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Human => "human",
        AccountKind::Process => "process",
    }
}

fn require_row(conn: &Connection, name: &str) -> Result<AccountRow, IdentityError> {
    Identity::load_account(conn, name)?
        .ok_or_else(|| IdentityError::AccountNotFound(name.to_owned()))
}

fn account_info(
    conn: &Connection,
    row: &AccountRow,
    now: Timestamp,
) -> Result<AccountInfo, IdentityError> {
    let grants = Identity::grants(conn, row.id, now)?;
    Ok(AccountInfo {
        name: row.name.clone(),
        kind: if row.human {
            AccountKind::Human
        } else {
            AccountKind::Process
        },
        roles: grants.roles.iter().map(ToString::to_string).collect(),
        enabled: row.enabled,
        created_at: row.created_at,
        expires_at: row.expires_at,
        expired: row.is_expired(now),
        locked: row.is_locked(now),
        locked_until: if row.is_locked(now) {
            row.locked_until
        } else {
            None
        },
        failed_logins: row.failed_count,
        password_changed_at: row.password_changed_at,
        must_change_password: row.must_change,
        mfa_enrolled: row.totp_secret.is_some(),
        mfa_pending: row.totp_pending,
        password_hash_params: row.password_hash.as_deref().and_then(|h| params_of(h)),
        last_login_at: row.last_login_at,
    })
}
