//! The conduit policy: view, validate, stage, diff and apply — thin handlers over the
//! gateway's staging operations (`rampart_gateway::staging`), which apply only the reviewed
//! version, put it in force without dropping connections, and write the policy file
//! atomically; these handlers record who did what, before it is done.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use rampart_audit::{Category, Outcome, Severity};
use rampart_conduit::{Level, Policy, lint};
use rampart_gateway::staging::{StagedPolicy, StagingError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{event, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

/// The policy in force.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PolicyView {
    /// The TOML text.
    pub text: String,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// Where it was loaded from.
    pub origin: String,
    /// Its roles.
    pub roles: Vec<String>,
}

/// Policy text.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyText {
    /// The TOML text.
    pub text: String,
}

/// A validation problem or lint finding, at a place in the text.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (1 for lint findings, which concern a whole rule).
    pub column: usize,
    /// `error`, `warning` or `note`.
    pub level: String,
    /// A stable code for lint findings; `invalid` for errors.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// The result of validating policy text.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Validation {
    /// Whether the text is a valid policy.
    pub valid: bool,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// The error (at most one: validation stops at the first) and lint findings.
    pub problems: Vec<Problem>,
}

/// The staged policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StagedView {
    /// The TOML text.
    pub text: String,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// Who staged it.
    pub staged_by: String,
    /// When (RFC 3339).
    pub staged_at: String,
}

/// A diff.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Diff {
    /// SHA-256 of the policy in force.
    pub active_sha256: String,
    /// SHA-256 of the staged policy.
    pub staged_sha256: String,
    /// Unified diff, in force → staged.
    pub unified: String,
}

/// What to apply.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// SHA-256 of the staged policy the caller reviewed; applying fails if the staged
    /// policy has changed since.
    pub sha256: String,
}

/// An applied policy.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Applied {
    /// SHA-256 of the policy replaced.
    pub old_sha256: String,
    /// SHA-256 of the policy now in force.
    pub new_sha256: String,
    /// Where it was written.
    pub path: String,
}

fn sha256_hex(text: &str) -> String {
    rampart_vault::crypto::sha256_hex(text.as_bytes())
}

pub(crate) fn validate_text(text: &str) -> Validation {
    let sha256 = sha256_hex(text);
    match Policy::parse(text, "<policy>") {
        Ok(policy) => Validation {
            valid: true,
            sha256,
            problems: lint(&policy)
                .into_iter()
                .map(|f| Problem {
                    line: f.line,
                    column: 1,
                    level: match f.level {
                        Level::Warning => "warning",
                        Level::Note => "note",
                    }
                    .to_owned(),
                    code: f.code.to_owned(),
                    message: f.message,
                })
                .collect(),
        },
        Err(e) => Validation {
            valid: false,
            sha256,
            problems: vec![Problem {
                line: e.line,
                column: e.column,
                level: "error".to_owned(),
                code: "invalid".to_owned(),
                message: e.message,
            }],
        },
    }
}

/// `GET /api/v1/policy`.
pub(crate) async fn show(State(state): State<Arc<AppState>>) -> Json<PolicyView> {
    let gateway = &state.services.gateway;
    let (text, origin) = gateway.policy_text();
    let status = gateway.status();
    Json(PolicyView {
        sha256: status.policy.sha256,
        roles: status.policy.roles,
        text,
        origin,
    })
}

/// `POST /api/v1/policy/validate`.
pub(crate) async fn validate(Json(body): Json<PolicyText>) -> Json<Validation> {
    Json(validate_text(&body.text))
}

/// A staging error as an answer.
fn staging_error(e: StagingError) -> ApiError {
    match e {
        StagingError::NothingStaged => ApiError::not_found("no policy is staged"),
        StagingError::Changed { .. } | StagingError::Refused(_) => {
            ApiError::conflict(e.to_string())
        }
        StagingError::Invalid(e) => ApiError::invalid(format!(
            "line {}, column {}: {}",
            e.line, e.column, e.message
        )),
        other => ApiError::internal(&other),
    }
}

fn view(staged: StagedPolicy) -> StagedView {
    StagedView {
        text: staged.text,
        sha256: staged.sha256,
        staged_by: staged.staged_by,
        staged_at: staged.staged_at,
    }
}

pub(crate) fn read_staged(state: &AppState) -> ApiResult<Option<StagedView>> {
    state
        .services
        .gateway
        .staged_policy()
        .map(|staged| staged.map(view))
        .map_err(staging_error)
}

/// `GET /api/v1/policy/staged`.
pub(crate) async fn staged(State(state): State<Arc<AppState>>) -> ApiResult<Json<StagedView>> {
    read_staged(&state)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no policy is staged"))
}

/// `PUT /api/v1/policy/staged`.
pub(crate) async fn stage(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Json(body): Json<PolicyText>,
) -> ApiResult<Json<StagedView>> {
    let validation = validate_text(&body.text);
    if !validation.valid {
        let p = &validation.problems[0];
        return Err(ApiError::invalid(format!(
            "line {}, column {}: {}",
            p.line, p.column, p.message
        )));
    }
    record_staging(&state, &caller, peer, "policy.stage", &validation.sha256).await?;
    let staged = state
        .services
        .gateway
        .stage_policy(
            body.text,
            caller.principal.name(),
            &state.services.identity.now().to_string(),
        )
        .map_err(staging_error)?;
    Ok(Json(view(staged)))
}

/// Records a change of the staging area before it is made (fail closed).
async fn record_staging(
    state: &AppState,
    caller: &Caller,
    peer: Peer,
    action: &str,
    sha256: &str,
) -> ApiResult<()> {
    let built = event(
        &caller.principal,
        Some(peer),
        Category::ConfigurationChange,
        action,
    )
    .target("conduit policy")
    .outcome(Outcome::Success)
    .details(serde_json::json!({ "staged_sha256": sha256 }))
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(state, built).await
}

/// `DELETE /api/v1/policy/staged`.
pub(crate) async fn discard(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<StatusCode> {
    let Some(staged) = read_staged(&state)? else {
        return Err(ApiError::not_found("no policy is staged"));
    };
    record_staging(&state, &caller, peer, "policy.discard", &staged.sha256).await?;
    state
        .services
        .gateway
        .discard_staged_policy()
        .map_err(staging_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/policy/diff`.
pub(crate) async fn diff(State(state): State<Arc<AppState>>) -> ApiResult<Json<Diff>> {
    let diff = state
        .services
        .gateway
        .staged_policy_diff()
        .map_err(staging_error)?;
    Ok(Json(Diff {
        active_sha256: diff.active_sha256,
        staged_sha256: diff.staged_sha256,
        unified: diff.unified,
    }))
}

/// `POST /api/v1/policy/apply`.
pub(crate) async fn apply(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Json(request): Json<ApplyRequest>,
) -> ApiResult<Json<Applied>> {
    let gateway = &state.services.gateway;
    // Recorded before it is done (fail closed), as the version the caller reviewed.
    let staged = gateway
        .staged_policy_reviewed(&request.sha256)
        .map_err(staging_error)?;
    let path = gateway.policy_path();
    let built = event(
        &caller.principal,
        Some(peer),
        Category::ConfigurationChange,
        "policy.apply",
    )
    .target(path.display().to_string())
    .outcome(Outcome::Success)
    .severity(Severity::Notice)
    .details(serde_json::json!({
        "new_sha256": staged.sha256,
        "old_sha256": gateway.status().policy.sha256,
        "staged_by": staged.staged_by,
    }))
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    let change = gateway
        .apply_staged_policy(&request.sha256)
        .await
        .map_err(staging_error)?;
    Ok(Json(Applied {
        old_sha256: change.old_sha256,
        new_sha256: change.new_sha256,
        path: path.display().to_string(),
    }))
}
