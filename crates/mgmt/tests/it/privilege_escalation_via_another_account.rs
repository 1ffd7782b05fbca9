//! Vertical privilege escalation through the HTTP API (CR 2.1, CR 1.3, CR 1.5, CR 1.14): an
//! attack on the running gateway found that a security administrator became administrator
//! with `POST /api/v1/tokens {"account":"admin","role":"admin"}` or by resetting the
//! administrator's password and MFA.
//!
//! The same property as the identity crate's test, walked through the API: for every pair of
//! built-in roles and every action on another account, no actor ends with a permission it did
//! not hold (every credential the action hands it authenticates, by `whoami`, to permissions
//! it held), an action succeeds only when the actor holds the action's permission and every
//! permission of the target, and it succeeds when it does.

use hyper::StatusCode;
use rampart_identity::{Permission, PermissionSet, builtin_roles};
use serde_json::{Value, json};

use crate::harness::{Client, Harness, Options};

const CHOSEN: &str = "obsidian heron lattice vortex";
const TARGET_PASSWORD: &str = "saffron glacier tundra whistle";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    TokenForIt,
    ResetPassword,
    ResetMfa,
    Disable,
    Enable,
    Unlock,
    Remove,
    TakeRole,
    KillSession,
}

const ACTIONS: &[Action] = &[
    Action::TokenForIt,
    Action::ResetPassword,
    Action::ResetMfa,
    Action::Disable,
    Action::Enable,
    Action::Unlock,
    Action::Remove,
    Action::TakeRole,
    Action::KillSession,
];

impl Action {
    fn permission(self) -> Permission {
        match self {
            Action::TokenForIt => Permission::TokenManage,
            Action::Remove => Permission::UserRemove,
            Action::KillSession => Permission::SessionManage,
            _ => Permission::UserManage,
        }
    }
}

fn permissions_of(whoami: &Value) -> PermissionSet {
    whoami["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str()?.parse::<Permission>().ok())
        .collect()
}

async fn create(admin: &Client, name: &str, role: &str) {
    let r = admin
        .post(
            "/api/v1/users",
            json!({ "name": name, "roles": [role], "password": TARGET_PASSWORD,
                    "must_change_password": false }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// Lets `actor` try `action` on the fresh account `target`; returns whether it succeeded and
/// what the actor can now authenticate to.
async fn attempt(
    h: &Harness,
    admin: &Client,
    actor: &Client,
    target: &str,
    target_role: &str,
    action: Action,
) -> (bool, PermissionSet) {
    let mut reachable = PermissionSet::EMPTY;
    let answer = match action {
        Action::TokenForIt => {
            let r = actor
                .post(
                    "/api/v1/tokens",
                    json!({ "account": target, "role": target_role, "label": "x",
                            "lifetime_days": 1 }),
                )
                .await;
            if r.status.is_success() {
                let mut as_token = h.client();
                as_token.bearer = Some(r.json()["token"].as_str().unwrap().to_owned());
                reachable = permissions_of(&as_token.get("/api/v1/auth/whoami").await.json());
            }
            r
        }
        Action::ResetPassword => {
            let r = actor
                .post(
                    &format!("/api/v1/users/{target}/password"),
                    json!({ "password": CHOSEN }),
                )
                .await;
            let mut as_target = h.client();
            if as_target.login(target, CHOSEN, None).await.status == StatusCode::OK {
                reachable = permissions_of(&as_target.get("/api/v1/auth/whoami").await.json());
            }
            r
        }
        Action::ResetMfa => {
            actor
                .post(&format!("/api/v1/users/{target}/mfa/reset"), json!({}))
                .await
        }
        Action::Disable => {
            actor
                .post(&format!("/api/v1/users/{target}/disable"), json!({}))
                .await
        }
        Action::Enable => {
            let r = admin
                .post(&format!("/api/v1/users/{target}/disable"), json!({}))
                .await;
            assert!(r.status.is_success(), "{}", r.text());
            actor
                .post(&format!("/api/v1/users/{target}/enable"), json!({}))
                .await
        }
        Action::Unlock => {
            actor
                .post(&format!("/api/v1/users/{target}/unlock"), json!({}))
                .await
        }
        Action::Remove => actor.delete(&format!("/api/v1/users/{target}")).await,
        Action::TakeRole => {
            actor
                .delete(&format!("/api/v1/users/{target}/roles/{target_role}"))
                .await
        }
        Action::KillSession => {
            let mut as_target = h.client();
            assert_eq!(
                as_target.login(target, TARGET_PASSWORD, None).await.status,
                StatusCode::OK
            );
            let sessions = admin.get("/api/v1/sessions").await.json();
            let handle = sessions
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["account"] == target)
                .map(|s| s["handle"].as_i64().unwrap())
                .unwrap();
            actor.delete(&format!("/api/v1/sessions/{handle}")).await
        }
    };
    assert!(
        answer.status.is_success() || answer.status.is_client_error(),
        "{action:?}: {} {}",
        answer.status,
        answer.text()
    );
    (answer.status.is_success(), reachable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pair_of_builtin_roles_and_no_action_on_another_account_escalates_over_http() {
    // The walk makes hundreds of logins with a password that was not set, from one source.
    let mut options = Options::default();
    options.identity.throttle.max_failures = 1_000_000;
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    let roles = builtin_roles();
    let mut actors = Vec::new();
    for (role, _, held) in &roles {
        actors.push((
            *role,
            *held,
            h.user(&admin, &format!("a-{role}"), role).await,
        ));
    }
    let mut broken = Vec::new();
    let mut cases = 0;
    for (actor_role, held, actor) in &actors {
        for (target_role, _, target_perms) in &roles {
            for &action in ACTIONS {
                cases += 1;
                let target = format!("t{cases}");
                create(&admin, &target, target_role).await;
                let (succeeded, reachable) =
                    attempt(&h, &admin, actor, &target, target_role, action).await;
                let case = format!("{actor_role} → {action:?} on {target_role}");
                let gained: Vec<_> = reachable
                    .iter()
                    .filter(|p| !held.contains(*p))
                    .map(Permission::as_str)
                    .collect();
                if !gained.is_empty() {
                    broken.push(format!("{case}: the actor gained {gained:?}"));
                }
                // A token for a human account is never made for someone else.
                let entitled = held.contains(action.permission())
                    && target_perms.iter().all(|p| held.contains(p))
                    && action != Action::TokenForIt;
                if succeeded && !entitled {
                    broken.push(format!("{case}: allowed without the target's permissions"));
                }
                if !succeeded && entitled {
                    broken.push(format!("{case}: refused although the actor holds them"));
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
    h.stop().await;
}
