//! The guard (CR 2.1): authenticates the caller (API token or session cookie),
//! checks the CSRF token of state-changing requests made with a session, admits a caller
//! from outside the trusted networks only under an approved access request (NDR 1.13 RE 1),
//! redeems a named dual
//! approval (CR 2.1 RE 4) and authorises the route's [`Access`] rule through the identity
//! service's one check, all before the handler runs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_identity::{AuthenticatedPrincipal, Permission};

use crate::error::{ApiError, deny_reason};
use crate::state::{AppState, HttpCounters, Peer};

/// The name of the session cookie. `__Host-` binds it to this host, path `/`, Secure.
pub const SESSION_COOKIE: &str = "__Host-rampart-session";
/// The header that carries the CSRF token on state-changing requests made with a session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header that names a redeemed dual approval (CR 2.1 RE 4).
pub const APPROVAL_HEADER: &str = "x-rampart-approval";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, before logging in: the banner, login and health.
    Public,
    /// Any authenticated caller, including one that must first change its password or enrol
    /// in MFA; what it may do is then decided by the identity service for the target.
    Authenticated,
    /// A caller that holds the permission.
    Permission(Permission),
}

/// The caller, as resolved by the guard.
#[derive(Clone)]
pub(crate) struct Caller {
    pub(crate) principal: AuthenticatedPrincipal,
    /// The session id when the caller came with the session cookie.
    pub(crate) session: Option<Arc<zeroize::Zeroizing<String>>>,
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// What the guard enforces for one route.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) access: Access,
    /// A web UI page (see `Route::page` in [`crate::router`]).
    pub(crate) page: bool,
    /// The body limit, for reading a page form's CSRF field.
    pub(crate) limit: usize,
}

/// Authenticates the caller (API token or session cookie), checks CSRF for state-changing
/// requests made with a session, redeems a dual approval if one is named, and authorises the
/// route's permission — all before the handler runs.
pub(crate) async fn guard(
    State(state): State<Arc<AppState>>,
    rule: Rule,
    mut request: Request,
    next: Next,
) -> Response {
    let Rule {
        access,
        page,
        limit,
    } = rule;
    if access == Access::Public {
        return next.run(request).await;
    }
    // Pages answer refusals in HTML: the login page for anonymous callers (saying so when a
    // session cookie came but no longer opens a session), an HTML 403 otherwise.
    let cookie_sent = session_cookie(request.headers()).is_some();
    let refuse = |e: ApiError| -> Response {
        if page {
            crate::ui::refusal(&e, cookie_sent)
        } else {
            e.into_response()
        }
    };
    let Some(peer) = request.extensions().get::<Peer>().copied() else {
        return ApiError::internal(&"request without a peer address").into_response();
    };
    let origin = AppState::origin(peer);
    let headers = request.headers();
    let token = bearer(headers).map(str::to_owned);
    let session = session_cookie(headers).map(|s| Arc::new(zeroize::Zeroizing::new(s.to_owned())));
    let csrf = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let approval = headers
        .get(APPROVAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        // A page form names the approval in its action's query (`?approval=<id>`).
        .or_else(|| crate::ui::approval_in_query(request.uri()).filter(|_| page));
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let identity = Arc::clone(&state.services.identity);
    let session_for_check = session.clone();
    let resolved =
        tokio::task::spawn_blocking(move || -> Result<AuthenticatedPrincipal, ApiError> {
            if let Some(token) = token {
                return Ok(identity.authenticate_token(&token, &origin)?);
            }
            let Some(session) = session_for_check else {
                return Err(ApiError::unauthenticated());
            };
            Ok(identity.validate_session(session.as_str(), &origin)?)
        })
        .await;
    let principal = match resolved {
        Ok(Ok(principal)) => {
            // The connection now carries a known caller: it leaves the unauthenticated budget.
            if let Some(connection) = request.extensions().get::<crate::server::ConnectionAuth>() {
                connection.authenticated();
            }
            principal
        }
        Ok(Err(e)) => {
            if e.status == axum::http::StatusCode::UNAUTHORIZED {
                HttpCounters::add(&state.counters.unauthenticated);
            }
            return refuse(e);
        }
        Err(e) => return refuse(ApiError::from(e)),
    };
    // A session came with the cookie (the bearer token wins when both are sent).
    let via_session = principal.session().is_some();
    if via_session && unsafe_method {
        // A page form carries the token in its `csrf` field; the body is read (within the
        // route's limit) and put back for the handler.
        let mut csrf = csrf;
        if page && csrf.is_none() {
            match crate::ui::csrf_in_form(request, limit).await {
                Ok((back, field)) => {
                    request = back;
                    csrf = field;
                }
                Err(e) => return refuse(e),
            }
        }
        let ok = match (&session, &csrf) {
            (Some(session), Some(csrf)) => state.csrf_valid(session.as_str(), csrf),
            _ => false,
        };
        if !ok {
            HttpCounters::add(&state.counters.forbidden);
            crate::api::record_denial(&state, &principal, peer, "csrf-check", request.uri().path())
                .await;
            return refuse(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header (GET /api/v1/auth/whoami returns it)",
            ));
        }
    }
    // From outside the trusted networks, only under an approval (NDR 1.13 RE 1).
    let tag = session
        .as_ref()
        .filter(|_| via_session)
        .map(|s| state.csrf_token(s.as_str()));
    let interface = if page { "web-ui" } else { "https-api" };
    if let Err((e, held)) =
        crate::api::access::request_gate(&state, &principal, peer, tag.as_deref(), interface).await
    {
        HttpCounters::add(&state.counters.forbidden);
        let mut response = refuse(e);
        if let Some(id) = held {
            crate::access::add_headers(&mut response, &id);
        }
        return response;
    }
    let principal = match approval {
        None => principal,
        Some(id) => {
            let Ok(id) = id.trim().parse::<i64>() else {
                return refuse(ApiError::invalid(
                    "X-Rampart-Approval must be an approval id (integer)",
                ));
            };
            let identity = Arc::clone(&state.services.identity);
            match tokio::task::spawn_blocking(move || identity.redeem_approval(&principal, id))
                .await
            {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => return refuse(ApiError::from(e)),
                Err(e) => return refuse(ApiError::from(e)),
            }
        }
    };
    if let Access::Permission(permission) = access {
        let identity = Arc::clone(&state.services.identity);
        let p = principal.clone();
        match tokio::task::spawn_blocking(move || identity.authorize(&p, permission)).await {
            Ok(Ok(())) => {}
            Ok(Err(denied)) => {
                HttpCounters::add(&state.counters.forbidden);
                return refuse(deny_reason(denied.reason));
            }
            Err(e) => return refuse(ApiError::from(e)),
        }
    }
    request.extensions_mut().insert(Caller {
        principal,
        session: if via_session { session } else { None },
    });
    next.run(request).await
}
