//! Accounts and roles: create, disable, enable, unlock, reset password or MFA. Each page calls the
//! API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, Notice, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::middleware::Caller;
use crate::state::AppState;

async fn users_page(
    state: &Arc<AppState>,
    caller: Caller,
    notices: &[Notice],
    status: StatusCode,
) -> Response {
    let ctx = Ctx::of(state, &caller);
    let list = match api::accounts::list_users(State(Arc::clone(state)), Extension(caller.clone()))
        .await
    {
        Ok(Json(list)) => list,
        Err(e) => return error_page(&e),
    };
    let roles = if ctx.can(Permission::RoleView) {
        api::accounts::list_roles(State(Arc::clone(state)), Extension(caller))
            .await
            .map(|Json(r)| r)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let manage = ctx.can(Permission::UserManage);
    let body = html! {
        section aria-labelledby="accounts-h" {
            h2 id="accounts-h" { "Accounts" }
            div.scroll {
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Roles" } th scope="col" { "State" }
                    th scope="col" { "MFA" } th scope="col" { "Created" }
                    @if manage { th scope="col" { "Actions" } }
                } }
                tbody {
                    @for a in &list {
                        tr {
                            th scope="row" { (a.name) }
                            td { (a.roles.join(", ")) }
                            td {
                                @if !a.enabled { "disabled" } @else if a.locked { "locked" } @else { "active" }
                                @if a.must_change_password { br; span.hint { "must change password" } }
                            }
                            td { @if a.mfa_enrolled { "TOTP" } @else { "—" } }
                            td { (a.created_at.get(..10).unwrap_or(&a.created_at)) }
                            @if manage {
                                td.actions {
                                    @let base = format!("/users/{}", a.name);
                                    @if a.enabled {
                                        (action_button(&ctx, &format!("{base}/disable"), "Disable", Some(&format!("Disable {} and end their sessions?", a.name))))
                                    } @else {
                                        (action_button(&ctx, &format!("{base}/enable"), "Enable", None))
                                    }
                                    @if a.locked { (action_button(&ctx, &format!("{base}/unlock"), "Unlock", None)) }
                                    @if a.mfa_enrolled {
                                        (action_button(&ctx, &format!("{base}/mfa-reset"), "Reset MFA", Some(&format!("Remove the TOTP enrolment of {}?", a.name))))
                                    }
                                    details {
                                        summary { "Reset password" }
                                        form method="post" action=(format!("{base}/password")) {
                                            (ctx.csrf_field())
                                            label for=(format!("pw-{}", a.name)) { "New password (to be changed at next login)" }
                                            input id=(format!("pw-{}", a.name)) name="password" type="password" autocomplete="new-password" required;
                                            button type="submit" { "Set" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            }
        }
        @if manage {
            section aria-labelledby="create-h" {
                h2 id="create-h" { "Create an account" }
                form.card method="post" action="/users" {
                    (ctx.csrf_field())
                    p { label for="new-name" { "Name " span.hint { "(lower-case letters, digits, . _ -)" } }
                        input id="new-name" name="name" required pattern="[a-z0-9._-]+"; }
                    p { label for="new-role" { "Role" }
                        select id="new-role" name="role" {
                            @for (name, _, _) in rampart_identity::builtin_roles() {
                                option value=(name) selected[name == "viewer"] { (name) }
                            }
                        }
                    }
                    p { label for="new-password" { "Initial password " span.hint { "(changed at first login)" } }
                        input id="new-password" name="password" type="password" autocomplete="new-password" required; }
                    p { button type="submit" { "Create" } }
                }
            }
        }
        @if !roles.is_empty() {
            section aria-labelledby="roles-h" {
                h2 id="roles-h" { "Roles" }
                div.scroll {
                table {
                    thead { tr { th scope="col" { "Role" } th scope="col" { "Purpose" } th scope="col" { "MFA" } th scope="col" { "Permissions" } th scope="col" { "Members" } } }
                    tbody {
                        @for r in &roles {
                            tr {
                                th scope="row" { (r.name) }
                                td { (r.description) }
                                td { @if r.mfa_required { "required" } @else { "—" } }
                                td.small { (r.permissions.join(", ")) }
                                td { (r.members.join(", ")) }
                            }
                        }
                    }
                }
                }
            }
        }
    };
    respond(
        status,
        layout(Some(&ctx), "Users and roles", "/users", notices, body),
    )
}

pub(crate) async fn users(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    users_page(&state, caller, &ok_notices(&uri), StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct NewUserForm {
    name: String,
    role: String,
    password: String,
}

pub(crate) async fn create_user(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<NewUserForm>,
) -> Response {
    let new = api::accounts::NewUser {
        name: form.name,
        roles: vec![form.role],
        password: form.password,
        must_change_password: true,
    };
    match api::accounts::create_user(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Json(new),
    )
    .await
    {
        Ok(_) => redirect("/users?ok=created"),
        Err(e) => users_page(&state, caller, &[Notice::Error(e.message)], e.status).await,
    }
}

pub(crate) async fn user_action(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    uri: Uri,
) -> Response {
    let s = State(Arc::clone(&state));
    let c = Extension(caller.clone());
    let p = Path(name);
    let result = match uri.path().rsplit('/').next() {
        Some("disable") => api::accounts::disable_user(s, c, p).await,
        Some("enable") => api::accounts::enable_user(s, c, p).await,
        Some("unlock") => api::accounts::unlock_user(s, c, p).await,
        Some("mfa-reset") => api::accounts::reset_mfa(s, c, p).await,
        _ => Err(ApiError::not_found("no such action")),
    };
    match result {
        Ok(_) => redirect("/users?ok=done"),
        Err(e) => users_page(&state, caller, &[Notice::Error(e.message)], e.status).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    password: String,
}

pub(crate) async fn reset_password(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let reset = api::accounts::PasswordReset {
        password: form.password,
        must_change_password: true,
    };
    match api::accounts::reset_password(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Path(name),
        Json(reset),
    )
    .await
    {
        Ok(_) => redirect("/users?ok=done"),
        Err(e) => users_page(&state, caller, &[Notice::Error(e.message)], e.status).await,
    }
}
