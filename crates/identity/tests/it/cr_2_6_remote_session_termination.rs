//! CR 2.6 remote session termination: administrators list and terminate sessions; logout
//! invalidates the session on the server.

use rampart_identity::{IdentityError, SessionError};

use crate::util::{GOOD, GOOD2, Harness, acct, web};

#[test]
fn cr_2_6_admin_lists_and_terminates_sessions() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.user("sec", &["security-admin"], GOOD2);
    let s = h.id.create_session(&h.login("alice", GOOD)).unwrap();
    let sec = h.login("sec", GOOD2);
    let all = h.id.list_sessions(&sec, None).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].account, "alice");
    assert_eq!(all[0].source, web().address);
    // The listing never contains the session id.
    let json = serde_json::to_string(&all).unwrap();
    assert!(!json.contains(&s.token.expose_secret()[4..]));
    h.id.terminate_session(&sec, all[0].handle).unwrap();
    assert!(matches!(
        h.id.validate_session(s.token.expose_secret(), &web()),
        Err(SessionError::Invalid)
    ));
    assert!(matches!(
        h.id.terminate_session(&sec, all[0].handle),
        Err(IdentityError::SessionNotFound(_))
    ));
}

#[test]
fn cr_2_6_users_see_only_their_own_sessions() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.user("bob", &["viewer"], GOOD2);
    let alice = h.login("alice", GOOD);
    h.id.create_session(&alice).unwrap();
    let bob_session = h.id.create_session(&h.login("bob", GOOD2)).unwrap();
    assert_eq!(
        h.id.list_sessions(&alice, Some(&acct("alice")))
            .unwrap()
            .len(),
        1
    );
    assert!(h.id.list_sessions(&alice, None).is_err());
    assert!(h.id.list_sessions(&alice, Some(&acct("bob"))).is_err());
    assert!(matches!(
        h.id.terminate_session(&alice, bob_session.info.handle),
        Err(IdentityError::Denied(_))
    ));
}

#[test]
fn cr_2_6_logout_invalidates_on_the_server() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let s = h.id.create_session(&h.login("alice", GOOD)).unwrap();
    h.id.validate_session(s.token.expose_secret(), &web())
        .unwrap();
    h.id.logout(s.token.expose_secret(), &web()).unwrap();
    assert!(
        h.id.validate_session(s.token.expose_secret(), &web())
            .is_err()
    );
    assert!(h.id.logout(s.token.expose_secret(), &web()).is_err());
    let rec = h.audit.with_action("session-terminate").pop().unwrap();
    assert_eq!(rec.details["reason"], "logout");
}
