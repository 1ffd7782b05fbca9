//! CR 2.5 session lock: a session idle longer than the timeout is locked (it must be
//! re-established by authenticating again); sessions also have an absolute lifetime.

use jiff::SignedDuration;
use rampart_identity::SessionError;

use crate::util::{GOOD, Harness, web};

#[test]
fn cr_2_5_idle_session_locks_after_the_timeout() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let s = h.id.create_session(&h.login("alice", GOOD)).unwrap();
    let token = s.token.expose_secret();
    // Activity keeps it alive.
    for _ in 0..4 {
        h.advance(SignedDuration::from_mins(10));
        let p = h.id.validate_session(token, &web()).unwrap();
        assert_eq!(p.name(), "alice");
        assert_eq!(p.session(), Some(s.info.handle));
    }
    h.advance(SignedDuration::from_mins(16));
    assert!(matches!(
        h.id.validate_session(token, &web()),
        Err(SessionError::Invalid)
    ));
    let rec = h.audit.with_action("session-terminate").pop().unwrap();
    assert_eq!(rec.details["reason"], "idle-timeout");
}

#[test]
fn cr_2_5_session_ends_at_its_absolute_lifetime() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let s = h.id.create_session(&h.login("alice", GOOD)).unwrap();
    assert_eq!(
        s.info.expires_at,
        h.clock.now() + SignedDuration::from_hours(12)
    );
    for _ in 0..(12 * 6) {
        h.advance(SignedDuration::from_mins(10));
        if h.id
            .validate_session(s.token.expose_secret(), &web())
            .is_err()
        {
            break;
        }
    }
    assert!(h.clock.now() >= s.info.expires_at);
    assert!(
        h.id.validate_session(s.token.expose_secret(), &web())
            .is_err()
    );
    let rec = h.audit.with_action("session-terminate").pop().unwrap();
    assert_eq!(rec.details["reason"], "lifetime-exceeded");
}
