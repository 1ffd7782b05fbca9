//! CR 3.8 session integrity: unpredictable 128-bit session ids, stored only as SHA-256,
//! unusable after logout, not derivable from the handle.

use std::collections::HashSet;

use rampart_identity::SessionError;
use rampart_vault::crypto::sha256;

use crate::util::{GOOD, Harness, config, web};

#[test]
fn cr_3_8_session_ids_are_random_128_bit_and_stored_hashed() {
    let mut cfg = config();
    cfg.sessions.max_per_account = 100;
    let h = Harness::with_config(cfg);
    h.user("alice", &["viewer"], GOOD);
    let p = h.login("alice", GOOD);
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let s = h.id.create_session(&p).unwrap();
        let token = s.token.expose_secret().to_owned();
        assert!(token.starts_with("rps_"));
        assert_eq!(token.len(), 4 + 32);
        assert!(seen.insert(token));
    }
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    let mut stmt = conn.prepare("SELECT token_hash FROM sessions").unwrap();
    let stored: HashSet<Vec<u8>> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for token in &seen {
        let raw: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(&token[4 + 2 * i..6 + 2 * i], 16).unwrap())
            .collect();
        assert!(stored.contains(&Vec::from(sha256(&raw))));
    }
    // Nothing in the store contains a session id.
    let bytes = std::fs::read(h.db_path()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for token in &seen {
        assert!(!text.contains(&token[4..]));
    }
}

#[test]
fn cr_3_8_forged_and_malformed_ids_are_refused() {
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    h.id.create_session(&h.login("alice", GOOD)).unwrap();
    let forged = format!("rps_{}", "a".repeat(32));
    for bad in [
        "",
        "rps_",
        "1",
        forged.as_str(),
        "rps_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    ] {
        assert!(matches!(
            h.id.validate_session(bad, &web()),
            Err(SessionError::Invalid)
        ));
    }
    assert!(!h.audit.with_action("session-validate").is_empty());
}

#[test]
fn cr_3_8_sessions_are_only_for_password_logins() {
    let h = Harness::new();
    // The local console and certificate principals get no session.
    assert!(matches!(
        h.id.create_session(&h.root),
        Err(SessionError::Invalid)
    ));
}

#[test]
fn cr_3_8_a_rotated_session_id_replaces_the_old_one() {
    use crate::util::{GOOD, Harness};
    let h = Harness::new();
    h.user("alice", &["viewer"], GOOD);
    let session = h.id.create_session(&h.login("alice", GOOD)).unwrap();
    let old = session.token.expose_secret().to_owned();
    let principal = h.id.validate_session(&old, &crate::util::web()).unwrap();
    let (new, _) = h.id.rotate_session(&principal, "password-change").unwrap();
    assert_ne!(new.expose_secret(), old);
    assert!(h.id.validate_session(&old, &crate::util::web()).is_err());
    let again =
        h.id.validate_session(new.expose_secret(), &crate::util::web())
            .unwrap();
    assert_eq!(again.name(), "alice");
    assert!(h.records().iter().any(|r| r.action == "session-rotate"));
    // A principal without a session (an API token, the console) has nothing to rotate.
    assert!(h.id.rotate_session(&h.root, "x").is_err());
}
