//! Open sessions, and terminating one. Each page calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;

use super::{Ctx, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::extract::{Json, Path};
use crate::middleware::Caller;
use crate::state::AppState;

pub(crate) async fn sessions(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let own = caller.principal.session();
    let list =
        match api::accounts::list_sessions(State(Arc::clone(&state)), Extension(caller)).await {
            Ok(Json(list)) => list,
            Err(e) => return error_page(&e),
        };
    let body = html! {
        p { "Open sessions of every account (CR 2.6). Terminating one logs its user out at their next request." }
        div.scroll {
        table {
            thead { tr {
                th scope="col" { "Account" } th scope="col" { "Method" } th scope="col" { "Source" }
                th scope="col" { "Started" } th scope="col" { "Last request" } th scope="col" { "Locks when idle at" }
                th scope="col" { "Action" }
            } }
            tbody {
                @for s in &list {
                    tr {
                        th scope="row" { (s.account) @if Some(s.handle) == own { " (this session)" } }
                        td { (s.method) }
                        td { (s.source.as_deref().unwrap_or("—")) }
                        td { (s.created_at) }
                        td { (s.last_seen_at) }
                        td { (s.idle_expires_at) }
                        td { (action_button(&ctx, &format!("/sessions/{}/terminate", s.handle), "Terminate", Some(&format!("Terminate the session of {}?", s.account)))) }
                    }
                }
            }
        }
        }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "Sessions", "/sessions", &ok_notices(&uri), body),
    )
}

pub(crate) async fn terminate(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(handle): Path<i64>,
) -> Response {
    match api::accounts::terminate_session(State(state), Extension(caller), Path(handle)).await {
        Ok(_) => redirect("/sessions?ok=terminated"),
        Err(e) => error_page(&e),
    }
}
