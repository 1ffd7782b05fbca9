//! CR 2.1 RE 3 supervisor override: time-limited, with a reason, audited.

use jiff::SignedDuration;
use rampart_identity::{IdentityError, Permission};

use crate::util::{GOOD, GOOD2, Harness, acct};

#[test]
fn cr_2_1_re_3_override_grants_temporarily_and_is_audited() {
    let h = Harness::new();
    h.user("sup", &["security-admin", "operator"], GOOD);
    h.user("olga", &["viewer"], GOOD2);
    let sup = h.login("sup", GOOD);
    let olga = h.login("olga", GOOD2);
    assert!(h.id.authorize(&olga, Permission::IslandMode).is_err());
    let o =
        h.id.grant_override(
            &sup,
            &acct("olga"),
            Permission::IslandMode,
            SignedDuration::from_mins(30),
            "Night shift needs to isolate pump station 3",
        )
        .unwrap();
    assert_eq!(o.granted_by, "sup");
    let olga = h.login("olga", GOOD2);
    h.id.authorize(&olga, Permission::IslandMode).unwrap();
    let uses = h.audit.with_action("override-use");
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0].actor.name, "olga");
    let grant = &h.audit.with_action("override-grant")[0];
    assert_eq!(
        grant.details["reason"],
        "Night shift needs to isolate pump station 3"
    );
    // It ends by itself, even for a principal made while it was live.
    h.advance(SignedDuration::from_mins(31));
    assert!(h.id.authorize(&olga, Permission::IslandMode).is_err());
    assert!(h.id.list_overrides(&sup).unwrap().is_empty());
}

#[test]
fn cr_2_1_re_3_override_needs_reason_limit_and_authority() {
    let h = Harness::new();
    h.user("sup", &["security-admin", "operator"], GOOD);
    h.user("olga", &["viewer"], GOOD2);
    let sup = h.login("sup", GOOD);
    let olga = h.login("olga", GOOD2);
    let grant = |who, perm, mins, reason| {
        h.id.grant_override(
            who,
            &acct("olga"),
            perm,
            SignedDuration::from_mins(mins),
            reason,
        )
    };
    assert!(matches!(
        grant(&sup, Permission::IslandMode, 30, "  "),
        Err(IdentityError::Invalid(_))
    ));
    assert!(matches!(
        grant(&sup, Permission::IslandMode, 9 * 60, "long"),
        Err(IdentityError::Invalid(_))
    ));
    // A supervisor cannot hand out what they do not hold.
    assert!(matches!(
        grant(&sup, Permission::BackupRestore, 30, "restore"),
        Err(IdentityError::Denied(_))
    ));
    // Someone without override.grant cannot override at all.
    assert!(matches!(
        grant(&olga, Permission::PolicyView, 30, "self"),
        Err(IdentityError::Denied(_))
    ));
    let o = grant(&sup, Permission::IslandMode, 30, "drill").unwrap();
    h.id.revoke_override(&sup, o.id).unwrap();
    let olga = h.login("olga", GOOD2);
    assert!(h.id.authorize(&olga, Permission::IslandMode).is_err());
}
