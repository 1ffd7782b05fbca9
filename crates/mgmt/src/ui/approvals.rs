//! Dual approval (CR 2.1 RE 4): ask, approve, reject. Each page calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::extract::{Json, Path, Query};
use crate::middleware::Caller;
use crate::state::AppState;

pub(crate) async fn approvals(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let me = caller.principal.name().to_owned();
    let filter = api::accounts::ApprovalFilter { pending: false };
    let list = match api::accounts::list_approvals(
        State(Arc::clone(&state)),
        Extension(caller),
        Query(filter),
    )
    .await
    {
        Ok(Json(list)) => list,
        Err(e) => return error_page(&e),
    };
    let required: Vec<Permission> = state
        .services
        .identity
        .config()
        .approvals
        .required_for
        .iter()
        .collect();
    // Only what the caller holds: an approval adds a second person to a right, it never
    // grants one (the API refuses the rest with 403).
    let askable: Vec<Permission> = required.iter().copied().filter(|p| ctx.can(*p)).collect();
    let body = html! {
        @if required.is_empty() {
            p { "Dual approval is off: no permission needs a second administrator." }
        } @else {
            p { "These permissions need a second administrator's approval (CR 2.1 RE 4): "
                (required.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) "." }
            @if askable.is_empty() {
                p { "You hold none of them, so there is nothing for you to ask for." }
            } @else {
                form.card method="post" action="/approvals" {
                    (ctx.csrf_field())
                    h2 { "Ask for approval" }
                    p { label for="ask-permission" { "Permission" }
                        select id="ask-permission" name="permission" {
                            @for p in &askable { option value=(p.as_str()) { (p.as_str()) } }
                        }
                    }
                    p { label for="ask-reason" { "Reason" } input id="ask-reason" name="reason" required; }
                    p { button type="submit" { "Ask" } }
                }
            }
        }
        h2 { "Requests" }
        @if list.is_empty() { p { "None." } } @else {
            div.scroll {
            table {
                thead { tr { th scope="col" { "Id" } th scope="col" { "Requester" } th scope="col" { "Permission" } th scope="col" { "Reason" } th scope="col" { "State" } th scope="col" { "Expires" } th scope="col" { "Decision" } } }
                tbody {
                    @for a in &list {
                        tr {
                            td { (a.id) } td { (a.requester) } td { (a.permission) } td { (a.reason) }
                            td { (a.state) } td { (a.expires_at) }
                            td {
                                @if a.state == "pending" && a.requester != me {
                                    (action_button(&ctx, &format!("/approvals/{}/approve", a.id), "Approve", None))
                                    (action_button(&ctx, &format!("/approvals/{}/reject", a.id), "Reject", None))
                                } @else if a.state == "approved" && a.requester == me && a.permission == "policy.apply" {
                                    a href="/policy/diff" { "Apply the staged policy with it" }
                                } @else if a.state == "approved" && a.requester == me && a.permission == "vault.erase" {
                                    a href="/backups#erase-h" { "Erase the data directory with it" }
                                }
                            }
                        }
                    }
                }
            }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(
            Some(&ctx),
            "Approvals",
            "/approvals",
            &ok_notices(&uri),
            body,
        ),
    )
}

#[derive(Deserialize)]
pub(crate) struct AskForm {
    permission: String,
    reason: String,
}

pub(crate) async fn ask_approval(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<AskForm>,
) -> Response {
    let ask = api::accounts::ApprovalAsk {
        permission: form.permission,
        target: None,
        reason: form.reason,
    };
    match api::accounts::request_approval(State(state), Extension(caller), Json(ask)).await {
        Ok(_) => redirect("/approvals?ok=requested"),
        Err(e) => error_page(&e),
    }
}

pub(crate) async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    uri: Uri,
) -> Response {
    let note = api::accounts::ApprovalNote {
        note: "decided in the web UI".to_owned(),
    };
    let s = State(state);
    let c = Extension(caller);
    let result = if uri.path().ends_with("/approve") {
        api::accounts::approve(s, c, Path(id), Json(note)).await
    } else {
        api::accounts::reject(s, c, Path(id), Json(note)).await
    };
    match result {
        Ok(_) => redirect("/approvals?ok=done"),
        Err(e) => error_page(&e),
    }
}
