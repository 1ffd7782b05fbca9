//! The web UI without a browser: who may see which page, what anonymous callers get, the CSRF
//! field of form posts, escaping of text users control, and the pages' CSP. The browser tests
//! are in `ui_browser.rs`.

use hyper::{Method, StatusCode};
use rampart_identity::{Permission, builtin_roles};

use crate::harness::{Answer, Client, Harness, Options};

const FORM: &str = "application/x-www-form-urlencoded";
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' \
    data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every page a GET reaches, with the permission it needs (`None`: any logged-in caller).
const PAGES: &[(&str, Option<Permission>)] = &[
    ("/dashboard", Some(Permission::MetricsRead)),
    ("/alerts", Some(Permission::MetricsRead)),
    ("/policy", Some(Permission::PolicyView)),
    ("/policy/diff", Some(Permission::PolicyView)),
    ("/audit", Some(Permission::AuditRead)),
    ("/users", Some(Permission::UserView)),
    ("/sessions", Some(Permission::SessionView)),
    ("/approvals", None),
    ("/access-requests", Some(Permission::AccessApprove)),
    ("/tokens", None),
    ("/backups", Some(Permission::BackupCreate)),
    ("/about", Some(Permission::ConfigView)),
    ("/account", None),
    ("/password", None),
    ("/totp", None),
];

fn location(answer: &Answer) -> &str {
    answer
        .headers
        .get(hyper::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The client without its CSRF header, as a browser posting a form is.
fn browser(client: &Client) -> Client {
    let mut c = client.clone();
    c.csrf = None;
    c
}

async fn form(client: &Client, path: &str, body: &str) -> Answer {
    client
        .raw(Method::POST, path, Some(body.as_bytes().to_vec()), FORM)
        .await
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF field");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_are_sent_to_the_login_page() {
    let h = Harness::start().await;
    let anonymous = h.client();
    for (path, _) in PAGES {
        let r = anonymous.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&r), "/login", "{path}");
    }
    let r = form(&anonymous, "/policy/stage", "text=x").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // A cookie that no longer opens a session (ended, idle-locked): the login page says so.
    let mut stale = h.client();
    stale.cookie = Some(format!("__Host-rampart-session=rs_{}", "00".repeat(32)));
    let r = stale.get("/dashboard").await;
    assert_eq!(location(&r), "/login?ended=1");
    let r = anonymous.get("/login?ended=1").await;
    assert!(r.text().contains("Your session has ended"), "{}", r.text());
    // The API keeps answering JSON 401.
    let r = anonymous.get("/api/v1/status").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_for_the_roles_that_may_see_them_and_refuse_others_in_html() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    for (role, _, permissions) in builtin_roles() {
        let client = if role == "admin" {
            admin.clone()
        } else {
            h.user(&admin, &format!("ui-{role}"), role).await
        };
        for (path, needs) in PAGES {
            let r = client.get(path).await;
            let allowed = needs.is_none_or(|p| permissions.contains(p));
            let expected = match (*path, allowed) {
                // Nothing is staged yet.
                ("/policy/diff", true) => StatusCode::NOT_FOUND,
                (_, true) => StatusCode::OK,
                (_, false) => StatusCode::FORBIDDEN,
            };
            assert_eq!(r.status, expected, "{role} GET {path}: {}", r.text());
            let media = r.headers[hyper::header::CONTENT_TYPE].to_str().unwrap();
            assert!(media.starts_with("text/html"), "{role} {path}: {media}");
            let text = r.text();
            if r.status == StatusCode::FORBIDDEN {
                assert!(text.contains("Not allowed"), "{text}");
            }
            assert!(text.starts_with("<!DOCTYPE html>"), "{path}");
            assert!(text.contains("<main id=\"main\""), "{path}");
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_login_leads_through_the_forced_password_change() {
    let h = Harness::start().await;
    let mut browser = h.client();
    let r = browser.get("/login").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("System use notification"));
    let body = format!("username=admin&password={}&totp=", h.admin_password);
    let r = form(&browser, "/login", &body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), "/password");
    let cookie = r.headers[hyper::header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure"),
        "{cookie}"
    );
    browser.cookie = cookie.split(';').next().map(str::to_owned);
    // Every page sends the caller to the password change first.
    let r = browser.get("/dashboard").await;
    assert_eq!(location(&r), "/password");
    let page = browser.get("/password").await.text();
    let csrf = csrf_of(&page);
    let new = "a brand new passphrase for the ui";
    let body = format!(
        "csrf={csrf}&current={}&new={}&confirm={}",
        h.admin_password.replace(' ', "+"),
        new.replace(' ', "+"),
        new.replace(' ', "+")
    );
    let r = form(&browser, "/password", &body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let old_cookie = browser.cookie.clone();
    browser.adopt_rotated_session(&r);
    assert_ne!(old_cookie, browser.cookie, "the session id is rotated");
    let r = browser.get("/dashboard").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("SL-C"));
    // Live updates stop after the idle timeout (15 min) without activity (CR 2.5).
    assert!(r.text().contains("data-idle-s=\"900\""), "{}", r.text());
    // A wrong password: one generic message, the lockout rule said plainly.
    let r = form(&h.client(), "/login", "username=admin&password=wrong").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("Login failed"), "{}", r.text());
    assert!(r.text().contains("failed logins within"));
    // A login form posted from another site is refused.
    let mut elsewhere = h.client();
    elsewhere.cookie = None;
    let r = elsewhere
        .raw_with(
            Method::POST,
            "/login",
            Some(b"username=admin&password=x".to_vec()),
            FORM,
            &[("origin", "https://evil.example".to_owned())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_posts_need_the_sessions_csrf_token_in_the_form() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let page = browser(&admin).get("/policy").await.text();
    let csrf = csrf_of(&page);
    let posts = [
        "/policy/validate",
        "/policy/stage",
        "/policy/apply",
        "/policy/discard",
        "/users",
        "/users/admin/disable",
        "/users/admin/password",
        "/sessions/1/terminate",
        "/approvals",
        "/audit/verify",
        "/totp",
        "/totp/confirm",
        "/password",
        "/logout",
    ];
    for path in posts {
        for body in [
            "text=x".to_owned(),
            format!("csrf={}&text=x", "0".repeat(64)),
        ] {
            let r = form(&browser(&admin), path, &body).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {body}");
            assert!(r.text().contains("Not allowed"), "{path}: {}", r.text());
        }
    }
    let r = form(
        &browser(&admin),
        "/policy/validate",
        &format!("csrf={csrf}&text=%5Bbroken"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Not valid"), "{}", r.text());
    assert!(r.text().contains("Line 1, column"), "{}", r.text());
    // The header still works for scripts.
    let r = form(&admin, "/policy/validate", "text=%5Bbroken").await;
    assert_eq!(r.status, StatusCode::OK);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_users_control_is_escaped() {
    // Dual approval on, so that an approval request's reason reaches the audit trail.
    let mut options = Options::default();
    options.identity.approvals.required_for = [Permission::PolicyApply].into_iter().collect();
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    let script = "<script>alert(1)</script>";
    let r = admin
        .put(
            "/api/v1/banner",
            serde_json::json!({ "text": format!("Authorised use only {script}") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let login = h.client().get("/login").await.text();
    assert!(!login.contains(script), "{login}");
    assert!(login.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // An audit event whose details carry the text: an approval request's reason.
    let r = admin
        .post(
            "/api/v1/approvals",
            serde_json::json!({ "permission": "policy.apply", "reason": script }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    for path in ["/audit", "/approvals"] {
        let page = admin.get(path).await.text();
        assert!(!page.contains(script), "{path}: {page}");
        assert!(page.contains("&lt;script&gt;"), "{path}: {page}");
    }
    // A user name cannot carry markup, and the policy editor escapes the text it shows.
    let page = browser(&admin).get("/policy").await.text();
    let csrf = csrf_of(&page);
    let r = form(
        &browser(&admin),
        "/policy/validate",
        &format!("csrf={csrf}&text=%3C%2Ftextarea%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    )
    .await;
    assert!(!r.text().contains(script), "{}", r.text());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_their_csp_and_the_api_keeps_its_own() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    for path in ["/login", "/dashboard", "/policy", "/audit", "/users"] {
        let r = if path == "/login" {
            h.client().get(path).await
        } else {
            admin.get(path).await
        };
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(
            r.headers[hyper::header::CONTENT_SECURITY_POLICY],
            PAGE_CSP,
            "{path}"
        );
        assert_eq!(r.headers[hyper::header::X_FRAME_OPTIONS], "DENY");
        let text = r.text();
        assert!(!text.contains("<script>"), "no inline script on {path}");
        assert!(!text.contains("style="), "no inline style on {path}");
    }
    let r = admin.get("/api/v1/status").await;
    assert_eq!(
        r.headers[hyper::header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    );
    for (path, media) in [
        ("/static/ui.css", "text/css"),
        ("/static/ui.js", "text/javascript"),
    ] {
        let r = h.client().get(path).await;
        assert_eq!(r.status, StatusCode::OK);
        let got = r.headers[hyper::header::CONTENT_TYPE].to_str().unwrap();
        assert!(got.starts_with(media), "{path}: {got}");
    }
    // Pages are not API routes: they stay out of the OpenAPI document.
    let doc = admin.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"].get("/dashboard").is_none());
    assert!(doc["paths"].get("/login").is_none());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_made_and_staged_for_restore_from_the_backups_page() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let page = browser(&admin).get("/backups").await.text();
    let csrf = csrf_of(&page);
    let passphrase = "a backup passphrase kept elsewhere";
    let fields = format!(
        "csrf={csrf}&passphrase={p}&confirm={p}",
        p = passphrase.replace(' ', "+")
    );
    let r = form(&browser(&admin), "/backups", &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let disposition = r.headers[hyper::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let file = r.body.to_vec();

    // The upload form: multipart, with the CSRF token in its action's query.
    let boundary = "rampart-test-boundary";
    let multipart = |confirm: bool| {
        let mut body = Vec::new();
        let mut text = |name: &str, value: &str| {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        };
        text("passphrase", passphrase);
        if confirm {
            text("confirm", "restore");
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.rbk\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        body
    };
    let media = format!("multipart/form-data; boundary={boundary}");
    let upload = |path: String, body: Vec<u8>| {
        let client = browser(&admin);
        let media = media.clone();
        async move { client.raw(Method::POST, &path, Some(body), &media).await }
    };
    let r = upload("/backups/restore".to_owned(), multipart(true)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token, no restore");
    let r = upload(format!("/backups/restore?csrf={csrf}"), multipart(false)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("confirm"), "{}", r.text());
    let r = upload(format!("/backups/restore?csrf={csrf}"), multipart(true)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), "/backups?ok=restore");
    let page = admin.get("/backups?ok=restore").await.text();
    assert!(page.contains("A restore is staged"), "{page}");
    let r = form(
        &browser(&admin),
        "/backups/restore/discard",
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(location(&r), "/backups?ok=discarded-restore");
    h.stop().await;
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_is_applied_from_the_pages_with_a_second_administrators_approval() {
    let mut options = Options::default();
    options.identity.approvals.required_for = [Permission::PolicyApply].into_iter().collect();
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    let second = h.user(&admin, "second-admin", "admin").await;
    let csrf = csrf_of(&browser(&admin).get("/policy").await.text());
    let second_csrf = csrf_of(&browser(&second).get("/approvals").await.text());
    let text = admin.get("/api/v1/policy").await.json()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let edited = format!("{text}\n# Approved by a second administrator.\n");
    let r = form(
        &browser(&admin),
        "/policy/stage",
        &format!("csrf={csrf}&text={}", url_encode(&edited)),
    )
    .await;
    assert_eq!(location(&r), "/policy/diff?ok=staged", "{}", r.text());
    let sha = admin.get("/api/v1/policy/staged").await.json()["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    // Without an approval: the HTML refusal says what to do.
    let r = form(
        &browser(&admin),
        "/policy/apply",
        &format!("csrf={csrf}&sha256={sha}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("approvals page"), "{}", r.text());
    let diff = admin.get("/policy/diff").await.text();
    assert!(diff.contains("Dual approval is on"), "{diff}");
    let r = form(
        &browser(&admin),
        "/approvals",
        &format!("csrf={csrf}&permission=policy.apply&reason=reviewed+diff"),
    )
    .await;
    assert_eq!(location(&r), "/approvals?ok=requested");
    let id = admin.get("/api/v1/approvals").await.json()[0]["id"]
        .as_i64()
        .unwrap();
    // The requester cannot approve their own request; the second administrator can.
    let r = form(
        &browser(&admin),
        &format!("/approvals/{id}/approve"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = form(
        &browser(&second),
        &format!("/approvals/{id}/approve"),
        &format!("csrf={second_csrf}"),
    )
    .await;
    assert_eq!(location(&r), "/approvals?ok=done", "{}", r.text());
    let diff = admin.get("/policy/diff").await.text();
    let action = format!("action=\"/policy/apply?approval={id}\"");
    assert!(diff.contains(&action), "{diff}");
    let r = form(
        &browser(&admin),
        &format!("/policy/apply?approval={id}"),
        &format!("csrf={csrf}&sha256={sha}"),
    )
    .await;
    assert_eq!(location(&r), "/policy?ok=applied", "{}", r.text());
    assert!(
        h.gateway
            .policy_text()
            .0
            .contains("Approved by a second administrator")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_switches_island_mode_from_the_dashboard_and_a_viewer_cannot() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let mut operator = h.user(&admin, "ops", "operator").await;
    operator.csrf = None;
    let page = operator.get("/dashboard").await.text();
    assert!(page.contains("action=\"/island/on\""), "{page}");
    let csrf = csrf_of(&page);
    let r = form(&operator, "/island/on", &format!("csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), "/dashboard?ok=island-on");
    assert!(matches!(
        h.gateway.status().traffic,
        rampart_gateway::Traffic::Island
    ));
    let page = operator.get("/dashboard").await.text();
    assert!(page.contains("action=\"/island/off\""));
    let r = form(&operator, "/island/off", &format!("csrf={csrf}")).await;
    assert_eq!(location(&r), "/dashboard?ok=island-off");
    assert!(matches!(
        h.gateway.status().traffic,
        rampart_gateway::Traffic::Open
    ));

    let mut viewer = h.user(&admin, "watcher", "viewer").await;
    viewer.csrf = None;
    let page = viewer.get("/dashboard").await.text();
    assert!(!page.contains("/island/"), "no island button for a viewer");
    // The header's logout form carries the viewer's CSRF token.
    let r = form(&viewer, "/island/on", &format!("csrf={}", csrf_of(&page))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(matches!(
        h.gateway.status().traffic,
        rampart_gateway::Traffic::Open
    ));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_is_created_shown_once_and_revoked_from_the_tokens_page() {
    let h = Harness::start().await;
    let mut admin = h.admin().await;
    admin.csrf = None;
    let page = admin.get("/tokens").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = csrf_of(&page.text());
    let r = form(
        &admin,
        "/tokens",
        &format!("csrf={csrf}&account=admin&role=admin&label=grafana&days=7"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let html = r.text();
    let at = html.find("rpt_").expect("the new token on the page");
    let token: String = html[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut program = h.client();
    program.bearer = Some(token.clone());
    assert_eq!(
        program.get("/metrics").await.status,
        StatusCode::OK,
        "{token}"
    );
    // Shown once: the list never shows it again.
    let list = admin.get("/tokens").await.text();
    assert!(!list.contains(&token));
    assert!(list.contains("grafana"));
    let id = list
        .split("/tokens/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let r = form(
        &admin,
        &format!("/tokens/{id}/revoke"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(location(&r), "/tokens?ok=revoked");
    assert_eq!(
        program.get("/metrics").await.status,
        StatusCode::UNAUTHORIZED
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approvals_page_offers_only_the_permissions_the_caller_holds() {
    let mut options = Options::default();
    options.identity.approvals.required_for = [Permission::PolicyApply, Permission::VaultErase]
        .into_iter()
        .collect();
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    let engineer = h.user(&admin, "eng", "engineer").await;
    let viewer = h.user(&admin, "view", "viewer").await;
    let option = |p: &str| format!("<option value=\"{p}\">");
    let page = browser(&admin).get("/approvals").await.text();
    assert!(page.contains(&option("policy.apply")), "{page}");
    assert!(page.contains(&option("vault.erase")), "{page}");
    // The engineer holds policy.apply, not vault.erase, which the API would refuse with 403.
    let page = browser(&engineer).get("/approvals").await.text();
    assert!(page.contains(&option("policy.apply")), "{page}");
    assert!(!page.contains(&option("vault.erase")), "{page}");
    let r = engineer
        .post(
            "/api/v1/approvals",
            serde_json::json!({ "permission": "vault.erase", "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // A viewer holds neither: no form, and the page says why.
    let page = browser(&viewer).get("/approvals").await.text();
    assert!(!page.contains("action=\"/approvals\""), "{page}");
    assert!(page.contains("You hold none of them"), "{page}");
    h.stop().await;
}
