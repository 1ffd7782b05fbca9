//! Roles and their permissions, configurable by an administrator (CR 2.1 RE 2).

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditCategory, AuditOutcome};
use crate::error::{DbResult, Denied, DenyReason, IdentityError};
use crate::names::{AccountName, RoleName};
use crate::permission::{ADMIN_ROLE, Permission, PermissionSet};
use crate::principal::AuthenticatedPrincipal;
use crate::service::Identity;
use crate::store::ts;

/// The longest role description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 256;

/// A role as shown to administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleInfo {
    /// The role's name.
    pub name: RoleName,
    /// What it is for.
    pub description: String,
    /// Whether it is one of the built-in roles.
    pub builtin: bool,
    /// Whether holders must use MFA (CR 1.1 RE 2).
    pub mfa_required: bool,
    /// The permissions it grants.
    pub permissions: PermissionSet,
    /// The accounts that hold it.
    pub members: Vec<String>,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Identity {
    /// Every role, by name. Needs [`Permission::RoleView`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`] and storage errors.
    pub fn list_roles(
        &self,
        actor: &AuthenticatedPrincipal,
    ) -> Result<Vec<RoleInfo>, IdentityError> {
        self.require(actor, Permission::RoleView, None)?;
        let conn = self.db();
        let mut stmt = conn.prepare("SELECT name FROM roles ORDER BY name").db()?;
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .db()?
            .collect::<Result<_, _>>()
            .db()?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(info) = role_info(&conn, &name)? {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// The names of the roles whose members must use MFA, for the configuration report
    /// (CR 7.6 RE 1), which its caller's own permission already gates.
    ///
    /// # Errors
    /// Storage errors.
    pub fn roles_requiring_mfa(&self) -> Result<Vec<String>, IdentityError> {
        let conn = self.db();
        let mut stmt = conn
            .prepare("SELECT name FROM roles WHERE mfa_required ORDER BY name")
            .db()?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .db()?
            .collect::<Result<_, _>>()
            .db()?;
        Ok(names)
    }

    /// One role. Needs [`Permission::RoleView`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::RoleNotFound`] and storage errors.
    pub fn role(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &RoleName,
    ) -> Result<RoleInfo, IdentityError> {
        self.require(actor, Permission::RoleView, Some(name.as_str()))?;
        let conn = self.db();
        role_info(&conn, name.as_str())?
            .ok_or_else(|| IdentityError::RoleNotFound(name.to_string()))
    }

    /// Creates a role with `permissions`. Needs [`Permission::RoleManage`] and every
    /// permission granted: nobody can create a role stronger than themselves.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AlreadyExists`],
    /// [`IdentityError::NameReserved`] (names of deleted roles are never reused),
    /// [`IdentityError::Invalid`] for an overlong description; audit and storage errors.
    pub fn create_role(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &RoleName,
        description: &str,
        permissions: PermissionSet,
    ) -> Result<RoleInfo, IdentityError> {
        self.require(actor, Permission::RoleManage, Some(name.as_str()))?;
        self.require_superset(actor, permissions, name.as_str())?;
        let description = description.trim();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(IdentityError::Invalid(format!(
                "role description is longer than {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        if role_exists(&tx, name.as_str())? {
            return Err(IdentityError::AlreadyExists {
                kind: "role",
                name: name.to_string(),
            });
        }
        if Self::is_reserved(&tx, "role", name.as_str())? {
            return Err(IdentityError::NameReserved {
                kind: "role",
                name: name.to_string(),
            });
        }
        tx.execute(
            "INSERT INTO roles (name, description, builtin, created_at) VALUES (?1, ?2, 0, ?3)",
            params![name.as_str(), description, now.as_second()],
        )
        .db()?;
        Self::reserve(&tx, "role", name.as_str(), now)?;
        for p in permissions.iter() {
            tx.execute(
                "INSERT INTO role_permissions (role, permission) VALUES (?1, ?2)",
                params![name.as_str(), p.as_str()],
            )
            .db()?;
        }
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "role-create",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({ "permissions": permissions }),
        )?;
        let info = role_info(&tx, name.as_str())?
            .ok_or_else(|| IdentityError::RoleNotFound(name.to_string()))?;
        tx.commit().db()?;
        Ok(info)
    }

    /// Deletes a custom role; its holders lose it. Built-in roles cannot be deleted; the name
    /// stays reserved. Needs [`Permission::RoleManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::RoleNotFound`],
    /// [`IdentityError::BuiltinRole`]; audit and storage errors.
    pub fn delete_role(
        &self,
        actor: &AuthenticatedPrincipal,
        name: &RoleName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::RoleManage, Some(name.as_str()))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let info = role_info(&tx, name.as_str())?
            .ok_or_else(|| IdentityError::RoleNotFound(name.to_string()))?;
        if info.builtin {
            return Err(IdentityError::BuiltinRole {
                action: "delete",
                name: name.to_string(),
            });
        }
        tx.execute("DELETE FROM roles WHERE name = ?1", [name.as_str()])
            .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "role-delete",
            Some(name.as_str()),
            AuditOutcome::Success,
            json!({ "members": info.members }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Adds `permission` to a role. Needs [`Permission::RoleManage`] and the permission
    /// itself. The admin role already holds everything and cannot be edited.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::RoleNotFound`],
    /// [`IdentityError::BuiltinRole`]; audit and storage errors.
    pub fn grant_permission(
        &self,
        actor: &AuthenticatedPrincipal,
        role: &RoleName,
        permission: Permission,
    ) -> Result<RoleInfo, IdentityError> {
        self.change_permission(actor, role, permission, true)
    }

    /// Removes `permission` from a role. Needs [`Permission::RoleManage`]. The admin role
    /// cannot lose permissions, so there is always an administrator.
    ///
    /// # Errors
    /// As [`Identity::grant_permission`].
    pub fn revoke_permission(
        &self,
        actor: &AuthenticatedPrincipal,
        role: &RoleName,
        permission: Permission,
    ) -> Result<RoleInfo, IdentityError> {
        self.change_permission(actor, role, permission, false)
    }

    fn change_permission(
        &self,
        actor: &AuthenticatedPrincipal,
        role: &RoleName,
        permission: Permission,
        grant: bool,
    ) -> Result<RoleInfo, IdentityError> {
        self.require(actor, Permission::RoleManage, Some(role.as_str()))?;
        if grant {
            self.require(actor, permission, Some(role.as_str()))?;
        }
        if role.as_str() == ADMIN_ROLE {
            return Err(IdentityError::BuiltinRole {
                action: if grant {
                    "grant permissions to"
                } else {
                    "revoke permissions from"
                },
                name: role.to_string(),
            });
        }
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        if !role_exists(&tx, role.as_str())? {
            return Err(IdentityError::RoleNotFound(role.to_string()));
        }
        if grant {
            tx.execute(
                "INSERT OR IGNORE INTO role_permissions (role, permission) VALUES (?1, ?2)",
                params![role.as_str(), permission.as_str()],
            )
            .db()?;
        } else {
            tx.execute(
                "DELETE FROM role_permissions WHERE role = ?1 AND permission = ?2",
                params![role.as_str(), permission.as_str()],
            )
            .db()?;
        }
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            if grant {
                "permission-grant"
            } else {
                "permission-revoke"
            },
            Some(role.as_str()),
            AuditOutcome::Success,
            json!({ "permission": permission.as_str() }),
        )?;
        let info = role_info(&tx, role.as_str())?
            .ok_or_else(|| IdentityError::RoleNotFound(role.to_string()))?;
        tx.commit().db()?;
        Ok(info)
    }

    /// Requires (or stops requiring) MFA for every holder of a role (CR 1.1 RE 2). Needs
    /// [`Permission::RoleManage`].
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::RoleNotFound`]; audit and storage errors.
    pub fn set_role_mfa(
        &self,
        actor: &AuthenticatedPrincipal,
        role: &RoleName,
        required: bool,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::RoleManage, Some(role.as_str()))?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let changed = tx
            .execute(
                "UPDATE roles SET mfa_required = ?2 WHERE name = ?1",
                params![role.as_str(), required],
            )
            .db()?;
        if changed == 0 {
            return Err(IdentityError::RoleNotFound(role.to_string()));
        }
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "role-mfa-set",
            Some(role.as_str()),
            AuditOutcome::Success,
            json!({ "mfa_required": required }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Gives an account a role. Needs [`Permission::UserManage`] and every permission of the
    /// role: nobody can make someone stronger than themselves.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::RoleNotFound`]; audit and storage errors.
    pub fn assign_role(
        &self,
        actor: &AuthenticatedPrincipal,
        account: &AccountName,
        role: &RoleName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(account.as_str()))?;
        let role_perms = {
            let conn = self.db();
            Self::role_permissions(&conn, role.as_str())?
                .ok_or_else(|| IdentityError::RoleNotFound(role.to_string()))?
        };
        self.require_superset(actor, role_perms, account.as_str())?;
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, account)?;
        tx.execute(
            "INSERT OR IGNORE INTO account_roles (account_id, role) VALUES (?1, ?2)",
            params![row.id, role.as_str()],
        )
        .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "role-grant",
            Some(account.as_str()),
            AuditOutcome::Success,
            json!({ "role": role.as_str() }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Takes a role from an account. Needs [`Permission::UserManage`]. Refuses to take the
    /// admin role from the last enabled administrator.
    ///
    /// # Errors
    /// [`IdentityError::Denied`], [`IdentityError::AccountNotFound`],
    /// [`IdentityError::LastAdmin`]; audit and storage errors.
    pub fn unassign_role(
        &self,
        actor: &AuthenticatedPrincipal,
        account: &AccountName,
        role: &RoleName,
    ) -> Result<(), IdentityError> {
        self.require(actor, Permission::UserManage, Some(account.as_str()))?;
        let now = self.now();
        let mut conn = self.db();
        let tx = conn.transaction().db()?;
        let row = Self::require_account(&tx, account)?;
        self.require_over_account(&tx, actor, Permission::UserManage, &row, None)?;
        if role.as_str() == ADMIN_ROLE && Self::is_last_admin(&tx, row.id, now)? {
            return Err(IdentityError::LastAdmin {
                action: "revoke the admin role from",
                name: account.to_string(),
            });
        }
        tx.execute(
            "DELETE FROM account_roles WHERE account_id = ?1 AND role = ?2",
            params![row.id, role.as_str()],
        )
        .db()?;
        self.record_for(
            actor,
            AuditCategory::ConfigurationChange,
            "role-revoke",
            Some(account.as_str()),
            AuditOutcome::Success,
            json!({ "role": role.as_str() }),
        )?;
        tx.commit().db()?;
        Ok(())
    }

    /// Fails unless `actor` holds every permission in `wanted` (by role or override): nobody
    /// can make a role or account stronger than themselves.
    pub(crate) fn require_superset(
        &self,
        actor: &AuthenticatedPrincipal,
        wanted: crate::permission::PermissionSet,
        target: &str,
    ) -> Result<(), IdentityError> {
        let now = self.now();
        for p in wanted.iter() {
            let held = actor.permissions.contains(p)
                || actor
                    .overrides
                    .iter()
                    .any(|o| o.permission == p && now < o.expires_at);
            if !held {
                let _ = self.record_for(
                    actor,
                    AuditCategory::AccessControl,
                    "authorize",
                    Some(target),
                    AuditOutcome::Denied,
                    json!({ "permission": p.as_str(), "reason": "cannot grant a permission not held" }),
                );
                return Err(Denied {
                    permission: p,
                    principal: actor.actor.name.clone(),
                    reason: DenyReason::MissingPermission,
                }
                .into());
            }
        }
        Ok(())
    }
}

fn role_exists(conn: &Connection, name: &str) -> Result<bool, IdentityError> {
    Ok(conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM roles WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )
        .db()?)
}

fn role_info(conn: &Connection, name: &str) -> Result<Option<RoleInfo>, IdentityError> {
    let row = conn
        .query_row(
            "SELECT description, builtin, mfa_required, created_at FROM roles WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()
        .db()?;
    let Some((description, builtin, mfa_required, created_at)) = row else {
        return Ok(None);
    };
    let permissions = Identity::role_permissions(conn, name)?.unwrap_or_default();
    let mut stmt = conn
        .prepare_cached(
            "SELECT a.name FROM account_roles ar JOIN accounts a ON a.id = ar.account_id
             WHERE ar.role = ?1 ORDER BY a.name",
        )
        .db()?;
    let members = stmt
        .query_map([name], |r| r.get::<_, String>(0))
        .db()?
        .collect::<Result<Vec<_>, _>>()
        .db()?;
    Ok(Some(RoleInfo {
        name: RoleName::parse(name)?,
        description,
        builtin,
        mfa_required,
        permissions,
        members,
        created_at: ts(created_at)?,
    }))
}
