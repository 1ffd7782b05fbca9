//! CR 1.14 strength of symmetric-key-based authentication: API tokens of 256 random bits,
//! stored as SHA-256, scoped to a role, expiring, revocable, every use audited.

use jiff::SignedDuration;
use rampart_identity::{AuthMethod, IdentityError, Permission, TokenError};
use rampart_vault::crypto::sha256;

use crate::util::{GOOD, Harness, acct, role, web};

fn setup() -> (Harness, rampart_identity::AuthenticatedPrincipal) {
    let h = Harness::new();
    h.user("eng", &["engineer", "viewer"], GOOD);
    let p = h.login("eng", GOOD);
    (h, p)
}

#[test]
fn cr_1_14_tokens_are_random_256_bit_and_stored_hashed() {
    let (h, p) = setup();
    let t =
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("viewer"),
            "grafana",
            SignedDuration::from_hours(24),
        )
        .unwrap();
    let secret = t.token.expose_secret().to_owned();
    assert!(secret.starts_with("rpt_"));
    assert_eq!(secret.len(), 4 + 64);
    let other =
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("viewer"),
            "second",
            SignedDuration::from_hours(24),
        )
        .unwrap();
    assert_ne!(secret, other.token.expose_secret());
    assert_eq!(format!("{:?}", t.token), "ApiToken(<redacted>)");
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    let stored: Vec<u8> = conn
        .query_row(
            "SELECT token_hash FROM api_tokens WHERE id = ?1",
            [t.info.id],
            |r| r.get(0),
        )
        .unwrap();
    let raw: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&secret[4 + 2 * i..6 + 2 * i], 16).unwrap())
        .collect();
    assert_eq!(stored, sha256(&raw).to_vec());
    let dump: String = conn
        .query_row("SELECT group_concat(label) FROM api_tokens", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!dump.contains(&secret[4..]));
}

#[test]
fn cr_1_14_token_is_scoped_to_its_role() {
    let (h, p) = setup();
    let t =
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("viewer"),
            "dash",
            SignedDuration::from_hours(1),
        )
        .unwrap();
    let tp =
        h.id.authenticate_token(t.token.expose_secret(), &web())
            .unwrap();
    assert_eq!(tp.method(), AuthMethod::ApiToken);
    assert_eq!(tp.roles(), &[role("viewer")]);
    h.id.authorize(&tp, Permission::MetricsRead).unwrap();
    // The owner can apply policy; the viewer-scoped token cannot.
    h.id.authorize(&p, Permission::PolicyApply).unwrap();
    assert!(h.id.authorize(&tp, Permission::PolicyApply).is_err());
    // Only roles the owner holds.
    assert!(matches!(
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("admin"),
            "x",
            SignedDuration::from_hours(1)
        ),
        Err(IdentityError::Invalid(_))
    ));
    // A token cannot mint tokens.
    assert!(
        h.id.create_token(
            &tp,
            &acct("eng"),
            &role("viewer"),
            "x",
            SignedDuration::from_hours(1)
        )
        .is_err()
    );
    // Taking the role from the owner disables the token.
    h.id.unassign_role(&h.root, &acct("eng"), &role("viewer"))
        .unwrap();
    assert!(matches!(
        h.id.authenticate_token(t.token.expose_secret(), &web()),
        Err(TokenError::Invalid)
    ));
}

#[test]
fn cr_1_14_tokens_expire_and_can_be_revoked() {
    let (h, p) = setup();
    assert!(matches!(
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("viewer"),
            "x",
            SignedDuration::from_hours(24 * 400)
        ),
        Err(IdentityError::Invalid(_))
    ));
    let short =
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("viewer"),
            "short",
            SignedDuration::from_mins(5),
        )
        .unwrap();
    let revocable =
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("viewer"),
            "revocable",
            SignedDuration::from_hours(1),
        )
        .unwrap();
    h.id.authenticate_token(short.token.expose_secret(), &web())
        .unwrap();
    h.advance(SignedDuration::from_mins(6));
    assert!(
        h.id.authenticate_token(short.token.expose_secret(), &web())
            .is_err()
    );
    h.id.authenticate_token(revocable.token.expose_secret(), &web())
        .unwrap();
    h.id.revoke_token(&p, revocable.info.id).unwrap();
    assert!(
        h.id.authenticate_token(revocable.token.expose_secret(), &web())
            .is_err()
    );
    let listed = h.id.list_tokens(&p, Some(&acct("eng"))).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[1].revoked_at.is_some());
    assert!(listed[0].last_used_at.is_some());
}

#[test]
fn cr_1_14_every_use_is_audited_and_bad_tokens_are_generic() {
    let (h, p) = setup();
    let t =
        h.id.create_token(
            &p,
            &acct("eng"),
            &role("viewer"),
            "ci",
            SignedDuration::from_hours(1),
        )
        .unwrap();
    h.id.authenticate_token(t.token.expose_secret(), &web())
        .unwrap();
    h.id.authenticate_token(t.token.expose_secret(), &web())
        .unwrap();
    let uses = h.audit.with_action("token-use");
    assert_eq!(uses.len(), 2);
    assert_eq!(uses[0].actor.name, "eng");
    let forged = format!("rpt_{}", "0".repeat(64));
    for bad in ["", "rpt_", "Bearer x", forged.as_str()] {
        let e = h.id.authenticate_token(bad, &web()).unwrap_err();
        assert_eq!(e.to_string(), "token invalid or expired");
    }
    // Fail closed: no record, no use.
    h.audit.set_available(false);
    assert!(matches!(
        h.id.authenticate_token(t.token.expose_secret(), &web()),
        Err(TokenError::AuditUnavailable(_))
    ));
}
