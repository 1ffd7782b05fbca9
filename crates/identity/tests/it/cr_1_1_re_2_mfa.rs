//! CR 1.1 RE 2 multifactor authentication: TOTP (RFC 6238) enrolment, verification with one
//! step of skew, replay refused, required per role or for everyone.

use jiff::SignedDuration;
use rampart_identity::{AuthMethod, IdentityError, LoginError, Password, Permission, totp};

use crate::util::{GOOD, Harness, acct, config, role, web};

/// Enrols `name` (logged in with GOOD) and returns the base32 secret.
fn enrol(h: &Harness, name: &str) -> String {
    let p = h.login(name, GOOD);
    let e = h.id.begin_totp_enrolment(&p).unwrap();
    let secret = e.expose_secret_base32().to_owned();
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    h.id.confirm_totp_enrolment(&p, &code).unwrap();
    secret
}

fn login_with(
    h: &Harness,
    name: &str,
    code: Option<&str>,
) -> Result<rampart_identity::AuthenticatedPrincipal, LoginError> {
    h.id.authenticate(name, &Password::from(GOOD), code, &web())
}

#[test]
fn cr_1_1_re_2_enrolment_returns_an_otpauth_uri() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let e = h.id.begin_totp_enrolment(&p).unwrap();
    let uri = e.expose_uri();
    assert!(
        uri.starts_with("otpauth://totp/Rampart:alice?secret="),
        "{uri}"
    );
    assert!(uri.contains("&issuer=Rampart&algorithm=SHA1&digits=6&period=30"));
    assert!(uri.contains(e.expose_secret_base32()));
    // A wrong code does not complete enrolment.
    let code = totp::code_at(e.expose_secret_base32(), h.clock.now()).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        h.id.confirm_totp_enrolment(&p, wrong),
        Err(IdentityError::TotpCodeRejected)
    ));
    assert!(!h.id.account(&h.root, &acct("alice")).unwrap().mfa_enrolled);
    h.id.confirm_totp_enrolment(&p, &code).unwrap();
    assert!(h.id.account(&h.root, &acct("alice")).unwrap().mfa_enrolled);
    // The secret never reaches the audit trail.
    assert!(!crate::util::records_text(&h).contains(e.expose_secret_base32()));
}

#[test]
fn cr_1_1_re_2_enrolled_user_needs_a_valid_code() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let secret = enrol(&h, "alice");
    h.advance(SignedDuration::from_secs(60));
    assert!(matches!(
        login_with(&h, "alice", None),
        Err(LoginError::Failed)
    ));
    assert!(matches!(
        login_with(&h, "alice", Some("12345")),
        Err(LoginError::Failed)
    ));
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    let p = login_with(&h, "alice", Some(&code)).unwrap();
    assert_eq!(p.method(), AuthMethod::PasswordAndTotp);
}

#[test]
fn cr_1_1_re_2_accepts_one_step_of_clock_skew() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let secret = enrol(&h, "alice");
    h.advance(SignedDuration::from_mins(5));
    let previous = totp::code_at(&secret, h.clock.now() - SignedDuration::from_secs(30)).unwrap();
    login_with(&h, "alice", Some(&previous)).unwrap();
    h.advance(SignedDuration::from_mins(5));
    let next = totp::code_at(&secret, h.clock.now() + SignedDuration::from_secs(30)).unwrap();
    login_with(&h, "alice", Some(&next)).unwrap();
    h.advance(SignedDuration::from_mins(5));
    let stale = totp::code_at(&secret, h.clock.now() - SignedDuration::from_secs(90)).unwrap();
    let current = totp::code_at(&secret, h.clock.now()).unwrap();
    if stale != current {
        assert!(login_with(&h, "alice", Some(&stale)).is_err());
    }
}

#[test]
fn cr_1_1_re_2_a_used_code_cannot_be_replayed() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let secret = enrol(&h, "alice");
    h.advance(SignedDuration::from_secs(30));
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    login_with(&h, "alice", Some(&code)).unwrap();
    // Same code, same step: refused.
    assert!(login_with(&h, "alice", Some(&code)).is_err());
    // An earlier step's code, still within the skew window: refused too.
    h.advance(SignedDuration::from_secs(30));
    assert!(login_with(&h, "alice", Some(&code)).is_err());
    let fresh = totp::code_at(&secret, h.clock.now()).unwrap();
    login_with(&h, "alice", Some(&fresh)).unwrap();
}

#[test]
fn cr_1_1_re_2_required_per_role_forces_enrolment_first() {
    let h = Harness::new();
    h.id.set_role_mfa(&h.root, &role("security-admin"), true)
        .unwrap();
    h.user("sam", &["security-admin"], GOOD);
    h.user("vic", &["viewer"], GOOD);
    let sam = h.login("sam", GOOD);
    assert!(sam.mfa_enrolment_required());
    let denied = h.id.authorize(&sam, Permission::UserView).unwrap_err();
    assert_eq!(
        denied.reason,
        rampart_identity::DenyReason::MfaEnrolmentRequired
    );
    let vic = h.login("vic", GOOD);
    assert!(!vic.mfa_enrolment_required());
    h.id.authorize(&vic, Permission::PolicyView).unwrap();
    // After enrolment, a login with a code is unrestricted.
    let secret = enrol(&h, "sam");
    h.advance(SignedDuration::from_secs(30));
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    let sam = login_with(&h, "sam", Some(&code)).unwrap();
    h.id.authorize(&sam, Permission::UserView).unwrap();
}

#[test]
fn cr_1_1_re_2_required_for_everyone_by_configuration() {
    let mut cfg = config();
    cfg.mfa.required_for_all = true;
    let h = Harness::with_config(cfg);
    h.user("vic", &["viewer"], GOOD);
    let vic = h.login("vic", GOOD);
    assert!(vic.mfa_enrolment_required());
    assert!(h.id.authorize(&vic, Permission::PolicyView).is_err());
}

#[test]
fn cr_1_1_re_2_admin_reset_allows_re_enrolment() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let secret = enrol(&h, "alice");
    h.advance(SignedDuration::from_secs(30));
    let code = totp::code_at(&secret, h.clock.now()).unwrap();
    let p = login_with(&h, "alice", Some(&code)).unwrap();
    assert!(matches!(
        h.id.begin_totp_enrolment(&p),
        Err(IdentityError::Invalid(_))
    ));
    h.id.reset_mfa(&h.root, &acct("alice")).unwrap();
    let p = h.login("alice", GOOD);
    h.id.begin_totp_enrolment(&p).unwrap();
}
