//! The conduit policy in the web UI: view, edit, validate (problems shown at their line), stage,
//! diff against the policy in force and apply — with a second administrator's approval when
//! dual approval covers `policy.apply`. Each step calls the API handler that does it.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::{Markup, html};
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, Notice, layout, ok_notices, redirect, respond};
use crate::api;
use crate::api::policy::{Problem, Validation};
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

/// The policy page; `edited` is the editor's text and its validation when the page answers a
/// form post.
async fn policy_page(
    state: &Arc<AppState>,
    caller: &Caller,
    edited: Option<(&str, Validation)>,
    notices: &[Notice],
    status: StatusCode,
) -> Response {
    let ctx = Ctx::of(state, caller);
    let Json(active) = api::policy::show(State(Arc::clone(state))).await;
    let staged = api::policy::read_staged(state).ok().flatten();
    let text = edited.as_ref().map_or_else(
        || {
            staged
                .as_ref()
                .map_or(active.text.as_str(), |s| s.text.as_str())
        },
        |(t, _)| t,
    );
    let body = html! {
        section aria-labelledby="active-h" {
            h2 id="active-h" { "In force" }
            dl.facts {
                dt { "SHA-256" } dd { code id="active-sha" { (active.sha256) } }
                dt { "From" } dd { (active.origin) }
                dt { "Roles" } dd { (active.roles.join(", ")) }
            }
            details { summary { "Show the policy in force" } (super::pre_lines(&active.text)) }
        }
        section aria-labelledby="staged-h" {
            h2 id="staged-h" { "Staged" }
            @if let Some(s) = &staged {
                p { "Staged by " (s.staged_by) " at " (s.staged_at) ", SHA-256 " code { (s.sha256) } ". "
                    a href="/policy/diff" { "Review the difference and apply" } }
            } @else {
                p { "Nothing is staged." }
            }
        }
        @if let Some((text, validation)) = &edited {
            section aria-labelledby="check-h" {
                h2 id="check-h" { "Validation" }
                (validation_view(text, validation))
            }
        }
        section aria-labelledby="edit-h" {
            h2 id="edit-h" { "Edit" }
            form.editor method="post" action="/policy/validate" {
                (ctx.csrf_field())
                label for="policy-text" { "Policy (TOML)" }
                textarea id="policy-text" name="text" rows="24" spellcheck="false" autocapitalize="off" { (text) }
                p {
                    button type="submit" { "Validate" }
                    @if ctx.can(Permission::PolicyStage) {
                        " " button type="submit" formaction="/policy/stage" { "Stage" }
                    }
                }
            }
        }
    };
    respond(
        status,
        layout(Some(&ctx), "Conduit policy", "/policy", notices, body),
    )
}

/// The problems, then the text with each problem under its line.
fn validation_view(text: &str, validation: &Validation) -> Markup {
    let at_line = |n: usize| -> Vec<&Problem> {
        validation.problems.iter().filter(|p| p.line == n).collect()
    };
    html! {
        @if validation.valid {
            div.notice.ok role="status" { p { "Valid. SHA-256 " code { (validation.sha256) } "." } }
        } @else {
            div.notice.error role="alert" { p { "Not valid: the policy cannot be staged." } }
        }
        @if !validation.problems.is_empty() {
            ul.problems {
                @for p in &validation.problems {
                    li class=(p.level) {
                        a href=(format!("#L{}", p.line)) { "Line " (p.line) ", column " (p.column) }
                        ": " strong { (p.level) } " (" (p.code) ") " (p.message)
                    }
                }
            }
            table.listing aria-label="Policy text with problems at their lines" {
                tbody {
                    @for (i, line) in text.lines().enumerate() {
                        @let n = i + 1;
                        @let problems = at_line(n);
                        tr id=(format!("L{n}")) class=[(!problems.is_empty()).then_some("marked")] {
                            th scope="row" { (n) }
                            td { code { (line) } }
                        }
                        @for p in problems {
                            tr class=(format!("problem {}", p.level)) {
                                th scope="row" { span.visually-hidden { "problem at line " (n) } }
                                td { (" ".repeat(p.column.saturating_sub(1))) "^ " (p.level) ": " (p.message) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn policy(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let notices = ok_notices(&uri);
    policy_page(&state, &caller, None, &notices, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct TextForm {
    text: String,
}

/// Browsers send textarea lines with CR LF; the policy is kept with LF.
fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n")
}

pub(crate) async fn validate(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<TextForm>,
) -> Response {
    let text = normalise(&form.text);
    let validation = api::policy::validate_text(&text);
    policy_page(
        &state,
        &caller,
        Some((&text, validation)),
        &[],
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn stage(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Form(form): Form<TextForm>,
) -> Response {
    let text = normalise(&form.text);
    let body = api::policy::PolicyText { text: text.clone() };
    match api::policy::stage(
        State(Arc::clone(&state)),
        Extension(caller.clone()),
        Extension(peer),
        Json(body),
    )
    .await
    {
        Ok(_) => redirect("/policy/diff?ok=staged"),
        Err(e) => {
            let validation = api::policy::validate_text(&text);
            policy_page(
                &state,
                &caller,
                Some((&text, validation)),
                &[Notice::Error(e.message)],
                e.status,
            )
            .await
        }
    }
}

pub(crate) async fn diff(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let notices = ok_notices(&uri);
    let ctx = Ctx::of(&state, &caller);
    let diff = match api::policy::diff(State(Arc::clone(&state))).await {
        Ok(Json(d)) => d,
        Err(e) => {
            let body = html! { p { (e.message) ". " a href="/policy" { "Edit the policy" } } };
            return respond(
                e.status,
                layout(Some(&ctx), "Policy difference", "/policy", &notices, body),
            );
        }
    };
    let dual = state
        .services
        .identity
        .config()
        .approvals
        .required_for
        .contains(Permission::PolicyApply);
    let approval = if dual {
        super::approval_for(&state, &caller, Permission::PolicyApply).await
    } else {
        None
    };
    let body = html! {
        p { "In force " code { (diff.active_sha256) } " → staged " code { (diff.staged_sha256) } "." }
        @if diff.unified.is_empty() {
            p { "The staged policy is the same as the one in force." }
        } @else {
            pre.diff aria-label="Unified difference, in force to staged" {
                code {
                    @for line in diff.unified.lines() {
                        @let class = if line.starts_with("+++") || line.starts_with("---") { "file" }
                            else if line.starts_with("@@") { "hunk" }
                            else if line.starts_with('+') { "add" }
                            else if line.starts_with('-') { "del" }
                            else { "ctx" };
                        span class=(class) { (line) } "\n"
                    }
                }
            }
        }
        div.toolbar {
            @if ctx.can(Permission::PolicyApply) {
                @if dual && approval.is_none() {
                    div.notice role="status" {
                        p { "Dual approval is on: applying a policy needs a second administrator's approval." }
                    }
                    form.card method="post" action="/approvals" {
                        (ctx.csrf_field())
                        input type="hidden" name="permission" value="policy.apply";
                        p { label for="reason" { "Reason for the change" } input id="reason" name="reason" required; }
                        button type="submit" { "Ask for approval" }
                    }
                } @else {
                    form.inline method="post"
                        action=(approval.map_or_else(|| "/policy/apply".to_owned(), |id| format!("/policy/apply?approval={id}")))
                        data-confirm="Put the staged policy in force now?" {
                        (ctx.csrf_field())
                        input type="hidden" name="sha256" value=(diff.staged_sha256);
                        button.primary type="submit" {
                            "Apply"
                            @if let Some(id) = approval { " (approval " (id) ")" }
                        }
                    }
                }
            }
            @if ctx.can(Permission::PolicyStage) {
                " "
                form.inline method="post" action="/policy/discard" data-confirm="Discard the staged policy?" {
                    (ctx.csrf_field())
                    button type="submit" { "Discard" }
                }
            }
            " " a href="/policy" { "Back to the editor" }
        }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "Policy difference", "/policy", &notices, body),
    )
}

#[derive(Deserialize)]
pub(crate) struct ApplyForm {
    sha256: String,
}

pub(crate) async fn apply(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Form(form): Form<ApplyForm>,
) -> Response {
    let request = api::policy::ApplyRequest {
        sha256: form.sha256,
    };
    match api::policy::apply(
        State(state),
        Extension(caller),
        Extension(peer),
        Json(request),
    )
    .await
    {
        Ok(_) => redirect("/policy?ok=applied"),
        Err(e) => super::error_page(&e),
    }
}

pub(crate) async fn discard(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    match api::policy::discard(State(state), Extension(caller), Extension(peer)).await {
        Ok(_) => redirect("/policy?ok=discarded"),
        Err(e) => super::error_page(&e),
    }
}
