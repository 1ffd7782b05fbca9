//! The identity service: the store, the configuration and the seams (clock, audit) in one
//! value, and the helpers every operation shares.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::audit::{Actor, ActorKind, AuditCategory, AuditOutcome, AuditRecord, AuditRecorder};
use crate::config::IdentityConfig;
use crate::error::{DbResult, DenyReason, IdentityError, StorageError};
use crate::names::{AccountName, RoleName};
use crate::password::{Blocklist, Hasher};
use crate::permission::{ADMIN_ROLE, Permission, PermissionSet};
use crate::principal::{AuthMethod, AuthenticatedPrincipal, HeldOverride, Origin};
use crate::store::{self, opt_ts, ts};
use rampart_clock::{Clock, SystemClock};

/// The text shown before login when no banner has been configured (CR 1.12).
pub const DEFAULT_BANNER: &str = "Authorised use only. Activity on this system is monitored \
and recorded. Unauthorised access or use may lead to disciplinary action and prosecution.";

/// The longest banner accepted, in characters.
pub const MAX_BANNER_CHARS: usize = 4096;

/// Identification, authentication and use control for one component (FR1, FR2).
///
/// Holds the `SQLite` store, the configuration, the password hasher, the clock and the audit
/// recorder. All methods take `&self` and are safe to call from many threads; the store is
/// behind a mutex that is never held during password hashing.
///
/// # Security
/// Every security-relevant decision is recorded through the [`AuditRecorder`] before it takes
/// effect; if the recorder fails, the decision does not take effect and the method returns an
/// `AuditUnavailable` error (fail closed).
pub struct Identity {
    conn: Mutex<Connection>,
    pub(crate) config: IdentityConfig,
    pub(crate) blocklist: Option<Blocklist>,
    pub(crate) hasher: Hasher,
    clock: Arc<dyn Clock>,
    recorder: Arc<dyn AuditRecorder>,
    path: PathBuf,
    /// Seals TOTP seeds at rest (`None`: stored as they are, for tests and stores opened
    /// outside a data directory).
    kek: Option<Arc<rampart_vault::at_rest::Kek>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Identity`]: the store path and audit recorder are required, the rest has
/// defaults.
#[must_use]
pub struct IdentityBuilder {
    path: PathBuf,
    recorder: Arc<dyn AuditRecorder>,
    config: IdentityConfig,
    clock: Arc<dyn Clock>,
    blocklist: Option<Blocklist>,
    kek: Option<Arc<rampart_vault::at_rest::Kek>>,
}

impl IdentityBuilder {
    /// Seals TOTP seeds at rest under `kek` (the data directory's key-encryption key); seeds
    /// stored plain by an earlier release are sealed when the store opens, recorded once in
    /// the audit trail (`vault-sealed`).
    pub fn sealing(mut self, kek: Arc<rampart_vault::at_rest::Kek>) -> Self {
        self.kek = Some(kek);
        self
    }

    /// Uses `config` instead of the defaults.
    pub fn config(mut self, config: IdentityConfig) -> Self {
        self.config = config;
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `blocklist` in addition to (or, if the configuration names no file, instead of)
    /// the configured blocklist file.
    pub fn blocklist(mut self, blocklist: Blocklist) -> Self {
        self.blocklist = Some(blocklist);
        self
    }

    /// Validates the configuration, reads the blocklist file, opens (creating and migrating)
    /// the store, and computes the dummy hash for unknown accounts.
    ///
    /// # Errors
    /// [`IdentityError::Config`] for an invalid configuration or unreadable blocklist;
    /// [`IdentityError::Storage`] when the store cannot be opened or migrated.
    pub fn open(mut self) -> Result<Identity, IdentityError> {
        self.config.validate()?;
        // Whatever the configuration says, these need a second administrator's approval.
        for &p in crate::config::ApprovalPolicy::ALWAYS {
            self.config.approvals.required_for.insert(p);
        }
        let mut blocklist = self.blocklist;
        if let Some(file) = &self.config.password.blocklist_file {
            let from_file = Blocklist::from_file(file)?;
            blocklist = Some(match blocklist {
                Some(mut b) => {
                    b.extend(from_file);
                    b
                }
                None => from_file,
            });
        }
        let hasher = Hasher::new(self.config.hashing)?;
        let conn = store::open(&self.path, self.clock.now())?;
        let identity = Identity {
            conn: Mutex::new(conn),
            config: self.config,
            blocklist,
            hasher,
            clock: self.clock,
            recorder: self.recorder,
            path: self.path,
            kek: self.kek,
        };
        identity.seal_plain_totp_seeds()?;
        Ok(identity)
    }
}

/// An account's id with its enrolled and pending TOTP seeds, as stored.
type StoredSeeds = (i64, Option<Zeroizing<Vec<u8>>>, Option<Zeroizing<Vec<u8>>>);

/// The logical name of an account's TOTP seed (pending or enrolled) in the sealed format:
/// bound to the account, so a seed copied to another account's row does not open.
fn totp_name(account: i64) -> String {
    format!("identity.db/accounts/{account}/totp")
}

impl Identity {
    /// A TOTP seed as stored: sealed under the KEK, or as it is without one.
    pub(crate) fn seal_totp(&self, account: i64, seed: &[u8]) -> Result<Vec<u8>, IdentityError> {
        match &self.kek {
            Some(kek) => rampart_vault::at_rest::seal(kek, &totp_name(account), seed)
                .map_err(|e| IdentityError::Random(e.to_string())),
            None => Ok(seed.to_vec()),
        }
    }

    /// A stored TOTP seed, opened: the one read of a seed.
    pub(crate) fn open_totp(
        &self,
        account: i64,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        if !rampart_vault::at_rest::is_sealed(stored) {
            return Ok(Zeroizing::new(stored.to_vec()));
        }
        let kek = self.kek.as_ref().ok_or_else(|| {
            StorageError::new(format!(
                "{}: the TOTP seed of account {account} is sealed, and this store was opened \
                 without the data directory's key-encryption key",
                self.path.display()
            ))
        })?;
        rampart_vault::at_rest::open(kek, &totp_name(account), stored).map_err(|e| {
            StorageError::new(format!(
                "{}: the TOTP seed of account {account}: {e}",
                self.path.display()
            ))
        })
    }

    /// Seals the TOTP seeds an earlier release stored plain (migration), in one transaction,
    /// recorded once.
    fn seal_plain_totp_seeds(&self) -> Result<(), IdentityError> {
        if self.kek.is_none() {
            return Ok(());
        }
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let rows: Vec<StoredSeeds> = {
            let mut statement = tx
                .prepare(
                    "SELECT id, totp_secret, totp_pending FROM accounts \
                     WHERE totp_secret IS NOT NULL OR totp_pending IS NOT NULL",
                )
                .db()?;
            statement
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?.map(Zeroizing::new),
                        r.get::<_, Option<Vec<u8>>>(2)?.map(Zeroizing::new),
                    ))
                })
                .db()?
                .collect::<Result<_, _>>()
                .db()?
        };
        let mut sealed = 0usize;
        for (id, secret, pending) in rows {
            for (column, value) in [("totp_secret", secret), ("totp_pending", pending)] {
                let Some(value) = value else { continue };
                if rampart_vault::at_rest::is_sealed(&value) {
                    continue;
                }
                let stored = self.seal_totp(id, &value)?;
                tx.execute(
                    &format!("UPDATE accounts SET {column} = ?2 WHERE id = ?1"),
                    rusqlite::params![id, stored],
                )
                .db()?;
                sealed += 1;
            }
        }
        if sealed > 0 {
            self.record_as(
                &Actor::new(ActorKind::Process, "rampart"),
                &Origin::new("startup"),
                AuditCategory::ConfigurationChange,
                "vault-sealed",
                Some("identity.db"),
                AuditOutcome::Success,
                serde_json::json!({ "store": "identity.db", "secrets": "totp-seeds", "count": sealed }),
            )?;
        }
        tx.commit().db()?;
        Ok(())
    }
}

/// One row of the `accounts` table.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)] // One flag per column.
pub(crate) struct AccountRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) human: bool,
    pub(crate) enabled: bool,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) password_hash: Option<Zeroizing<String>>,
    pub(crate) password_changed_at: Option<Timestamp>,
    pub(crate) must_change: bool,
    pub(crate) totp_secret: Option<Zeroizing<Vec<u8>>>,
    pub(crate) totp_pending: bool,
    pub(crate) totp_last_step: Option<i64>,
    pub(crate) failed_count: i64,
    pub(crate) locked: bool,
    pub(crate) locked_until: Option<Timestamp>,
    pub(crate) last_login_at: Option<Timestamp>,
}

impl AccountRow {
    /// Whether the account is locked at `now` (an expired temporary lock is not).
    pub(crate) fn is_locked(&self, now: Timestamp) -> bool {
        self.locked && self.locked_until.is_none_or(|until| now < until)
    }

    /// Whether the account has expired at `now`.
    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub(crate) fn actor(&self) -> Actor {
        Actor::new(
            if self.human {
                ActorKind::User
            } else {
                ActorKind::Process
            },
            self.name.clone(),
        )
    }
}

const ACCOUNT_COLUMNS: &str = "id, name, kind, enabled, created_at, expires_at, password_hash, \
password_changed_at, must_change_password, totp_secret, totp_pending IS NOT NULL, totp_last_step, \
failed_count, locked, locked_until, last_login_at";

fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawAccount> {
    Ok(RawAccount {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        enabled: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        password_hash: r.get::<_, Option<String>>(6)?.map(Zeroizing::new),
        password_changed_at: r.get(7)?,
        must_change: r.get(8)?,
        totp_secret: r.get::<_, Option<Vec<u8>>>(9)?.map(Zeroizing::new),
        totp_pending: r.get(10)?,
        totp_last_step: r.get(11)?,
        failed_count: r.get(12)?,
        locked: r.get(13)?,
        locked_until: r.get(14)?,
        last_login_at: r.get(15)?,
    })
}

/// A row as `SQLite` hands it over, before times are checked.
#[allow(clippy::struct_excessive_bools)] // One flag per column.
struct RawAccount {
    id: i64,
    name: String,
    kind: String,
    enabled: bool,
    created_at: i64,
    expires_at: Option<i64>,
    password_hash: Option<Zeroizing<String>>,
    password_changed_at: Option<i64>,
    must_change: bool,
    totp_secret: Option<Zeroizing<Vec<u8>>>,
    totp_pending: bool,
    totp_last_step: Option<i64>,
    failed_count: i64,
    locked: bool,
    locked_until: Option<i64>,
    last_login_at: Option<i64>,
}

impl RawAccount {
    fn check(self) -> Result<AccountRow, StorageError> {
        Ok(AccountRow {
            id: self.id,
            name: self.name,
            human: self.kind == "human",
            enabled: self.enabled,
            created_at: ts(self.created_at)?,
            expires_at: opt_ts(self.expires_at)?,
            password_hash: self.password_hash,
            password_changed_at: opt_ts(self.password_changed_at)?,
            must_change: self.must_change,
            totp_secret: self.totp_secret,
            totp_pending: self.totp_pending,
            totp_last_step: self.totp_last_step,
            failed_count: self.failed_count,
            locked: self.locked,
            locked_until: opt_ts(self.locked_until)?,
            last_login_at: opt_ts(self.last_login_at)?,
        })
    }
}

/// The roles, permissions and overrides an account holds.
#[derive(Debug, Default)]
pub(crate) struct Grants {
    pub(crate) roles: Vec<RoleName>,
    pub(crate) mfa_required: bool,
    pub(crate) permissions: PermissionSet,
    pub(crate) overrides: Vec<HeldOverride>,
}

impl Identity {
    /// Starts building a service on the store at `path` (for example `DATA/identity.db`),
    /// recording decisions through `recorder`.
    pub fn builder(path: impl Into<PathBuf>, recorder: Arc<dyn AuditRecorder>) -> IdentityBuilder {
        IdentityBuilder {
            path: path.into(),
            recorder,
            config: IdentityConfig::default(),
            clock: Arc::new(SystemClock::new()),
            blocklist: None,
            kek: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Argon2id verifications performed so far, by logins, password changes and dummy
    /// verifications for unknown accounts. Lets tests and metrics show that every login path
    /// does the same work.
    pub fn password_verifications(&self) -> u64 {
        self.hasher.verifications()
    }

    /// The system use notification to show before login (CR 1.12).
    ///
    /// # Errors
    /// [`IdentityError::Storage`] when the store fails.
    pub fn banner(&self) -> Result<String, IdentityError> {
        let conn = self.db();
        Ok(store::setting(&conn, "banner")?.unwrap_or_else(|| DEFAULT_BANNER.to_owned()))
    }

    /// Replaces the system use notification (CR 1.12). Needs [`Permission::ConfigChange`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`]; [`IdentityError::Invalid`] for an empty banner or one longer
    /// than 4096 characters; audit and storage errors.
    pub fn set_banner(
        &self,
        actor: &AuthenticatedPrincipal,
        text: &str,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::ConfigChange, None)?;
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > MAX_BANNER_CHARS {
            return Err(IdentityError::Invalid(format!(
                "banner must be 1 to {MAX_BANNER_CHARS} characters, got {chars}"
            )));
        }
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('banner', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [text],
        )
        .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "banner-set",
            None,
            AuditOutcome::Success,
            json!({ "length": chars }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// A principal for the operating-system user `os_user` at the local console: the CLI
    /// working on the data directory, which can read the store anyway. It holds every
    /// permission but is still subject to dual approval. The login is audited.
    ///
    /// # Errors
    /// [`IdentityError::Invalid`] for an empty or overlong name or one with control
    /// characters; [`IdentityError::AuditUnavailable`].
    pub fn local_console(&self, os_user: &str) -> Result<AuthenticatedPrincipal, IdentityError> {
        if os_user.is_empty() || os_user.len() > 256 || os_user.chars().any(char::is_control) {
            return Err(IdentityError::Invalid(format!(
                "operating-system user name {os_user:?} is not usable as an actor"
            )));
        }
        let now = self.now();
        let principal = AuthenticatedPrincipal {
            actor: Actor::new(ActorKind::User, os_user),
            account_id: None,
            account: None,
            roles: vec![RoleName::parse(ADMIN_ROLE)?],
            permissions: PermissionSet::all(),
            overrides: Vec::new(),
            restriction: None,
            approval: None,
            method: AuthMethod::LocalConsole,
            origin: Origin::local_console(),
            authenticated_at: now,
            session: None,
        };
        self.record_for(
            &principal,
            AuditCategory::AccessControl,
            "login",
            Some(os_user),
            AuditOutcome::Success,
            json!({ "method": AuthMethod::LocalConsole.as_str() }),
        )?;
        Ok(principal)
    }

    // ----- shared helpers -------------------------------------------------------------

    pub(crate) fn db(&self) -> MutexGuard<'_, Connection> {
        // A thread that panicked while holding the lock dropped its transaction, which rolls
        // back, so the connection is consistent.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The time on the identity service's clock: the one expiry, lockout and TOTP use.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Records a decision taken by `actor` from `origin`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_as(
        &self,
        actor: &Actor,
        origin: &Origin,
        category: AuditCategory,
        action: &str,
        target: Option<&str>,
        outcome: AuditOutcome,
        details: Value,
    ) -> Result<(), crate::audit::AuditUnavailable> {
        self.recorder.record(AuditRecord {
            category,
            action: action.to_owned(),
            actor: actor.clone(),
            source: origin.address,
            interface: origin.interface.clone(),
            target: target.map(str::to_owned),
            outcome,
            details,
        })
    }

    /// Records a decision taken by `principal`.
    pub(crate) fn record_for(
        &self,
        principal: &AuthenticatedPrincipal,
        category: AuditCategory,
        action: &str,
        target: Option<&str>,
        outcome: AuditOutcome,
        details: Value,
    ) -> Result<(), crate::audit::AuditUnavailable> {
        self.record_as(
            &principal.actor,
            &principal.origin,
            category,
            action,
            target,
            outcome,
            details,
        )
    }

    /// Authorises `actor` for `permission` (on `target`), as an [`IdentityError`].
    pub(crate) fn require(
        &self,
        actor: &AuthenticatedPrincipal,
        permission: Permission,
        target: Option<&str>,
    ) -> Result<(), IdentityError> {
        self.decide(actor, permission, target)
            .map_err(IdentityError::from)
    }

    /// Fails unless `actor` is not restricted (must change password or enrol MFA).
    pub(crate) fn require_unrestricted(
        &self,
        actor: &AuthenticatedPrincipal,
        permission: Permission,
    ) -> Result<(), IdentityError> {
        match actor.restriction {
            Some(reason) => Ok(self.deny(actor, permission, None, reason)?),
            None => Ok(()),
        }
    }

    /// `count` bytes from the random source of the vault's process default crypto provider
    /// (the operating system's).
    pub(crate) fn random_bytes(count: usize) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
        rampart_vault::crypto::CryptoProvider::process_default()
            .random_vec(count)
            .map_err(|e| IdentityError::Random(e.to_string()))
    }

    pub(crate) fn load_account(
        conn: &Connection,
        name: &str,
    ) -> Result<Option<AccountRow>, StorageError> {
        conn.query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = ?1"),
            [name],
            account_from_row,
        )
        .optional()
        .db()?
        .map(RawAccount::check)
        .transpose()
    }

    pub(crate) fn load_account_by_id(
        conn: &Connection,
        id: i64,
    ) -> Result<Option<AccountRow>, StorageError> {
        conn.query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
            [id],
            account_from_row,
        )
        .optional()
        .db()?
        .map(RawAccount::check)
        .transpose()
    }

    pub(crate) fn require_account(
        conn: &Connection,
        name: &AccountName,
    ) -> Result<AccountRow, IdentityError> {
        Self::load_account(conn, name.as_str())?
            .ok_or_else(|| IdentityError::AccountNotFound(name.to_string()))
    }

    /// The roles, permissions and live overrides of an account.
    pub(crate) fn grants(
        conn: &Connection,
        account_id: i64,
        now: Timestamp,
    ) -> Result<Grants, StorageError> {
        let mut grants = Grants::default();
        let mut stmt = conn
            .prepare_cached(
                "SELECT r.name, r.mfa_required FROM account_roles ar JOIN roles r ON r.name = ar.role
                 WHERE ar.account_id = ?1 ORDER BY r.name",
            )
            .db()?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
            })
            .db()?;
        for row in rows {
            let (name, mfa) = row.db()?;
            if let Ok(role) = RoleName::parse(&name) {
                grants.roles.push(role);
            }
            grants.mfa_required |= mfa;
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT rp.permission FROM account_roles ar
                 JOIN role_permissions rp ON rp.role = ar.role WHERE ar.account_id = ?1",
            )
            .db()?;
        let rows = stmt
            .query_map([account_id], |r| r.get::<_, String>(0))
            .db()?;
        for row in rows {
            // A permission this version does not know (from a newer one) grants nothing.
            if let Ok(p) = row.db()?.parse::<Permission>() {
                grants.permissions.insert(p);
            }
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT permission, expires_at FROM overrides
                 WHERE account_id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
            )
            .db()?;
        let rows = stmt
            .query_map(params![account_id, now.as_second()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .db()?;
        for row in rows {
            let (permission, expires_at) = row.db()?;
            if let Ok(permission) = permission.parse::<Permission>() {
                grants.overrides.push(HeldOverride {
                    permission,
                    expires_at: ts(expires_at)?,
                });
            }
        }
        Ok(grants)
    }

    /// The permissions of one role, or `None` when there is no such role.
    pub(crate) fn role_permissions(
        conn: &Connection,
        role: &str,
    ) -> Result<Option<PermissionSet>, StorageError> {
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM roles WHERE name = ?1)",
                [role],
                |r| r.get(0),
            )
            .db()?;
        if !exists {
            return Ok(None);
        }
        let mut stmt = conn
            .prepare_cached("SELECT permission FROM role_permissions WHERE role = ?1")
            .db()?;
        let rows = stmt.query_map([role], |r| r.get::<_, String>(0)).db()?;
        let mut set = PermissionSet::EMPTY;
        for row in rows {
            if let Ok(p) = row.db()?.parse::<Permission>() {
                set.insert(p);
            }
        }
        Ok(Some(set))
    }

    /// Whether MFA is required for an account holding `grants`.
    pub(crate) fn mfa_required(&self, grants: &Grants) -> bool {
        self.config.mfa.required_for_all
            || grants.mfa_required
            || grants
                .permissions
                .iter()
                .any(|p| self.config.mfa.required_for_permissions.contains(p))
    }

    /// Builds the principal for an account that has just authenticated.
    pub(crate) fn principal_for(
        &self,
        row: &AccountRow,
        grants: Grants,
        method: AuthMethod,
        origin: &Origin,
        now: Timestamp,
        session: Option<i64>,
    ) -> AuthenticatedPrincipal {
        let restriction = if !row.human || method == AuthMethod::ApiToken {
            None
        } else if row.must_change || self.password_expired(row, now) {
            Some(DenyReason::PasswordChangeRequired)
        } else if self.mfa_required(&grants) && row.totp_secret.is_none() {
            Some(DenyReason::MfaEnrolmentRequired)
        } else {
            None
        };
        let name = AccountName::parse(&row.name).ok();
        AuthenticatedPrincipal {
            actor: row.actor(),
            account_id: Some(row.id),
            account: name,
            roles: grants.roles,
            permissions: grants.permissions,
            overrides: grants.overrides,
            restriction,
            approval: None,
            method,
            origin: origin.clone(),
            authenticated_at: now,
            session,
        }
    }

    /// Whether the password has outlived the configured maximum lifetime (CR 1.7 RE 1).
    pub(crate) fn password_expired(&self, row: &AccountRow, now: Timestamp) -> bool {
        match (self.config.password.max_lifetime, row.password_changed_at) {
            (Some(max), Some(changed)) => changed
                .checked_add(max)
                .is_ok_and(|deadline| deadline <= now),
            _ => false,
        }
    }

    /// Whether removing admin rights from `account_id` would leave no enabled, unexpired
    /// human account with the admin role.
    pub(crate) fn is_last_admin(
        conn: &Connection,
        account_id: i64,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let is_admin: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM account_roles ar JOIN accounts a ON a.id = ar.account_id
                 WHERE ar.account_id = ?1 AND ar.role = ?2 AND a.enabled = 1 AND a.kind = 'human'
                   AND (a.expires_at IS NULL OR a.expires_at > ?3))",
                params![account_id, ADMIN_ROLE, now.as_second()],
                |r| r.get(0),
            )
            .db()?;
        if !is_admin {
            return Ok(false);
        }
        let others: i64 = conn
            .query_row(
                "SELECT count(*) FROM account_roles ar JOIN accounts a ON a.id = ar.account_id
                 WHERE ar.role = ?1 AND a.id != ?2 AND a.enabled = 1 AND a.kind = 'human'
                   AND (a.expires_at IS NULL OR a.expires_at > ?3)",
                params![ADMIN_ROLE, account_id, now.as_second()],
                |r| r.get(0),
            )
            .db()?;
        Ok(others == 0)
    }

    /// Deletes every session of an account; returns how many there were.
    pub(crate) fn drop_sessions(conn: &Connection, account_id: i64) -> Result<usize, StorageError> {
        conn.execute("DELETE FROM sessions WHERE account_id = ?1", [account_id])
            .db()
    }

    /// Whether `actor` is the account `account_id`.
    pub(crate) fn is_self(actor: &AuthenticatedPrincipal, account_id: i64) -> bool {
        actor.account_id == Some(account_id)
    }

    /// Whether an account name or role name has ever been used.
    pub(crate) fn is_reserved(
        conn: &Connection,
        kind: &str,
        name: &str,
    ) -> Result<bool, StorageError> {
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM reserved_names WHERE kind = ?1 AND name = ?2)",
            params![kind, name],
            |r| r.get(0),
        )
        .db()
    }

    /// Reserves a name for ever (CR 1.4).
    pub(crate) fn reserve(
        conn: &Connection,
        kind: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<(), StorageError> {
        conn.execute(
            "INSERT INTO reserved_names (kind, name, reserved_at) VALUES (?1, ?2, ?3)",
            params![kind, name, now.as_second()],
        )
        .db()
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Identity>();
        assert_send_sync::<AuthenticatedPrincipal>();
    }
}
