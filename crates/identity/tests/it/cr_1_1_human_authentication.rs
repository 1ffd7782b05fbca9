//! CR 1.1 human user identification and authentication: unique identities, one login
//! function for every interface, the principal it yields.

use rampart_identity::{ActorKind, AuditOutcome, AuthMethod, IdentityError, NewAccount, Password};

use crate::util::{GOOD, Harness, acct, role, web};

#[test]
fn cr_1_1_login_identifies_the_user_on_every_interface() {
    let h = Harness::new();
    h.user("alice", &["operator"], GOOD);
    for interface in ["https", "ssh", "local-console"] {
        let origin = rampart_identity::Origin::new(interface);
        let p =
            h.id.authenticate("Alice", &Password::from(GOOD), None, &origin)
                .unwrap();
        assert_eq!(p.name(), "alice");
        assert_eq!(p.kind(), ActorKind::User);
        assert_eq!(p.account(), Some(&acct("alice")));
        assert_eq!(p.roles(), &[role("operator")]);
        assert_eq!(p.method(), AuthMethod::Password);
        assert_eq!(p.origin().interface.as_deref(), Some(interface));
        assert_eq!(p.authenticated_at(), h.clock.now());
    }
    let logins = h.audit.with_action("login");
    let ok: Vec<_> = logins
        .iter()
        .filter(|r| r.outcome == AuditOutcome::Success && r.target.as_deref() == Some("alice"))
        .collect();
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[0].interface.as_deref(), Some("https"));
}

#[test]
fn cr_1_1_identities_are_unique() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let err =
        h.id.create_user(
            &h.root,
            &NewAccount::new(acct("ALICE")),
            &Password::from(GOOD),
        )
        .unwrap_err();
    assert!(matches!(err, IdentityError::AlreadyExists { .. }), "{err}");
    assert_eq!(err.to_string(), "account 'alice' already exists");
}

#[test]
fn cr_1_1_source_address_is_recorded() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.login("alice", GOOD);
    let rec = h.audit.with_action("login").pop().unwrap();
    assert_eq!(rec.source, web().address);
    assert_eq!(rec.actor.name, "alice");
}
