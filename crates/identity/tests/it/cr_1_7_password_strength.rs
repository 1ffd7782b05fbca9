//! CR 1.7 strength of password-based authentication (NIST SP 800-63B-4 defaults) and RE 1
//! (history and lifetime, off by default).

use jiff::SignedDuration;
use rampart_identity::{Blocklist, IdentityError, NewAccount, Password, PasswordRejected, totp};

use crate::util::{GOOD, GOOD2, GOOD3, Harness, acct, config, role};

fn create(h: &Harness, name: &str, password: &str) -> Result<(), IdentityError> {
    h.id.create_user(
        &h.root,
        &NewAccount::new(acct(name)).role(role("viewer")),
        &Password::from(password),
    )
    .map(|_| ())
}

fn rejected(r: Result<(), IdentityError>) -> PasswordRejected {
    match r {
        Err(IdentityError::Password(p)) => p,
        other => panic!("expected a password rejection, got {other:?}"),
    }
}

#[test]
fn cr_1_7_minimum_15_characters_when_password_is_the_only_factor() {
    let h = Harness::new();
    let e = rejected(create(&h, "alice", "Tr0ub4dor&3xyz"));
    assert_eq!(
        e,
        PasswordRejected::TooShort {
            length: 14,
            minimum: 15
        }
    );
    assert_eq!(
        e.to_string(),
        "password is too short: 14 characters, at least 15 required"
    );
}

#[test]
fn cr_1_7_minimum_8_characters_with_mfa() {
    let h = Harness::new();
    h.id.set_role_mfa(&h.root, &role("operator"), true).unwrap();
    h.id.create_user(
        &h.root,
        &NewAccount::new(acct("olga")).role(role("operator")),
        &Password::from("vQ7#kp2!Lm"),
    )
    .unwrap();
    // An enrolled user may also choose a shorter one.
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let e = h.id.begin_totp_enrolment(&p).unwrap();
    let code = totp::code_at(e.expose_secret_base32(), h.clock.now()).unwrap();
    h.id.confirm_totp_enrolment(&p, &code).unwrap();
    h.advance(SignedDuration::from_secs(30));
    h.id.change_password(&p, &Password::from(GOOD), &Password::from("zW4$hq9!Rt"))
        .unwrap();
}

#[test]
fn cr_1_7_at_least_64_characters_accepted_and_no_composition_rules() {
    let h = Harness::new();
    let long = "the quick onyx goblin jumps over the lazy dwarf by the river bank";
    assert!(long.chars().count() >= 64);
    create(&h, "alice", long).unwrap();
    // Only lower-case letters and spaces: fine when unguessable.
    create(&h, "bob", GOOD2).unwrap();
    let e = rejected(create(&h, "carol", &"x".repeat(129)));
    assert!(matches!(e, PasswordRejected::TooLong { maximum: 128, .. }));
}

#[test]
fn cr_1_7_guessable_passwords_are_refused_with_the_reason() {
    let h = Harness::new();
    for weak in [
        "passwordpassword1",
        "qwertyuiopasdfgh",
        "alicealice12345678",
        "rampart-rampart-2024",
    ] {
        let r = create(&h, "alice", weak);
        assert!(r.is_err(), "{weak} accepted");
        let e = rejected(r);
        assert!(
            matches!(e, PasswordRejected::TooGuessable { minimum: 3, .. }),
            "{weak}: {e}"
        );
        assert!(e.to_string().contains("too easy to guess"), "{e}");
    }
}

#[test]
fn cr_1_7_blocklist_file_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("breached.txt");
    std::fs::write(&file, format!("{GOOD}\nsomething else entirely\n")).unwrap();
    let mut cfg = config();
    cfg.password.blocklist_file = Some(file);
    let h = Harness::with_config(cfg);
    assert_eq!(
        rejected(create(&h, "alice", &GOOD.to_uppercase())),
        PasswordRejected::Blocklisted
    );
    create(&h, "alice", GOOD2).unwrap();
    // A blocklist can also be given in code.
    assert_eq!(Blocklist::from_lines(["a", "b"]).len(), 2);
}

#[test]
fn cr_1_7_re_1_history_is_off_by_default_and_enforced_when_on() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    h.id.change_password(&p, &Password::from(GOOD), &Password::from(GOOD2))
        .unwrap();
    // Off by default: going back to an old password is allowed.
    h.id.change_password(&p, &Password::from(GOOD2), &Password::from(GOOD))
        .unwrap();

    let mut cfg = config();
    cfg.password.history = 2;
    let h = Harness::with_config(cfg);
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    h.id.change_password(&p, &Password::from(GOOD), &Password::from(GOOD2))
        .unwrap();
    let e =
        h.id.change_password(&p, &Password::from(GOOD2), &Password::from(GOOD))
            .unwrap_err();
    assert!(
        matches!(
            e,
            IdentityError::Password(PasswordRejected::Reused { depth: 2 })
        ),
        "{e}"
    );
    h.id.change_password(&p, &Password::from(GOOD2), &Password::from(GOOD3))
        .unwrap();
    // GOOD is now three passwords back: allowed again.
    h.id.change_password(&p, &Password::from(GOOD3), &Password::from(GOOD))
        .unwrap();
}

#[test]
fn cr_1_7_re_1_minimum_and_maximum_lifetime() {
    let mut cfg = config();
    cfg.password.min_lifetime = Some(SignedDuration::from_hours(24));
    cfg.password.max_lifetime = Some(SignedDuration::from_hours(24 * 90));
    let h = Harness::with_config(cfg);
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let e =
        h.id.change_password(&p, &Password::from(GOOD), &Password::from(GOOD2))
            .unwrap_err();
    assert!(
        matches!(e, IdentityError::Password(PasswordRejected::TooSoon { .. })),
        "{e}"
    );
    h.advance(SignedDuration::from_hours(25));
    h.id.change_password(&p, &Password::from(GOOD), &Password::from(GOOD2))
        .unwrap();
    h.advance(SignedDuration::from_hours(24 * 91));
    assert!(h.login("alice", GOOD2).password_change_required());
}
