//! Vertical privilege escalation through an action on another account (CR 2.1, CR 1.3,
//! CR 1.5, CR 1.14): a security administrator who could reset the administrator's password,
//! reset its MFA or make an API token for it became administrator.
//!
//! The property, over the permission table rather than a list of cases: for every actor role
//! and every target role (each pair of built-in roles, and random roles made of random
//! permission sets) and every action on another account,
//! 1. no actor ends with a permission it did not hold — every credential the action hands
//!    the actor (a token, a password it chose) authenticates to permissions the actor already
//!    held;
//! 2. an action succeeds only if the actor holds the action's permission and every permission
//!    the target holds (for a token, every permission of its role, and only for a process
//!    account);
//! 3. and it does succeed when the actor holds them (the rule is not "deny everything").

use jiff::SignedDuration;
use proptest::prelude::*;
use rampart_identity::{NewAccount, Password, Permission, PermissionSet, RoleName};

use crate::util::{GOOD, GOOD2, GOOD3, Harness, acct, role, web};

/// Every action one account can take on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// An API token for the target (a human account), scoped to its role.
    TokenForHuman,
    /// An API token for a process account holding the target role.
    TokenForProcess,
    SetPassword,
    ResetMfa,
    Disable,
    Enable,
    Unlock,
    Remove,
    SetExpiry,
    TerminateSession,
    RevokeToken,
    TakeRole,
}

const ACTIONS: &[Action] = &[
    Action::TokenForHuman,
    Action::TokenForProcess,
    Action::SetPassword,
    Action::ResetMfa,
    Action::Disable,
    Action::Enable,
    Action::Unlock,
    Action::Remove,
    Action::SetExpiry,
    Action::TerminateSession,
    Action::RevokeToken,
    Action::TakeRole,
];

impl Action {
    fn permission(self) -> Permission {
        match self {
            Action::TokenForHuman | Action::TokenForProcess | Action::RevokeToken => {
                Permission::TokenManage
            }
            Action::Remove => Permission::UserRemove,
            Action::TerminateSession => Permission::SessionManage,
            _ => Permission::UserManage,
        }
    }
}

/// What happened, and every permission the actor can now authenticate to.
struct Outcome {
    succeeded: bool,
    reachable: PermissionSet,
}

/// Sets up `actor` (role `actor_role`), `target` and the process account `svc` (role
/// `target_role`) and a spare administrator (so no last-administrator rule hides a decision),
/// then lets the actor try `action` on the target.
fn attempt(h: &Harness, actor_role: &str, target_role: &str, action: Action) -> Outcome {
    h.user("spare", &["admin"], GOOD3);
    h.user("actor", &[actor_role], GOOD);
    h.user("target", &[target_role], GOOD2);
    h.id.create_process_account(
        &h.root,
        &NewAccount::new(acct("svc")).role(role(target_role)),
    )
    .unwrap();
    // The target's own session and token, for the actions that end them.
    let target = h.login("target", GOOD2);
    let session = h.id.create_session(&target).unwrap();
    let token =
        h.id.create_token(&target, &acct("target"), &role(target_role), "own", day())
            .unwrap();
    let actor = h.login("actor", GOOD);
    let held = actor.permissions();
    let mut reachable = held;
    let target_name = acct("target");
    let succeeded = match action {
        Action::TokenForHuman | Action::TokenForProcess => {
            let owner = if action == Action::TokenForHuman {
                target_name.clone()
            } else {
                acct("svc")
            };
            match h
                .id
                .create_token(&actor, &owner, &role(target_role), "x", day())
            {
                Ok(new) => {
                    let principal =
                        h.id.authenticate_token(new.token.expose_secret(), &web())
                            .unwrap();
                    reachable = reachable.union(principal.permissions());
                    true
                }
                Err(_) => false,
            }
        }
        Action::SetPassword => {
            let chosen = Password::from("obsidian heron lattice vortex");
            let ok =
                h.id.set_password(&actor, &target_name, &chosen, false)
                    .is_ok();
            if let Ok(principal) = h.id.authenticate("target", &chosen, None, &web()) {
                // A restriction (MFA enrolment) is lifted by whoever holds the password.
                reachable = reachable.union(principal.permissions());
            }
            ok
        }
        Action::ResetMfa => h.id.reset_mfa(&actor, &target_name).is_ok(),
        Action::Disable => h.id.disable_account(&actor, &target_name).is_ok(),
        Action::Enable => {
            h.id.disable_account(&h.root, &target_name).unwrap();
            h.id.enable_account(&actor, &target_name).is_ok()
        }
        Action::Unlock => h.id.unlock_account(&actor, &target_name).is_ok(),
        Action::Remove => h.id.remove_account(&actor, &target_name).is_ok(),
        Action::SetExpiry => {
            let at = h.clock.now().checked_add(day()).unwrap();
            h.id.set_account_expiry(&actor, &target_name, Some(at))
                .is_ok()
        }
        Action::TerminateSession => h.id.terminate_session(&actor, session.info.handle).is_ok(),
        Action::RevokeToken => h.id.revoke_token(&actor, token.info.id).is_ok(),
        Action::TakeRole => {
            h.id.unassign_role(&actor, &target_name, &role(target_role))
                .is_ok()
        }
    };
    Outcome {
        succeeded,
        reachable,
    }
}

fn day() -> SignedDuration {
    SignedDuration::from_hours(24)
}

/// The permissions an account with `role_name` holds.
fn role_permissions(h: &Harness, role_name: &str) -> PermissionSet {
    h.id.role(&h.root, &role(role_name)).unwrap().permissions
}

fn subset(a: PermissionSet, b: PermissionSet) -> bool {
    a.iter().all(|p| b.contains(p))
}

/// Checks the three points of the property for one case; returns a description of what broke.
fn check(h: &Harness, actor_role: &str, target_role: &str, action: Action) -> Result<(), String> {
    let held = role_permissions(h, actor_role);
    let target = role_permissions(h, target_role);
    let outcome = attempt(h, actor_role, target_role, action);
    let case = format!("{actor_role} → {action:?} on {target_role}");
    if !subset(outcome.reachable, held) {
        let gained: Vec<_> = outcome
            .reachable
            .iter()
            .filter(|p| !held.contains(*p))
            .map(Permission::as_str)
            .collect();
        return Err(format!("{case}: the actor gained {gained:?}"));
    }
    let entitled = held.contains(action.permission())
        && subset(target, held)
        && action != Action::TokenForHuman;
    if outcome.succeeded && !entitled {
        return Err(format!(
            "{case}: allowed without every permission of the target"
        ));
    }
    if !outcome.succeeded && entitled {
        return Err(format!(
            "{case}: refused although the actor holds everything"
        ));
    }
    Ok(())
}

fn builtin_roles(h: &Harness) -> Vec<String> {
    h.id.list_roles(&h.root)
        .unwrap()
        .into_iter()
        .filter(|r| r.builtin)
        .map(|r| r.name.to_string())
        .collect()
}

#[test]
fn no_pair_of_builtin_roles_and_no_action_on_another_account_escalates() {
    let roles = builtin_roles(&Harness::new());
    assert!(roles.len() >= 6, "{roles:?}");
    let mut broken = Vec::new();
    let mut cases = 0;
    for actor_role in &roles {
        for target_role in &roles {
            for &action in ACTIONS {
                let h = Harness::new();
                cases += 1;
                if let Err(e) = check(&h, actor_role, target_role, action) {
                    broken.push(e);
                }
            }
        }
    }
    assert_eq!(cases, roles.len() * roles.len() * ACTIONS.len());
    assert!(
        broken.is_empty(),
        "{} of {cases} cases broke:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn the_security_admin_attack_is_refused_and_audited() {
    let h = Harness::new();
    h.user("sec", &["security-admin"], GOOD);
    h.user("eng1", &["engineer"], GOOD2);
    let sec = h.login("sec", GOOD);
    for (owner, role_name) in [("admin", "admin"), ("eng1", "engineer")] {
        if owner == "admin" {
            h.user("admin", &["admin"], GOOD3);
        }
        let refused =
            h.id.create_token(&sec, &acct(owner), &role(role_name), "x", day())
                .unwrap_err();
        assert!(
            refused.to_string().contains("process accounts"),
            "{refused}"
        );
    }
    let refused =
        h.id.set_password(
            &sec,
            &acct("admin"),
            &Password::from("obsidian heron lattice vortex"),
            false,
        )
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("holds permissions the actor does not"),
        "{refused}"
    );
    assert!(h.id.reset_mfa(&sec, &acct("admin")).is_err());
    let denials: Vec<_> = h
        .records()
        .into_iter()
        .filter(|r| r.action == "authorize" && r.target.as_deref() == Some("admin"))
        .collect();
    assert!(
        denials.iter().any(|r| r.details["permissions_not_held"]
            .as_array()
            .is_some_and(|l| l.iter().any(|p| p == "policy.apply"))),
        "the denial names what the actor lacks: {denials:?}"
    );
    // The same actions on an account it outranks still work.
    h.user("viewer1", &["viewer"], GOOD2);
    h.id.set_password(
        &sec,
        &acct("viewer1"),
        &Password::from("obsidian heron lattice vortex"),
        true,
    )
    .unwrap();
}

#[test]
fn an_approval_by_someone_who_holds_the_targets_permissions_lets_the_action_through() {
    let h = Harness::new();
    h.user("sec", &["security-admin"], GOOD);
    h.user("sec2", &["security-admin"], GOOD2);
    h.user("admin2", &["admin"], GOOD3);
    h.user("boss", &["admin"], GOOD3);
    let sec = h.login("sec", GOOD);
    let request =
        h.id.request_approval(
            &sec,
            Permission::UserManage,
            Some("admin2"),
            "admin2 lost the password",
        )
        .unwrap();
    // Another security administrator lacks what admin2 holds: it cannot approve.
    let sec2 = h.login("sec2", GOOD2);
    assert!(h.id.approve(&sec2, request.id, "ok").is_err());
    let boss = h.login("boss", GOOD3);
    h.id.approve(&boss, request.id, "checked by phone").unwrap();
    let approved = h.id.redeem_approval(&sec, request.id).unwrap();
    h.id.set_password(
        &approved,
        &acct("admin2"),
        &Password::from("obsidian heron lattice vortex"),
        true,
    )
    .unwrap();
    // The approval covers that permission and account only.
    assert!(h.id.reset_mfa(&approved, &acct("boss")).is_err());
}

/// A role made of `permissions` under `name`.
fn custom_role(h: &Harness, name: &str, permissions: PermissionSet) -> String {
    h.id.create_role(
        &h.root,
        &RoleName::parse(name).unwrap(),
        "random",
        permissions,
    )
    .unwrap();
    name.to_owned()
}

fn permission_set() -> impl Strategy<Value = PermissionSet> {
    proptest::collection::vec(
        proptest::sample::select(Permission::ALL),
        0..Permission::ALL.len(),
    )
    .prop_map(|list| list.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_action_on_another_account_escalates_for_random_roles(
        actor in permission_set(),
        // The actor always may act on accounts, so that the target's permissions decide.
        target in permission_set(),
        action in proptest::sample::select(ACTIONS),
        overlap in any::<bool>(),
    ) {
        let h = Harness::new();
        let mut actor = actor;
        actor.insert(action.permission());
        // Half the cases give the target a subset of the actor's permissions.
        let target = if overlap {
            target.iter().filter(|p| actor.contains(*p)).collect()
        } else {
            target
        };
        let a = custom_role(&h, "actor-role", actor);
        let t = custom_role(&h, "target-role", target);
        if let Err(e) = check(&h, &a, &t, action) {
            prop_assert!(false, "{}", e);
        }
    }
}
