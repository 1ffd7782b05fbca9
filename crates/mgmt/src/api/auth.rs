//! Banner, login, logout, the caller's own password and TOTP enrolment.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_identity::{AuthenticatedPrincipal, Password};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::with_identity;
use crate::error::ApiResult;
use crate::extract::Json;
use crate::middleware::{Caller, SESSION_COOKIE};
use crate::state::{AppState, Peer};

/// The system use notification.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Banner {
    /// The text shown before login.
    pub text: String,
}

/// Credentials.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The current TOTP code, for accounts enrolled in MFA.
    #[serde(default)]
    pub totp: Option<String>,
}

/// A successful login. The session id is only in the `__Host-rampart-session` cookie
/// (`Secure; HttpOnly; SameSite=Strict`), never in a body.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct LoginAnswer {
    /// The account.
    pub account: String,
    /// Send this in the `X-CSRF-Token` header of every state-changing request.
    pub csrf_token: String,
    /// The password must be changed before anything else is allowed (CR 1.5).
    pub must_change_password: bool,
    /// TOTP must be set up before anything else is allowed (CR 1.1 RE 2).
    pub mfa_enrolment_required: bool,
    /// When the session ends at the latest (RFC 3339).
    pub expires_at: String,
    /// Inactivity after which the session locks, in seconds (CR 2.5).
    pub idle_timeout_s: i64,
}

/// The caller.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Whoami {
    /// Account or certificate name.
    pub name: String,
    /// How the caller authenticated (`password`, `password-and-totp`, `api-token`, …).
    pub method: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Permissions the roles grant.
    pub permissions: Vec<String>,
    /// The password must be changed first.
    pub must_change_password: bool,
    /// TOTP must be set up first.
    pub mfa_enrolment_required: bool,
    /// The CSRF token of this session (absent for API tokens, which need none).
    pub csrf_token: Option<String>,
}

/// A password change by the account itself.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current: String,
    /// The new password.
    pub new: String,
}

/// A started TOTP enrolment. The secret is shown once; the web UI renders the URI as a QR
/// code.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TotpEnrolmentAnswer {
    /// `otpauth://totp/…` for authenticator apps.
    pub otpauth_uri: String,
    /// The secret, base32, for manual entry.
    pub secret_base32: String,
}

/// A TOTP code.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// Six digits from the authenticator.
    pub code: String,
}

fn caller_of(caller: &Caller) -> &AuthenticatedPrincipal {
    &caller.principal
}

/// `GET /api/v1/banner`.
pub(crate) async fn banner(State(state): State<Arc<AppState>>) -> ApiResult<Json<Banner>> {
    let text = with_identity(&state, |identity| Ok(identity.banner()?)).await?;
    Ok(Json(Banner { text }))
}

/// `PUT /api/v1/banner`.
pub(crate) async fn set_banner(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(banner): Json<Banner>,
) -> ApiResult<StatusCode> {
    with_identity(&state, move |identity| {
        Ok(identity.set_banner(&caller.principal, &banner.text)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn session_cookie(value: &str, max_age_s: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_s}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// `POST /api/v1/auth/login`.
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Json(request): Json<LoginRequest>,
) -> ApiResult<Response> {
    let (answer, cookie) = match open_session(&state, peer, request, "https-api").await {
        Ok(opened) => opened,
        Err((error, request)) => {
            let mut response = error.into_response();
            if let Some(id) = request {
                crate::access::add_headers(&mut response, &id);
            }
            return Ok(response);
        }
    };
    let mut response = Json(answer).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
        .extensions_mut()
        .insert(crate::server::Authenticated);
    Ok(response)
}

/// Authenticates and opens a session: the answer and the `Set-Cookie` value carrying the
/// session id. Shared by the API's login and the web UI's login form (`interface`). From
/// outside the trusted networks the session opens only under an approval (NDR 1.13 RE 1);
/// otherwise the error names the access request held, if one is.
pub(crate) async fn open_session(
    state: &Arc<AppState>,
    peer: Peer,
    request: LoginRequest,
    interface: &'static str,
) -> Result<(LoginAnswer, HeaderValue), (crate::error::ApiError, Option<String>)> {
    let origin = AppState::origin(peer);
    let principal = with_identity(state, move |identity| {
        let password = Password::new(request.password);
        Ok(identity.authenticate(
            &request.username,
            &password,
            request.totp.as_deref(),
            &origin,
        )?)
    })
    .await
    .map_err(|e| (e, None))?;
    let approval = super::access::login_gate(state, &principal, peer, interface).await?;
    let opened = principal.clone();
    let session = with_identity(state, move |identity| Ok(identity.create_session(&opened)?))
        .await
        .map_err(|e| (e, None))?;
    let token = session.token.expose_secret().to_owned();
    if let Some(id) = approval {
        // The approval is spent: this session is the one accepted from the address.
        state.access.bind(&id, state.csrf_token(&token));
    }
    let lifetime = session
        .info
        .expires_at
        .duration_since(state.services.identity.now())
        .as_secs()
        .max(0);
    let idle = state
        .services
        .identity
        .config()
        .sessions
        .idle_timeout
        .as_secs();
    let answer = LoginAnswer {
        account: principal.name().to_owned(),
        csrf_token: state.csrf_token(&token),
        must_change_password: principal.password_change_required(),
        mfa_enrolment_required: principal.mfa_enrolment_required(),
        expires_at: session.info.expires_at.to_string(),
        idle_timeout_s: idle,
    };
    Ok((answer, session_cookie(&token, lifetime)))
}

/// `POST /api/v1/auth/logout`.
pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    if let Some(session) = caller.session.clone() {
        let origin = AppState::origin(peer);
        with_identity(&state, move |identity| {
            Ok(identity.logout(session.as_str(), &origin)?)
        })
        .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(response)
}

/// `GET /api/v1/auth/whoami`.
pub(crate) async fn whoami(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Json<Whoami> {
    let p = caller_of(&caller);
    Json(Whoami {
        name: p.name().to_owned(),
        method: super::enum_text(&p.method()),
        roles: p.roles().iter().map(|r| r.as_str().to_owned()).collect(),
        permissions: p
            .permissions()
            .iter()
            .map(|perm| perm.as_str().to_owned())
            .collect(),
        must_change_password: p.password_change_required(),
        mfa_enrolment_required: p.mfa_enrolment_required(),
        csrf_token: caller
            .session
            .as_ref()
            .map(|s| state.csrf_token(s.as_str())),
    })
}

/// The header that carries a rotated session's new CSRF token.
pub(crate) const CSRF_ROTATED_HEADER: &str = "x-csrf-token";

/// `POST /api/v1/auth/password`. A session caller's session gets a new id (answered with
/// `Set-Cookie` and the new CSRF token in `X-CSRF-Token`).
pub(crate) async fn change_password(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(change): Json<PasswordChange>,
) -> ApiResult<Response> {
    let rotated = with_identity(&state, move |identity| {
        let current = Password::new(change.current);
        let new = Password::new(change.new);
        identity.change_password(&caller.principal, &current, &new)?;
        rotate(identity, &caller, "password-change")
    })
    .await?;
    Ok(no_content_rotated(&state, rotated))
}

/// Rotates the caller's session after a change of its authentication state (CR 2.5, CR 3.8):
/// the old id is worthless from now on. Callers by API token have no session to rotate.
fn rotate(
    identity: &rampart_identity::Identity,
    caller: &Caller,
    reason: &str,
) -> ApiResult<Option<(String, i64)>> {
    if caller.session.is_none() {
        return Ok(None);
    }
    let (token, expires_at) = identity.rotate_session(&caller.principal, reason)?;
    let lifetime = expires_at.duration_since(identity.now()).as_secs().max(0);
    Ok(Some((token.expose_secret().to_owned(), lifetime)))
}

/// 204, with the rotated session's cookie and CSRF token when there is one.
fn no_content_rotated(state: &AppState, rotated: Option<(String, i64)>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some((token, lifetime)) = rotated {
        let headers = response.headers_mut();
        headers.insert(header::SET_COOKIE, session_cookie(&token, lifetime));
        if let Ok(csrf) = HeaderValue::from_str(&state.csrf_token(&token)) {
            headers.insert(CSRF_ROTATED_HEADER, csrf);
        }
    }
    response
}

/// `POST /api/v1/auth/totp/enrol`.
pub(crate) async fn totp_enrol(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<TotpEnrolmentAnswer>> {
    let enrolment = with_identity(&state, move |identity| {
        Ok(identity.begin_totp_enrolment(&caller.principal)?)
    })
    .await?;
    Ok(Json(TotpEnrolmentAnswer {
        otpauth_uri: enrolment.expose_uri().to_owned(),
        secret_base32: enrolment.expose_secret_base32().to_owned(),
    }))
}

/// `POST /api/v1/auth/totp/confirm`.
pub(crate) async fn totp_confirm(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(code): Json<TotpCode>,
) -> ApiResult<Response> {
    let rotated = with_identity(&state, move |identity| {
        identity.confirm_totp_enrolment(&caller.principal, code.code.trim())?;
        rotate(identity, &caller, "mfa-enrolment")
    })
    .await?;
    Ok(no_content_rotated(&state, rotated))
}
