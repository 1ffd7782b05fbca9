//! Access requests from untrusted networks (NDR 1.13 RE 1): the pending and recent ones, with
//! approve and deny. Each button calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;

use super::{Ctx, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::access::RequestState;
use crate::api;
use crate::extract::{Json, Path};
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

pub(crate) async fn access_requests(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let me = caller.principal.name().to_owned();
    let list = match api::access::list(State(Arc::clone(&state)), Extension(peer)).await {
        Ok(Json(list)) => list,
        Err(e) => return error_page(&e),
    };
    let config = &state.config;
    let body = html! {
        p { "Trusted networks: " code { (config.trusted) } ". From other addresses: "
            strong { (config.untrusted_access.as_str()) } "." }
        @if config.untrusted_access == rampart_gateway::config::UntrustedAccess::Approve {
            p { "A login or API token from outside them waits here until someone else approves it; an approval lets that account in from that address for one session." }
        }
        h2 { "Requests" }
        @if list.is_empty() { p { "None." } } @else {
            div.scroll {
            table {
                thead { tr { th scope="col" { "Id" } th scope="col" { "Account" } th scope="col" { "Source" } th scope="col" { "Interface" } th scope="col" { "Kind" } th scope="col" { "Requested" } th scope="col" { "Expires" } th scope="col" { "State" } th scope="col" { "Decision" } } }
                tbody {
                    @for r in &list {
                        tr {
                            td { code { (r.id) } } td { (r.account) } td { (r.source) } td { (r.interface) }
                            td { (r.kind) } td { (r.requested_at) } td { (r.expires_at) }
                            td { (crate::access::state_text(r.state))
                                @if let Some(by) = &r.decided_by { " by " (by) } }
                            td {
                                @if r.state == RequestState::Pending && r.account != me {
                                    (action_button(&ctx, &format!("/access-requests/{}/approve", r.id), "Approve", None))
                                    (action_button(&ctx, &format!("/access-requests/{}/deny", r.id), "Deny", None))
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
            "Access requests",
            "/access-requests",
            &ok_notices(&uri),
            body,
        ),
    )
}

pub(crate) async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let approve = uri.path().ends_with("/approve");
    match api::access::decide(&state, peer, &caller, &id, approve).await {
        Ok(_) => redirect("/access-requests?ok=done"),
        Err(e) => error_page(&e),
    }
}
