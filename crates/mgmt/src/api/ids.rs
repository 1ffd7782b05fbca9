//! The IDS baseline (CR 6.2): where it stands, a learning window, clearing it, and the
//! baseline itself. Starting a learning window silences the IDS until it ends, so it takes
//! `policy.apply`, like putting a policy in force; the gateway records it first.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rampart_conduit::{Adaptation, LearningState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::AppState;

/// Where the IDS stands with its baseline.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct IdsView {
    /// `none` (fixed thresholds only), `learning` (no alert until it ends) or `detecting`.
    pub state: String,
    /// Learning: when it ends (RFC 3339).
    pub learning_until: Option<String>,
    /// Detecting: when the baseline's learning ended (RFC 3339).
    pub learned_until: Option<String>,
    /// Clients in the baseline (learned so far while learning).
    pub clients: usize,
    /// Requests learned so far (while learning).
    pub requests: Option<u64>,
    /// `frozen` or `adaptive` (detecting).
    pub adaptation: Option<String>,
}

/// A learning window to start.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LearningRequest {
    /// How long to learn, in seconds (1 to 2,592,000: 30 days).
    pub duration_s: u64,
    /// Keep adapting rates and response times after learning (default false: frozen).
    #[serde(default)]
    pub adaptive: bool,
}

fn rfc3339(us: u64) -> Option<String> {
    i64::try_from(us)
        .ok()
        .and_then(|us| jiff::Timestamp::from_microsecond(us).ok())
        .map(|t| t.to_string())
}

/// The view of a learning state.
pub(crate) fn view(state: &LearningState) -> IdsView {
    match state {
        LearningState::None => IdsView {
            state: "none".into(),
            learning_until: None,
            learned_until: None,
            clients: 0,
            requests: None,
            adaptation: None,
        },
        LearningState::Learning {
            until_us,
            clients,
            requests,
        } => IdsView {
            state: "learning".into(),
            learning_until: until_us.and_then(rfc3339),
            learned_until: None,
            clients: *clients,
            requests: Some(*requests),
            adaptation: None,
        },
        LearningState::Detecting {
            learned_until_us,
            clients,
            adaptation,
        } => IdsView {
            state: "detecting".into(),
            learning_until: None,
            learned_until: rfc3339(*learned_until_us),
            clients: *clients,
            requests: None,
            adaptation: Some(adaptation.clone()),
        },
    }
}

/// `GET /api/v1/ids`.
pub(crate) async fn ids(State(state): State<Arc<AppState>>) -> Json<IdsView> {
    Json(view(&state.services.gateway.status().ids))
}

/// `POST /api/v1/ids/learning`.
pub(crate) async fn start_learning(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<LearningRequest>,
) -> ApiResult<Json<IdsView>> {
    let max = rampart_gateway::monitoring::MAX_LEARNING.as_secs();
    if request.duration_s == 0 || request.duration_s > max {
        return Err(ApiError::invalid(format!(
            "duration_s: {} is out of range (1 to {max})",
            request.duration_s
        )));
    }
    let adaptation = if request.adaptive {
        Adaptation::Adaptive
    } else {
        Adaptation::Frozen
    };
    let learning = state
        .services
        .gateway
        .start_learning(
            Duration::from_secs(request.duration_s),
            adaptation,
            caller.principal.name(),
        )
        .await
        .map_err(|e| ApiError::unavailable(format!("learning not started: {e}")))?;
    Ok(Json(view(&learning)))
}

/// `DELETE /api/v1/ids/baseline`.
pub(crate) async fn clear_baseline(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<IdsView>> {
    state
        .services
        .gateway
        .clear_baseline(caller.principal.name())
        .await
        .map_err(|e| ApiError::unavailable(format!("baseline not cleared: {e}")))?;
    Ok(Json(view(&state.services.gateway.status().ids)))
}

/// `GET /api/v1/ids/baseline`: the baseline file (docs/ids.md).
pub(crate) async fn baseline(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let baseline = state
        .services
        .gateway
        .ids_baseline()
        .ok_or_else(|| ApiError::not_found("no IDS baseline is learned or in force"))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        baseline.to_json(),
    )
        .into_response())
}

/// `GET /api/v1/ids/baseline/policy`: a least-privilege conduit policy proposed from the
/// baseline, for an engineer to review and stage.
pub(crate) async fn proposed_policy(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let baseline = state
        .services
        .gateway
        .ids_baseline()
        .ok_or_else(|| ApiError::not_found("no IDS baseline is learned or in force"))?;
    let text = rampart_conduit::Learner::from_baseline(&baseline).policy_toml();
    Ok(([(header::CONTENT_TYPE, "application/toml")], text).into_response())
}
