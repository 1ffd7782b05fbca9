//! Fail closed (CR 2.8 with CR 1.x / 2.x): when the audit trail cannot take a record, the
//! security action does not happen.

use jiff::SignedDuration;
use rampart_identity::{
    DenyReason, IdentityError, LoginError, NewAccount, Password, Permission, SessionError,
};

use crate::util::{GOOD, GOOD2, Harness, acct, role, web};

#[test]
fn audit_down_means_no_login() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.audit.set_available(false);
    assert!(matches!(
        h.id.authenticate("alice", &Password::from(GOOD), None, &web()),
        Err(LoginError::AuditUnavailable(_))
    ));
    // Failures are refused too, but still counted towards lockout.
    assert!(matches!(
        h.id.authenticate("alice", &Password::from("nope nope nope"), None, &web()),
        Err(LoginError::AuditUnavailable(_))
    ));
    h.audit.set_available(true);
    assert_eq!(
        h.id.account(&h.root, &acct("alice")).unwrap().failed_logins,
        1
    );
    let p = h.login("alice", GOOD);
    // last_login_at was not touched by the unrecorded success.
    assert_eq!(
        h.id.account(&h.root, &acct("alice")).unwrap().last_login_at,
        Some(p.authenticated_at())
    );
}

#[test]
fn audit_down_means_no_change() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.audit.set_available(false);
    assert!(matches!(
        h.id.create_user(
            &h.root,
            &NewAccount::new(acct("bob")),
            &Password::from(GOOD2)
        ),
        Err(IdentityError::AuditUnavailable(_))
    ));
    assert!(matches!(
        h.id.disable_account(&h.root, &acct("alice")),
        Err(IdentityError::AuditUnavailable(_))
    ));
    assert!(
        h.id.assign_role(&h.root, &acct("alice"), &role("admin"))
            .is_err()
    );
    assert!(h.id.set_banner(&h.root, "changed").is_err());
    h.audit.set_available(true);
    let accounts = h.id.list_accounts(&h.root).unwrap();
    assert_eq!(accounts.len(), 1);
    assert!(accounts[0].enabled);
    assert_eq!(accounts[0].roles, vec!["viewer".to_owned()]);
    // The name of the refused account was not reserved either.
    h.id.create_user(
        &h.root,
        &NewAccount::new(acct("bob")),
        &Password::from(GOOD2),
    )
    .unwrap();
}

#[test]
fn audit_down_means_no_session_and_no_override_use() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.user("sup", &["security-admin", "operator"], GOOD2);
    let p = h.login("alice", GOOD);
    let sup = h.login("sup", GOOD2);
    h.id.grant_override(
        &sup,
        &acct("alice"),
        Permission::IslandMode,
        SignedDuration::from_mins(5),
        "drill",
    )
    .unwrap();
    let p2 = h.login("alice", GOOD);
    h.audit.set_available(false);
    assert!(matches!(
        h.id.create_session(&p),
        Err(SessionError::AuditUnavailable(_))
    ));
    let d = h.id.authorize(&p2, Permission::IslandMode).unwrap_err();
    assert_eq!(d.reason, DenyReason::AuditUnavailable);
    // Plain role checks need no record and keep working.
    h.id.authorize(&p2, Permission::PolicyView).unwrap();
    h.audit.set_available(true);
    assert!(h.id.list_sessions(&h.root, None).unwrap().is_empty());
}
