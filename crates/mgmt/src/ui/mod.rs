//! The web UI: server-rendered HTML pages on the management port, built on the API's handlers
//! and the same guard (docs/management.md, "Web UI").
//!
//! - **Routes**: every page is a route of the one table in [`crate::router`], added after
//!   `.pages()`, with the same access rule as the API route it fronts; pages stay out of the
//!   `OpenAPI` document. The guard answers a page's refusals in HTML
//!   (anonymous callers go to `/login`, a pending password change to `/password`, a pending MFA
//!   enrolment to `/totp`, anything else is an HTML 403) and checks the CSRF token of a form
//!   post from its `csrf` field.
//! - **Rendering**: `maud` templates, which escape every interpolated value; no inline script
//!   or style, so the pages' CSP is `script-src 'self'; style-src 'self'` (see [`CSP`]).
//! - **No JavaScript needed**: every flow is a plain form; `static/ui.js` only refreshes the
//!   dashboard without a reload and asks before destructive actions.
//! - **Layout**: one file an area (`auth`, `dashboard`, `alerts`, `users`, `sessions`,
//!   `tokens`, `approvals`, `audit`, `policy`, `backups`, `about`); the frame, notices, forms
//!   and answers they share are here.

pub(crate) mod about;
pub(crate) mod access;
pub(crate) mod alerts;
pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod backups;
pub(crate) mod dashboard;
pub(crate) mod erase;
pub(crate) mod ids;
pub(crate) mod policy;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod update;
pub(crate) mod users;
pub(crate) mod vulnerabilities;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rampart_identity::{Permission, PermissionSet};
use serde::Deserialize;

use crate::error::ApiError;
use crate::middleware::Caller;
use crate::state::AppState;

/// The Content-Security-Policy of every page: same-origin style sheet and script only (no
/// inline code), inline images as `data:` URLs, fetches to the same origin (the dashboard
/// polls `/api/v1/status`), forms posting only here, no framing.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

const STYLE: &str = include_str!("../../static/ui.css");
const SCRIPT: &str = include_str!("../../static/ui.js");

pub(crate) async fn style() -> Response {
    static_file("text/css; charset=utf-8", STYLE)
}

pub(crate) async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", SCRIPT)
}

fn static_file(media: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, media),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// An HTML answer with the pages' CSP.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A 303 See Other to a path of this UI.
pub(crate) fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The guard's answer to a refused page request (see the module docs).
pub(crate) fn refusal(error: &ApiError, cookie_sent: bool) -> Response {
    match (error.status, error.code) {
        (StatusCode::UNAUTHORIZED, _) if cookie_sent => redirect("/login?ended=1"),
        (StatusCode::UNAUTHORIZED, _) => redirect("/login"),
        (_, "password-change-required") => redirect("/password"),
        (_, "mfa-enrolment-required") => redirect("/totp"),
        _ => error_page(error),
    }
}

/// An HTML page for an API error: the status, the message, a way back.
pub(crate) fn error_page(error: &ApiError) -> Response {
    let title = match error.status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::CONFLICT => "Conflict",
        StatusCode::BAD_REQUEST => "Invalid request",
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
        _ => "Error",
    };
    let message = if error.code == "csrf" {
        "the form was out of date or came from another site (CSRF check). Reload the page and \
         try again."
    } else {
        error.message.as_str()
    };
    let body = html! {
        div.notice.error role="alert" {
            p { strong { (error.status.as_u16()) " " (title) ": " } (message) }
        }
        @if error.code == "approval-required" {
            p { "Ask a second administrator on the " a href="/approvals" { "approvals page" } ", then repeat the action." }
        }
        p { a href="/dashboard" { "Back to the dashboard" } }
    };
    respond(error.status, layout(None, title, "", &[], body))
}

/// Reads a form post's body (within `limit`) for its `csrf` field and puts the body back. A
/// post that is not `application/x-www-form-urlencoded` (a file upload) carries the field in
/// the query of its action instead.
///
/// # Errors
/// 413 when the body is larger than `limit`.
pub(crate) async fn csrf_in_form(
    request: Request,
    limit: usize,
) -> Result<(Request, Option<String>), ApiError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        // A file upload (multipart) names the token in its action's query instead.
        let field = request
            .uri()
            .query()
            .and_then(|q| field_of(q.as_bytes(), "csrf"));
        return Ok((request, field));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid",
            format!("the form is larger than {limit} bytes"),
        )
    })?;
    let field = field_of(&bytes, "csrf");
    Ok((Request::from_parts(parts, Body::from(bytes)), field))
}

/// The raw value of a field in URL-encoded text. The fields read this way (CSRF token, approval
/// id) are hex or digits, which URL encoding leaves as they are; anything else fails the
/// comparison that follows.
fn field_of(text: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(text)
        .ok()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The approval id a page form names in its action's query (`?approval=<id>`).
pub(crate) fn approval_in_query(uri: &Uri) -> Option<String> {
    field_of(uri.query()?.as_bytes(), "approval")
}

/// The logged-in caller as the layout needs it.
pub(crate) struct Ctx {
    pub(crate) name: String,
    pub(crate) roles: Vec<String>,
    pub(crate) permissions: PermissionSet,
    pub(crate) csrf: String,
}

impl Ctx {
    pub(crate) fn of(state: &AppState, caller: &Caller) -> Ctx {
        let p = &caller.principal;
        Ctx {
            name: p.name().to_owned(),
            roles: p.roles().iter().map(|r| r.as_str().to_owned()).collect(),
            permissions: p.permissions(),
            csrf: caller
                .session
                .as_ref()
                .map(|s| state.csrf_token(s.as_str()))
                .unwrap_or_default(),
        }
    }

    pub(crate) fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// The hidden CSRF field every form carries.
    pub(crate) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

/// A message shown at the top of a page.
pub(crate) enum Notice {
    Ok(String),
    Error(String),
}

impl Notice {
    fn render(&self) -> Markup {
        match self {
            Notice::Ok(text) => html! { div.notice.ok role="status" { p { (text) } } },
            Notice::Error(text) => html! { div.notice.error role="alert" { p { (text) } } },
        }
    }
}

/// The main navigation: path, label and the permission that shows it.
const NAV: &[(&str, &str, Option<Permission>)] = &[
    ("/dashboard", "Dashboard", Some(Permission::MetricsRead)),
    ("/policy", "Policy", Some(Permission::PolicyView)),
    ("/audit", "Audit log", Some(Permission::AuditRead)),
    ("/alerts", "Alerts", Some(Permission::MetricsRead)),
    ("/ids", "IDS", Some(Permission::MetricsRead)),
    (
        "/vulnerabilities",
        "Vulnerabilities",
        Some(Permission::ConfigView),
    ),
    ("/update", "Updates", Some(Permission::ConfigView)),
    ("/users", "Users", Some(Permission::UserView)),
    ("/sessions", "Sessions", Some(Permission::SessionView)),
    ("/approvals", "Approvals", None),
    (
        "/access-requests",
        "Access requests",
        Some(Permission::AccessApprove),
    ),
    ("/tokens", "API tokens", None),
    ("/backups", "Backups", Some(Permission::BackupCreate)),
    ("/about", "About", Some(Permission::ConfigView)),
];

/// The frame of every page: skip link, header with navigation and logout, main landmark.
#[allow(clippy::needless_pass_by_value)] // Owned markup keeps every call site a plain `body`.
pub(crate) fn layout(
    ctx: Option<&Ctx>,
    title: &str,
    current: &str,
    notices: &[Notice],
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Rampart" }
                link rel="stylesheet" href="/static/ui.css";
                script src="/static/ui.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/dashboard" { "Rampart" }
                    @if let Some(ctx) = ctx {
                        nav aria-label="Main" {
                            ul {
                                @for (path, label, needs) in NAV {
                                    @if needs.is_none_or(|p| ctx.can(p)) {
                                        li {
                                            @if *path == current {
                                                a href=(path) aria-current="page" { (label) }
                                            } @else {
                                                a href=(path) { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        div.who {
                            a href="/account" title="Your account" { (ctx.name) }
                            " (" (ctx.roles.join(", ")) ")"
                            form.inline method="post" action="/logout" {
                                (ctx.csrf_field())
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    @for notice in notices { (notice.render()) }
                    (body)
                }
                footer { p { "Rampart " (env!("CARGO_PKG_VERSION")) " · IEC 62443-4-2 management plane" } }
            }
        }
    }
}

/// A fixed success message named by `?ok=` after a redirect (never free text from the URL).
pub(crate) fn ok_notice(key: Option<&str>) -> Option<Notice> {
    let text = match key? {
        "password" => "Your password was changed.",
        "totp" => "Two-factor authentication is set up. From now on, log in with a code.",
        "created" => "The account was created; its password must be changed at first login.",
        "done" => "Done.",
        "staged" => "The policy was staged. Review the difference and apply it.",
        "applied" => "The policy is in force and saved; the audit log records the change.",
        "discarded" => "The staged policy was discarded.",
        "requested" => "Approval requested. A second administrator must approve it.",
        "terminated" => "The session was terminated.",
        "revoked" => "The API token was revoked; programs using it are refused from now on.",
        "island-on" => "Island mode is on: no traffic crosses the conduit, also after a restart.",
        "island-off" => "Island mode is off: traffic crosses the conduit as the policy allows.",
        "restore" => {
            "The backup was verified and the restore is staged: it replaces all data at \
             the next start of the gateway. Discard it here to cancel."
        }
        "discarded-restore" => "The staged restore was discarded.",
        "learning" => {
            "The IDS is learning: no alert is raised until the window ends; the audit log \
             records who started it."
        }
        "baseline-cleared" => "The IDS baseline was cleared: fixed thresholds only.",
        "checked" => "The repository was checked; its metadata verified.",
        "downloaded" => "The bundle was downloaded and verified; install it when ready.",
        "installed" => {
            "The update is installed in the other slot; the gateway restarts into it as a \
             trial. Reload this page in a moment."
        }
        "rolled-back" => "Rolled back: the launcher boots the committed slot at the next start.",
        "restarting" => "The gateway is restarting. Reload this page in a moment.",
        _ => return None,
    };
    Some(Notice::Ok(text.to_owned()))
}

#[derive(Default, Deserialize)]
struct OkQuery {
    ok: Option<String>,
}

pub(crate) fn ok_notices(uri: &Uri) -> Vec<Notice> {
    let q: OkQuery = lenient_query(uri);
    ok_notice(q.ok.as_deref()).into_iter().collect()
}

/// A one-button form posting to `action`; `confirm` asks first when JavaScript runs.
pub(crate) fn action_button(ctx: &Ctx, action: &str, label: &str, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=[confirm] {
            (ctx.csrf_field())
            button type="submit" { (label) }
        }
    }
}

/// The caller's approved, unredeemed dual-approval request for `permission`, if any: what a
/// page names in its form's `?approval=` so that the guard redeems it.
pub(crate) async fn approval_for(
    state: &std::sync::Arc<crate::state::AppState>,
    caller: &crate::middleware::Caller,
    permission: Permission,
) -> Option<i64> {
    let me = caller.principal.name().to_owned();
    let filter = crate::api::accounts::ApprovalFilter { pending: false };
    let crate::extract::Json(list) = crate::api::accounts::list_approvals(
        axum::extract::State(std::sync::Arc::clone(state)),
        axum::extract::Extension(caller.clone()),
        crate::extract::Query(filter),
    )
    .await
    .ok()?;
    list.into_iter()
        .find(|a| a.requester == me && a.permission == permission.as_str() && a.state == "approved")
        .map(|a| a.id)
}

/// Text as preformatted, escaped lines (for the policy and diffs).
pub(crate) fn pre_lines(text: &str) -> Markup {
    html! { pre { code { (text) } } }
}

/// Unescaped markup produced by this crate (the QR code SVG), never user input.
pub(crate) fn trusted(svg: String) -> PreEscaped<String> {
    PreEscaped(svg)
}

/// A `Query` of a page: malformed parameters are ignored rather than refused.
pub(crate) fn lenient_query<T: serde::de::DeserializeOwned + Default>(uri: &Uri) -> T {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|axum::extract::Query(value)| value)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
