//! CR 2.1 RE 4 dual approval: configured permissions wait for a second, different
//! administrator.

use jiff::SignedDuration;
use rampart_identity::{
    ApprovalState, AuditOutcome, DenyReason, IdentityConfig, IdentityError, Permission,
};

use crate::util::{GOOD, GOOD2, GOOD3, Harness, acct, config};

fn harness() -> Harness {
    let mut cfg: IdentityConfig = config();
    cfg.approvals.required_for = [Permission::PolicyApply, Permission::UserRemove]
        .into_iter()
        .collect();
    let h = Harness::with_config(cfg);
    h.user("ann", &["admin"], GOOD);
    h.user("ben", &["admin"], GOOD2);
    h.user("vic", &["viewer"], GOOD3);
    h
}

#[test]
fn cr_2_1_re_4_configured_permission_waits_for_a_second_admin() {
    let h = harness();
    let ann = h.login("ann", GOOD);
    let ben = h.login("ben", GOOD2);
    let d = h.id.authorize(&ann, Permission::PolicyApply).unwrap_err();
    assert_eq!(d.reason, DenyReason::ApprovalRequired);
    // Other permissions are unaffected.
    h.id.authorize(&ann, Permission::PolicyStage).unwrap();

    let req =
        h.id.request_approval(
            &ann,
            Permission::PolicyApply,
            None,
            "Open register 40010 for the new HMI",
        )
        .unwrap();
    assert_eq!(req.state, ApprovalState::Pending);
    // The requester cannot approve their own request.
    assert!(matches!(
        h.id.approve(&ann, req.id, "ok"),
        Err(IdentityError::SelfApproval(_))
    ));
    // Nor can someone without the permission.
    let vic = h.login("vic", GOOD3);
    assert!(matches!(
        h.id.approve(&vic, req.id, "ok"),
        Err(IdentityError::Denied(_))
    ));
    let decided = h.id.approve(&ben, req.id, "checked the diff").unwrap();
    assert_eq!(decided.state, ApprovalState::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("ben"));

    // Only the requester redeems it, once.
    assert!(h.id.redeem_approval(&ben, req.id).is_err());
    let armed = h.id.redeem_approval(&ann, req.id).unwrap();
    h.id.authorize(&armed, Permission::PolicyApply).unwrap();
    assert!(h.id.redeem_approval(&ann, req.id).is_err());
    // The approval covers exactly that permission.
    assert!(h.id.authorize(&armed, Permission::UserRemove).is_err());
    // And lapses after the redeem window.
    h.advance(SignedDuration::from_mins(16));
    assert!(h.id.authorize(&armed, Permission::PolicyApply).is_err());
    for action in [
        "approval-request",
        "approval-approve",
        "approval-redeem",
        "approval-use",
    ] {
        let successes = h
            .audit
            .with_action(action)
            .into_iter()
            .filter(|r| r.outcome == AuditOutcome::Success)
            .count();
        assert_eq!(successes, 1, "{action}");
    }
    let refused = h.audit.with_action("approval-approve");
    assert_eq!(refused[0].outcome, AuditOutcome::Denied);
    assert_eq!(refused[0].details["reason"], "self-approval");
}

#[test]
fn cr_2_1_re_4_user_removal_approval_is_bound_to_its_target() {
    let h = harness();
    h.user("old", &["viewer"], "tangerine obelisk nimbus quiver");
    h.user("keep", &["viewer"], "violet harbour compass ember");
    let ann = h.login("ann", GOOD);
    let ben = h.login("ben", GOOD2);
    assert!(matches!(
        h.id.remove_account(&ann, &acct("old")),
        Err(IdentityError::Denied(_))
    ));
    let req =
        h.id.request_approval(
            &ann,
            Permission::UserRemove,
            Some("old"),
            "left the company",
        )
        .unwrap();
    h.id.approve(&ben, req.id, "").unwrap();
    let armed = h.id.redeem_approval(&ann, req.id).unwrap();
    assert!(h.id.remove_account(&armed, &acct("keep")).is_err());
    h.id.remove_account(&armed, &acct("old")).unwrap();
}

#[test]
fn cr_2_1_re_4_rejection_and_expiry() {
    let h = harness();
    let ann = h.login("ann", GOOD);
    let ben = h.login("ben", GOOD2);
    let req =
        h.id.request_approval(&ann, Permission::PolicyApply, None, "try")
            .unwrap();
    let rejected =
        h.id.reject(&ben, req.id, "not in the change window")
            .unwrap();
    assert_eq!(rejected.state, ApprovalState::Rejected);
    assert!(h.id.redeem_approval(&ann, req.id).is_err());
    let req =
        h.id.request_approval(&ann, Permission::PolicyApply, None, "later")
            .unwrap();
    // Redeeming needs an approved request; the message says which state it is in.
    let err = h.id.redeem_approval(&ann, req.id).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("approval request {} is pending, not approved", req.id)
    );
    h.advance(SignedDuration::from_hours(25));
    let err = h.id.approve(&ben, req.id, "").unwrap_err();
    assert!(
        matches!(err, IdentityError::ApprovalNotPending { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("approval request {} is expired, not pending", req.id)
    );
    let listed = h.id.list_approvals(&ben, false).unwrap();
    assert_eq!(listed[0].state, ApprovalState::Expired);
    assert!(matches!(
        h.id.request_approval(&ann, Permission::PolicyView, None, "x"),
        Err(IdentityError::Invalid(_))
    ));
}

#[test]
fn hardening_level_2_requires_mfa_for_administrators_and_approval_for_the_critical_actions() {
    use rampart_identity::{DenyReason, HardeningLevel, Permission};

    use crate::util::{GOOD, GOOD2, Harness, config};
    let h = Harness::with_config(HardeningLevel::SL2.apply(config()));
    h.user("boss", &["admin"], GOOD);
    h.user("eye", &["viewer"], GOOD2);
    let boss = h.login("boss", GOOD);
    assert!(
        boss.mfa_enrolment_required(),
        "administrators enrol MFA first"
    );
    assert!(!h.login("eye", GOOD2).mfa_enrolment_required());
    // Level 1 (the default) asks for neither.
    let plain = Harness::with_config(HardeningLevel::SL1.apply(config()));
    plain.user("boss", &["admin"], GOOD);
    let boss1 = plain.login("boss", GOOD);
    assert!(!boss1.mfa_enrolment_required());
    plain.id.authorize(&boss1, Permission::PolicyApply).unwrap();
    // At level 2 the critical actions need a second administrator's approval.
    let console = &h.root;
    for p in HardeningLevel::DUAL_APPROVAL {
        let denied = h.id.authorize(console, *p).unwrap_err();
        assert_eq!(denied.reason, DenyReason::ApprovalRequired, "{p}");
    }
    assert!(HardeningLevel::new(5).is_err() && HardeningLevel::new(0).is_err());
}
