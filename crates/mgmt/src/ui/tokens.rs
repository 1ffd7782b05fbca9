//! API tokens for programs (CR 1.14): list, create (shown once), revoke. Each page calls the API
//! handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::{Ctx, Notice, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::extract::{Json, Path};
use crate::middleware::Caller;
use crate::state::AppState;

pub(crate) async fn tokens(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    tokens_page(&state, caller, &ok_notices(&uri), None, StatusCode::OK).await
}

async fn tokens_page(
    state: &Arc<AppState>,
    caller: Caller,
    notices: &[Notice],
    created: Option<&api::accounts::NewTokenAnswer>,
    status: StatusCode,
) -> Response {
    let ctx = Ctx::of(state, &caller);
    let list = match api::accounts::list_tokens(State(Arc::clone(state)), Extension(caller)).await {
        Ok(Json(list)) => list,
        Err(e) => return error_page(&e),
    };
    let body = html! {
        @if let Some(created) = created {
            section.notice.ok aria-labelledby="new-token-h" {
                h2 id="new-token-h" { "New token for " (created.info.account) }
                p { "Copy it now: it is shown only once and stored only as a hash." }
                p { code.secret { (created.token) } }
                p.hint { "Programs send it as: Authorization: Bearer <token>" }
            }
        }
        section aria-labelledby="tokens-h" {
            h2 id="tokens-h" { "API tokens" }
            @if list.is_empty() { p { "No API token." } } @else {
                div.scroll {
                table {
                    thead { tr {
                        th scope="col" { "Id" } th scope="col" { "Account" } th scope="col" { "Role" }
                        th scope="col" { "Label" } th scope="col" { "Expires" } th scope="col" { "Last used" }
                        th scope="col" { "State" }
                    } }
                    tbody {
                        @for t in &list {
                            tr {
                                th scope="row" { (t.id) }
                                td { (t.account) } td { (t.role) } td { (t.label) }
                                td { (t.expires_at.get(..16).unwrap_or(&t.expires_at)) }
                                td { (t.last_used_at.as_deref().map_or("never", |u| u.get(..16).unwrap_or(u))) }
                                td {
                                    @if t.revoked_at.is_some() { "revoked" } @else {
                                        (action_button(&ctx, &format!("/tokens/{}/revoke", t.id), "Revoke",
                                            Some(&format!("Revoke token {} ({})? Programs using it stop working.", t.id, t.label))))
                                    }
                                }
                            }
                        }
                    }
                }
                }
            }
        }
        section aria-labelledby="create-token-h" {
            h2 id="create-token-h" { "Create a token" }
            form.card method="post" action="/tokens" {
                (ctx.csrf_field())
                p { label for="token-account" { "Account " span.hint { "(yours, or a process account with token.manage)" } }
                    input id="token-account" name="account" required value=(ctx.name); }
                p { label for="token-role" { "Role " span.hint { "(one the account holds)" } }
                    input id="token-role" name="role" required value=(ctx.roles.first().map_or("viewer", String::as_str)); }
                p { label for="token-label" { "What it is for" }
                    input id="token-label" name="label" required; }
                p { label for="token-days" { "Lifetime (days)" }
                    input id="token-days" name="days" type="number" min="1" value="30" required; }
                p { button type="submit" { "Create" } }
            }
        }
    };
    respond(
        status,
        layout(Some(&ctx), "API tokens", "/tokens", notices, body),
    )
}

#[derive(Deserialize)]
pub(crate) struct NewTokenForm {
    account: String,
    role: String,
    label: String,
    days: u32,
}

pub(crate) async fn create_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<NewTokenForm>,
) -> Response {
    let request = api::accounts::NewTokenRequest {
        account: form.account,
        role: form.role,
        label: form.label,
        lifetime_days: form.days,
    };
    match api::accounts::create_token(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Json(request),
    )
    .await
    {
        // Shown on this answer only, never through a redirect or a URL.
        Ok((_, Json(created))) => {
            tokens_page(&state, caller, &[], Some(&created), StatusCode::CREATED).await
        }
        Err(e) => tokens_page(&state, caller, &[Notice::Error(e.message)], None, e.status).await,
    }
}

pub(crate) async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    match api::accounts::revoke_token(State(state), Extension(caller), Path(id)).await {
        Ok(_) => redirect("/tokens?ok=revoked"),
        Err(e) => error_page(&e),
    }
}
