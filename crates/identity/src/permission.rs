//! Permissions and the built-in roles (CR 2.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::UnknownPermission;

macro_rules! permissions {
    ($( $(#[$doc:meta])* $variant:ident = $bit:literal, $text:literal; )+) => {
        /// Something a principal may be allowed to do on the management plane.
        ///
        /// Permissions are granted to roles; principals get them through their roles. The
        /// text form (`user.manage`) is what storage, configuration and the CLI use.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Permission {
            $( $(#[$doc])* $variant, )+
        }

        impl Permission {
            /// Every permission, in a stable order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)+];

            /// The stable text form, for example `policy.apply`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $text,)+
                }
            }

            const fn bit(self) -> u64 {
                match self {
                    $(Permission::$variant => 1u64 << $bit,)+
                }
            }
        }

        impl FromStr for Permission {
            type Err = UnknownPermission;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Permission::$variant),)+
                    _ => Err(UnknownPermission {
                        value: s.to_owned(),
                        valid: Permission::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
                    }),
                }
            }
        }
    };
}

permissions! {
    /// List and show accounts.
    UserView = 0, "user.view";
    /// Create, disable, enable and expire accounts; reset passwords and MFA; unlock; assign
    /// roles.
    UserManage = 1, "user.manage";
    /// Remove accounts (separate so that it can require dual approval).
    UserRemove = 2, "user.remove";
    /// List and show roles.
    RoleView = 3, "role.view";
    /// Create and delete roles; grant and revoke permissions; set per-role MFA.
    RoleManage = 4, "role.manage";
    /// List everyone's sessions.
    SessionView = 5, "session.view";
    /// Terminate anyone's sessions.
    SessionManage = 6, "session.manage";
    /// Create and revoke API tokens for any account.
    TokenManage = 7, "token.manage";
    /// Bind X.509 certificates to accounts and unbind them.
    CertificateManage = 8, "certificate.manage";
    /// Grant supervisor overrides (CR 2.1 RE 3).
    OverrideGrant = 9, "override.grant";
    /// Read the conduit policy.
    PolicyView = 10, "policy.view";
    /// Stage a conduit policy change.
    PolicyStage = 11, "policy.stage";
    /// Apply a staged conduit policy.
    PolicyApply = 12, "policy.apply";
    /// Read the audit trail.
    AuditRead = 13, "audit.read";
    /// Export the audit trail.
    AuditExport = 14, "audit.export";
    /// Create backups.
    BackupCreate = 15, "backup.create";
    /// Restore backups.
    BackupRestore = 16, "backup.restore";
    /// Read the component configuration.
    ConfigView = 17, "config.view";
    /// Change the component configuration, including the login banner.
    ConfigChange = 18, "config.change";
    /// Switch the gateway into island mode (isolate the conduit).
    IslandMode = 19, "island.mode";
    /// Read metrics.
    MetricsRead = 20, "metrics.read";
    /// Install signed updates.
    UpdateInstall = 21, "update.install";
    /// Erase the component's data directory for decommissioning (CR 4.2): always under dual
    /// approval, at every hardening level ([`crate::ApprovalPolicy::ALWAYS`]). Held by the
    /// administrator role only.
    VaultErase = 22, "vault.erase";
    /// Approve or deny access requests from untrusted networks (NDR 1.13 RE 1); the
    /// administrator role only, by default.
    AccessApprove = 23, "access.approve";
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of permissions, as one machine word so checks cost a few instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u64);

impl PermissionSet {
    /// No permission: what a NULL role gets.
    pub const EMPTY: Self = Self(0);

    /// Every permission.
    pub fn all() -> Self {
        Permission::ALL.iter().copied().collect()
    }

    /// Whether `permission` is in the set.
    #[inline]
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Adds `permission`.
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// Removes `permission`.
    pub fn remove(&mut self, permission: Permission) {
        self.0 &= !permission.bit();
    }

    /// The union of both sets.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in the set, in the order of [`Permission::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl Serialize for PermissionSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for PermissionSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = Vec::<Permission>::deserialize(deserializer)?;
        Ok(list.into_iter().collect())
    }
}

/// The name of the built-in administrator role, which always holds every permission.
pub const ADMIN_ROLE: &str = "admin";

/// The built-in roles and their least-privilege permission sets, in order of decreasing
/// privilege.
pub fn builtin_roles() -> Vec<(&'static str, &'static str, PermissionSet)> {
    use Permission::{
        AuditExport, AuditRead, BackupCreate, CertificateManage, ConfigChange, ConfigView,
        IslandMode, MetricsRead, OverrideGrant, PolicyApply, PolicyStage, PolicyView, RoleManage,
        RoleView, SessionManage, SessionView, TokenManage, UpdateInstall, UserManage, UserRemove,
        UserView,
    };
    vec![
        (
            ADMIN_ROLE,
            "Full administration of the component",
            PermissionSet::all(),
        ),
        (
            "security-admin",
            "Accounts, roles, sessions, credentials and security settings",
            [
                UserView,
                UserManage,
                UserRemove,
                RoleView,
                RoleManage,
                SessionView,
                SessionManage,
                TokenManage,
                CertificateManage,
                OverrideGrant,
                PolicyView,
                AuditRead,
                AuditExport,
                ConfigView,
                ConfigChange,
                MetricsRead,
            ]
            .into_iter()
            .collect(),
        ),
        (
            "engineer",
            "Conduit policy engineering, backups and updates",
            [
                PolicyView,
                PolicyStage,
                PolicyApply,
                ConfigView,
                BackupCreate,
                UpdateInstall,
                MetricsRead,
            ]
            .into_iter()
            .collect(),
        ),
        (
            "operator",
            "Day-to-day operation, including island mode",
            [PolicyView, ConfigView, IslandMode, MetricsRead]
                .into_iter()
                .collect(),
        ),
        (
            "auditor",
            "Read and export the audit trail; review accounts and roles",
            [
                AuditRead,
                AuditExport,
                UserView,
                RoleView,
                SessionView,
                PolicyView,
                ConfigView,
                MetricsRead,
            ]
            .into_iter()
            .collect(),
        ),
        (
            "viewer",
            "Read-only view of policy, configuration and metrics",
            [PolicyView, ConfigView, MetricsRead].into_iter().collect(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_for_every_permission() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), *p);
        }
        let e = "policy.nuke".parse::<Permission>().unwrap_err();
        assert!(e.to_string().contains("policy.nuke"));
        assert!(e.to_string().contains("policy.apply"));
    }

    #[test]
    fn bits_are_distinct() {
        let all = PermissionSet::all();
        assert_eq!(all.iter().count(), Permission::ALL.len());
    }

    #[test]
    fn builtin_roles_are_least_privilege() {
        let roles = builtin_roles();
        let get = |n: &str| roles.iter().find(|r| r.0 == n).unwrap().2;
        assert_eq!(get("admin"), PermissionSet::all());
        for (name, _, perms) in &roles {
            if *name != "admin" {
                assert!(!perms.contains(Permission::BackupRestore), "{name}");
                assert!(!perms.contains(Permission::VaultErase), "{name}");
            }
        }
        assert!(!get("viewer").contains(Permission::AuditRead));
        assert!(!get("auditor").contains(Permission::PolicyApply));
        assert!(!get("operator").contains(Permission::PolicyApply));
        assert!(!get("engineer").contains(Permission::UserManage));
        for (name, _, perms) in &roles {
            assert_eq!(
                perms.contains(Permission::AccessApprove),
                *name == ADMIN_ROLE,
                "{name}: access.approve is the administrator's by default"
            );
        }
    }
}
