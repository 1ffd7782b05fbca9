//! CR 1.11 unsuccessful login attempts: lockout after N failures in a window, for a time or
//! until an administrator unlocks; throttling per source address.

use jiff::SignedDuration;
use rampart_identity::{AuditOutcome, IdentityConfig, LoginError, Password};

use crate::util::{GOOD, GOOD2, Harness, acct, config, from, web};

fn fail(h: &Harness, name: &str, origin: &rampart_identity::Origin) {
    let err =
        h.id.authenticate(
            name,
            &Password::from("not the password at all"),
            None,
            origin,
        )
        .unwrap_err();
    assert!(matches!(err, LoginError::Failed));
}

fn try_login(h: &Harness, name: &str, origin: &rampart_identity::Origin) -> bool {
    h.id.authenticate(name, &Password::from(GOOD), None, origin)
        .is_ok()
}

#[test]
fn cr_1_11_locks_after_five_failures() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    for i in 0..4 {
        fail(&h, "alice", &from(&format!("198.51.100.{i}")));
    }
    assert!(h.audit.with_action("lockout").is_empty());
    // A correct password after four failures still works and resets the count.
    assert!(try_login(&h, "alice", &web()));
    for i in 0..5 {
        fail(&h, "alice", &from(&format!("198.51.100.{i}")));
    }
    let lockouts = h.audit.with_action("lockout");
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].target.as_deref(), Some("alice"));
    assert_eq!(lockouts[0].outcome, AuditOutcome::Success);
    // Now even the right password fails, with the same generic error.
    assert!(!try_login(&h, "alice", &web()));
    let info = h.id.account(&h.root, &acct("alice")).unwrap();
    assert!(info.locked);
}

#[test]
fn cr_1_11_failures_outside_the_window_do_not_add_up() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    for _ in 0..4 {
        fail(&h, "alice", &web());
    }
    h.advance(SignedDuration::from_mins(16));
    fail(&h, "alice", &from("198.51.100.1"));
    assert!(try_login(&h, "alice", &web()));
}

#[test]
fn cr_1_11_lock_ends_after_the_configured_time() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    for i in 0..5 {
        fail(&h, "alice", &from(&format!("198.51.100.{i}")));
    }
    assert!(!try_login(&h, "alice", &web()));
    h.advance(SignedDuration::from_mins(14));
    assert!(!try_login(&h, "alice", &web()));
    h.advance(SignedDuration::from_mins(2));
    assert!(try_login(&h, "alice", &web()));
}

#[test]
fn cr_1_11_lock_until_admin_unlock_when_configured() {
    let mut cfg = config();
    cfg.lockout.lock_for = None;
    let h = Harness::with_config(cfg);
    h.user("alice", &["viewer"], GOOD);
    for i in 0..5 {
        fail(&h, "alice", &from(&format!("198.51.100.{i}")));
    }
    h.advance(SignedDuration::from_hours(48));
    assert!(!try_login(&h, "alice", &web()));
    h.id.unlock_account(&h.root, &acct("alice")).unwrap();
    assert_eq!(h.audit.with_action("unlock").len(), 1);
    assert!(try_login(&h, "alice", &web()));
}

#[test]
fn cr_1_11_one_source_cannot_lock_out_every_account() {
    let h = Harness::new();
    let names = ["alice", "bob", "carol", "dave", "erin"];
    for n in names {
        h.user(n, &["viewer"], GOOD);
    }
    // One attacker sprays every account from one address, 5 tries each.
    let attacker = from("203.0.113.66");
    for n in names {
        for _ in 0..5 {
            let _ =
                h.id.authenticate(n, &Password::from("guess guess guess"), None, &attacker);
        }
    }
    // Its budget (10 failures) is spent on the first two accounts; the rest are untouched.
    assert_eq!(h.audit.with_action("source-throttle").len(), 1);
    assert_eq!(h.audit.with_action("lockout").len(), 2);
    for n in ["carol", "dave", "erin"] {
        assert!(try_login(&h, n, &web()), "{n} must not be locked");
        let info = h.id.account(&h.root, &acct(n)).unwrap();
        assert_eq!(info.failed_logins, 0, "{n}");
    }
    // The attacker's address is refused even with a right password, for a while.
    assert!(!try_login(&h, "carol", &attacker));
    h.advance(SignedDuration::from_mins(16));
    assert!(try_login(&h, "carol", &attacker));
}

#[test]
fn cr_1_11_throttled_attempts_do_no_password_work() {
    let mut cfg: IdentityConfig = config();
    cfg.throttle.max_failures = 2;
    let h = Harness::with_config(cfg);
    h.user("alice", &["viewer"], GOOD);
    let attacker = from("203.0.113.7");
    fail(&h, "alice", &attacker);
    fail(&h, "alice", &attacker);
    let before = h.id.password_verifications();
    assert!(!try_login(&h, "alice", &attacker));
    assert_eq!(h.id.password_verifications(), before);
}

#[test]
fn cr_1_11_concurrent_failures_are_all_counted_and_lock_once() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    std::thread::scope(|s| {
        for i in 0..8 {
            let h = &h;
            s.spawn(move || fail(h, "alice", &from(&format!("198.51.100.{i}"))));
        }
    });
    let info = h.id.account(&h.root, &acct("alice")).unwrap();
    assert_eq!(info.failed_logins, 8);
    assert!(info.locked);
    assert_eq!(h.audit.with_action("lockout").len(), 1);
}

#[test]
fn cr_1_11_an_anonymous_source_cannot_lock_out_the_last_administrator() {
    let h = Harness::new();
    h.user("boss", &["admin"], GOOD);
    let attacker = from("198.51.100.7");
    // Five failures lock (under the source throttle's ten, so the lockout decides).
    for _ in 0..5 {
        assert!(
            h.id.authenticate("boss", &Password::from("wrong guess 1234"), None, &attacker)
                .is_err()
        );
    }
    // Locked for the guessing source, even with the right password…
    assert!(
        h.id.authenticate("boss", &Password::from(GOOD), None, &attacker)
            .is_err()
    );
    // …but not for the administrator at another source.
    h.id.authenticate("boss", &Password::from(GOOD), None, &from("192.0.2.44"))
        .unwrap();
    let lockout = h
        .records()
        .into_iter()
        .find(|r| r.action == "lockout")
        .expect("the per-source lockout is audited");
    assert_eq!(lockout.details["scope"], "source");
    // The CLI/administrator unlock clears it.
    h.id.unlock_account(&h.root, &acct("boss")).unwrap();
    h.id.authenticate("boss", &Password::from(GOOD), None, &attacker)
        .unwrap();
}

#[test]
fn cr_1_11_an_administrator_with_a_colleague_is_locked_everywhere() {
    let h = Harness::new();
    h.user("boss", &["admin"], GOOD);
    h.user("deputy", &["admin"], GOOD2);
    let attacker = from("198.51.100.7");
    for _ in 0..5 {
        let _ =
            h.id.authenticate("boss", &Password::from("wrong guess 1234"), None, &attacker);
    }
    assert!(
        h.id.authenticate("boss", &Password::from(GOOD), None, &from("192.0.2.44"))
            .is_err(),
        "another usable administrator remains, so the account lock is global"
    );
    // Now deputy is the only usable administrator: it is locked per source only.
    for _ in 0..5 {
        let _ = h.id.authenticate(
            "deputy",
            &Password::from("wrong guess 1234"),
            None,
            &attacker,
        );
    }
    h.id.authenticate("deputy", &Password::from(GOOD2), None, &from("192.0.2.44"))
        .unwrap();
}
