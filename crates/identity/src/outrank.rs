//! Actions on another account (CR 2.1, CR 1.3, CR 1.5, CR 1.14): nobody reaches a right they do
//! not hold by acting on an account that holds it.
//!
//! Resetting someone's password or MFA, making an API token for them, disabling, enabling,
//! unlocking or removing them, or ending their sessions needs the action's own permission
//! *and* every permission the target account holds (by role or live override) — or, for a
//! token, every permission of the token's role. An actor who lacks some of them needs a dual
//! approval for exactly this permission and account, decided by someone who holds them all.

use jiff::Timestamp;
use rusqlite::Connection;
use serde_json::json;

use crate::audit::{AuditCategory, AuditOutcome};
use crate::error::{Denied, DenyReason, IdentityError, StorageError};
use crate::permission::{Permission, PermissionSet};
use crate::principal::AuthenticatedPrincipal;
use crate::service::{AccountRow, Identity};

impl Identity {
    /// Authorises `actor`, who has already been authorised for `permission` itself, to use it
    /// on the account `target`. `wanted` is what the action could hand over (a token's role);
    /// `None` means everything the target account holds. One's own account needs nothing more.
    ///
    /// # Errors
    /// [`IdentityError::Denied`] — [`DenyReason::TargetOutranksActor`] when the target holds
    /// permissions the actor does not and no matching approval is presented; audit and storage
    /// errors.
    pub(crate) fn require_over_account(
        &self,
        conn: &Connection,
        actor: &AuthenticatedPrincipal,
        permission: Permission,
        target: &AccountRow,
        wanted: Option<PermissionSet>,
    ) -> Result<(), IdentityError> {
        if Self::is_self(actor, target.id) {
            return Ok(());
        }
        let now = self.now();
        let wanted = match wanted {
            Some(wanted) => wanted,
            None => Self::held_by_account(conn, target.id, now)?,
        };
        let missing = missing_from(actor, wanted, now);
        if missing.is_empty() {
            return Ok(());
        }
        let missing_list: Vec<&str> = missing.iter().map(Permission::as_str).collect();
        if let Some(approval) = &actor.approval
            && approval.permission == permission
            && approval.target.as_deref() == Some(target.name.as_str())
            && now <= approval.valid_until
        {
            self.record_for(
                actor,
                AuditCategory::AccessControl,
                "approval-use",
                Some(&target.name),
                AuditOutcome::Success,
                json!({
                    "permission": permission.as_str(),
                    "approval": approval.id,
                    "covers_permissions_not_held": missing_list,
                }),
            )?;
            return Ok(());
        }
        let recorded = self.record_for(
            actor,
            AuditCategory::AccessControl,
            "authorize",
            Some(&target.name),
            AuditOutcome::Denied,
            json!({
                "permission": permission.as_str(),
                "reason": DenyReason::TargetOutranksActor.to_string(),
                "permissions_not_held": missing_list,
            }),
        );
        Err(Denied {
            permission,
            principal: actor.actor.name.clone(),
            reason: if recorded.is_err() {
                DenyReason::AuditUnavailable
            } else {
                DenyReason::TargetOutranksActor
            },
        }
        .into())
    }

    /// Whether an account named `name` exists and holds a permission `principal` does not.
    pub(crate) fn outranks(
        &self,
        conn: &Connection,
        name: &str,
        principal: &AuthenticatedPrincipal,
    ) -> Result<Option<PermissionSet>, StorageError> {
        let now = self.now();
        let Some(row) = Self::load_account(conn, name)? else {
            return Ok(None);
        };
        if Self::is_self(principal, row.id) {
            return Ok(None);
        }
        let missing = missing_from(principal, Self::held_by_account(conn, row.id, now)?, now);
        Ok((!missing.is_empty()).then_some(missing))
    }

    /// Every permission an account holds now: by role and by live override.
    pub(crate) fn held_by_account(
        conn: &Connection,
        account_id: i64,
        now: Timestamp,
    ) -> Result<PermissionSet, StorageError> {
        let grants = Self::grants(conn, account_id, now)?;
        Ok(grants
            .overrides
            .iter()
            .fold(grants.permissions, |mut set, o| {
                set.insert(o.permission);
                set
            }))
    }
}

/// The permissions of `wanted` that `principal` holds neither by role nor by live override.
pub(crate) fn missing_from(
    principal: &AuthenticatedPrincipal,
    wanted: PermissionSet,
    now: Timestamp,
) -> PermissionSet {
    wanted
        .iter()
        .filter(|p| {
            !principal.permissions.contains(*p)
                && !principal
                    .overrides
                    .iter()
                    .any(|o| o.permission == *p && now < o.expires_at)
        })
        .collect()
}
