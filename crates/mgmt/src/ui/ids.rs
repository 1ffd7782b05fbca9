//! The IDS baseline page: where it stands, a learning window, clearing it. Each form calls
//! the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::AppState;

pub(crate) async fn ids(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let Json(view) = api::ids::ids(State(Arc::clone(&state))).await;
    let can_change = ctx.can(Permission::PolicyApply);
    let body = html! {
        p { "The IDS learns what normal traffic is for each client, then alerts on what departs from it: new talkers, role reversals, new units, functions and write targets, rates outside the learned band, unanswered requests and slower answers (docs/ids.md). While it learns, it raises no alert at all: learn from traffic you trust." }
        dl {
            dt { "State" } dd { (view.state) }
            @if let Some(until) = &view.learning_until { dt { "Learning until" } dd { (until) } }
            @if let Some(until) = &view.learned_until { dt { "Learned until" } dd { (until) } }
            dt { "Clients" } dd { (view.clients) }
            @if let Some(requests) = view.requests { dt { "Requests learned" } dd { (requests) } }
            @if let Some(adaptation) = &view.adaptation { dt { "Adaptation" } dd { (adaptation) } }
        }
        @if view.state != "none" && ctx.can(Permission::PolicyView) {
            p {
                "What the baseline learned can become a least-privilege conduit policy: "
                a href="/api/v1/ids/baseline/policy" download="proposed-policy.toml" { "download the proposed policy" }
                " (each client a role allowed what it was seen doing); review it, then stage it on the Policy page."
            }
        }
        @if can_change {
            h2 { "Learn a new baseline" }
            form method="post" action="/ids/learning" {
                (ctx.csrf_field())
                label for="duration_s" { "Learning window (seconds)" }
                input #duration_s name="duration_s" type="number" min="1" max="2592000" value="3600" required;
                label { input name="adaptive" type="checkbox" value="true"; " keep adapting rates afterwards" }
                button type="submit" { "Start learning" }
            }
            @if view.state != "none" {
                h2 { "Clear the baseline" }
                p { "Back to the fixed thresholds only; the saved baseline is deleted." }
                (action_button(&ctx, "/ids/clear", "Clear the baseline", Some("Delete the IDS baseline?")))
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "IDS baseline", "/ids", &ok_notices(&uri), body),
    )
}

#[derive(Deserialize)]
pub(crate) struct LearningForm {
    duration_s: u64,
    adaptive: Option<String>,
}

pub(crate) async fn start_learning(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<LearningForm>,
) -> Response {
    let request = api::ids::LearningRequest {
        duration_s: form.duration_s,
        adaptive: form.adaptive.is_some(),
    };
    match api::ids::start_learning(State(state), Extension(caller), Json(request)).await {
        Ok(_) => redirect("/ids?ok=learning"),
        Err(e) => error_page(&e),
    }
}

pub(crate) async fn clear(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    match api::ids::clear_baseline(State(state), Extension(caller)).await {
        Ok(_) => redirect("/ids?ok=baseline-cleared"),
        Err(e) => error_page(&e),
    }
}
