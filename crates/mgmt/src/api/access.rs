//! Access requests from untrusted networks (NDR 1.13 RE 1): list, approve, deny, and the
//! requester's status URL. The decisions are taken from a trusted network only, never for the
//! decider's own account; the table is [`crate::access`].

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Extension, State};
use rampart_audit::{Category, NewEvent, Outcome, Severity};
use rampart_identity::AuthenticatedPrincipal;
use serde_json::json;

use super::{event, record};
use crate::access::{AccessRequestStatus, AccessRequestView, AccessRequests, Expired, Gate};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::middleware::Caller;
use crate::refusals::Refusal;
use crate::state::{AppState, Peer};

/// The longest request id accepted in a path (ids are 32 hex digits).
const MAX_ID_CHARS: usize = 64;

/// Records `access.expired` for what ran out; best effort, in order.
pub(crate) async fn sweep(state: &AppState) {
    let now = state.services.identity.now();
    for expired in state.access.sweep(now) {
        let Expired {
            id,
            account,
            source,
            was,
        } = expired;
        let built = NewEvent::builder(
            Category::AccessControl,
            "access.expired",
            super::plane_actor(),
        )
        .interface("https-api")
        .source_address(source.to_string())
        .target(account.as_str())
        .outcome(Outcome::Denied)
        .severity(Severity::Notice)
        .details(json!({
            "request": id,
            "account": account,
            "was": crate::access::state_text(was),
        }))
        .build();
        if let Ok(event) = built {
            let _ = record(state, event).await;
        }
    }
}

/// Records `access.request` for a new request of `principal` from `peer`.
async fn record_request(
    state: &AppState,
    principal: &AuthenticatedPrincipal,
    peer: Peer,
    id: &str,
    interface: &str,
    kind: &str,
) -> ApiResult<()> {
    let event = event(
        principal,
        Some(peer),
        Category::AccessControl,
        "access.request",
    )
    .interface(interface)
    .target(principal.name())
    .outcome(Outcome::Denied)
    .severity(Severity::Warning)
    .details(json!({
        "request": id,
        "kind": kind,
        "reason": "outside the trusted networks (NDR 1.13 RE 1): held until approved",
    }))
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(state, event).await
}

/// The outcome of a gate for the caller: `Ok(Some(id))` when a login may go on under the
/// approval `id`, `Ok(None)` when it may go on, `Err` with the answer otherwise (403 naming
/// a held request, 403/429 for a refusal).
pub(crate) async fn enforce(
    state: &Arc<AppState>,
    principal: &AuthenticatedPrincipal,
    peer: Peer,
    interface: &str,
    kind: &str,
    gate: Gate,
) -> Result<Option<String>, (ApiError, Option<String>)> {
    match gate {
        Gate::Pass => Ok(None),
        Gate::Approved(id) => Ok(Some(id)),
        Gate::Held { id, new } => {
            if new
                && let Err(e) = record_request(state, principal, peer, &id, interface, kind).await
            {
                return Err((e, None));
            }
            Err((crate::access::held_error(&id), Some(id)))
        }
        Gate::Refused(e) => {
            state.refused(peer.0, &Refusal::untrusted(e.message.clone()));
            Err((e, None))
        }
    }
}

/// The gate of a login of `principal` from `peer` (whose credentials were right).
pub(crate) async fn login_gate(
    state: &Arc<AppState>,
    principal: &AuthenticatedPrincipal,
    peer: Peer,
    interface: &'static str,
) -> Result<Option<String>, (ApiError, Option<String>)> {
    sweep(state).await;
    let now = state.services.identity.now();
    let gate = state
        .access
        .login_gate(&state.config, principal.name(), peer.0.ip(), interface, now)
        .map_err(|e| (ApiError::internal(&e), None))?;
    enforce(state, principal, peer, interface, "login", gate).await
}

/// The gate of an authenticated request of `principal` from `peer`; `session` is the CSRF
/// tag of its session, `None` for an API token.
pub(crate) async fn request_gate(
    state: &Arc<AppState>,
    principal: &AuthenticatedPrincipal,
    peer: Peer,
    session: Option<&str>,
    interface: &'static str,
) -> Result<(), (ApiError, Option<String>)> {
    if AccessRequests::trusted(&state.config, peer.0.ip()) {
        return Ok(());
    }
    sweep(state).await;
    let now = state.services.identity.now();
    let gate = state
        .access
        .request_gate(&state.config, principal.name(), peer.0.ip(), session, now)
        .map_err(|e| (ApiError::internal(&e), None))?;
    enforce(state, principal, peer, interface, "api-token", gate)
        .await
        .map(|_| ())
}

/// Refuses a decision asked from outside the trusted networks.
fn from_trusted(state: &AppState, source: IpAddr) -> ApiResult<()> {
    if AccessRequests::trusted(&state.config, source) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "untrusted-network",
            "access requests are decided from a trusted network only (NDR 1.13 RE 1)",
        ))
    }
}

/// `GET /api/v1/access-requests`.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<Json<Vec<AccessRequestView>>> {
    from_trusted(&state, peer.0.ip())?;
    sweep(&state).await;
    Ok(Json(state.access.list()))
}

/// `POST /api/v1/access-requests/{id}/approve`.
pub(crate) async fn approve(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessRequestView>> {
    decide(&state, peer, &caller, &id, true).await.map(Json)
}

/// `POST /api/v1/access-requests/{id}/deny`.
pub(crate) async fn deny(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessRequestView>> {
    decide(&state, peer, &caller, &id, false).await.map(Json)
}

/// Approves or denies request `id` as the caller; shared with the web UI.
pub(crate) async fn decide(
    state: &AppState,
    peer: Peer,
    caller: &Caller,
    id: &str,
    approve: bool,
) -> ApiResult<AccessRequestView> {
    let action = if approve {
        "access.approve"
    } else {
        "access.deny"
    };
    let refused = async |e: ApiError| -> ApiResult<AccessRequestView> {
        super::record_denial(state, &caller.principal, peer, &e.message, action).await;
        Err(e)
    };
    if let Err(e) = from_trusted(state, peer.0.ip()) {
        return refused(e).await;
    }
    if id.len() > MAX_ID_CHARS {
        return Err(ApiError::not_found("no such access request"));
    }
    sweep(state).await;
    let now = state.services.identity.now();
    let view = match state
        .access
        .decide(&state.config, id, caller.principal.name(), approve, now)
    {
        Ok(view) => view,
        Err(e) => return refused(e).await,
    };
    let built = event(
        &caller.principal,
        Some(peer),
        Category::AccessControl,
        action,
    )
    .target(view.account.as_str())
    .outcome(Outcome::Success)
    .severity(Severity::Warning)
    .details(json!({
        "request": view.id,
        "account": view.account,
        "source": view.source,
        "expires_at": view.expires_at,
    }))
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(state, built).await?;
    Ok(view)
}

/// `GET /api/v1/access-requests/{id}/status`: public, answered only to the address the
/// request came from (404 to anyone else).
pub(crate) async fn status(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessRequestStatus>> {
    if id.len() > MAX_ID_CHARS {
        return Err(ApiError::not_found("no such access request"));
    }
    sweep(&state).await;
    state
        .access
        .status(&id, peer.0.ip())
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such access request from this address"))
}
