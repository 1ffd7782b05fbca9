//! Every route, called as every built-in role, by API token and by session, and anonymously:
//! allowed exactly when the role holds the route's permission (CR 2.1).

use hyper::{Method, StatusCode};
use rampart_identity::{Permission, builtin_roles};
use rampart_mgmt::{Access, route_list};
use serde_json::{Value, json};

use crate::harness::{Answer, Client, Harness, Options};

/// A body the handler can at least parse, so that what is tested is authorisation.
fn body_for(method: &Method, path: &str) -> Option<Value> {
    if *method == Method::GET || *method == Method::DELETE {
        return None;
    }
    Some(match path {
        "/api/v1/auth/login" => json!({ "username": "nobody", "password": "wrong password 123" }),
        "/api/v1/auth/password" => json!({ "current": "not the password", "new": "x" }),
        "/api/v1/auth/totp/confirm" => json!({ "code": "000000" }),
        "/api/v1/tokens" => {
            json!({ "account": "nobody", "role": "viewer", "label": "t", "lifetime_days": 1 })
        }
        "/api/v1/users" => json!({ "name": "probe-user", "roles": [], "password": "x" }),
        "/api/v1/users/{name}/password" => json!({ "password": "x" }),
        "/api/v1/users/{name}/roles" => json!({ "role": "viewer" }),
        "/api/v1/approvals" => json!({ "permission": "policy.apply", "reason": "probe" }),
        "/api/v1/approvals/{id}/approve" | "/api/v1/approvals/{id}/reject" => json!({ "note": "" }),
        "/api/v1/policy/validate" | "/api/v1/policy/staged" => json!({ "text": "not a policy" }),
        "/api/v1/policy/apply" => json!({ "sha256": "0".repeat(64) }),
        "/api/v1/island" => json!({ "on": false }),
        "/api/v1/banner" => json!({ "text": "Authorised use only. Activity is recorded." }),
        "/api/v1/erase" => json!({ "confirm": "data" }),
        _ => json!({}),
    })
}

fn concrete(path: &str) -> String {
    path.replace("{name}", "nobody")
        .replace("{role}", "viewer")
        .replace("{id}", "999999")
        .replace("{handle}", "999999")
}

/// Whether the answer is an authorisation refusal (by the guard or by the identity service
/// for the target), as opposed to the handler's own answer.
fn refused(answer: &Answer) -> bool {
    if answer.status != StatusCode::UNAUTHORIZED && answer.status != StatusCode::FORBIDDEN {
        return false;
    }
    let code = answer.json()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    matches!(code.as_str(), "unauthenticated" | "forbidden")
}

enum Expect {
    Allowed,
    Refused,
    Code(StatusCode, &'static str),
}

impl Expect {
    fn allowed(yes: bool) -> Expect {
        if yes {
            Expect::Allowed
        } else {
            Expect::Refused
        }
    }
}

async fn call(client: &Client, method: &Method, path: &str) -> Answer {
    client
        .send(method.clone(), &concrete(path), body_for(method, path))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_as_every_role_and_anonymous() {
    // Every caller also probes the login route with wrong credentials, all from 127.0.0.1:
    // the per-source login throttle would soon refuse the probes' own logins.
    let mut options = Options::default();
    options.identity.throttle.max_failures = 10_000;
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    let routes = route_list();
    // The caller's own session ends with logout: call it last.
    let (logout, routes): (Vec<_>, Vec<_>) = routes
        .into_iter()
        .partition(|(_, path, _)| *path == "/api/v1/auth/logout");

    // Anonymous: only the public routes answer.
    let anonymous = h.client();
    let mut checked = 0;
    for (method, path, access) in routes.iter().chain(&logout) {
        let answer = call(&anonymous, method, path).await;
        if *access == Access::Public {
            assert!(
                !refused(&answer),
                "anonymous {method} {path}: {}",
                answer.text()
            );
        } else {
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "anonymous {method} {path}"
            );
            assert_eq!(answer.json()["error"]["code"], "unauthenticated");
        }
        checked += 1;
    }

    for (role, _, permissions) in builtin_roles() {
        // One account per role, logged in with a session, and an API token for the same role.
        let name = format!("probe-{role}");
        let session = h.user(&admin, &name, role).await;
        // Made by the owner: tokens for another account are only for process accounts.
        let created = session
            .post(
                "/api/v1/tokens",
                json!({ "account": name, "role": role, "label": "probe", "lifetime_days": 1 }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let mut token = h.client();
        token.bearer = Some(created.json()["token"].as_str().unwrap().to_owned());
        for (how, client) in [("token", &token), ("session", &session)] {
            for (method, path, access) in routes.iter().chain(&logout) {
                let answer = call(client, method, path).await;
                let holds = |p: Permission| permissions.contains(p);
                let expect = match (*path, method.as_str(), how) {
                    // The guard lets any authenticated caller through; the identity service
                    // decides for the target ("nobody", handle 999999).
                    ("/api/v1/users/{name}", "GET", _) => {
                        Expect::allowed(holds(Permission::UserView))
                    }
                    ("/api/v1/tokens", "POST", _) | ("/api/v1/tokens/{id}", "DELETE", _) => {
                        Expect::allowed(holds(Permission::TokenManage))
                    }
                    ("/api/v1/sessions/{handle}", "DELETE", _) => {
                        Expect::allowed(holds(Permission::SessionManage))
                    }
                    // Only a password login can change its password or enrol TOTP; the test
                    // sends a wrong current password.
                    ("/api/v1/auth/password", _, _)
                    | ("/api/v1/auth/totp/enrol" | "/api/v1/auth/totp/confirm", _, "token") => {
                        Expect::Code(StatusCode::FORBIDDEN, "authentication-failed")
                    }
                    // Erasing always needs a second administrator's approval, whatever the level.
                    ("/api/v1/erase", "POST", _) if holds(Permission::VaultErase) => {
                        Expect::Code(StatusCode::FORBIDDEN, "approval-required")
                    }
                    _ => match access {
                        Access::Public | Access::Authenticated => Expect::Allowed,
                        Access::Permission(p) => Expect::allowed(holds(*p)),
                    },
                };
                let what = format!(
                    "{role} by {how}: {method} {path} answered {} {}",
                    answer.status,
                    answer.text()
                );
                match expect {
                    Expect::Allowed => assert!(!refused(&answer), "expected allowed; {what}"),
                    Expect::Refused => {
                        assert!(refused(&answer), "expected refused; {what}");
                        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}");
                    }
                    Expect::Code(status, code) => {
                        assert_eq!(answer.status, status, "{what}");
                        assert_eq!(answer.json()["error"]["code"], code, "{what}");
                    }
                }
                checked += 1;
            }
        }
    }
    // 7 callers for every route at least.
    assert!(checked >= route_list().len() * 7, "{checked}");
    h.stop().await;
}
