//! CR 1.5 authenticator management: Argon2id hashes with recorded parameters, raised on the
//! next login; initial passwords must be changed; authenticators never stored in the clear,
//! returned or recorded.

use rampart_identity::{
    DenyReason, HashParams, IdentityError, NewAccount, Password, PasswordRejected, Permission,
};

use crate::util::{GOOD, GOOD2, GOOD3, Harness, acct, config, role, web};

fn stored_hash(h: &Harness, name: &str) -> String {
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    conn.query_row(
        "SELECT password_hash FROM accounts WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn cr_1_5_hashes_are_argon2id_with_parameters_recorded() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let hash = stored_hash(&h, "alice");
    assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
    assert!(!hash.contains(GOOD));
    let info = h.id.account(&h.root, &acct("alice")).unwrap();
    assert_eq!(
        info.password_hash_params,
        Some(HashParams::danger_insecure_fast())
    );
}

#[test]
fn cr_1_5_stronger_parameters_rehash_at_next_login() {
    let mut h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let mut stronger = config();
    stronger.hashing = HashParams {
        memory_kib: 64,
        iterations: 2,
        parallelism: 1,
    };
    h.reopen(stronger);
    // A failed login does not rehash.
    assert!(
        h.id.authenticate("alice", &Password::from("wrong wrong wrong"), None, &web())
            .is_err()
    );
    assert!(stored_hash(&h, "alice").contains("m=8,t=1"));
    h.login("alice", GOOD);
    assert!(stored_hash(&h, "alice").contains("$m=64,t=2,p=1$"));
    h.login("alice", GOOD);
    let rec = h.audit.with_action("login").pop().unwrap();
    assert_eq!(rec.details["rehashed"], false);
}

#[test]
fn cr_1_5_initial_password_must_be_changed_at_first_use() {
    let h = Harness::new();
    h.id.create_user(
        &h.root,
        &NewAccount::new(acct("alice")).role(role("operator")),
        &Password::from(GOOD),
    )
    .unwrap();
    let p = h.login("alice", GOOD);
    assert!(p.password_change_required());
    let denied = h.id.authorize(&p, Permission::PolicyView).unwrap_err();
    assert_eq!(denied.reason, DenyReason::PasswordChangeRequired);
    // The same password is not a change.
    assert!(matches!(
        h.id.change_password(&p, &Password::from(GOOD), &Password::from(GOOD)),
        Err(IdentityError::Password(PasswordRejected::Reused { .. }))
    ));
    h.id.change_password(&p, &Password::from(GOOD), &Password::from(GOOD2))
        .unwrap();
    let p = h.login("alice", GOOD2);
    assert!(!p.password_change_required());
    h.id.authorize(&p, Permission::PolicyView).unwrap();
}

#[test]
fn cr_1_5_self_service_change_needs_the_current_password() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let err =
        h.id.change_password(&p, &Password::from(GOOD3), &Password::from(GOOD2))
            .unwrap_err();
    assert!(matches!(err, IdentityError::AuthenticationFailed));
    assert_eq!(err.to_string(), "authentication failed");
    // It counted as a failed attempt.
    assert_eq!(
        h.id.account(&h.root, &acct("alice")).unwrap().failed_logins,
        1
    );
}

#[test]
fn cr_1_5_admin_reset_ends_sessions_and_can_force_a_change() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let s = h.id.create_session(&h.login("alice", GOOD)).unwrap();
    h.id.set_password(&h.root, &acct("alice"), &Password::from(GOOD2), true)
        .unwrap();
    assert!(
        h.id.validate_session(s.token.expose_secret(), &web())
            .is_err()
    );
    assert!(h.login("alice", GOOD2).password_change_required());
    let rec = h.audit.with_action("password-change").pop().unwrap();
    assert_eq!(rec.details["by"], "administrator");
}

#[test]
fn cr_1_5_authenticators_never_reach_the_audit_trail() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let _ =
        h.id.authenticate("alice", &Password::from(GOOD3), None, &web());
    h.id.change_password(&p, &Password::from(GOOD), &Password::from(GOOD2))
        .unwrap();
    let p = h.login("alice", GOOD2);
    let s = h.id.create_session(&p).unwrap();
    let t =
        h.id.create_token(
            &p,
            &acct("alice"),
            &role("viewer"),
            "ci",
            jiff::SignedDuration::from_hours(1),
        )
        .unwrap();
    h.id.authenticate_token(t.token.expose_secret(), &web())
        .unwrap();
    h.id.logout(s.token.expose_secret(), &web()).unwrap();
    let text = crate::util::records_text(&h);
    for secret in [
        GOOD,
        GOOD2,
        GOOD3,
        s.token.expose_secret(),
        t.token.expose_secret(),
    ] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
    assert!(!text.contains("argon2"));
    assert_eq!(
        format!("{:?}", Password::from(GOOD)),
        "Password(<redacted>)"
    );
}
