//! Backups (CR 7.3, 7.4): create, verify and stage a restore, discard it. Each page calls the API
//! handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, Notice, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

pub(crate) async fn backups(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    backups_page(&state, &caller, ok_notices(&uri), StatusCode::OK).await
}

pub(crate) async fn backups_page(
    state: &Arc<AppState>,
    caller: &Caller,
    notices: Vec<Notice>,
    status: StatusCode,
) -> Response {
    let ctx = Ctx::of(state, caller);
    // A new backup's passphrase meets the account password policy, and the backup's own floor.
    let min = state
        .services
        .identity
        .config()
        .password
        .min_length
        .max(rampart_backup::Passphrase::MIN_CHARS);
    let restore = ctx.can(Permission::BackupRestore);
    let staged = if restore {
        api::backups::staged(State(Arc::clone(state)))
            .await
            .ok()
            .map(|axum::Json(s)| s)
    } else {
        None
    };
    let erase = if ctx.can(Permission::VaultErase) {
        Some(super::erase::section(state, caller, &ctx).await)
    } else {
        None
    };
    let body = html! {
        section aria-labelledby="create-h" {
            h2 id="create-h" { "Create a backup" }
            p { "An encrypted backup of the data directory (accounts, keys, policy, audit trail), signed by this device (CR 7.3). The browser downloads the file; keep the passphrase elsewhere — without it the backup cannot be restored." }
            form.card method="post" action="/backups" {
                (ctx.csrf_field())
                p { label for="b-pass" { "Passphrase " span.hint { "(at least " (min) " characters and as hard to guess as an account password; several unrelated words work well)" } }
                    input id="b-pass" name="passphrase" type="password" autocomplete="new-password" minlength=(min) required; }
                p { label for="b-pass2" { "Passphrase again" }
                    input id="b-pass2" name="confirm" type="password" autocomplete="new-password" minlength=(min) required; }
                p { button type="submit" { "Create and download" } }
            }
        }
        @if restore {
            section aria-labelledby="restore-h" {
                h2 id="restore-h" { "Restore" }
                @if let Some(s) = &staged {
                    div.notice.error role="status" {
                        p { strong { "A restore is staged" } " by " (s.requested_by) " at " (s.requested_at)
                            ": the backup of " (s.created) " (SHA-256 " code { (s.sha256) } "). " (s.applies) }
                    }
                    (action_button(&ctx, "/backups/restore/discard", "Discard the staged restore", Some("Discard the staged restore?")))
                }
                p { "Restoring replaces every account, key, policy and the audit trail with the backup's at the next start of the gateway (CR 7.4). The file is verified completely first: its signature by this device and every file in it." }
                form.card method="post" action=(format!("/backups/restore?csrf={}", ctx.csrf)) enctype="multipart/form-data"
                    data-confirm="Stage this backup to replace all data at the next start?" {
                    p { label for="r-file" { "Backup file (.rbk)" } input id="r-file" name="file" type="file" accept=".rbk" required; }
                    p { label for="r-pass" { "Its passphrase" } input id="r-pass" name="passphrase" type="password" autocomplete="off" required; }
                    p {
                        input id="r-confirm" name="confirm" type="checkbox" value="restore" required;
                        " " label.inline for="r-confirm" { "I understand that this replaces all data at the next start." }
                    }
                    p { button type="submit" { "Verify and stage the restore" } }
                }
            }
        }
        @if let Some(erase) = erase { (erase) }
    };
    respond(
        status,
        layout(Some(&ctx), "Backups", "/backups", &notices, body),
    )
}

#[derive(Deserialize)]
pub(crate) struct BackupForm {
    passphrase: String,
    confirm: String,
}

pub(crate) async fn create_backup(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Form(form): Form<BackupForm>,
) -> Response {
    if form.passphrase != form.confirm {
        let notice = Notice::Error("The two passphrases differ.".to_owned());
        return backups_page(&state, &caller, vec![notice], StatusCode::BAD_REQUEST).await;
    }
    let request = api::backups::NewBackup {
        passphrase: form.passphrase,
    };
    match api::backups::create(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
        Json(request),
    )
    .await
    {
        // The file, as an attachment: the browser saves it and stays on the page.
        Ok(file) => file,
        Err(e) => backups_page(&state, &caller, vec![Notice::Error(e.message)], e.status).await,
    }
}

pub(crate) async fn restore_backup(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut headers = axum::http::HeaderMap::new();
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let notice = Notice::Error(format!("The upload failed: {e}"));
                return backups_page(&state, &caller, vec![notice], StatusCode::BAD_REQUEST).await;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(bytes) = field.bytes().await else {
            let notice = Notice::Error("The upload was cut short.".to_owned());
            return backups_page(&state, &caller, vec![notice], StatusCode::BAD_REQUEST).await;
        };
        match name.as_str() {
            "file" => file = Some(bytes),
            "passphrase" | "confirm" => {
                let header = if name == "confirm" {
                    api::backups::CONFIRM_HEADER
                } else {
                    api::backups::PASSPHRASE_HEADER
                };
                if let Ok(value) = axum::http::HeaderValue::from_bytes(&bytes) {
                    headers.insert(header, value);
                }
            }
            _ => {}
        }
    }
    let Some(file) = file else {
        let notice = Notice::Error("Choose a backup file.".to_owned());
        return backups_page(&state, &caller, vec![notice], StatusCode::BAD_REQUEST).await;
    };
    match api::backups::restore(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
        headers,
        file,
    )
    .await
    {
        Ok(_) => redirect("/backups?ok=restore"),
        Err(e) => backups_page(&state, &caller, vec![Notice::Error(e.message)], e.status).await,
    }
}

pub(crate) async fn discard_restore(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    match api::backups::discard(State(state), Extension(caller), Extension(peer)).await {
        Ok(_) => redirect("/backups?ok=discarded-restore"),
        Err(e) => error_page(&e),
    }
}
