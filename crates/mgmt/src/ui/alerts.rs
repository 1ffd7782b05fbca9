//! Recent IDS alerts. Each page calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{Ctx, layout, respond};
use crate::api;
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::AppState;

pub(super) fn alert_table(alerts: &[api::observe::AlertView]) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Time" } th scope="col" { "Client" } th scope="col" { "Severity" } th scope="col" { "Technique" } th scope="col" { "What was seen" } } }
            tbody {
                @for a in alerts {
                    tr {
                        td { (time_of_us(a.time_us)) }
                        td { (a.client) }
                        td { (a.severity) }
                        td { @if a.source == "audit" { (a.detector) } @else { (a.technique_id) " " (a.technique) } }
                        td { (a.explanation) }
                    }
                }
            }
        }
    }
}

fn time_of_us(us: u64) -> String {
    i64::try_from(us)
        .ok()
        .and_then(|us| jiff::Timestamp::from_microsecond(us).ok())
        .map_or_else(|| us.to_string(), |t| t.to_string())
}

pub(crate) async fn alerts(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let alerts = api::observe::alerts(State(Arc::clone(&state)))
        .await
        .map_or_else(|_| Vec::new(), |Json(alerts)| alerts);
    let body = html! {
        p { "IDS alerts since start (MITRE ATT&CK for ICS techniques) and the system alerts of the audit trail (integrity, physical tamper, updates), newest first." }
        @if alerts.is_empty() { p { "No alert." } } @else { (alert_table(&alerts)) }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "Alerts", "/alerts", &[], body),
    )
}
