//! The audit log: filter, page, export, verify. Each page calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, Notice, layout, lenient_query, respond};
use crate::api;
use crate::extract::{Json, Query};
use crate::middleware::Caller;
use crate::state::AppState;

#[derive(Default, Deserialize)]
pub(crate) struct AuditForm {
    category: Option<String>,
    actor: Option<String>,
    outcome: Option<String>,
    severity: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after_seq: Option<u64>,
}

const AUDIT_PAGE: usize = 50;

fn non_empty(value: Option<&String>) -> Option<String> {
    value
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(crate) async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let form: AuditForm = lenient_query(&uri);
    audit_page(&state, &caller, &form, Vec::new()).await
}

async fn audit_page(
    state: &Arc<AppState>,
    caller: &Caller,
    form: &AuditForm,
    mut notices: Vec<Notice>,
) -> Response {
    let ctx = Ctx::of(state, caller);
    let mut filter = api::observe::AuditFilter {
        category: non_empty(form.category.as_ref()),
        actor: non_empty(form.actor.as_ref()),
        outcome: non_empty(form.outcome.as_ref()),
        severity: non_empty(form.severity.as_ref()),
        since: non_empty(form.since.as_ref()),
        until: non_empty(form.until.as_ref()),
        after_seq: form.after_seq,
        limit: Some(AUDIT_PAGE),
    };
    let filtered = filter.category.is_some()
        || filter.actor.is_some()
        || filter.outcome.is_some()
        || filter.severity.is_some()
        || filter.since.is_some()
        || filter.until.is_some();
    // Unfiltered and without a page named, show the latest events.
    let last = state.services.audit.status().last_seq.unwrap_or(0);
    if filter.after_seq.is_none() && !filtered {
        filter.after_seq = Some(last.saturating_sub(AUDIT_PAGE as u64));
    }
    // The serializer is not Send: finish it before the next await.
    let mut query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("category", &filter.category),
            ("actor", &filter.actor),
            ("outcome", &filter.outcome),
            ("severity", &filter.severity),
            ("since", &filter.since),
            ("until", &filter.until),
        ] {
            if let Some(v) = value {
                query.append_pair(key, v);
            }
        }
        query.finish()
    };
    if !query.is_empty() {
        query.push('&');
    }
    let after = filter.after_seq;
    let page = api::observe::audit_query(State(Arc::clone(state)), Query(filter)).await;
    let (events, next) = match page {
        Ok(Json(page)) => (page.events, page.next_after_seq),
        Err(e) => {
            notices.push(Notice::Error(e.message));
            (Vec::new(), None)
        }
    };
    let selected = |value: &Option<String>, option: &str| value.as_deref() == Some(option);
    let body = html! {
        form.filters method="get" action="/audit" aria-label="Filter" {
            p { label for="f-category" { "Category" }
                select id="f-category" name="category" {
                    option value="" { "any" }
                    @for c in ["access_control", "request_error", "control_system", "backup_restore", "configuration_change", "reconnaissance", "audit_log"] {
                        option value=(c) selected[selected(&form.category, c)] { (c) }
                    }
                }
            }
            p { label for="f-actor" { "Actor" } input id="f-actor" name="actor" value=[form.actor.as_deref()]; }
            p { label for="f-outcome" { "Outcome" }
                select id="f-outcome" name="outcome" {
                    option value="" { "any" }
                    @for o in ["success", "failure", "denied"] { option value=(o) selected[selected(&form.outcome, o)] { (o) } }
                }
            }
            p { label for="f-severity" { "At least" }
                select id="f-severity" name="severity" {
                    option value="" { "any severity" }
                    @for s in ["emergency", "alert", "critical", "error", "warning", "notice", "informational"] {
                        option value=(s) selected[selected(&form.severity, s)] { (s) }
                    }
                }
            }
            p { label for="f-since" { "Since (RFC 3339)" } input id="f-since" name="since" placeholder="2026-01-31T00:00:00Z" value=[form.since.as_deref()]; }
            p { label for="f-until" { "Until" } input id="f-until" name="until" value=[form.until.as_deref()]; }
            p { button type="submit" { "Filter" } " " a href="/audit" { "Latest" } }
        }
        div.toolbar {
            form.inline method="post" action="/audit/verify" {
                (ctx.csrf_field())
                button type="submit" { "Verify the trail" }
            }
            @if ctx.can(Permission::AuditExport) {
                " " a.button href=(format!("/api/v1/audit/export?{query}")) download { "Export (JSON lines)" }
            }
        }
        div.scroll {
        table.audit {
            thead { tr {
                th scope="col" { "Seq" } th scope="col" { "Time" } th scope="col" { "Category" }
                th scope="col" { "Action" } th scope="col" { "Actor" } th scope="col" { "Outcome" }
                th scope="col" { "Severity" } th scope="col" { "Target" } th scope="col" { "Details" }
            } }
            tbody {
                @for e in &events {
                    tr data-outcome=(text(e, "outcome")) {
                        td { (text(e, "seq")) }
                        td { (text(e, "timestamp")) }
                        td { (text(e, "category")) }
                        td { (text(e, "action")) }
                        td { (actor(e)) }
                        td { (text(e, "outcome")) }
                        td { (text(e, "severity")) }
                        td { (text(e, "target")) }
                        td.details { code { (details(e)) } }
                    }
                }
            }
        }
        }
        @if events.is_empty() { p { "No event matches." } }
        nav.pager aria-label="Pages" {
            @if !filtered {
                @if let Some(after) = after.filter(|a| *a > 0) {
                    a href=(format!("/audit?after_seq={}", after.saturating_sub(AUDIT_PAGE as u64))) { "Older" }
                }
            }
            @if let Some(next) = next {
                " " a href=(format!("/audit?{query}after_seq={next}")) { "Newer" }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "Audit log", "/audit", &notices, body),
    )
}

fn text(event: &serde_json::Value, key: &str) -> String {
    match &event[key] {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn actor(event: &serde_json::Value) -> String {
    let a = &event["actor"];
    match (a["kind"].as_str(), a["name"].as_str()) {
        (Some(kind), Some(name)) => format!("{name} ({kind})"),
        _ => text(event, "actor"),
    }
}

fn details(event: &serde_json::Value) -> String {
    match &event["details"] {
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) async fn audit_verify(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let notice = match api::observe::audit_verify(State(Arc::clone(&state))).await {
        Ok(Json(v)) if v.intact => Notice::Ok(format!(
            "Verified: {} ({} events, {} signed checkpoints, {} events after the last checkpoint).",
            v.statement, v.events_checked, v.checkpoints_verified, v.unsigned_events
        )),
        Ok(Json(v)) => Notice::Error(format!(
            "The trail does not verify: {}{}",
            v.statement,
            v.first_bad_seq
                .map(|s| format!(" (first bad event: {s})"))
                .unwrap_or_default()
        )),
        Err(e) => Notice::Error(e.message),
    };
    audit_page(&state, &caller, &AuditForm::default(), vec![notice]).await
}
