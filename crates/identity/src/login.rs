//! Login: human user authentication (CR 1.1), authenticator feedback (CR 1.10) and
//! unsuccessful login attempts (CR 1.11).

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::{Actor, AuditCategory, AuditOutcome};
use crate::error::{DbResult, IdentityError, LoginError, StorageError};
use crate::names::AccountName;
use crate::password::{Password, Verification};
use crate::principal::{AuthMethod, AuthenticatedPrincipal, Origin};
use crate::service::{AccountRow, Identity};
use crate::totp;

impl Identity {
    /// Authenticates a human user by name, password and (when enrolled) TOTP code.
    ///
    /// Every failure is the same [`LoginError::Failed`] (CR 1.10): unknown account, wrong
    /// password, wrong or replayed code, locked, disabled or expired account, throttled
    /// source. The audit record says which. An unknown account is verified against a dummy
    /// hash, so each attempt that reaches the password check costs exactly one Argon2id
    /// verification whether or not the account exists.
    ///
    /// Failures count towards the account's lockout (CR 1.11: `lockout.max_failures` within
    /// `lockout.window` lock it for `lockout.lock_for`, or until an administrator unlocks it)
    /// and towards the source address's budget (`throttle`): a source that has used up its
    /// budget is refused without touching any account, so one attacker cannot lock out every
    /// account cheaply.
    ///
    /// A successful login may return a restricted principal: one that must change its
    /// initial or expired password, or enrol in MFA, before [`Identity::authorize`] allows
    /// anything. A password hashed with weaker parameters than configured is rehashed.
    ///
    /// # Errors
    /// [`LoginError::Failed`]; [`LoginError::AuditUnavailable`] when the outcome cannot be
    /// recorded (then nobody is logged in); [`LoginError::Storage`].
    pub fn authenticate(
        &self,
        name: &str,
        password: &Password,
        totp_code: Option<&str>,
        origin: &Origin,
    ) -> Result<AuthenticatedPrincipal, LoginError> {
        let now = self.now();
        if password.exceeds_hard_limit() {
            return self.login_failed(None, origin, "oversized-password");
        }
        if let Some(address) = origin.address {
            let blocked = {
                let conn = self.db();
                source_blocked(&conn, &address.to_string(), now)?
            };
            if blocked {
                return self.login_failed(None, origin, "source-throttled");
            }
        }
        let row = match AccountName::parse(name) {
            Ok(n) => {
                let conn = self.db();
                Self::load_account(&conn, n.as_str())?
            }
            Err(_) => None,
        };
        // Exactly one Argon2id verification on every path from here, outside the store lock.
        let (row, verified) = match row {
            Some(row) if row.human && row.password_hash.is_some() => {
                let stored = row
                    .password_hash
                    .as_deref()
                    .map(String::as_str)
                    .unwrap_or_default();
                let v = self.hasher.verify(password, stored);
                (row, v)
            }
            other => {
                self.hasher.verify_dummy(password);
                self.count_source_failure(origin, now)?;
                self.note_uncounted_failure()?;
                return match other {
                    // A process account has no password: a failure against a known name.
                    Some(row) => self.login_failed(Some(&row.name), origin, "no-password"),
                    // The attempted name is not recorded: it may be a mistyped password.
                    None => self.login_failed(None, origin, "unknown-account"),
                };
            }
        };
        let rehash = match verified {
            Verification::Match { rehash } => rehash,
            Verification::Mismatch => {
                return self.fail_known(&row, origin, now, "bad-password", true);
            }
        };
        if row.is_locked(now) {
            return self.fail_known(&row, origin, now, "account-locked", false);
        }
        if self.locked_for_source(row.id, origin, now)? {
            return self.fail_known(&row, origin, now, "account-locked-for-source", false);
        }
        if !row.enabled {
            return self.fail_known(&row, origin, now, "account-disabled", false);
        }
        if row.is_expired(now) {
            return self.fail_known(&row, origin, now, "account-expired", false);
        }
        let grants = {
            let conn = self.db();
            Self::grants(&conn, row.id, now)?
        };
        let mut method = AuthMethod::Password;
        let mut used_step = None;
        if let Some(stored) = &row.totp_secret {
            let secret = self.open_totp(row.id, stored)?;
            let Some(step) =
                totp_code.and_then(|c| totp::verify(&secret, c, now, row.totp_last_step))
            else {
                let reason = if totp_code.is_some() {
                    "bad-totp"
                } else {
                    "missing-totp"
                };
                return self.fail_known(&row, origin, now, reason, true);
            };
            used_step = Some(step);
            method = AuthMethod::PasswordAndTotp;
        }
        let new_hash = if rehash {
            Some(Zeroizing::new(self.hasher.hash(password).map_err(|e| {
                StorageError::new(format!("rehashing failed: {e}"))
            })?))
        } else {
            None
        };
        let principal = self.principal_for(&row, grants, method, origin, now, None);
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        // The code's step is only consumed if it is still later than the last one used, so two
        // concurrent logins cannot both use it.
        if let Some(step) = used_step {
            let claimed = tx
                .execute(
                    "UPDATE accounts SET totp_last_step = ?2
                     WHERE id = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
                    params![row.id, step],
                )
                .db()?;
            if claimed != 1 {
                drop(tx);
                drop(conn);
                return self.fail_known(&row, origin, now, "replayed-totp", true);
            }
        }
        tx.execute(
            "UPDATE accounts SET failed_count = 0, failure_window_start = NULL, locked = 0,
                                 locked_until = NULL, last_login_at = ?2 WHERE id = ?1",
            params![row.id, now.as_second()],
        )
        .db()?;
        tx.execute(
            "DELETE FROM account_source_lockouts WHERE account_id = ?1 AND source = ?2",
            params![row.id, source_key(origin)],
        )
        .db()?;
        if let Some(hash) = &new_hash {
            tx.execute(
                "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
                params![row.id, hash.as_str()],
            )
            .db()?;
        }
        self.record_as(
            &principal.actor,
            origin,
            AuditCategory::AccessControl,
            "login",
            Some(&row.name),
            AuditOutcome::Success,
            json!({
                "method": method.as_str(),
                "password_change_required": principal.password_change_required(),
                "mfa_enrolment_required": principal.mfa_enrolment_required(),
                "rehashed": new_hash.is_some(),
            }),
        )?;
        tx.commit().db()?;
        Ok(principal)
    }

    /// Records a failed login against a known account; counts it when `counts`.
    fn fail_known(
        &self,
        row: &AccountRow,
        origin: &Origin,
        now: Timestamp,
        reason: &str,
        counts: bool,
    ) -> Result<AuthenticatedPrincipal, LoginError> {
        self.count_source_failure(origin, now)?;
        if counts {
            self.register_failure(row, origin, now, reason)
                .map_err(login_error)?;
            Err(LoginError::Failed)
        } else {
            self.note_uncounted_failure()?;
            self.login_failed(Some(&row.name), origin, reason)
        }
    }

    /// A failure that counts against no account (unknown, locked, disabled or expired)
    /// still writes to the store, as much as a counted one does, so that the store's work does
    /// not tell them apart.
    fn note_uncounted_failure(&self) -> Result<(), StorageError> {
        self.db()
            .execute(
                "INSERT INTO settings (key, value) VALUES ('uncounted-login-failures', '1')
                 ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                [],
            )
            .db()
            .map(|_| ())
    }

    /// Records a failed login and returns the generic error.
    fn login_failed(
        &self,
        target: Option<&str>,
        origin: &Origin,
        reason: &str,
    ) -> Result<AuthenticatedPrincipal, LoginError> {
        self.record_as(
            &Actor::anonymous(),
            origin,
            AuditCategory::AccessControl,
            "login",
            target,
            AuditOutcome::Failure,
            json!({ "reason": reason }),
        )?;
        Err(LoginError::Failed)
    }

    /// Counts a failed authentication against an account and locks it at the threshold
    /// (CR 1.11). The count is stored even if the audit record fails: it only protects.
    pub(crate) fn register_failure(
        &self,
        row: &AccountRow,
        origin: &Origin,
        now: Timestamp,
        reason: &str,
    ) -> Result<(), IdentityError> {
        let policy = self.config.lockout;
        let window_floor = now
            .checked_sub(policy.window)
            .map_or(i64::MIN, Timestamp::as_second);
        let locked_until = policy.lock_for.and_then(|d| now.checked_add(d).ok());
        let last_admin = {
            let conn = self.db();
            would_leave_no_administrator(&conn, row.id, now)?
        };
        if last_admin {
            return self.register_source_failure(row, origin, now, reason, locked_until);
        }
        // One atomic update per step, so that concurrent failures (verification runs outside
        // the store lock) are all counted and lock the account exactly once.
        let (count, lock) = {
            let conn = self.db();
            let count: i64 = conn
                .query_row(
                    "UPDATE accounts SET
                         failed_count = CASE WHEN failure_window_start > ?2
                                             THEN failed_count + 1 ELSE 1 END,
                         failure_window_start = CASE WHEN failure_window_start > ?2
                                                     THEN failure_window_start ELSE ?3 END
                     WHERE id = ?1 RETURNING failed_count",
                    params![row.id, window_floor, now.as_second()],
                    |r| r.get(0),
                )
                .db()?;
            let lock = count >= i64::from(policy.max_failures)
                && conn
                    .execute(
                        "UPDATE accounts SET locked = 1, locked_until = ?3
                         WHERE id = ?1
                           AND NOT (locked = 1 AND (locked_until IS NULL OR locked_until > ?2))",
                        params![
                            row.id,
                            now.as_second(),
                            locked_until.map(Timestamp::as_second)
                        ],
                    )
                    .db()?
                    == 1;
            (count, lock)
        };
        self.record_counted_failure(
            row,
            origin,
            json!({ "reason": reason, "failures": count }),
            lock.then(|| {
                json!({
                    "failures": count,
                    "window": format!("{:#}", policy.window),
                    "locked_until": locked_until.map(|t| t.to_string()),
                })
            }),
        )
    }

    /// Records a counted login failure and, when it locked the account, the lockout.
    fn record_counted_failure(
        &self,
        row: &AccountRow,
        origin: &Origin,
        failure: serde_json::Value,
        lockout: Option<serde_json::Value>,
    ) -> Result<(), IdentityError> {
        let record = |action: &str, outcome: AuditOutcome, details: serde_json::Value| {
            self.record_as(
                &Actor::anonymous(),
                origin,
                AuditCategory::AccessControl,
                action,
                Some(&row.name),
                outcome,
                details,
            )
        };
        record("login", AuditOutcome::Failure, failure)?;
        if let Some(details) = lockout {
            record("lockout", AuditOutcome::Success, details)?;
        }
        Ok(())
    }

    /// As [`Identity::register_failure`], for an account whose lockout would leave no usable
    /// administrator: the account is locked for this source only, so that an anonymous source
    /// cannot lock out every administrator, while its guessing stops all the same (CR 1.11).
    fn register_source_failure(
        &self,
        row: &AccountRow,
        origin: &Origin,
        now: Timestamp,
        reason: &str,
        locked_until: Option<Timestamp>,
    ) -> Result<(), IdentityError> {
        let policy = self.config.lockout;
        let window_floor = now
            .checked_sub(policy.window)
            .map_or(i64::MIN, Timestamp::as_second);
        let source = source_key(origin);
        let (count, lock) = {
            let conn = self.db();
            let count: i64 = conn
                .query_row(
                    "INSERT INTO account_source_lockouts (account_id, source, failures, window_start)
                     VALUES (?1, ?2, 1, ?4)
                     ON CONFLICT (account_id, source) DO UPDATE SET
                         failures = CASE WHEN window_start > ?3 THEN failures + 1 ELSE 1 END,
                         window_start = CASE WHEN window_start > ?3 THEN window_start ELSE ?4 END
                     RETURNING failures",
                    params![row.id, source, window_floor, now.as_second()],
                    |r| r.get(0),
                )
                .db()?;
            let lock = count >= i64::from(policy.max_failures)
                && conn
                    .execute(
                        "UPDATE account_source_lockouts SET locked_until = ?4
                         WHERE account_id = ?1 AND source = ?2
                           AND NOT (locked_until IS NOT NULL AND locked_until > ?3)",
                        params![
                            row.id,
                            source,
                            now.as_second(),
                            // Locked until an administrator unlocks: for ever, as far as the
                            // column goes.
                            locked_until.map_or(i64::MAX, Timestamp::as_second)
                        ],
                    )
                    .db()?
                    == 1;
            (count, lock)
        };
        self.record_counted_failure(
            row,
            origin,
            json!({ "reason": reason, "failures": count, "counted_for": "source" }),
            lock.then(|| {
                json!({
                    "failures": count,
                    "scope": "source",
                    "why": "locking the account everywhere would leave no usable administrator",
                    "window": format!("{:#}", policy.window),
                    "locked_until": locked_until.map(|t| t.to_string()),
                })
            }),
        )
    }

    /// Whether the account is locked for the origin's source address.
    fn locked_for_source(
        &self,
        account_id: i64,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        self.db()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM account_source_lockouts
                 WHERE account_id = ?1 AND source = ?2 AND locked_until > ?3)",
                params![account_id, source_key(origin), now.as_second()],
                |r| r.get(0),
            )
            .db()
    }

    /// Counts a failure against the source address and blocks it at the threshold.
    fn count_source_failure(&self, origin: &Origin, now: Timestamp) -> Result<(), LoginError> {
        let Some(address) = origin.address else {
            return Ok(());
        };
        let policy = self.config.throttle;
        let source = address.to_string();
        let blocked_now = {
            let conn = self.db();
            let row: Option<(i64, i64)> = conn
                .query_row(
                    "SELECT failures, window_start FROM source_throttle WHERE source = ?1",
                    [&source],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .db()?;
            let (failures, start) = match row {
                Some((f, start))
                    if crate::store::ts(start)?
                        .checked_add(policy.window)
                        .is_ok_and(|end| now < end) =>
                {
                    (f + 1, start)
                }
                _ => (1, now.as_second()),
            };
            let block = failures >= i64::from(policy.max_failures);
            let until = now
                .checked_add(policy.block_for)
                .ok()
                .map(Timestamp::as_second);
            conn.execute(
                "INSERT INTO source_throttle (source, failures, window_start, blocked_until)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (source) DO UPDATE SET failures = excluded.failures,
                     window_start = excluded.window_start, blocked_until = excluded.blocked_until",
                params![source, failures, start, if block { until } else { None }],
            )
            .db()?;
            // Forget sources whose window and block are over, so the table stays small.
            let horizon = now
                .checked_sub(policy.window)
                .map_or(i64::MIN, Timestamp::as_second);
            conn.execute(
                "DELETE FROM source_throttle WHERE window_start < ?1
                 AND (blocked_until IS NULL OR blocked_until < ?2)",
                params![horizon, now.as_second()],
            )
            .db()?;
            block
        };
        if blocked_now {
            self.record_as(
                &Actor::anonymous(),
                origin,
                AuditCategory::AccessControl,
                "source-throttle",
                None,
                AuditOutcome::Success,
                json!({
                    "failures": policy.max_failures,
                    "blocked_for": format!("{:#}", policy.block_for),
                }),
            )?;
        }
        Ok(())
    }
}

fn source_blocked(conn: &Connection, source: &str, now: Timestamp) -> Result<bool, StorageError> {
    let until: Option<Option<i64>> = conn
        .query_row(
            "SELECT blocked_until FROM source_throttle WHERE source = ?1",
            [source],
            |r| r.get(0),
        )
        .optional()
        .db()?;
    Ok(until.flatten().is_some_and(|u| now.as_second() < u))
}

fn login_error(e: IdentityError) -> LoginError {
    match e {
        IdentityError::AuditUnavailable(a) => LoginError::AuditUnavailable(a),
        IdentityError::Storage(s) => LoginError::Storage(s),
        other => LoginError::Storage(StorageError::new(other.to_string())),
    }
}

/// The key under which per-source lockouts are kept: the address, or "" when unknown.
fn source_key(origin: &Origin) -> String {
    origin.address.map(|a| a.to_string()).unwrap_or_default()
}

/// Whether locking `account_id` would leave no usable administrator: it holds the admin role
/// and no other enabled, unexpired, unlocked human account does.
fn would_leave_no_administrator(
    conn: &Connection,
    account_id: i64,
    now: Timestamp,
) -> Result<bool, StorageError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM account_roles WHERE account_id = ?1 AND role = ?2)
            AND NOT EXISTS (
                SELECT 1 FROM account_roles ar JOIN accounts a ON a.id = ar.account_id
                WHERE ar.role = ?2 AND a.id != ?1 AND a.enabled = 1 AND a.kind = 'human'
                  AND (a.expires_at IS NULL OR a.expires_at > ?3)
                  AND NOT (a.locked = 1 AND (a.locked_until IS NULL OR a.locked_until > ?3)))",
        params![account_id, crate::permission::ADMIN_ROLE, now.as_second()],
        |r| r.get(0),
    )
    .db()
}
