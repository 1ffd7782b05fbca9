//! CR 1.3 account management: create, disable, enable, remove, expire, list, show; the last
//! administrator cannot be lost.

use jiff::SignedDuration;
use rampart_identity::{
    AccountKind, AuditCategory, IdentityError, NewAccount, Password, Permission,
};

use crate::util::{GOOD, GOOD2, Harness, acct, role, web};

#[test]
fn cr_1_3_create_list_and_show() {
    let h = Harness::new();
    let info =
        h.id.create_user(
            &h.root,
            &NewAccount::new(acct("alice")).role(role("operator")),
            &Password::from(GOOD),
        )
        .unwrap();
    assert_eq!(info.name, "alice");
    assert_eq!(info.kind, AccountKind::Human);
    assert_eq!(info.roles, vec!["operator".to_owned()]);
    assert!(info.enabled && info.must_change_password && !info.mfa_enrolled);
    h.id.create_process_account(&h.root, &NewAccount::new(acct("historian")))
        .unwrap();
    let all = h.id.list_accounts(&h.root).unwrap();
    let names: Vec<_> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["alice", "historian"]);
    // JSON for `--format json`: objects with `name`, no hashes.
    let json = serde_json::to_value(&all).unwrap();
    assert_eq!(json[0]["name"], "alice");
    assert_eq!(json[1]["kind"], "process");
    assert!(!json.to_string().contains("argon2"));
    let rec = h.audit.with_action("account-create");
    assert_eq!(rec.len(), 2);
    assert_eq!(rec[0].category, AuditCategory::ConfigurationChange);
}

#[test]
fn cr_1_3_disable_and_enable() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let session = h.id.create_session(&h.login("alice", GOOD)).unwrap();
    h.id.disable_account(&h.root, &acct("alice")).unwrap();
    assert!(
        h.id.authenticate("alice", &Password::from(GOOD), None, &web())
            .is_err()
    );
    // Disabling ends the account's sessions.
    assert!(
        h.id.validate_session(session.token.expose_secret(), &web())
            .is_err()
    );
    h.id.enable_account(&h.root, &acct("alice")).unwrap();
    h.login("alice", GOOD);
    assert_eq!(h.audit.with_action("account-disable").len(), 1);
    assert_eq!(h.audit.with_action("account-enable").len(), 1);
}

#[test]
fn cr_1_3_remove() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.id.remove_account(&h.root, &acct("alice")).unwrap();
    assert!(matches!(
        h.id.account(&h.root, &acct("alice")),
        Err(IdentityError::AccountNotFound(_))
    ));
    assert!(
        h.id.authenticate("alice", &Password::from(GOOD), None, &web())
            .is_err()
    );
    assert_eq!(h.audit.with_action("account-remove").len(), 1);
}

#[test]
fn cr_1_3_expire() {
    let h = Harness::new();
    h.user("temp", &["viewer"], GOOD);
    let at = h.clock.now() + SignedDuration::from_hours(1);
    h.id.set_account_expiry(&h.root, &acct("temp"), Some(at))
        .unwrap();
    h.login("temp", GOOD);
    h.advance(SignedDuration::from_hours(2));
    assert!(
        h.id.authenticate("temp", &Password::from(GOOD), None, &web())
            .is_err()
    );
    let info = h.id.account(&h.root, &acct("temp")).unwrap();
    assert!(info.expired);
    h.id.set_account_expiry(&h.root, &acct("temp"), None)
        .unwrap();
    h.login("temp", GOOD);
}

#[test]
fn cr_1_3_the_last_administrator_cannot_be_lost() {
    let h = Harness::new();
    h.user("ada", &["admin"], GOOD);
    for result in [
        h.id.disable_account(&h.root, &acct("ada")),
        h.id.remove_account(&h.root, &acct("ada")),
        h.id.set_account_expiry(&h.root, &acct("ada"), Some(h.clock.now())),
        h.id.unassign_role(&h.root, &acct("ada"), &role("admin")),
    ] {
        assert!(
            matches!(result, Err(IdentityError::LastAdmin { .. })),
            "{result:?}"
        );
    }
    // With a second administrator, the first can go.
    h.user("bea", &["admin"], GOOD2);
    h.id.disable_account(&h.root, &acct("ada")).unwrap();
    assert!(matches!(
        h.id.remove_account(&h.root, &acct("bea")),
        Err(IdentityError::LastAdmin { .. })
    ));
}

#[test]
fn cr_1_3_management_needs_permission() {
    let h = Harness::new();
    h.user("vic", &["viewer"], GOOD);
    h.user("alice", &["viewer"], GOOD2);
    let vic = h.login("vic", GOOD);
    let err = h.id.disable_account(&vic, &acct("alice")).unwrap_err();
    match err {
        IdentityError::Denied(d) => assert_eq!(d.permission, Permission::UserManage),
        other => panic!("{other}"),
    }
    assert!(h.id.list_accounts(&vic).is_err());
    // Everyone may see their own account.
    assert_eq!(h.id.account(&vic, &acct("vic")).unwrap().name, "vic");
}

#[test]
fn cr_1_3_bootstrap_creates_one_admin_with_an_initial_password() {
    let h = Harness::new();
    let initial = h.id.bootstrap_admin(&acct("admin")).unwrap().unwrap();
    assert!(initial.expose_secret().len() >= 20);
    assert!(h.id.bootstrap_admin(&acct("admin2")).unwrap().is_none());
    let p =
        h.id.authenticate(
            "admin",
            &Password::from(initial.expose_secret()),
            None,
            &web(),
        )
        .unwrap();
    assert!(p.password_change_required());
    assert!(!crate::util::records_text(&h).contains(initial.expose_secret()));
}
