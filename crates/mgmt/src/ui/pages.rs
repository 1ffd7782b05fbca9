//! The web UI's pages besides login and policy: dashboard, alerts, users and roles, sessions,
//! approvals, the audit log, backups and about. Each calls the API handler it fronts.

use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use rampart_identity::Permission;
use serde::Deserialize;

use super::{Ctx, Notice, PageFn, layout, lenient_query, ok_notice, redirect, respond};
use crate::api;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::routes::{Access, Caller, Route};
use crate::state::{AppState, Peer};

/// Rampart's own profile, assessed on the dashboard against the live configuration report.
const GATEWAY_PROFILE: &str = include_str!("../../../../profiles/rampart-gateway.toml");

pub(super) fn routes(page: PageFn<'_>) -> Vec<Route> {
    use Access::{Authenticated, Permission as P};
    use Permission as Perm;
    vec![
        page(
            Method::GET,
            "/dashboard",
            P(Perm::MetricsRead),
            "Live status of the gateway.",
            || get(dashboard),
        ),
        page(
            Method::GET,
            "/tokens",
            Authenticated,
            "API tokens for programs: the caller's own, or all with token.manage.",
            || get(tokens),
        ),
        page(
            Method::POST,
            "/tokens",
            Authenticated,
            "Creates an API token and shows it once.",
            || post(create_token),
        ),
        page(
            Method::POST,
            "/tokens/{id}/revoke",
            Authenticated,
            "Revokes an API token.",
            || post(revoke_token),
        ),
        page(
            Method::POST,
            "/island/on",
            P(Perm::IslandMode),
            "Island mode on: stops all traffic across the conduit.",
            || post(island_on),
        ),
        page(
            Method::POST,
            "/island/off",
            P(Perm::IslandMode),
            "Island mode off: traffic flows again as the policy allows.",
            || post(island_off),
        ),
        page(
            Method::GET,
            "/alerts",
            P(Perm::MetricsRead),
            "Recent IDS alerts.",
            || get(alerts),
        ),
        page(
            Method::GET,
            "/users",
            P(Perm::UserView),
            "Accounts and roles.",
            || get(users),
        ),
        page(
            Method::POST,
            "/users",
            P(Perm::UserManage),
            "Creates an account.",
            || post(create_user),
        ),
        page(
            Method::POST,
            "/users/{name}/disable",
            P(Perm::UserManage),
            "Disables an account.",
            || post(user_action),
        ),
        page(
            Method::POST,
            "/users/{name}/enable",
            P(Perm::UserManage),
            "Enables an account.",
            || post(user_action),
        ),
        page(
            Method::POST,
            "/users/{name}/unlock",
            P(Perm::UserManage),
            "Unlocks an account.",
            || post(user_action),
        ),
        page(
            Method::POST,
            "/users/{name}/mfa-reset",
            P(Perm::UserManage),
            "Removes an account's TOTP enrolment.",
            || post(user_action),
        ),
        page(
            Method::POST,
            "/users/{name}/password",
            P(Perm::UserManage),
            "Sets a new password to be changed at next login.",
            || post(reset_password),
        ),
        page(
            Method::GET,
            "/sessions",
            P(Perm::SessionView),
            "Open sessions.",
            || get(sessions),
        ),
        page(
            Method::POST,
            "/sessions/{handle}/terminate",
            Authenticated,
            "Terminates a session.",
            || post(terminate),
        ),
        page(
            Method::GET,
            "/approvals",
            Authenticated,
            "Dual approval requests.",
            || get(approvals),
        ),
        page(
            Method::POST,
            "/approvals",
            Authenticated,
            "Asks for approval.",
            || post(ask_approval),
        ),
        page(
            Method::POST,
            "/approvals/{id}/approve",
            Authenticated,
            "Approves a request.",
            || post(decide),
        ),
        page(
            Method::POST,
            "/approvals/{id}/reject",
            Authenticated,
            "Rejects a request.",
            || post(decide),
        ),
        page(
            Method::GET,
            "/audit",
            P(Perm::AuditRead),
            "The audit log: filter, page, export.",
            || get(audit),
        ),
        page(
            Method::POST,
            "/audit/verify",
            P(Perm::AuditRead),
            "Verifies the audit trail.",
            || post(audit_verify),
        ),
        page(
            Method::GET,
            "/backups",
            P(Perm::BackupCreate),
            "Backups: create, restore.",
            || get(backups),
        ),
        page(
            Method::POST,
            "/backups",
            P(Perm::BackupCreate),
            "Creates a backup and downloads it.",
            || post(create_backup),
        ),
        Route {
            upload: true,
            ..page(
                Method::POST,
                "/backups/restore",
                P(Perm::BackupRestore),
                "Verifies an uploaded backup and stages the restore.",
                || post(restore_backup),
            )
        },
        page(
            Method::POST,
            "/backups/restore/discard",
            P(Perm::BackupRestore),
            "Discards the staged restore.",
            || post(discard_restore),
        ),
        page(
            Method::GET,
            "/about",
            P(Perm::ConfigView),
            "Version, SBOM, certificates, licences.",
            || get(about),
        ),
    ]
}

#[derive(Default, Deserialize)]
struct OkQuery {
    ok: Option<String>,
}

fn ok_notices(uri: &Uri) -> Vec<Notice> {
    let q: OkQuery = lenient_query(uri);
    ok_notice(q.ok.as_deref()).into_iter().collect()
}

// ----- dashboard --------------------------------------------------------------------------

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

async fn dashboard(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let Json(status) = api::observe::status(State(Arc::clone(&state))).await;
    let Json(alerts) = api::observe::alerts(State(Arc::clone(&state))).await;
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

fn alert_table(alerts: &[api::observe::AlertView]) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Time" } th scope="col" { "Client" } th scope="col" { "Severity" } th scope="col" { "Technique" } th scope="col" { "What was seen" } } }
            tbody {
                @for a in alerts {
                    tr {
                        td { (time_of_us(a.time_us)) }
                        td { (a.client) }
                        td { (a.severity) }
                        td { (a.technique_id) " " (a.technique) }
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

async fn alerts(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let Json(alerts) = api::observe::alerts(State(Arc::clone(&state))).await;
    let body = html! {
        p { "IDS alerts since start, newest first (MITRE ATT&CK for ICS techniques)." }
        @if alerts.is_empty() { p { "No alert." } } @else { (alert_table(&alerts)) }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "Alerts", "/alerts", &[], body),
    )
}

// ----- users and roles -----------------------------------------------------------------------

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
        Err(e) => return super::error_page(&e),
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

/// A one-button form posting to `action`; `confirm` asks first when JavaScript runs.
fn action_button(ctx: &Ctx, action: &str, label: &str, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=[confirm] {
            (ctx.csrf_field())
            button type="submit" { (label) }
        }
    }
}

async fn users(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    users_page(&state, caller, &ok_notices(&uri), StatusCode::OK).await
}

#[derive(Deserialize)]
struct NewUserForm {
    name: String,
    role: String,
    password: String,
}

async fn create_user(
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

async fn user_action(
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
struct PasswordForm {
    password: String,
}

async fn reset_password(
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

// ----- sessions ------------------------------------------------------------------------------

async fn sessions(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let own = caller.principal.session();
    let list =
        match api::accounts::list_sessions(State(Arc::clone(&state)), Extension(caller)).await {
            Ok(Json(list)) => list,
            Err(e) => return super::error_page(&e),
        };
    let body = html! {
        p { "Open sessions of every account (CR 2.6). Terminating one logs its user out at their next request." }
        div.scroll {
        table {
            thead { tr {
                th scope="col" { "Account" } th scope="col" { "Method" } th scope="col" { "Source" }
                th scope="col" { "Started" } th scope="col" { "Last request" } th scope="col" { "Locks when idle at" }
                th scope="col" { "Action" }
            } }
            tbody {
                @for s in &list {
                    tr {
                        th scope="row" { (s.account) @if Some(s.handle) == own { " (this session)" } }
                        td { (s.method) }
                        td { (s.source.as_deref().unwrap_or("—")) }
                        td { (s.created_at) }
                        td { (s.last_seen_at) }
                        td { (s.idle_expires_at) }
                        td { (action_button(&ctx, &format!("/sessions/{}/terminate", s.handle), "Terminate", Some(&format!("Terminate the session of {}?", s.account)))) }
                    }
                }
            }
        }
        }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "Sessions", "/sessions", &ok_notices(&uri), body),
    )
}

// ----- API tokens (CR 1.14) ----------------------------------------------------------------

async fn tokens(
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
        Err(e) => return super::error_page(&e),
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
struct NewTokenForm {
    account: String,
    role: String,
    label: String,
    days: u32,
}

async fn create_token(
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

async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    match api::accounts::revoke_token(State(state), Extension(caller), Path(id)).await {
        Ok(_) => redirect("/tokens?ok=revoked"),
        Err(e) => super::error_page(&e),
    }
}

async fn island_on(state: State<Arc<AppState>>, caller: Extension<Caller>) -> Response {
    island(state, caller, true).await
}

async fn island_off(state: State<Arc<AppState>>, caller: Extension<Caller>) -> Response {
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
        Err(e) => super::error_page(&e),
    }
}

async fn terminate(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(handle): Path<i64>,
) -> Response {
    match api::accounts::terminate_session(State(state), Extension(caller), Path(handle)).await {
        Ok(_) => redirect("/sessions?ok=terminated"),
        Err(e) => super::error_page(&e),
    }
}

// ----- approvals -----------------------------------------------------------------------------

async fn approvals(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let me = caller.principal.name().to_owned();
    let filter = api::accounts::ApprovalFilter { pending: false };
    let list = match api::accounts::list_approvals(
        State(Arc::clone(&state)),
        Extension(caller),
        Query(filter),
    )
    .await
    {
        Ok(Json(list)) => list,
        Err(e) => return super::error_page(&e),
    };
    let required: Vec<Permission> = state
        .services
        .identity
        .config()
        .approvals
        .required_for
        .iter()
        .collect();
    let body = html! {
        @if required.is_empty() {
            p { "Dual approval is off: no permission needs a second administrator." }
        } @else {
            p { "These permissions need a second administrator's approval (CR 2.1 RE 4): "
                (required.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) "." }
            form.card method="post" action="/approvals" {
                (ctx.csrf_field())
                h2 { "Ask for approval" }
                p { label for="ask-permission" { "Permission" }
                    select id="ask-permission" name="permission" {
                        @for p in &required { option value=(p.as_str()) { (p.as_str()) } }
                    }
                }
                p { label for="ask-reason" { "Reason" } input id="ask-reason" name="reason" required; }
                p { button type="submit" { "Ask" } }
            }
        }
        h2 { "Requests" }
        @if list.is_empty() { p { "None." } } @else {
            div.scroll {
            table {
                thead { tr { th scope="col" { "Id" } th scope="col" { "Requester" } th scope="col" { "Permission" } th scope="col" { "Reason" } th scope="col" { "State" } th scope="col" { "Expires" } th scope="col" { "Decision" } } }
                tbody {
                    @for a in &list {
                        tr {
                            td { (a.id) } td { (a.requester) } td { (a.permission) } td { (a.reason) }
                            td { (a.state) } td { (a.expires_at) }
                            td {
                                @if a.state == "pending" && a.requester != me {
                                    (action_button(&ctx, &format!("/approvals/{}/approve", a.id), "Approve", None))
                                    (action_button(&ctx, &format!("/approvals/{}/reject", a.id), "Reject", None))
                                } @else if a.state == "approved" && a.requester == me && a.permission == "policy.apply" {
                                    a href="/policy/diff" { "Apply the staged policy with it" }
                                }
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
        layout(
            Some(&ctx),
            "Approvals",
            "/approvals",
            &ok_notices(&uri),
            body,
        ),
    )
}

#[derive(Deserialize)]
struct AskForm {
    permission: String,
    reason: String,
}

async fn ask_approval(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<AskForm>,
) -> Response {
    let ask = api::accounts::ApprovalAsk {
        permission: form.permission,
        target: None,
        reason: form.reason,
    };
    match api::accounts::request_approval(State(state), Extension(caller), Json(ask)).await {
        Ok(_) => redirect("/approvals?ok=requested"),
        Err(e) => super::error_page(&e),
    }
}

async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    uri: Uri,
) -> Response {
    let note = api::accounts::ApprovalNote {
        note: "decided in the web UI".to_owned(),
    };
    let s = State(state);
    let c = Extension(caller);
    let result = if uri.path().ends_with("/approve") {
        api::accounts::approve(s, c, Path(id), Json(note)).await
    } else {
        api::accounts::reject(s, c, Path(id), Json(note)).await
    };
    match result {
        Ok(_) => redirect("/approvals?ok=done"),
        Err(e) => super::error_page(&e),
    }
}

// ----- audit log ---------------------------------------------------------------------------

#[derive(Default, Deserialize)]
struct AuditForm {
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

async fn audit(
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

async fn audit_verify(
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

// ----- backups and about -------------------------------------------------------------------

async fn backups(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    backups_page(&state, &caller, ok_notices(&uri), StatusCode::OK).await
}

async fn backups_page(
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
    };
    respond(
        status,
        layout(Some(&ctx), "Backups", "/backups", &notices, body),
    )
}

#[derive(Deserialize)]
struct BackupForm {
    passphrase: String,
    confirm: String,
}

async fn create_backup(
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

async fn restore_backup(
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

async fn discard_restore(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> Response {
    match api::backups::discard(State(state), Extension(caller), Extension(peer)).await {
        Ok(_) => redirect("/backups?ok=discarded-restore"),
        Err(e) => super::error_page(&e),
    }
}

/// SHA-256 fingerprint of the first certificate in a PEM file, as colon-separated hex.
fn fingerprint(path: &std::path::Path) -> String {
    let Ok(pem) = std::fs::read(path) else {
        return "unreadable".to_owned();
    };
    match x509_parser::pem::parse_x509_pem(&pem) {
        Ok((_, pem)) => rampart_vault::crypto::sha256(&pem.contents)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        Err(_) => "not a PEM certificate".to_owned(),
    }
}

/// Licences of the components in the SBOM, with how many components carry each.
fn licences() -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    if let Ok(sbom) = serde_json::from_str::<serde_json::Value>(crate::SBOM_JSON) {
        for component in sbom["components"].as_array().into_iter().flatten() {
            for licence in component["licenses"].as_array().into_iter().flatten() {
                let name = licence["expression"]
                    .as_str()
                    .or_else(|| licence["license"]["id"].as_str())
                    .or_else(|| licence["license"]["name"].as_str())
                    .unwrap_or("unknown");
                *counts.entry(name.to_owned()).or_default() += 1;
            }
        }
    }
    counts.into_iter().collect()
}

async fn about(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let pki = state.services.data.file(rampart_vault::Entry::Pki);
    let body = html! {
        dl.facts {
            dt { "Version" } dd { "Rampart " (env!("CARGO_PKG_VERSION")) }
            dt { "Licence" } dd { (env!("CARGO_PKG_LICENSE")) }
            dt { "Management certificate (SHA-256)" } dd { code.fp { (fingerprint(&pki.join("server.crt"))) } }
            dt { "Local CA (SHA-256)" } dd { code.fp { (fingerprint(&pki.join("ca.crt"))) } }
        }
        ul.actions {
            li { a href="/api/v1/sbom" download { "Download the SBOM (CycloneDX 1.6 JSON)" } }
            li { a href="/api/v1/config-report" { "Configuration report (JSON)" } }
            li { a href="/api/v1/openapi.json" { "API description (OpenAPI 3.1)" } }
        }
        h2 { "Licences of the components" }
        div.scroll {
        table {
            thead { tr { th scope="col" { "Licence" } th scope="col" { "Components" } } }
            tbody { @for (name, n) in licences() { tr { td { (name) } td { (n) } } } }
        }
        }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "About", "/about", &[], body),
    )
}
