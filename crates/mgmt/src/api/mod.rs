//! The handlers and the request and answer types of the API, by area. Each one runs after the guard has authenticated and authorised the
//! caller; identity calls (`SQLite`, Argon2id) run on the blocking pool.

pub mod access;
pub mod accounts;
pub mod auth;
pub mod backups;
pub mod erase;
pub mod ids;
pub mod observe;
pub mod policy;
pub mod update;
pub mod vulnerabilities;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rampart_audit::{Actor, Category, NewEvent, Outcome, Severity};
use rampart_identity::{AuthenticatedPrincipal, Identity};

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Peer};

/// Runs an identity operation on the blocking pool.
pub(crate) async fn with_identity<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Identity) -> ApiResult<T> + Send + 'static,
{
    let identity = Arc::clone(&state.services.identity);
    tokio::task::spawn_blocking(move || f(&identity)).await?
}

/// The serde name of a unit enum value (e.g. `password-and-totp`), as API text.
pub(crate) fn enum_text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The audit actor for a principal.
pub(crate) fn actor_of(principal: &AuthenticatedPrincipal) -> Actor {
    let name = principal.name();
    let actor = match principal.kind() {
        rampart_identity::ActorKind::Certificate => Actor::certificate(name),
        rampart_identity::ActorKind::Process => Actor::process(name),
        _ => Actor::user(name),
    };
    // Names come from the identity store, which only holds valid ones.
    actor.unwrap_or_else(|_| plane_actor())
}

/// The management plane itself as an actor.
#[expect(
    clippy::expect_used,
    reason = "a constant name of printable ASCII, which Actor::process always accepts"
)]
pub(crate) fn plane_actor() -> Actor {
    Actor::process("rampart-mgmt").expect("a valid process name")
}

/// Records an event in the audit trail and waits until it is durable; if it cannot be
/// recorded the caller must not go on (fail closed).
pub(crate) async fn record(state: &AppState, event: NewEvent) -> ApiResult<()> {
    let audit = Arc::clone(&state.services.audit);
    match tokio::task::spawn_blocking(move || audit.append(event)).await? {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, "audit trail refused an event");
            Err(ApiError::unavailable(
                "the audit trail cannot record the action, so it was not done",
            ))
        }
    }
}

/// Builds an event on the management interface for `principal`.
pub(crate) fn event(
    principal: &AuthenticatedPrincipal,
    peer: Option<Peer>,
    category: Category,
    action: &str,
) -> rampart_audit::EventBuilder {
    let mut builder =
        NewEvent::builder(category, action, actor_of(principal)).interface("https-api");
    if let Some(peer) = peer {
        builder = builder.source_address(peer.0.ip().to_string());
    }
    builder
}

/// Records a refused request (CSRF failure and the like), best effort: the request is
/// refused whether or not the record succeeds.
pub(crate) async fn record_denial(
    state: &AppState,
    principal: &AuthenticatedPrincipal,
    peer: Peer,
    reason: &str,
    path: &str,
) {
    let built = event(
        principal,
        Some(peer),
        Category::AccessControl,
        "request-refused",
    )
    .target(path)
    .outcome(Outcome::Denied)
    .severity(Severity::Warning)
    .details(serde_json::json!({ "reason": reason }))
    .build();
    if let Ok(event) = built {
        let _ = record(state, event).await;
    }
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi_document(State(state): State<Arc<AppState>>) -> Response {
    let _ = state;
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
        .into_response()
}
