//! Known vulnerabilities of this build: its SBOM checked against the advisories kept in
//! `DATA/advisories/`.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{Ctx, layout, respond};
use crate::api::vulnerabilities::{now, self_check};
use crate::middleware::Caller;
use crate::state::AppState;

pub(crate) async fn vulnerabilities(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let check = {
        let state = Arc::clone(&state);
        tokio::task::spawn_blocking(move || self_check(&state.services.data, now(&state)))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
    };
    let body = match check {
        Err(problem) => html! {
            div.notice.error role="alert" { p { "The advisories cannot be read: " (problem) } }
        },
        Ok(check) => {
            let mut matches = check.matches.clone();
            rampart_vuln::report::sort_by_severity(&mut matches);
            html! {
                p {
                    "This build's " (check.components) " components (its SBOM) checked against "
                    (check.advisories) " advisories and " (check.statements)
                    " VEX statements kept in the data directory's advisories/ folder (docs/vulnerabilities.md)."
                }
                @if check.advisories == 0 {
                    p { "No advisory is kept: put CSAF documents in advisories/csaf/, OSV records in advisories/osv/ or a RustSec database checkout in advisories/rustsec/." }
                }
                p { strong { (check.open()) } " open (affected or under investigation, not covered by VEX)." }
                @for warning in &check.warnings { p.hint { (warning) } }
                @if !matches.is_empty() {
                    table {
                        thead { tr { th scope="col" { "Severity" } th scope="col" { "Status" } th scope="col" { "Component" } th scope="col" { "Advisory" } th scope="col" { "CVE" } th scope="col" { "Fix or mitigation" } } }
                        tbody {
                            @for m in &matches {
                                tr {
                                    td { (rampart_vuln::report::severity(m.cvss)) @if let Some(score) = m.cvss { " " (format!("{score:.1}")) } }
                                    td {
                                        (m.status.as_str())
                                        @if let Some(vex) = &m.vex { " (VEX: " (vex.status.as_str()) ")" }
                                    }
                                    td { (m.component_name) @if let Some(v) = &m.component_version { " " (v) } }
                                    td { (m.advisory) }
                                    td { (m.cve.as_deref().unwrap_or("—")) }
                                    td { (rampart_vuln::report::first_remediation(&m.remediations).map_or("—", |r| r.details.as_str())) }
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
        layout(Some(&ctx), "Vulnerabilities", "/vulnerabilities", &[], body),
    )
}
