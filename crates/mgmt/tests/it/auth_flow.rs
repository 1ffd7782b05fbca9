//! Banner, login, forced password change, TOTP enrolment, sessions, CSRF, lockout, tokens.

use hyper::StatusCode;
use rampart_identity::totp;
use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Harness, USER_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banner_then_login_then_forced_change_then_totp() {
    let h = Harness::start().await;
    let mut client = h.client();

    // CR 1.12: the banner is there before any credentials.
    let banner = client.get("/api/v1/banner").await;
    assert_eq!(banner.status, StatusCode::OK);
    assert!(!banner.json()["text"].as_str().unwrap().is_empty());

    // Initial password: logged in, but restricted to changing it (CR 1.5).
    let r = client.login("admin", &h.admin_password, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["must_change_password"], true);
    let cookie = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "__Host-rampart-session=",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !r.text().contains(cookie.split(['=', ';']).nth(1).unwrap()),
        "session id in body"
    );
    let denied = client.get("/api/v1/users").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json()["error"]["code"], "password-change-required");

    let r = client
        .post(
            "/api/v1/auth/password",
            json!({ "current": h.admin_password, "new": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    // The session got a new id at the change of its authentication state: the old one is
    // worth nothing (session fixation, CR 2.5 / CR 3.8).
    let mut stale = h.client();
    stale.cookie.clone_from(&client.cookie);
    client.adopt_rotated_session(&r);
    assert_ne!(stale.cookie, client.cookie, "the session id was rotated");
    assert_eq!(
        stale.get("/api/v1/auth/whoami").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(client.get("/api/v1/users").await.status, StatusCode::OK);

    // CR 1.1 RE 2: enrol TOTP; from then on the password alone is not enough.
    let enrol = client.post("/api/v1/auth/totp/enrol", json!({})).await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.text());
    let secret = enrol.json()["secret_base32"].as_str().unwrap().to_owned();
    assert!(
        enrol.json()["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let code = totp::code_at(
        &secret,
        rampart_audit::Clock::now(&rampart_audit::SystemClock::new()),
    )
    .unwrap();
    let r = client
        .post("/api/v1/auth/totp/confirm", json!({ "code": code }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let before = client.cookie.clone();
    client.adopt_rotated_session(&r);
    assert_ne!(before, client.cookie, "rotated again at MFA enrolment");
    assert_eq!(client.get("/api/v1/users").await.status, StatusCode::OK);

    let mut second = h.client();
    let r = second.login("admin", ADMIN_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // CR 1.10: the same message for a missing code as for a wrong password or user.
    let message = r.json()["error"]["message"].clone();
    let wrong_user = h.client().login("no-such-user", ADMIN_PASSWORD, None).await;
    assert_eq!(wrong_user.json()["error"]["message"], message);
    // The enrolment used the current code, and a code is accepted once: wait for the next
    // 30 s step rather than spend login failures (they count towards the lockout).
    let mut next = totp::code_at(
        &secret,
        rampart_audit::Clock::now(&rampart_audit::SystemClock::new()),
    )
    .unwrap();
    for _ in 0..35 {
        if next != code {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        next = totp::code_at(
            &secret,
            rampart_audit::Clock::now(&rampart_audit::SystemClock::new()),
        )
        .unwrap();
    }
    let r = second.login("admin", ADMIN_PASSWORD, Some(&next)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let me = second.get("/api/v1/auth/whoami").await.json();
    assert_eq!(me["method"], "password-and-totp");
    assert!(me["csrf_token"].is_string());

    // Logout ends the session: the cookie no longer works.
    let r = second.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        second.get("/api/v1/auth/whoami").await.status,
        StatusCode::UNAUTHORIZED
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_with_a_session_need_the_csrf_token() {
    let h = Harness::start().await;
    let mut admin = h.admin().await;
    let good = admin.csrf.clone();
    admin.csrf = None;
    let r = admin.put("/api/v1/island", json!({ "on": true })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "csrf");
    admin.csrf = Some("0".repeat(64));
    assert_eq!(
        admin
            .put("/api/v1/island", json!({ "on": true }))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Reads need no token.
    assert_eq!(admin.get("/api/v1/status").await.status, StatusCode::OK);
    admin.csrf = good;
    let r = admin.put("/api/v1/island", json!({ "on": true })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["traffic"], "island");
    let r = admin.put("/api/v1/island", json!({ "on": false })).await;
    assert_eq!(r.json()["traffic"], "open");
    // The refusals are in the audit trail.
    let events = admin
        .get("/api/v1/audit?category=access_control&outcome=denied&limit=1000")
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text());
    let csrf_refusals = events.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "request-refused" && e["details"]["reason"] == "csrf-check")
        .count();
    assert_eq!(csrf_refusals, 2);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_account() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let _ = h.user(&admin, "ops", "operator").await;
    let max = h.identity.config().lockout.max_failures;
    for _ in 0..max {
        let r = h
            .client()
            .login("ops", "not the password at all", None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password fails, with the same generic message (CR 1.11, 1.10).
    let r = h.client().login("ops", USER_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "login-failed");
    let shown = admin.get("/api/v1/users/ops").await.json();
    assert_eq!(shown["locked"], true);
    assert_eq!(
        admin
            .post("/api/v1/users/ops/unlock", json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.client().login("ops", USER_PASSWORD, None).await.status,
        StatusCode::OK
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_scoped_shown_once_and_revocable() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    // A token is made by its owner: for another account only for process accounts.
    let reader = h.user(&admin, "reader", "viewer").await;
    let created = reader
        .post("/api/v1/tokens", json!({ "account": "reader", "role": "viewer", "label": "grafana", "lifetime_days": 30 }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let id = created.json()["info"]["id"].as_i64().unwrap();
    let mut program = h.client();
    program.bearer = Some(token.clone());
    assert_eq!(program.get("/metrics").await.status, StatusCode::OK);
    assert_eq!(
        program.get("/api/v1/users").await.status,
        StatusCode::FORBIDDEN
    );
    // Listing never shows the secret again.
    let list = admin.get("/api/v1/tokens").await;
    assert!(!list.text().contains(&token));
    assert_eq!(
        admin.delete(&format!("/api/v1/tokens/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        program.get("/metrics").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Hashed at rest: the secret is nowhere in the identity database file.
    let db = std::fs::read(h.data.file(rampart_vault::Entry::Identity)).unwrap();
    let secret = token.rsplit('_').next().unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_can_be_listed_and_terminated() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let ops = h.user(&admin, "ops", "operator").await;
    let list = admin.get("/api/v1/sessions").await.json();
    let handle = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["account"] == "ops")
        .unwrap()["handle"]
        .as_i64()
        .unwrap();
    assert_eq!(ops.get("/api/v1/auth/whoami").await.status, StatusCode::OK);
    assert_eq!(
        admin
            .delete(&format!("/api/v1/sessions/{handle}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ops.get("/api/v1/auth/whoami").await.status,
        StatusCode::UNAUTHORIZED
    );
    h.stop().await;
}
