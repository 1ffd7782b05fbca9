//! The dashboard: live status, the SL-C vector of this gateway, recent alerts and the island-mode
//! switch. Each page calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::{Markup, html};
use rampart_identity::Permission;

use super::alerts::alert_table;
use super::{Ctx, action_button, error_page, layout, ok_notices, redirect, respond};
use crate::api;
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::AppState;

/// Rampart's own profile, assessed on the dashboard against the live configuration report.
const GATEWAY_PROFILE: &str = include_str!("../../../../profiles/rampart-gateway.toml");

/// The SL-C vector of this gateway: its profile assessed with the live checks run on its own
/// configuration report, as `rampart assess --live` does.
struct SlSummary {
    sl_t: String,
    sl_c: String,
    with_countermeasures: String,
    gaps: usize,
    contradicted: usize,
}

async fn sl_summary(state: &Arc<AppState>) -> Result<SlSummary, String> {
    use rampart_assess::live::LiveChecks;
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let report = crate::report::build(&state);
        let live = LiveChecks::builtin().evaluate(&report, "this gateway");
        let catalog = rampart_catalog::Catalog::builtin();
        let profile = rampart_assess::Profile::parse(
            GATEWAY_PROFILE,
            "profiles/rampart-gateway.toml",
            catalog,
        )
        .map_err(|e| e.to_string())?;
        let assessment = rampart_assess::assess(
            catalog,
            &profile,
            &rampart_assess::Options {
                sl_t: None,
                waivers: None,
                live: Some(&live),
                now: state.services.identity.now(),
            },
        );
        Ok(SlSummary {
            sl_t: assessment.sl_t.to_string(),
            sl_c: assessment.sl_c.to_string(),
            with_countermeasures: assessment.sl_c_with_countermeasures.to_string(),
            gaps: assessment.gaps.len(),
            contradicted: rampart_assess::contradictions(&profile, &live).len(),
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

/// A figure of the dashboard; `field` names the value in `/api/v1/status` the script updates.
fn stat(label: &str, field: &str, value: impl std::fmt::Display) -> Markup {
    html! {
        div.stat {
            dt { (label) }
            dd data-field=(field) { (value) }
        }
    }
}

pub(crate) async fn dashboard(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let Json(status) = api::observe::status(State(Arc::clone(&state))).await;
    let alerts = api::observe::alerts(State(Arc::clone(&state)))
        .await
        .map_or_else(|_| Vec::new(), |Json(alerts)| alerts);
    let sl = sl_summary(&state).await;
    let c = &status.counters;
    // Live updates stop after the idle timeout without user activity, so that an unattended
    // dashboard still locks its session (CR 2.5); for the same reason there is no automatic
    // reload without JavaScript.
    let idle_s = state
        .services
        .identity
        .config()
        .sessions
        .idle_timeout
        .as_secs();
    #[allow(clippy::cast_precision_loss)] // A display figure.
    let average = c.requests as f64 / status.uptime_s.max(1) as f64;
    let body = html! {
        section aria-labelledby="traffic-h" data-poll="/api/v1/status" data-idle-s=(idle_s) {
            h2 id="traffic-h" { "Traffic" }
            p.state data-field="traffic" data-state=(status.traffic) { (status.traffic) }
            @if ctx.can(Permission::IslandMode) {
                @if status.island {
                    (action_button(&ctx, "/island/off", "Resume traffic (island mode off)",
                        Some("Let traffic cross the conduit again, as the policy allows?")))
                } @else {
                    (action_button(&ctx, "/island/on", "Island mode: stop all traffic",
                        Some("Stop all traffic across the conduit now? It stays stopped across restarts until resumed.")))
                }
            }
            @if let Some(reason) = &status.halted_reason {
                div.notice.error role="alert" { p { "Halted: " (reason) } }
            }
            p {
                "IDS: "
                @match status.ids.state.as_str() {
                    "learning" => {
                        "learning a baseline"
                        @if let Some(until) = &status.ids.learning_until { " until " (until) }
                        " — no alert until then"
                    }
                    "detecting" => { "detecting on a baseline of " (status.ids.clients) " clients" }
                    _ => { "fixed thresholds (no baseline)" }
                }
                " · " a href="/ids" { "IDS baseline" }
            }
            dl.stats {
                div.stat {
                    dt { "Requests per second" }
                    dd data-rate="counters.requests" { (format!("{average:.1}")) }
                }
                (stat("Requests", "counters.requests", c.requests))
                (stat("Allowed", "counters.allowed", c.allowed))
                (stat("Denied", "counters.denied", c.denied))
                (stat("Malformed", "counters.malformed", c.malformed))
                (stat("Throttled", "counters.throttled", c.throttled))
                (stat("Alerts", "counters.alerts", c.alerts))
                (stat("Uptime (s)", "uptime_s", status.uptime_s))
            }
            p.hint id="poll-note" {
                "Figures as of loading the page; the rate is the average since start. "
                a href="/dashboard" { "Refresh" }
            }
        }
        section aria-labelledby="clients-h" {
            h2 id="clients-h" { "Clients" }
            dl.stats {
                (stat("Connections open", "connections", status.connections))
                (stat("Accepted since start", "counters.connections_accepted", c.connections_accepted))
                (stat("Refused", "counters.connections_refused", c.connections_refused))
                (stat("Failed handshakes", "counters.handshakes_failed", c.handshakes_failed))
            }
            table.clients {
                caption { "Connected clients" }
                thead { tr {
                    th scope="col" { "Client" } th scope="col" { "Role" } th scope="col" { "Address" }
                    th scope="col" { "Since" } th scope="col" { "Requests" } th scope="col" { "Denied" }
                } }
                tbody data-clients="clients" {
                    @for client in &status.clients {
                        tr {
                            td { (client.client) }
                            td { (client.role.as_deref().unwrap_or("(NULL role)")) }
                            td { (client.peer) }
                            td { (client.connected_at) }
                            td { (client.requests) }
                            td { (client.denied) }
                        }
                    }
                    @if status.clients.is_empty() {
                        tr { td colspan="6" { "No client connected." } }
                    }
                }
            }
        }
        section aria-labelledby="upstream-h" {
            h2 id="upstream-h" { "Upstream" }
            p { "Device: " (status.upstream.target) }
            dl.stats {
                (stat("Connected", "upstream.connected", status.upstream.connected))
                (stat("Configured", "upstream.configured", status.upstream.configured))
                (stat("Queued", "upstream.queued", status.upstream.queued))
                (stat("Failures", "counters.upstream_failures", c.upstream_failures))
            }
            p data-field="upstream.last_error" {
                @if let Some(e) = &status.upstream.last_error { "Last error: " (e) }
            }
        }
        section aria-labelledby="alerts-h" {
            h2 id="alerts-h" { "Latest alerts" }
            @if alerts.is_empty() { p { "No IDS alert since start." } }
            @else {
                (alert_table(&alerts[..alerts.len().min(5)]))
                p { a href="/alerts" { "All alerts" } }
            }
        }
        section aria-labelledby="slc-h" {
            h2 id="slc-h" { "Security level (IEC 62443-4-2)" }
            @match &sl {
                Ok(sl) => {
                    dl.facts {
                        dt { "SL-C" } dd.vector { (sl.sl_c) }
                        dt { "SL-C with countermeasures" } dd.vector { (sl.with_countermeasures) }
                        dt { "SL-T (profile)" } dd.vector { (sl.sl_t) }
                        dt { "Gaps to SL-T" } dd { (sl.gaps) }
                        dt { "Claims contradicted by this gateway's settings" } dd { (sl.contradicted) }
                    }
                    p.hint { "Rampart's profile (profiles/rampart-gateway.toml) assessed with the live checks on this gateway's configuration report, FR 1 to FR 7." }
                }
                Err(e) => { p { "The assessment could not run: " (e) } }
            }
        }
        section aria-labelledby="about-h" {
            h2 id="about-h" { "Listeners" }
            dl.facts {
                dt { "Modbus/TCP Security" } dd { (status.secure_listen) }
                dt { "Plain Modbus/TCP" } dd { (status.plain_listen.as_deref().unwrap_or("off")) }
                dt { "Management" } dd { (status.management_listen) }
                dt { "Policy SHA-256" } dd { code data-field="policy_sha256" { (status.policy_sha256) } }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(
            Some(&ctx),
            "Dashboard",
            "/dashboard",
            &ok_notices(&uri),
            body,
        ),
    )
}

pub(crate) async fn island_on(state: State<Arc<AppState>>, caller: Extension<Caller>) -> Response {
    island(state, caller, true).await
}

pub(crate) async fn island_off(state: State<Arc<AppState>>, caller: Extension<Caller>) -> Response {
    island(state, caller, false).await
}

async fn island(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    on: bool,
) -> Response {
    let switch = crate::extract::Json(api::observe::IslandSwitch { on });
    match api::observe::set_island(State(state), Extension(caller), switch).await {
        Ok(_) => redirect(if on {
            "/dashboard?ok=island-on"
        } else {
            "/dashboard?ok=island-off"
        }),
        Err(e) => error_page(&e),
    }
}
