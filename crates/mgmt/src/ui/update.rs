//! Updates (NDR 3.10, 3.12, 3.13): the slots and their versions, the last check, a staged
//! (downloaded) bundle, install — with a second administrator's approval when dual approval
//! covers `update.install` — rollback and restart. Each button calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;
use rampart_identity::Permission;

use super::{Ctx, Notice, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    update_page(&state, &caller, ok_notices(&uri), StatusCode::OK).await
}

async fn update_page(
    state: &Arc<AppState>,
    caller: &Caller,
    notices: Vec<Notice>,
    status: StatusCode,
) -> Response {
    let ctx = Ctx::of(state, caller);
    let info = match api::update::status(State(Arc::clone(state))).await {
        Ok(Json(info)) => info,
        Err(e) => return error_page(&e),
    };
    let can_install = ctx.can(Permission::UpdateInstall);
    let dual = state
        .services
        .identity
        .config()
        .approvals
        .required_for
        .contains(Permission::UpdateInstall);
    let approval = if dual && can_install {
        super::approval_for(state, caller, Permission::UpdateInstall).await
    } else {
        None
    };
    let boot = &info.boot_state;
    let body = html! {
        section aria-labelledby="slots-h" {
            h2 id="slots-h" { "Slots" }
            p {
                @match &info.running_slot {
                    Some(slot) => { "This gateway runs from slot " strong { (slot) } ", verified by the launcher before it started"
                        @if info.trial_boot { " — on trial: it commits itself once its health check has held" } "." }
                    None => { "This gateway was not started by the launcher (" code { "rampart launch" } "): its binary was not verified at start." }
                }
                " Security-version floor: " strong { (boot.security_version_floor) } " (no bundle below it installs or boots)."
            }
            table {
                thead { tr { th scope="col" { "Slot" } th scope="col" { "State" } th scope="col" { "Version" } th scope="col" { "Security version" } th scope="col" { "Boot attempts" } th scope="col" { "Installed" } } }
                tbody {
                    @for (slot, record) in &boot.slots {
                        tr {
                            td { (slot) }
                            td { (format!("{:?}", record.state).to_lowercase()) }
                            td { (record.version) }
                            td { (record.security_version) }
                            td { (record.attempts) " / " (record.max_attempts) }
                            td { (record.installed) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="channel-h" {
            h2 id="channel-h" { "Repository" }
            @if !info.provisioned {
                p.notice.error { "No supplier root of trust is pinned: updates cannot be verified. Provision the device with " code { "rampart update trust" } "." }
            }
            p {
                @match &info.repository {
                    Some(url) => { "Supplier repository: " code { (url) } "." }
                    None => { "No repository is configured: updates are installed by hand (" code { "rampart update install --bundle" } ")." }
                }
                @if info.owner_approval_required { " Updates also need the asset owner's approval (an owner TUF root is pinned)." }
            }
            @if let Some(check) = &info.last_check {
                p { "Last check " (check.at) ": "
                    @match &check.available {
                        Some(c) => { "rampart " strong { (c.version) } " (security version " (c.security_version) ", " (c.length) " bytes) is available." }
                        None => { "up to date." }
                    }
                    @for name in &check.awaiting_approval { " Awaiting the owner's approval: " code { (name) } "." }
                }
            }
            @if let Some(name) = &info.downloaded {
                p { "Downloaded and verified, ready to install: " code { (name) } "." }
            }
            @if can_install {
                div.toolbar {
                    (action_button(&ctx, "/update/check", "Check for updates", None))
                    " "
                    (action_button(&ctx, "/update/download", "Download", None))
                }
            }
        }
        @if can_install {
            section aria-labelledby="install-h" {
                h2 id="install-h" { "Install" }
                p { "The downloaded bundle goes into the slot that is not committed. The gateway then restarts into it as a trial; the trial commits itself once its health check has held, or the launcher falls back after three failed starts." }
                @if dual && approval.is_none() {
                    div.notice role="status" { p { "Dual approval is on: installing an update needs a second administrator's approval." } }
                    form.card method="post" action="/approvals" {
                        (ctx.csrf_field())
                        input type="hidden" name="permission" value="update.install";
                        p { label for="reason" { "Reason for the update" } input id="reason" name="reason" required; }
                        button type="submit" { "Ask for approval" }
                    }
                } @else {
                    form.inline method="post"
                        action=(approval.map_or_else(|| "/update/install".to_owned(), |id| format!("/update/install?approval={id}")))
                        data-confirm="Install the downloaded update and restart into it?" {
                        (ctx.csrf_field())
                        button.primary type="submit" {
                            "Install and restart"
                            @if let Some(id) = approval { " (approval " (id) ")" }
                        }
                    }
                }
                " "
                (action_button(&ctx, "/update/rollback", "Roll back", Some("Abandon the trial, or return to the previous slot?")))
                " "
                (action_button(&ctx, "/update/restart", "Restart", Some("Restart the gateway now?")))
            }
        }
        section aria-labelledby="history-h" {
            h2 id="history-h" { "History" }
            @if boot.history.is_empty() {
                p { "Nothing installed through the update function yet." }
            } @else {
                ol reversed {
                    @for entry in boot.history.iter().rev() {
                        li { (entry.at) " — " (entry.event) ", slot " (entry.slot) ", " (entry.version)
                            @if let Some(reason) = &entry.reason { ": " (reason) } }
                    }
                }
            }
        }
    };
    respond(
        status,
        layout(Some(&ctx), "Updates", "/update", &notices, body),
    )
}

async fn after(
    state: &Arc<AppState>,
    caller: &Caller,
    result: Result<&'static str, crate::error::ApiError>,
) -> Response {
    match result {
        Ok(ok) => redirect(&format!("/update?ok={ok}")),
        Err(e) => update_page(state, caller, vec![Notice::Error(e.message)], e.status).await,
    }
}

pub(crate) async fn check(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    let result = api::update::check(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
    )
    .await
    .map(|_| "checked");
    after(&state, &caller, result).await
}

pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    let result = api::update::download(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
    )
    .await
    .map(|_| "downloaded");
    after(&state, &caller, result).await
}

pub(crate) async fn install(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    let request = api::update::InstallRequest {
        restart: true,
        allow_downgrade: false,
    };
    let result = api::update::install(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
        Json(request),
    )
    .await
    .map(|_| "installed");
    after(&state, &caller, result).await
}

pub(crate) async fn rollback(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    let result = api::update::rollback(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
    )
    .await
    .map(|_| "rolled-back");
    after(&state, &caller, result).await
}

pub(crate) async fn restart(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    let result = api::update::restart(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
    )
    .await
    .map(|_| "restarting");
    after(&state, &caller, result).await
}
