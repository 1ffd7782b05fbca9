//! CR 1.10 authenticator feedback: a failed login never says which part was wrong, and an
//! unknown account cannot be told from a wrong password, not even by the work done.

use jiff::SignedDuration;
use rampart_identity::{LoginError, Password};

use crate::util::{GOOD, Harness, acct, from, web};

#[test]
fn cr_1_10_every_failure_is_the_same_generic_error() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.user("dora", &["viewer"], GOOD);
    h.id.disable_account(&h.root, &acct("dora")).unwrap();
    h.user("eve", &["viewer"], GOOD);
    h.id.set_account_expiry(&h.root, &acct("eve"), Some(h.clock.now()))
        .unwrap();
    let attempts: &[(&str, &str)] = &[
        ("alice", "wrong password entirely"),
        ("nobody", GOOD),
        ("dora", GOOD),
        ("eve", GOOD),
        ("not a valid name!", GOOD),
    ];
    for (name, password) in attempts {
        let err =
            h.id.authenticate(name, &Password::from(*password), None, &web())
                .unwrap_err();
        assert!(matches!(err, LoginError::Failed), "{name}: {err:?}");
        assert_eq!(err.to_string(), "authentication failed", "{name}");
    }
    // The audit trail knows why.
    let reasons: Vec<String> = h
        .audit
        .with_action("login")
        .iter()
        .filter_map(|r| r.details.get("reason").map(ToString::to_string))
        .collect();
    for expected in [
        "bad-password",
        "unknown-account",
        "account-disabled",
        "account-expired",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{expected} in {reasons:?}"
        );
    }
}

#[test]
fn cr_1_10_unknown_account_and_wrong_password_do_one_verification_each() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let before = h.id.password_verifications();
    let _ =
        h.id.authenticate("alice", &Password::from("wrong password"), None, &web());
    let known = h.id.password_verifications() - before;
    let before = h.id.password_verifications();
    let _ =
        h.id.authenticate("mallory", &Password::from("wrong password"), None, &web());
    let unknown = h.id.password_verifications() - before;
    let before = h.id.password_verifications();
    h.login("alice", GOOD);
    let success = h.id.password_verifications() - before;
    assert_eq!((known, unknown, success), (1, 1, 1));
}

#[test]
fn cr_1_10_locked_disabled_and_expired_accounts_cost_the_same_work() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.id.disable_account(&h.root, &acct("alice")).unwrap();
    let before = h.id.password_verifications();
    let _ =
        h.id.authenticate("alice", &Password::from(GOOD), None, &from("192.0.2.77"));
    assert_eq!(h.id.password_verifications() - before, 1);
    h.advance(SignedDuration::from_secs(1));
}

#[test]
fn cr_1_10_unknown_names_are_not_recorded() {
    // A user who types their password into the name field must not find it in the audit log.
    let h = Harness::new();
    let typed_into_name = "secret-looking-name";
    let _ =
        h.id.authenticate(typed_into_name, &Password::from(GOOD), None, &web());
    let text = crate::util::records_text(&h);
    assert!(!text.contains(typed_into_name), "{text}");
    assert!(text.contains("unknown-account"));
}
