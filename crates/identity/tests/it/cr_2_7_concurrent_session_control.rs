//! CR 2.7 concurrent session control: at most N sessions per account; the oldest is evicted
//! or the new one refused, as configured.

use jiff::SignedDuration;
use rampart_identity::{SessionError, SessionLimitAction};

use crate::util::{GOOD, Harness, config, web};

#[test]
fn cr_2_7_oldest_session_is_evicted_by_default() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(h.id.create_session(&p).unwrap());
        h.advance(SignedDuration::from_secs(10));
    }
    // The first is used again, so the second is now the least recently used.
    h.id.validate_session(sessions[0].token.expose_secret(), &web())
        .unwrap();
    let fourth = h.id.create_session(&p).unwrap();
    assert!(
        h.id.validate_session(sessions[0].token.expose_secret(), &web())
            .is_ok()
    );
    assert!(
        h.id.validate_session(sessions[1].token.expose_secret(), &web())
            .is_err()
    );
    assert!(
        h.id.validate_session(sessions[2].token.expose_secret(), &web())
            .is_ok()
    );
    assert!(
        h.id.validate_session(fourth.token.expose_secret(), &web())
            .is_ok()
    );
    let evicted = h
        .audit
        .with_action("session-terminate")
        .into_iter()
        .filter(|r| r.details["reason"] == "evicted-by-limit")
        .count();
    assert_eq!(evicted, 1);
}

#[test]
fn cr_2_7_new_session_refused_when_configured() {
    let mut cfg = config();
    cfg.sessions.max_per_account = 2;
    cfg.sessions.on_limit = SessionLimitAction::RefuseNew;
    let h = Harness::with_config(cfg);
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let first = h.id.create_session(&p).unwrap();
    h.id.create_session(&p).unwrap();
    let err = h.id.create_session(&p).unwrap_err();
    assert!(matches!(err, SessionError::LimitReached { limit: 2 }));
    assert_eq!(
        err.to_string(),
        "concurrent session limit reached: 2 sessions per account"
    );
    h.id.logout(first.token.expose_secret(), &web()).unwrap();
    h.id.create_session(&p).unwrap();
}
