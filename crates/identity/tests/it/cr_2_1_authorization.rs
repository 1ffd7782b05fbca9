//! CR 2.1 authorisation enforcement: one default-deny decision, built-in least-privilege
//! roles, and roles configurable by an administrator (RE 2) without privilege escalation.

use rampart_identity::{
    AuditOutcome, DenyReason, IdentityError, Permission, PermissionSet, builtin_roles,
};

use crate::util::{GOOD, GOOD2, Harness, acct, role};

#[test]
fn cr_2_1_builtin_roles_exist_with_least_privilege() {
    let h = Harness::new();
    let roles = h.id.list_roles(&h.root).unwrap();
    let names: Vec<_> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "admin",
            "auditor",
            "engineer",
            "operator",
            "security-admin",
            "viewer"
        ]
    );
    for r in &roles {
        assert!(r.builtin);
    }
    let check = |name: &str, allowed: &[Permission]| {
        let set = builtin_roles().into_iter().find(|r| r.0 == name).unwrap().2;
        for p in Permission::ALL {
            assert_eq!(set.contains(*p), allowed.contains(p), "{name} / {p}");
        }
    };
    check(
        "viewer",
        &[
            Permission::PolicyView,
            Permission::ConfigView,
            Permission::MetricsRead,
        ],
    );
    check(
        "operator",
        &[
            Permission::PolicyView,
            Permission::ConfigView,
            Permission::IslandMode,
            Permission::MetricsRead,
        ],
    );
}

#[test]
fn cr_2_1_default_deny_and_denials_are_audited() {
    let h = Harness::new();
    h.user("vic", &["viewer"], GOOD);
    let vic = h.login("vic", GOOD);
    h.id.authorize(&vic, Permission::PolicyView).unwrap();
    let d = h.id.authorize(&vic, Permission::PolicyApply).unwrap_err();
    assert_eq!(d.reason, DenyReason::MissingPermission);
    assert_eq!(
        d.to_string(),
        "permission 'policy.apply' denied to vic: no role grants it"
    );
    let rec = h.audit.with_action("authorize").pop().unwrap();
    assert_eq!(rec.outcome, AuditOutcome::Denied);
    assert_eq!(rec.details["permission"], "policy.apply");
    // An account with no role is allowed nothing.
    h.user("nobody", &[], GOOD2);
    let nobody = h.login("nobody", GOOD2);
    for p in Permission::ALL {
        assert!(h.id.authorize(&nobody, *p).is_err());
    }
}

#[test]
fn cr_2_1_re_2_administrators_configure_roles() {
    let h = Harness::new();
    let perms: PermissionSet = [Permission::MetricsRead, Permission::AuditRead]
        .into_iter()
        .collect();
    let r =
        h.id.create_role(&h.root, &role("historian"), "Reads history", perms)
            .unwrap();
    assert!(!r.builtin);
    h.user("hist", &["historian"], GOOD);
    let p = h.login("hist", GOOD);
    h.id.authorize(&p, Permission::AuditRead).unwrap();
    assert!(h.id.authorize(&p, Permission::PolicyView).is_err());
    h.id.grant_permission(&h.root, &role("historian"), Permission::PolicyView)
        .unwrap();
    h.id.revoke_permission(&h.root, &role("historian"), Permission::AuditRead)
        .unwrap();
    // Changes apply to the next principal derived (e.g. the next request).
    let p = h.login("hist", GOOD);
    h.id.authorize(&p, Permission::PolicyView).unwrap();
    assert!(h.id.authorize(&p, Permission::AuditRead).is_err());
    // Built-in roles can be tuned, except admin, which always holds everything.
    h.id.revoke_permission(&h.root, &role("viewer"), Permission::MetricsRead)
        .unwrap();
    assert!(matches!(
        h.id.revoke_permission(&h.root, &role("admin"), Permission::UserManage),
        Err(IdentityError::BuiltinRole { .. })
    ));
    assert!(matches!(
        h.id.delete_role(&h.root, &role("viewer")),
        Err(IdentityError::BuiltinRole { .. })
    ));
    for action in ["role-create", "permission-grant", "permission-revoke"] {
        assert!(!h.audit.with_action(action).is_empty(), "{action}");
    }
}

#[test]
fn cr_2_1_re_2_nobody_grants_more_than_they_hold() {
    let h = Harness::new();
    h.user("sec", &["security-admin"], GOOD);
    h.user("vic", &["viewer"], GOOD2);
    let sec = h.login("sec", GOOD);
    // security-admin may manage users and roles but does not hold backup.restore...
    let err =
        h.id.create_role(
            &sec,
            &role("restorer"),
            "",
            [Permission::BackupRestore].into_iter().collect(),
        )
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::Denied(ref d) if d.permission == Permission::BackupRestore),
        "{err}"
    );
    // ...so cannot hand out the admin role either.
    assert!(
        h.id.assign_role(&sec, &acct("vic"), &role("admin"))
            .is_err()
    );
    h.id.assign_role(&sec, &acct("vic"), &role("auditor"))
        .unwrap();
    assert!(
        h.id.grant_permission(&sec, &role("viewer"), Permission::BackupRestore)
            .is_err()
    );
}

#[test]
fn cr_2_1_local_console_holds_everything_and_is_audited() {
    let h = Harness::new();
    for p in Permission::ALL {
        if rampart_identity::ApprovalPolicy::ALWAYS.contains(p) {
            // Erasing needs a second administrator even here (the physical path is
            // `rampart erase` on the stopped component, outside the identity service).
            assert!(h.id.authorize(&h.root, *p).is_err(), "{p}");
        } else {
            h.id.authorize(&h.root, *p).unwrap();
        }
    }
    let rec = &h.audit.with_action("login")[0];
    assert_eq!(rec.interface.as_deref(), Some("local-console"));
    assert_eq!(rec.actor.name, "root");
}
