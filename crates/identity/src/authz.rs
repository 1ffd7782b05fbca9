//! Authorisation (CR 2.1): the one decision function, supervisor override (RE 3) and dual
//! approval (RE 4).

use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditCategory, AuditOutcome};
use crate::error::{DbResult, Denied, DenyReason, IdentityError};
use crate::names::AccountName;
use crate::permission::Permission;
use crate::principal::{AuthenticatedPrincipal, HeldApproval, actor_kind_str};
use crate::service::Identity;
use crate::store::{opt_ts, ts};

/// The longest reason accepted for an override or approval, in characters.
pub const MAX_REASON_CHARS: usize = 1024;

impl Identity {
    /// Decides whether `principal` may use `permission`. Every authorisation goes through this
    /// function (or [`Identity::authorize_target`]); anything not granted is denied.
    ///
    /// A principal is allowed when one of its roles grants the permission, or a live supervisor
    /// override does, and it is not restricted (initial password, MFA enrolment), and — for
    /// permissions configured for dual approval — it carries a redeemed approval for exactly
    /// this permission and no target. The common case is a bit test; denials, override use and
    /// approval use are audited.
    ///
    /// # Errors
    /// [`Denied`] with the reason. If the decision cannot be audited where auditing is
    /// required, the answer is [`DenyReason::AuditUnavailable`].
    #[inline]
    pub fn authorize(
        &self,
        principal: &AuthenticatedPrincipal,
        permission: Permission,
    ) -> Result<(), Denied> {
        self.decide(principal, permission, None)
    }

    /// As [`Identity::authorize`], for an action on a named `target` (for example the account
    /// being removed). A dual approval only covers the target it was requested for.
    ///
    /// # Errors
    /// As [`Identity::authorize`].
    pub fn authorize_target(
        &self,
        principal: &AuthenticatedPrincipal,
        permission: Permission,
        target: &str,
    ) -> Result<(), Denied> {
        self.decide(principal, permission, Some(target))
    }

    #[inline]
    pub(crate) fn decide(
        &self,
        principal: &AuthenticatedPrincipal,
        permission: Permission,
        target: Option<&str>,
    ) -> Result<(), Denied> {
        if principal.permissions.contains(permission)
            && principal.restriction.is_none()
            && !self.config.approvals.required_for.contains(permission)
        {
            return Ok(());
        }
        self.decide_slowly(principal, permission, target)
    }

    #[cold]
    fn decide_slowly(
        &self,
        principal: &AuthenticatedPrincipal,
        permission: Permission,
        target: Option<&str>,
    ) -> Result<(), Denied> {
        if let Some(reason) = principal.restriction {
            return self.deny(principal, permission, target, reason);
        }
        let now = self.now();
        let by_role = principal.permissions.contains(permission);
        let by_override = !by_role
            && principal
                .overrides
                .iter()
                .any(|o| o.permission == permission && now < o.expires_at);
        if !by_role && !by_override {
            return self.deny(principal, permission, target, DenyReason::MissingPermission);
        }
        if self.config.approvals.required_for.contains(permission) {
            match &principal.approval {
                Some(a)
                    if a.permission == permission
                        && a.target.as_deref() == target
                        && now <= a.valid_until =>
                {
                    if self
                        .record_for(
                            principal,
                            AuditCategory::AccessControl,
                            "approval-use",
                            target,
                            AuditOutcome::Success,
                            json!({ "permission": permission.as_str(), "approval": a.id }),
                        )
                        .is_err()
                    {
                        return Err(Self::denied(
                            principal,
                            permission,
                            DenyReason::AuditUnavailable,
                        ));
                    }
                }
                Some(_) => {
                    return self.deny(principal, permission, target, DenyReason::ApprovalMismatch);
                }
                None => {
                    return self.deny(principal, permission, target, DenyReason::ApprovalRequired);
                }
            }
        }
        if by_override
            && self
                .record_for(
                    principal,
                    AuditCategory::AccessControl,
                    "override-use",
                    target,
                    AuditOutcome::Success,
                    json!({ "permission": permission.as_str() }),
                )
                .is_err()
        {
            return Err(Self::denied(
                principal,
                permission,
                DenyReason::AuditUnavailable,
            ));
        }
        Ok(())
    }

    fn denied(
        principal: &AuthenticatedPrincipal,
        permission: Permission,
        reason: DenyReason,
    ) -> Denied {
        Denied {
            permission,
            principal: principal.actor.name.clone(),
            reason,
        }
    }

    /// Records and returns a denial.
    pub(crate) fn deny(
        &self,
        principal: &AuthenticatedPrincipal,
        permission: Permission,
        target: Option<&str>,
        reason: DenyReason,
    ) -> Result<(), Denied> {
        let recorded = self.record_for(
            principal,
            AuditCategory::AccessControl,
            "authorize",
            target,
            AuditOutcome::Denied,
            json!({ "permission": permission.as_str(), "reason": reason.to_string() }),
        );
        let reason = if recorded.is_err() {
            DenyReason::AuditUnavailable
        } else {
            reason
        };
        Err(Self::denied(principal, permission, reason))
    }

    // ----- supervisor override (CR 2.1 RE 3) -------------------------------------------

    /// Grants `account` the `permission` for `duration`, on a supervisor's authority, with a
    /// stated reason. Needs [`Permission::OverrideGrant`] and the permission itself: a
    /// supervisor cannot hand out what they do not hold. Takes effect for principals derived
    /// after the grant (the next request) and ends by itself.
    ///
    /// # Errors
    /// [`IdentityError::Denied`]; [`IdentityError::Invalid`] for an empty or overlong reason,
    /// a duration that is not positive or exceeds `overrides.max_duration`, or an override for
    /// oneself; [`IdentityError::AccountNotFound`]; audit and storage errors.
    pub fn grant_override(
        &self,
        supervisor: &AuthenticatedPrincipal,
        account: &AccountName,
        permission: Permission,
        duration: SignedDuration,
        reason: &str,
    ) -> Result<OverrideInfo, IdentityError> {
        self.require(
            supervisor,
            Permission::OverrideGrant,
            Some(account.as_str()),
        )?;
        self.require(supervisor, permission, Some(account.as_str()))?;
        let reason = check_reason(reason)?;
        let max = self.config.overrides.max_duration;
        if !duration.is_positive() || duration > max {
            return Err(IdentityError::Invalid(format!(
                "override duration {duration:#} must be positive and at most {max:#}"
            )));
        }
        let now = self.now();
        let expires_at = now
            .checked_add(duration)
            .map_err(|e| IdentityError::Invalid(format!("override end out of range: {e}")))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, account)?;
        if Self::is_self(supervisor, row.id) {
            return Err(IdentityError::Invalid(
                "a supervisor cannot grant an override to themselves".into(),
            ));
        }
        tx.execute(
            "INSERT INTO overrides (account_id, permission, granted_by, reason, granted_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                row.id,
                permission.as_str(),
                supervisor.actor.name,
                reason,
                now.as_second(),
                expires_at.as_second()
            ],
        )
        .db()?;
        let id = tx.last_insert_rowid();
        self.record_for(
            supervisor,
            AuditCategory::AccessControl,
            "override-grant",
            Some(account.as_str()),
            AuditOutcome::Success,
            json!({
                "override": id,
                "permission": permission.as_str(),
                "reason": reason,
                "expires_at": expires_at.to_string(),
            }),
        )?;
        tx.commit().db()?;
        Ok(OverrideInfo {
            id,
            account: account.to_string(),
            permission,
            granted_by: supervisor.actor.name.clone(),
            reason: reason.to_owned(),
            granted_at: now,
            expires_at,
            revoked_at: None,
        })
    }

    /// Ends an override early. Needs [`Permission::OverrideGrant`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::OverrideNotFound`], audit and storage
    /// errors.
    pub fn revoke_override(
        &self,
        supervisor: &AuthenticatedPrincipal,
        id: i64,
    ) -> Result<(), IdentityError> {
        self.require(supervisor, Permission::OverrideGrant, None)?;
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let account: Option<String> = tx
            .query_row(
                "SELECT a.name FROM overrides o JOIN accounts a ON a.id = o.account_id
                 WHERE o.id = ?1 AND o.revoked_at IS NULL",
                [id],
                |r| r.get(0),
            )
            .optional()
            .db()?;
        let Some(account) = account else {
            return Err(IdentityError::OverrideNotFound(id));
        };
        tx.execute(
            "UPDATE overrides SET revoked_at = ?2 WHERE id = ?1",
            params![id, now.as_second()],
        )
        .db()?;
        self.record_for(
            supervisor,
            AuditCategory::AccessControl,
            "override-revoke",
            Some(&account),
            AuditOutcome::Success,
            json!({ "override": id }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Overrides that have not ended or been revoked. Needs [`Permission::OverrideGrant`] or
    /// [`Permission::UserView`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`] and storage errors.
    pub fn list_overrides(
        &self,
        actor: &AuthenticatedPrincipal,
    ) -> Result<Vec<OverrideInfo>, IdentityError> {
        if self.decide(actor, Permission::OverrideGrant, None).is_err() {
            self.require(actor, Permission::UserView, None)?;
        }
        let now = self.now();
        let conn = self.db();
        let mut stmt = conn
            .prepare(
                "SELECT o.id, a.name, o.permission, o.granted_by, o.reason, o.granted_at,
                        o.expires_at, o.revoked_at
                 FROM overrides o JOIN accounts a ON a.id = o.account_id
                 WHERE o.revoked_at IS NULL AND o.expires_at > ?1 ORDER BY o.id",
            )
            .db()?;
        let rows = stmt
            .query_map([now.as_second()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (id, account, permission, granted_by, reason, granted_at, expires_at, revoked_at) =
                row.db()?;
            let Ok(permission) = permission.parse() else {
                continue;
            };
            out.push(OverrideInfo {
                id,
                account,
                permission,
                granted_by,
                reason,
                granted_at: ts(granted_at)?,
                expires_at: ts(expires_at)?,
                revoked_at: opt_ts(revoked_at)?,
            });
        }
        Ok(out)
    }

    // ----- dual approval (CR 2.1 RE 4) -------------------------------------------------

    /// Asks for a second administrator's approval to use `permission` (on `target`). The
    /// permission must be one configured for dual approval and the requester must hold it.
    ///
    /// # Errors
    /// [`IdentityError::Denied`]; [`IdentityError::Invalid`] when the permission does not
    /// need approval or the reason is empty or overlong; audit and storage errors.
    pub fn request_approval(
        &self,
        requester: &AuthenticatedPrincipal,
        permission: Permission,
        target: Option<&str>,
        reason: &str,
    ) -> Result<ApprovalRequest, IdentityError> {
        // An action on an account that holds more than the requester can be approved too
        // (see `require_over_account`), whatever the configuration says.
        let on_stronger_account = match target {
            Some(t) => self.outranks(&self.db(), t, requester)?.is_some(),
            None => false,
        };
        if !self.config.approvals.required_for.contains(permission) && !on_stronger_account {
            return Err(IdentityError::Invalid(format!(
                "permission '{permission}' does not require approval"
            )));
        }
        self.require_holds(requester, permission, target)?;
        let reason = check_reason(reason)?;
        if let Some(t) = target {
            check_target(t)?;
        }
        let now = self.now();
        let expires_at = now
            .checked_add(self.config.approvals.request_lifetime)
            .map_err(|e| IdentityError::Invalid(format!("request end out of range: {e}")))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        tx.execute(
            "INSERT INTO approvals (requester_kind, requester_name, permission, target, reason,
                                    state, requested_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
            params![
                actor_kind_str(requester.actor.kind),
                requester.actor.name,
                permission.as_str(),
                target,
                reason,
                now.as_second(),
                expires_at.as_second()
            ],
        )
        .db()?;
        let id = tx.last_insert_rowid();
        self.record_for(
            requester,
            AuditCategory::AccessControl,
            "approval-request",
            target,
            AuditOutcome::Success,
            json!({ "approval": id, "permission": permission.as_str(), "reason": reason }),
        )?;
        tx.commit().db()?;
        Ok(ApprovalRequest {
            id,
            requester: requester.actor.name.clone(),
            permission,
            target: target.map(str::to_owned),
            reason: reason.to_owned(),
            state: ApprovalState::Pending,
            requested_at: now,
            expires_at,
            decided_by: None,
            decided_at: None,
        })
    }

    /// Approves a pending request. The approver must hold the permission and be a different
    /// party from the requester.
    ///
    /// # Errors
    /// [`IdentityError::SelfApproval`], [`IdentityError::Denied`],
    /// [`IdentityError::ApprovalNotFound`], [`IdentityError::ApprovalNotPending`], audit and
    /// storage errors.
    pub fn approve(
        &self,
        approver: &AuthenticatedPrincipal,
        id: i64,
        note: &str,
    ) -> Result<ApprovalRequest, IdentityError> {
        self.decide_approval(approver, id, note, true)
    }

    /// Rejects a pending request. The rules for who may decide are those of
    /// [`Identity::approve`].
    ///
    /// # Errors
    /// As [`Identity::approve`].
    pub fn reject(
        &self,
        approver: &AuthenticatedPrincipal,
        id: i64,
        note: &str,
    ) -> Result<ApprovalRequest, IdentityError> {
        self.decide_approval(approver, id, note, false)
    }

    fn decide_approval(
        &self,
        approver: &AuthenticatedPrincipal,
        id: i64,
        note: &str,
        approve: bool,
    ) -> Result<ApprovalRequest, IdentityError> {
        let note = note.trim();
        if note.chars().count() > MAX_REASON_CHARS {
            return Err(IdentityError::Invalid(format!(
                "note is longer than {MAX_REASON_CHARS} characters"
            )));
        }
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let request = load_approval(&tx, id, now)?.ok_or(IdentityError::ApprovalNotFound(id))?;
        if approver.same_party(&request.requester_kind, &request.requester) {
            let action = if approve {
                "approval-approve"
            } else {
                "approval-reject"
            };
            // The refusal is recorded; an audit failure does not change the answer.
            let _ = self.record_for(
                approver,
                AuditCategory::AccessControl,
                action,
                request.target.as_deref(),
                AuditOutcome::Denied,
                json!({ "approval": id, "reason": "self-approval" }),
            );
            return Err(IdentityError::SelfApproval(id));
        }
        if request.state != ApprovalState::Pending {
            return Err(IdentityError::ApprovalNotPending {
                id,
                state: request.state.as_str().into(),
                needed: "pending",
            });
        }
        self.require_holds(approver, request.permission, request.target.as_deref())?;
        // Approving an action on an account needs every permission that account holds: two
        // parties who both lack a right cannot hand it to each other.
        if approve
            && let Some(target) = request.target.as_deref()
            && self.outranks(&tx, target, approver)?.is_some()
        {
            self.deny(
                approver,
                request.permission,
                Some(target),
                DenyReason::TargetOutranksActor,
            )?;
        }
        let state = if approve {
            ApprovalState::Approved
        } else {
            ApprovalState::Rejected
        };
        tx.execute(
            "UPDATE approvals SET state = ?2, decided_by = ?3, decided_at = ?4, decision_note = ?5
             WHERE id = ?1",
            params![
                id,
                state.as_str(),
                approver.actor.name,
                now.as_second(),
                note
            ],
        )
        .db()?;
        self.record_for(
            approver,
            AuditCategory::AccessControl,
            if approve {
                "approval-approve"
            } else {
                "approval-reject"
            },
            request.target.as_deref(),
            AuditOutcome::Success,
            json!({
                "approval": id,
                "permission": request.permission.as_str(),
                "requester": request.requester,
                "note": note,
            }),
        )?;
        tx.commit().db()?;
        Ok(ApprovalRequest {
            state,
            decided_by: Some(approver.actor.name.clone()),
            decided_at: Some(now),
            ..request.into_public()
        })
    }

    /// Redeems an approved request: returns the requester's principal carrying the approval,
    /// for use with [`Identity::authorize`] / [`Identity::authorize_target`] within
    /// `approvals.redeem_window`. A request can be redeemed once, by its requester only.
    ///
    /// # Errors
    /// [`IdentityError::ApprovalNotFound`] (also when the principal is not the requester),
    /// [`IdentityError::ApprovalNotPending`] when it is not approved (or was redeemed or has
    /// expired); audit and storage errors.
    pub fn redeem_approval(
        &self,
        requester: &AuthenticatedPrincipal,
        id: i64,
    ) -> Result<AuthenticatedPrincipal, IdentityError> {
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let request = load_approval(&tx, id, now)?.ok_or(IdentityError::ApprovalNotFound(id))?;
        if !requester.same_party(&request.requester_kind, &request.requester) {
            return Err(IdentityError::ApprovalNotFound(id));
        }
        if request.state != ApprovalState::Approved {
            return Err(IdentityError::ApprovalNotPending {
                id,
                state: request.state.as_str().into(),
                needed: "approved",
            });
        }
        let valid_until = now
            .checked_add(self.config.approvals.redeem_window)
            .map_err(|e| IdentityError::Invalid(format!("redeem window out of range: {e}")))?;
        let changed = tx
            .execute(
                "UPDATE approvals SET state = 'redeemed' WHERE id = ?1 AND state = 'approved'",
                [id],
            )
            .db()?;
        if changed != 1 {
            return Err(IdentityError::ApprovalNotPending {
                id,
                state: "redeemed".into(),
                needed: "approved",
            });
        }
        self.record_for(
            requester,
            AuditCategory::AccessControl,
            "approval-redeem",
            request.target.as_deref(),
            AuditOutcome::Success,
            json!({ "approval": id, "permission": request.permission.as_str() }),
        )?;
        tx.commit().db()?;
        let mut principal = requester.clone();
        principal.approval = Some(HeldApproval {
            id,
            permission: request.permission,
            target: request.target,
            valid_until,
        });
        Ok(principal)
    }

    /// Approval requests, newest first; only pending ones when `pending_only`. Anyone may
    /// list the requests they made; listing all needs [`Permission::UserView`] or one of the
    /// permissions configured for dual approval.
    ///
    /// # Errors
    /// Storage errors.
    pub fn list_approvals(
        &self,
        actor: &AuthenticatedPrincipal,
        pending_only: bool,
    ) -> Result<Vec<ApprovalRequest>, IdentityError> {
        let now = self.now();
        let may_see_all = actor.restriction.is_none()
            && (actor.permissions.contains(Permission::UserView)
                || self
                    .config
                    .approvals
                    .required_for
                    .iter()
                    .any(|p| actor.permissions.contains(p)));
        let conn = self.db();
        let mut stmt = conn
            .prepare("SELECT id FROM approvals ORDER BY id DESC")
            .db()?;
        let ids: Vec<i64> = stmt
            .query_map([], |r| r.get(0))
            .db()?
            .collect::<Result<_, _>>()
            .db()?;
        let mut out = Vec::new();
        for id in ids {
            let Some(r) = load_approval(&conn, id, now)? else {
                continue;
            };
            if pending_only && r.state != ApprovalState::Pending {
                continue;
            }
            if may_see_all || actor.same_party(&r.requester_kind, &r.requester) {
                out.push(r.into_public());
            }
        }
        Ok(out)
    }

    /// Like [`Identity::require`], but ignoring dual approval: the principal holds the
    /// permission by role or live override and is unrestricted.
    fn require_holds(
        &self,
        principal: &AuthenticatedPrincipal,
        permission: Permission,
        target: Option<&str>,
    ) -> Result<(), IdentityError> {
        if let Some(reason) = principal.restriction {
            self.deny(principal, permission, target, reason)?;
        }
        let now = self.now();
        let holds = principal.permissions.contains(permission)
            || principal
                .overrides
                .iter()
                .any(|o| o.permission == permission && now < o.expires_at);
        if !holds {
            self.deny(principal, permission, target, DenyReason::MissingPermission)?;
        }
        Ok(())
    }
}

fn check_reason(reason: &str) -> Result<&str, IdentityError> {
    let reason = reason.trim();
    let chars = reason.chars().count();
    if reason.is_empty() || chars > MAX_REASON_CHARS {
        return Err(IdentityError::Invalid(format!(
            "a reason of 1 to {MAX_REASON_CHARS} characters is required, got {chars}"
        )));
    }
    Ok(reason)
}

fn check_target(target: &str) -> Result<(), IdentityError> {
    if target.is_empty() || target.len() > 256 || target.chars().any(char::is_control) {
        return Err(IdentityError::Invalid(format!(
            "approval target must be 1 to 256 bytes without control characters, got {} bytes",
            target.len()
        )));
    }
    Ok(())
}

/// A supervisor override (CR 2.1 RE 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideInfo {
    /// The override's id.
    pub id: i64,
    /// The account that holds it.
    pub account: String,
    /// The permission granted.
    pub permission: Permission,
    /// The supervisor who granted it.
    pub granted_by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub granted_at: Timestamp,
    /// When it ends by itself.
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// The state of an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ApprovalState {
    /// Waiting for a decision.
    Pending,
    /// Approved; the requester may redeem it.
    Approved,
    /// Rejected.
    Rejected,
    /// Approved and redeemed; it cannot be used again.
    Redeemed,
    /// Not decided or redeemed in time.
    Expired,
}

impl ApprovalState {
    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Redeemed => "redeemed",
            Self::Expired => "expired",
        }
    }
}

/// A dual-approval request (CR 2.1 RE 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    /// The request's id.
    pub id: i64,
    /// Who asked.
    pub requester: String,
    /// The permission asked for.
    pub permission: Permission,
    /// What it will be used on, if named.
    pub target: Option<String>,
    /// Why.
    pub reason: String,
    /// Where it stands.
    pub state: ApprovalState,
    /// When it was made.
    pub requested_at: Timestamp,
    /// When it lapses if not decided and redeemed.
    pub expires_at: Timestamp,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
}

struct StoredApproval {
    id: i64,
    requester_kind: String,
    requester: String,
    permission: Permission,
    target: Option<String>,
    reason: String,
    state: ApprovalState,
    requested_at: Timestamp,
    expires_at: Timestamp,
    decided_by: Option<String>,
    decided_at: Option<Timestamp>,
}

impl StoredApproval {
    fn into_public(self) -> ApprovalRequest {
        ApprovalRequest {
            id: self.id,
            requester: self.requester,
            permission: self.permission,
            target: self.target,
            reason: self.reason,
            state: self.state,
            requested_at: self.requested_at,
            expires_at: self.expires_at,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
        }
    }
}

fn load_approval(
    conn: &rusqlite::Connection,
    id: i64,
    now: Timestamp,
) -> Result<Option<StoredApproval>, IdentityError> {
    let row = conn
        .query_row(
            "SELECT requester_kind, requester_name, permission, target, reason, state,
                    requested_at, expires_at, decided_by, decided_at
             FROM approvals WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                ))
            },
        )
        .optional()
        .db()?;
    let Some((kind, requester, permission, target, reason, state, requested_at, expires, by, at)) =
        row
    else {
        return Ok(None);
    };
    let Ok(permission) = permission.parse::<Permission>() else {
        return Ok(None);
    };
    let expires_at = ts(expires)?;
    let mut state = match state.as_str() {
        "pending" => ApprovalState::Pending,
        "approved" => ApprovalState::Approved,
        "rejected" => ApprovalState::Rejected,
        _ => ApprovalState::Redeemed,
    };
    if matches!(state, ApprovalState::Pending | ApprovalState::Approved) && now >= expires_at {
        state = ApprovalState::Expired;
    }
    Ok(Some(StoredApproval {
        id,
        requester_kind: kind,
        requester,
        permission,
        target,
        reason,
        state,
        requested_at: ts(requested_at)?,
        expires_at,
        decided_by: by,
        decided_at: opt_ts(at)?,
    }))
}
