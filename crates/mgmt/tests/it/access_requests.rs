//! NDR 1.13 RE 1: access from untrusted networks is held until someone else, holding
//! `access.approve`, approves it from a trusted network. The plane trusts only 127.0.0.1/32
//! here; the "remote" clients bind 127.0.0.2 and 127.0.0.3 (loopback /8 is all local on
//! Linux), which the allow-list admits but the trusted networks do not.

use std::net::IpAddr;
use std::time::Duration;

use hyper::StatusCode;
use rampart_gateway::config::{AllowList, UntrustedAccess};
use serde_json::json;

use crate::harness::{Answer, Client, Harness, Options, USER_PASSWORD};

const FORM: &str = "application/x-www-form-urlencoded";

fn options() -> Options {
    let mut options = Options::default();
    options.management.trusted = AllowList::parse(&["127.0.0.1/32"]).unwrap();
    options.management.untrusted_access = UntrustedAccess::Approve;
    options
}

fn from(h: &Harness, last: u8) -> Client {
    let mut client = h.client();
    client.source = Some(IpAddr::from([127, 0, 0, last]));
    client
}

/// The held request's id, checking the 403's shape.
fn held(answer: &Answer) -> String {
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["error"]["code"], "access-request-pending", "{body}");
    let id = answer
        .headers
        .get("x-rampart-access-request")
        .and_then(|v| v.to_str().ok())
        .expect("the request id header")
        .to_owned();
    assert!(body["error"]["message"].as_str().unwrap().contains(&id));
    let location = answer.headers.get(hyper::header::LOCATION).unwrap();
    assert_eq!(
        location.to_str().unwrap(),
        format!("/api/v1/access-requests/{id}/status")
    );
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_login_is_held_until_approved_then_opens_one_session() {
    let h = Harness::start_with(options()).await;
    let admin = h.admin().await;
    h.user(&admin, "ann", "engineer").await;
    let mut remote = from(&h, 2);
    // Wrong credentials are refused as ever, and hold nothing.
    let wrong = remote.login("ann", "not the password at all", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text());
    let r = remote.login("ann", USER_PASSWORD, None).await;
    let id = held(&r);
    assert!(remote.cookie.is_none(), "no session cookie while held");
    // The same login again joins the same request.
    assert_eq!(held(&remote.login("ann", USER_PASSWORD, None).await), id);
    // The status URL answers the requester's address only.
    let status = remote
        .get(&format!("/api/v1/access-requests/{id}/status"))
        .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text());
    assert_eq!(status.json()["state"], "pending");
    assert_eq!(
        from(&h, 3)
            .get(&format!("/api/v1/access-requests/{id}/status"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The administrator sees it and approves it from the trusted network.
    let list = admin.get("/api/v1/access-requests").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let entry = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(entry["account"], "ann");
    assert_eq!(entry["source"], "127.0.0.2");
    assert_eq!(entry["kind"], "login");
    assert_eq!(entry["state"], "pending");
    let approved = admin
        .post(&format!("/api/v1/access-requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(approved.json()["state"], "approved");
    assert_eq!(
        remote
            .get(&format!("/api/v1/access-requests/{id}/status"))
            .await
            .json()["state"],
        "approved"
    );
    // The next login from that address opens a session that works from there.
    let r = remote.login("ann", USER_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let me = remote.get("/api/v1/auth/whoami").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["name"], "ann");
    assert_eq!(remote.get("/api/v1/policy").await.status, StatusCode::OK);
    // The same session from another untrusted address is refused.
    let mut elsewhere = from(&h, 3);
    elsewhere.cookie.clone_from(&remote.cookie);
    let r = elsewhere.get("/api/v1/auth/whoami").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "untrusted-network");
    // The approval is spent: a second login from there is held again.
    let again = from(&h, 2).login("ann", USER_PASSWORD, None).await;
    assert_ne!(held(&again), id);
    // All of it is in the trail.
    let requests = admin.access_control_events("access.request").await;
    assert!(
        requests.iter().any(|e| e["actor"]["name"] == "ann"
            && e["source_address"] == "127.0.0.2"
            && e["details"]["request"] == id.as_str()),
        "{requests:?}"
    );
    let approvals = admin.access_control_events("access.approve").await;
    assert!(
        approvals
            .iter()
            .any(|e| e["actor"]["name"] == "admin" && e["details"]["request"] == id.as_str()),
        "{approvals:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_request_lets_nobody_in() {
    let h = Harness::start_with(options()).await;
    let admin = h.admin().await;
    h.user(&admin, "ann", "engineer").await;
    let mut remote = from(&h, 2);
    let id = held(&remote.login("ann", USER_PASSWORD, None).await);
    let denied = admin
        .post(&format!("/api/v1/access-requests/{id}/deny"), json!({}))
        .await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.text());
    assert_eq!(denied.json()["state"], "denied");
    // Decided once: approving it now is a conflict.
    let late = admin
        .post(&format!("/api/v1/access-requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text());
    assert_eq!(
        remote
            .get(&format!("/api/v1/access-requests/{id}/status"))
            .await
            .json()["state"],
        "denied"
    );
    let next = remote.login("ann", USER_PASSWORD, None).await;
    assert_ne!(held(&next), id, "a new request, not the denied one");
    assert!(remote.cookie.is_none());
    let denials = admin.access_control_events("access.deny").await;
    assert!(
        denials
            .iter()
            .any(|e| e["details"]["request"] == id.as_str()),
        "{denials:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_approvals_expire() {
    let mut options = options();
    options.management.access_request_ttl = Duration::from_secs(1);
    options.management.access_approval_ttl = Duration::from_secs(1);
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    h.user(&admin, "ann", "engineer").await;
    h.user(&admin, "bob", "engineer").await;
    let mut remote = from(&h, 2);
    // A request nobody decides in time can no longer be approved.
    let stale = held(&remote.login("ann", USER_PASSWORD, None).await);
    // An approval nobody uses in time is spent.
    let unused = held(&from(&h, 3).login("bob", USER_PASSWORD, None).await);
    let r = admin
        .post(
            &format!("/api/v1/access-requests/{unused}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = admin
        .post(
            &format!("/api/v1/access-requests/{stale}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = from(&h, 3).login("bob", USER_PASSWORD, None).await;
    assert_ne!(held(&r), unused);
    let list = admin.get("/api/v1/access-requests").await.json();
    for id in [&stale, &unused] {
        let entry = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap();
        assert_eq!(entry["state"], "expired", "{entry}");
    }
    let expired = admin.access_control_events("access.expired").await;
    for id in [&stale, &unused] {
        assert!(
            expired
                .iter()
                .any(|e| e["details"]["request"] == id.as_str()),
            "{id}: {expired:?}"
        );
    }
    assert!(remote.cookie.is_none());
    remote.cookie = None;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_someone_else_with_the_permission_on_a_trusted_network_decides() {
    let h = Harness::start_with(options()).await;
    let admin = h.admin().await;
    // An engineer does not hold access.approve.
    let ann = h.user(&admin, "ann", "engineer").await;
    let second = h.user(&admin, "root2", "admin").await;
    let mut remote_root2 = from(&h, 2);
    let own = held(&remote_root2.login("root2", USER_PASSWORD, None).await);
    let r = ann.get("/api/v1/access-requests").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = ann
        .post(&format!("/api/v1/access-requests/{own}/approve"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // Nobody approves their own request, even with the permission.
    let r = second
        .post(&format!("/api/v1/access-requests/{own}/approve"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "self-approval");
    // Someone else may; then root2 is in from the untrusted address …
    let r = admin
        .post(&format!("/api/v1/access-requests/{own}/approve"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = remote_root2.login("root2", USER_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // … but decides nothing from there, and cannot list the requests either.
    let pending = held(&from(&h, 3).login("ann", USER_PASSWORD, None).await);
    let r = remote_root2
        .post(
            &format!("/api/v1/access-requests/{pending}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "untrusted-network");
    assert_eq!(
        remote_root2.get("/api/v1/access-requests").await.status,
        StatusCode::FORBIDDEN
    );
    // An unknown id is 404.
    let r = admin
        .post(
            "/api/v1/access-requests/00112233445566778899aabbccddeeff/approve",
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let refused = admin.access_control_events("request-refused").await;
    assert!(
        refused
            .iter()
            .any(|e| e["actor"]["name"] == "root2" && e["target"] == "access.approve"),
        "{refused:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_from_an_untrusted_network_needs_an_approval_too() {
    let h = Harness::start_with(options()).await;
    let admin = h.admin().await;
    let reader = h.user(&admin, "reader", "viewer").await;
    let created = reader
        .post(
            "/api/v1/tokens",
            json!({ "account": "reader", "role": "viewer", "label": "grafana", "lifetime_days": 30 }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let mut program = from(&h, 2);
    program.bearer = Some(token);
    let id = held(&program.get("/metrics").await);
    let entry = admin.get("/api/v1/access-requests").await.json();
    assert_eq!(entry[0]["kind"], "api-token");
    let r = admin
        .post(&format!("/api/v1/access-requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(program.get("/metrics").await.status, StatusCode::OK);
    // Another untrusted address is not covered.
    let mut other = program.clone();
    other.source = Some(IpAddr::from([127, 0, 0, 3]));
    assert_eq!(other.get("/metrics").await.status, StatusCode::FORBIDDEN);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_requests_is_capped() {
    let mut options = options();
    options.management.max_access_requests_per_ip = 3;
    options.management.max_access_requests = 5;
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    for i in 0..6 {
        h.user(&admin, &format!("u{i}"), "viewer").await;
    }
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = from(&h, 2)
            .login(&format!("u{i}"), USER_PASSWORD, None)
            .await;
        statuses.push(r.status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::FORBIDDEN)
            .count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        3
    );
    // Two more from another source fill the table; the next is refused.
    for (i, expected) in [
        (0, StatusCode::FORBIDDEN),
        (1, StatusCode::FORBIDDEN),
        (2, StatusCode::TOO_MANY_REQUESTS),
    ] {
        let r = from(&h, 3)
            .login(&format!("u{i}"), USER_PASSWORD, None)
            .await;
        assert_eq!(r.status, expected, "{}", r.text());
    }
    let list = admin.get("/api/v1/access-requests").await.json();
    assert_eq!(list.as_array().unwrap().len(), 5);
    // The refusals are audited in aggregate, not one event each.
    let refused = admin.access_control_events("access.refused").await;
    assert!(!refused.is_empty() && refused.len() <= 2, "{refused:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_mode_refuses_untrusted_logins_outright() {
    let mut options = options();
    options.management.untrusted_access = UntrustedAccess::Deny;
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    h.user(&admin, "ann", "engineer").await;
    let r = from(&h, 2).login("ann", USER_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "untrusted-network");
    assert!(r.headers.get("x-rampart-access-request").is_none());
    let list = admin.get("/api/v1/access-requests").await.json();
    assert!(list.as_array().unwrap().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_lists_requests_and_approves_with_its_csrf_field() {
    let h = Harness::start_with(options()).await;
    let admin = h.admin().await;
    h.user(&admin, "ann", "engineer").await;
    // The web UI's login form from the untrusted address names the request.
    let remote = from(&h, 2);
    let page = remote
        .raw(
            hyper::Method::POST,
            "/login",
            Some(
                format!(
                    "username=ann&password={}&totp=",
                    USER_PASSWORD.replace(' ', "+")
                )
                .into_bytes(),
            ),
            FORM,
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text());
    let id = page
        .headers
        .get("x-rampart-access-request")
        .map(|v| v.to_str().unwrap().to_owned());
    let listed = admin.get("/api/v1/access-requests").await.json();
    let id = id.unwrap_or_else(|| listed[0]["id"].as_str().unwrap().to_owned());
    assert!(page.text().contains(&id), "{}", page.text());
    assert_eq!(listed[0]["interface"], "web-ui");
    // The administrator's page lists it with the two buttons.
    let mut browser = admin.clone();
    browser.csrf = None;
    let html = browser.get("/access-requests").await;
    assert_eq!(html.status, StatusCode::OK, "{}", html.text());
    let html = html.text();
    assert!(html.contains(&id));
    assert!(html.contains(&format!("/access-requests/{id}/approve")));
    assert!(html.contains(&format!("/access-requests/{id}/deny")));
    // Without the CSRF field the post is refused; with it, it approves.
    let r = browser
        .raw(
            hyper::Method::POST,
            &format!("/access-requests/{id}/approve"),
            Some(Vec::new()),
            FORM,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = &html[at..at + html[at..].find('"').unwrap()];
    let r = browser
        .raw(
            hyper::Method::POST,
            &format!("/access-requests/{id}/approve"),
            Some(format!("csrf={csrf}").into_bytes()),
            FORM,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let mut remote = from(&h, 2);
    let r = remote.login("ann", USER_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A viewer does not see the page.
    let viewer = h.user(&admin, "vera", "viewer").await;
    let mut viewer = viewer;
    viewer.csrf = None;
    assert_eq!(
        viewer.get("/access-requests").await.status,
        StatusCode::FORBIDDEN
    );
    h.stop().await;
}
