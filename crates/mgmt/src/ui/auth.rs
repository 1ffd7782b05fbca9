//! The login flow of the web UI: the system use notification with the login form, the forced
//! change of an initial password, TOTP enrolment with a QR code rendered here, the caller's
//! account page and logout. Each step calls the API handler that does the same thing.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, Notice, layout, lenient_query, ok_notice, redirect, respond};
use crate::api::{self, with_identity};
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

pub(crate) async fn root() -> Response {
    redirect("/dashboard")
}

#[derive(Default, Deserialize)]
struct LoginQuery {
    ended: Option<String>,
    out: Option<String>,
}

/// How lockout and the idle lock work, said plainly on the login page (CR 1.11, CR 2.5).
fn policy_text(state: &AppState) -> Markup {
    let config = state.services.identity.config();
    let minutes = |d: jiff::SignedDuration| (d.as_secs() / 60).max(1);
    let lockout = config.lockout;
    html! {
        ul.hint {
            li {
                "After " (lockout.max_failures) " failed logins within "
                (minutes(lockout.window)) " minutes the account is locked "
                @if let Some(d) = lockout.lock_for { "for " (minutes(d)) " minutes." }
                @else { "until an administrator unlocks it." }
                " A failed login never says which part was wrong."
            }
            li {
                "A session locks after " (minutes(config.sessions.idle_timeout))
                " minutes without activity and ends after "
                (minutes(config.sessions.lifetime) / 60) " hours."
            }
        }
    }
}

async fn banner_text(state: &AppState) -> String {
    with_identity(state, |identity| Ok(identity.banner()?))
        .await
        .unwrap_or_else(|e| e.message)
}

fn login_form(state: &AppState, banner: &str, notices: &[Notice], status: StatusCode) -> Response {
    let body = html! {
        section.banner aria-labelledby="banner-title" {
            h2 id="banner-title" { "System use notification" }
            div id="banner" { @for line in banner.lines() { p { (line) } } }
        }
        form.card method="post" action="/login" {
            h2 { "Credentials" }
            p {
                label for="username" { "User name" }
                input id="username" name="username" autocomplete="username" required autofocus;
            }
            p {
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
            }
            p {
                label for="totp" { "Authenticator code " span.hint { "(if two-factor authentication is set up)" } }
                input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6";
            }
            p { button type="submit" { "Log in" } }
        }
        (policy_text(state))
    };
    let mut response = respond(status, layout(None, "Log in", "", notices, body));
    // Browsers without `Sec-Fetch-Site` say where the login form comes from only in `Origin`,
    // which they send as `null` when the page's policy is `no-referrer`; `same-origin` makes
    // them send this site's origin, and a `null` one can be refused.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    response
}

pub(crate) async fn login_page(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let query: LoginQuery = lenient_query(&uri);
    let mut notices = Vec::new();
    if query.ended.is_some() {
        notices.push(Notice::Error(format!(
            "Your session has ended: it locked after {} minutes without activity, reached its \
             lifetime, or was terminated. Log in again.",
            (state
                .services
                .identity
                .config()
                .sessions
                .idle_timeout
                .as_secs()
                / 60)
                .max(1)
        )));
    }
    if query.out.is_some() {
        notices.push(Notice::Ok("You are logged out.".to_owned()));
    }
    let banner = banner_text(&state).await;
    login_form(&state, &banner, &notices, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    totp: String,
}

/// Why a login form post does not come from this site, if it does not: a login form posted
/// from elsewhere is refused (login CSRF). Browsers say where a request comes from in
/// `Sec-Fetch-Site`; older ones only in `Origin` (the login page's `Referrer-Policy:
/// same-origin` makes them send the real one). An opaque origin (`null`: a sandboxed frame,
/// a `data:` page, a redirect across sites) is not this site. Clients that send neither are
/// not browsers, so no other site can make them post.
fn cross_site(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return (site != "same-origin").then(|| format!("Sec-Fetch-Site: {}", clip(site)));
    }
    match text("origin") {
        None => None,
        Some(origin) if origin.strip_prefix("https://") == text("host") => None,
        Some(origin) => Some(format!("Origin: {}", clip(origin))),
    }
}

/// A header value as it may appear in a reason: at most 100 characters, controls replaced.
fn clip(value: &str) -> String {
    value
        .chars()
        .take(100)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Some(evidence) = cross_site(&headers) {
        let reason = format!("a login form posted from another site ({evidence})");
        state.refused(peer.0, &crate::refusals::Refusal::cross_site_login(reason));
        return super::error_page(&crate::error::ApiError::forbidden(
            "the login form was posted from another site",
        ));
    }
    let totp = form.totp.trim();
    let request = api::auth::LoginRequest {
        username: form.username,
        password: form.password,
        totp: (!totp.is_empty()).then(|| totp.to_owned()),
    };
    match api::auth::open_session(&state, peer, request, "web-ui")
        .await
        .map_err(|(e, _)| e)
    {
        Ok((answer, cookie)) => {
            let next = if answer.must_change_password {
                "/password"
            } else if answer.mfa_enrolment_required {
                "/totp"
            } else {
                "/dashboard"
            };
            let mut response = redirect(next);
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
                .extensions_mut()
                .insert(crate::server::Authenticated);
            response
        }
        Err(e) => {
            let banner = banner_text(&state).await;
            let message = if e.status == StatusCode::UNAUTHORIZED {
                "Login failed: wrong user name, password or code — or the account is locked, \
                 disabled or expired. Repeated failures lock the account (see below)."
                    .to_owned()
            } else {
                e.message
            };
            login_form(&state, &banner, &[Notice::Error(message)], e.status)
        }
    }
}

pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Extension(caller): Extension<Caller>,
) -> Response {
    match api::auth::logout(State(state), Extension(peer), Extension(caller)).await {
        Ok(answer) => {
            let mut response = redirect("/login?out=1");
            if let Some(cookie) = answer.headers().get(header::SET_COOKIE) {
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, cookie.clone());
            }
            response
        }
        Err(e) => super::error_page(&e),
    }
}

pub(crate) async fn account(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    #[derive(Default, Deserialize)]
    struct Q {
        ok: Option<String>,
    }
    let q: Q = lenient_query(&uri);
    let ctx = Ctx::of(&state, &caller);
    let method = api::enum_text(&caller.principal.method());
    let body = html! {
        dl.facts {
            dt { "Account" } dd { (ctx.name) }
            dt { "Roles" } dd { (ctx.roles.join(", ")) }
            dt { "Logged in with" } dd { (method) }
        }
        ul.actions {
            li { a href="/password" { "Change your password" } }
            li { a href="/totp" { "Set up two-factor authentication (TOTP)" } }
        }
    };
    let notices: Vec<Notice> = ok_notice(q.ok.as_deref()).into_iter().collect();
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "Your account", "", &notices, body),
    )
}

fn password_form(state: &AppState, ctx: &Ctx, forced: bool, notices: &[Notice]) -> Markup {
    let min = state.services.identity.config().password.min_length;
    let body = html! {
        @if forced {
            p { "Your password was set by an administrator or is the initial one. Choose your own before you go on." }
        }
        form.card method="post" action="/password" {
            (ctx.csrf_field())
            p {
                label for="current" { "Current password" }
                input id="current" name="current" type="password" autocomplete="current-password" required;
            }
            p {
                label for="new" { "New password " span.hint { "(at least " (min) " characters; a passphrase is best)" } }
                input id="new" name="new" type="password" autocomplete="new-password" minlength=(min) required;
            }
            p {
                label for="confirm" { "New password again" }
                input id="confirm" name="confirm" type="password" autocomplete="new-password" required;
            }
            p { button type="submit" { "Change password" } }
        }
    };
    layout(Some(ctx), "Change your password", "", notices, body)
}

pub(crate) async fn password_page(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let forced = caller.principal.password_change_required();
    respond(StatusCode::OK, password_form(&state, &ctx, forced, &[]))
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

pub(crate) async fn change_password(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let forced = caller.principal.password_change_required();
    if form.new != form.confirm {
        let notice = Notice::Error("The two new passwords differ.".to_owned());
        return respond(
            StatusCode::BAD_REQUEST,
            password_form(&state, &ctx, forced, &[notice]),
        );
    }
    let change = api::auth::PasswordChange {
        current: form.current,
        new: form.new,
    };
    match api::auth::change_password(State(Arc::clone(&state)), Extension(caller), Json(change))
        .await
    {
        // The guard sends the caller on to TOTP enrolment if that is still due.
        Ok(answer) => with_rotated_session(redirect("/dashboard?ok=password"), &answer),
        Err(e) => respond(
            e.status,
            password_form(&state, &ctx, forced, &[Notice::Error(e.message)]),
        ),
    }
}

pub(crate) async fn totp_page(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let required = caller.principal.mfa_enrolment_required();
    let body = html! {
        @if required {
            p { "Your role or this component requires two-factor authentication. Set it up before you go on." }
        }
        p { "You need an authenticator app (TOTP, RFC 6238) on a device you carry. Starting replaces any enrolment that was not completed." }
        form.card method="post" action="/totp" {
            (ctx.csrf_field())
            button type="submit" { "Show the QR code" }
        }
    };
    respond(
        StatusCode::OK,
        layout(
            Some(&ctx),
            "Set up two-factor authentication",
            "",
            &[],
            body,
        ),
    )
}

/// The `otpauth://` URI as an SVG QR code, drawn here (no external service sees the secret).
pub(super) fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Drop the XML declaration: the SVG is inlined in HTML.
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-labelledby=\"qr-caption\" ",
        1,
    ))
}

pub(crate) async fn totp_start(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let enrolment = match api::auth::totp_enrol(State(Arc::clone(&state)), Extension(caller)).await
    {
        Ok(Json(answer)) => answer,
        Err(e) => return super::error_page(&e),
    };
    let qr = qr_svg(&enrolment.otpauth_uri).unwrap_or_default();
    let body = html! {
        ol.steps {
            li {
                "Scan the code with your authenticator app."
                figure.qr {
                    (super::trusted(qr))
                    figcaption id="qr-caption" { "QR code of the TOTP secret for " (ctx.name) }
                }
            }
            li {
                "Or enter the secret by hand: "
                code id="totp-secret" { (enrolment.secret_base32) }
                " (shown once; it is not stored in your browser)."
            }
            li {
                form.card method="post" action="/totp/confirm" {
                    (ctx.csrf_field())
                    p {
                        label for="code" { "The 6-digit code the app shows now" }
                        input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required autofocus;
                    }
                    p { button type="submit" { "Confirm" } }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(
            Some(&ctx),
            "Set up two-factor authentication",
            "",
            &[],
            body,
        ),
    )
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    code: String,
}

pub(crate) async fn totp_confirm(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<CodeForm>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let code = api::auth::TotpCode { code: form.code };
    match api::auth::totp_confirm(State(Arc::clone(&state)), Extension(caller), Json(code)).await {
        Ok(answer) => with_rotated_session(redirect("/dashboard?ok=totp"), &answer),
        Err(e) => {
            let body = html! {
                form.card method="post" action="/totp" {
                    (ctx.csrf_field())
                    button type="submit" { "Start again" }
                }
            };
            let notice = Notice::Error(format!(
                "The code was not accepted ({}). Check the time on your device and start again.",
                e.message
            ));
            respond(
                e.status,
                layout(
                    Some(&ctx),
                    "Set up two-factor authentication",
                    "",
                    &[notice],
                    body,
                ),
            )
        }
    }
}

/// Carries the rotated session's cookie from the API's answer onto the page's answer.
fn with_rotated_session(mut page: Response, api_answer: &Response) -> Response {
    if let Some(cookie) = api_answer.headers().get(header::SET_COOKIE) {
        page.headers_mut()
            .insert(header::SET_COOKIE, cookie.clone());
    }
    page
}
