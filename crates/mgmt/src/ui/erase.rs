//! Decommissioning (CR 4.2): the erase section of the Backups page, for administrators. Erasing
//! always needs a second administrator's approval (`vault.erase`): the section first asks for
//! it, then — once approved — offers the erase with the typed confirmation, as the update
//! install does. The form calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, Notice};
use crate::api;
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

/// The section: ask for approval, or erase with the approval the caller holds.
pub(crate) async fn section(state: &Arc<AppState>, caller: &Caller, ctx: &Ctx) -> Markup {
    let approval = super::approval_for(state, caller, Permission::VaultErase).await;
    let name = api::erase::directory_name(state);
    html! {
        section aria-labelledby="erase-h" {
            h2 id="erase-h" { "Decommission: erase the data directory" }
            p { "Destroys the key-encryption key, then overwrites and removes every key, account, policy and the audit trail of this gateway, beyond recovery (CR 4.2). The erase is recorded first (and the trail delivered to the SIEM when forwarding is configured); the gateway then stops for good. Erasing always needs a second administrator's approval." }
            @match approval {
                None => {
                    form.card method="post" action="/approvals" {
                        (ctx.csrf_field())
                        input type="hidden" name="permission" value=(Permission::VaultErase.as_str());
                        p { label for="erase-reason" { "Reason for the erase" } input id="erase-reason" name="reason" required; }
                        button type="submit" { "Ask for approval" }
                    }
                }
                Some(id) => {
                    form.card method="post" action=(format!("/erase?approval={id}"))
                        data-confirm="Erase this gateway's data directory beyond recovery?" {
                        (ctx.csrf_field())
                        p { label for="erase-confirm" { "Type the data directory's name (" code { (name) } ") to erase it" }
                            input id="erase-confirm" name="confirm" autocomplete="off" required; }
                        button.primary type="submit" { "Erase (approval " (id) ")" }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct EraseForm {
    confirm: String,
}

/// `POST /erase?approval=<id>`: the API's erase; the answer says what happens next.
pub(crate) async fn erase(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Form(form): Form<EraseForm>,
) -> Response {
    let request = api::erase::EraseRequest {
        confirm: Some(form.confirm),
    };
    match api::erase::erase(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
        Json(request),
    )
    .await
    {
        Ok((_, Json(accepted))) => {
            let notice = Notice::Ok(format!("Erase accepted: {}.", accepted.next));
            super::backups::backups_page(&state, &caller, vec![notice], StatusCode::ACCEPTED).await
        }
        Err(e) => {
            super::backups::backups_page(&state, &caller, vec![Notice::Error(e.message)], e.status)
                .await
        }
    }
}
