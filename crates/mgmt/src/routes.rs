//! The route table: one entry per route, which builds the router, decides who may call it
//! (through the identity crate's one check) and writes the `OpenAPI` document. A route cannot
//! exist without an access rule and a documented shape.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use rampart_identity::{AuthenticatedPrincipal, Permission};
use schemars::{Schema, SchemaGenerator};

use crate::api;
use crate::error::{ApiError, deny_reason};
use crate::state::{AppState, HttpCounters, Peer};

/// The name of the session cookie. `__Host-` binds it to this host, path `/`, Secure.
pub const SESSION_COOKIE: &str = "__Host-rampart-session";
/// The header that carries the CSRF token on state-changing requests made with a session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header that names a redeemed dual approval (CR 2.1 RE 4).
pub const APPROVAL_HEADER: &str = "x-rampart-approval";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, before logging in: the banner, login and health.
    Public,
    /// Any authenticated caller, including one that must first change its password or enrol
    /// in MFA; what it may do is then decided by the identity service for the target.
    Authenticated,
    /// A caller that holds the permission.
    Permission(Permission),
}

/// What a route answers with on success.
#[derive(Clone, Copy)]
pub(crate) enum Answer {
    /// JSON of this schema.
    Json(fn(&mut SchemaGenerator) -> Schema),
    /// Another media type.
    Media(&'static str),
    /// No content (204).
    Empty,
}

/// One route.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
    pub(crate) tag: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) query: Option<fn(&mut SchemaGenerator) -> Schema>,
    pub(crate) body: Option<fn(&mut SchemaGenerator) -> Schema>,
    pub(crate) answer: Answer,
    pub(crate) upload: bool,
    /// Answers 201 Created rather than 200.
    pub(crate) created: bool,
    pub(crate) handler: fn() -> MethodRouter<Arc<AppState>>,
    /// A web UI page (`crate::ui`): the guard answers its refusals in HTML (anonymous callers
    /// are sent to the login page) and, for a form post, takes the CSRF token from the form
    /// field `csrf` when no `X-CSRF-Token` header is sent. Pages are added through `extra`, so
    /// they stay out of the `OpenAPI` document.
    pub(crate) page: bool,
}

/// Method, path and access of every route, for tests and documentation.
pub fn route_list() -> Vec<(Method, &'static str, Access)> {
    table()
        .into_iter()
        .map(|r| (r.method, r.path, r.access))
        .collect()
}

fn schema<T: schemars::JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

#[allow(clippy::too_many_lines)]
pub(crate) fn table() -> Vec<Route> {
    use Access::{Authenticated, Permission as P, Public};
    use Answer::{Empty, Json as J, Media};
    use Permission as Perm;
    let r = |method: Method,
             path: &'static str,
             access: Access,
             tag: &'static str,
             summary: &'static str,
             answer: Answer,
             handler: fn() -> MethodRouter<Arc<AppState>>| Route {
        method,
        path,
        access,
        tag,
        summary,
        query: None,
        body: None,
        answer,
        upload: false,
        created: false,
        handler,
        page: false,
    };
    let created = |mut route: Route| {
        route.created = true;
        route
    };
    let upload = |mut route: Route| {
        route.upload = true;
        route
    };
    let with_body = |mut route: Route, body: fn(&mut SchemaGenerator) -> Schema| {
        route.body = Some(body);
        route
    };
    let with_query = |mut route: Route, query: fn(&mut SchemaGenerator) -> Schema| {
        route.query = Some(query);
        route
    };
    vec![
        // ----- before login ------------------------------------------------------------
        r(
            Method::GET,
            "/api/v1/health",
            Public,
            "status",
            "Liveness: answers when the management plane runs.",
            J(schema::<api::observe::Health>),
            || get(api::observe::health),
        ),
        r(
            Method::GET,
            "/api/v1/banner",
            Public,
            "auth",
            "The system use notification shown before credentials are asked for (CR 1.12).",
            J(schema::<api::auth::Banner>),
            || get(api::auth::banner),
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/auth/login",
                Public,
                "auth",
                "Logs in with a password (and a TOTP code when enrolled); sets the session cookie.",
                J(schema::<api::auth::LoginAnswer>),
                || post(api::auth::login),
            ),
            schema::<api::auth::LoginRequest>,
        ),
        // ----- the caller's own session --------------------------------------------------
        r(
            Method::GET,
            "/api/v1/auth/whoami",
            Authenticated,
            "auth",
            "The caller: account, roles, permissions, pending obligations and CSRF token.",
            J(schema::<api::auth::Whoami>),
            || get(api::auth::whoami),
        ),
        r(
            Method::POST,
            "/api/v1/auth/logout",
            Authenticated,
            "auth",
            "Ends the caller's session and clears the cookie.",
            Empty,
            || post(api::auth::logout),
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/auth/password",
                Authenticated,
                "auth",
                "Changes the caller's own password (required after an initial or reset password).",
                Empty,
                || post(api::auth::change_password),
            ),
            schema::<api::auth::PasswordChange>,
        ),
        r(
            Method::POST,
            "/api/v1/auth/totp/enrol",
            Authenticated,
            "auth",
            "Starts TOTP enrolment: a new secret and otpauth URI (CR 1.1 RE 2).",
            J(schema::<api::auth::TotpEnrolmentAnswer>),
            || post(api::auth::totp_enrol),
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/auth/totp/confirm",
                Authenticated,
                "auth",
                "Completes TOTP enrolment with a code from the authenticator.",
                Empty,
                || post(api::auth::totp_confirm),
            ),
            schema::<api::auth::TotpCode>,
        ),
        r(
            Method::GET,
            "/api/v1/openapi.json",
            Authenticated,
            "meta",
            "This API's OpenAPI 3.1 document.",
            Media("application/json"),
            || get(api::openapi_document),
        ),
        // ----- API tokens (CR 1.14) ------------------------------------------------------
        r(
            Method::GET,
            "/api/v1/tokens",
            Authenticated,
            "tokens",
            "API tokens: the caller's own, or everyone's with token.manage.",
            J(schema::<Vec<api::accounts::TokenView>>),
            || get(api::accounts::list_tokens),
        ),
        created(with_body(
            r(
                Method::POST,
                "/api/v1/tokens",
                Authenticated,
                "tokens",
                "Creates an API token for an account, scoped to one role, expiring; shown once.",
                J(schema::<api::accounts::NewTokenAnswer>),
                || post(api::accounts::create_token),
            ),
            schema::<api::accounts::NewTokenRequest>,
        )),
        r(
            Method::DELETE,
            "/api/v1/tokens/{id}",
            Authenticated,
            "tokens",
            "Revokes an API token (own, or any with token.manage).",
            Empty,
            || delete(api::accounts::revoke_token),
        ),
        // ----- users and roles (CR 1.1, 1.3, 2.1) ----------------------------------------
        r(
            Method::GET,
            "/api/v1/users",
            P(Perm::UserView),
            "users",
            "Lists accounts.",
            J(schema::<Vec<api::accounts::AccountView>>),
            || get(api::accounts::list_users),
        ),
        created(with_body(
            r(
                Method::POST,
                "/api/v1/users",
                P(Perm::UserManage),
                "users",
                "Creates a human account with an initial password that must be changed at first login.",
                J(schema::<api::accounts::AccountView>),
                || post(api::accounts::create_user),
            ),
            schema::<api::accounts::NewUser>,
        )),
        r(
            Method::GET,
            "/api/v1/users/{name}",
            Authenticated,
            "users",
            "One account (the caller's own, or any with user.view).",
            J(schema::<api::accounts::AccountView>),
            || get(api::accounts::show_user),
        ),
        r(
            Method::DELETE,
            "/api/v1/users/{name}",
            P(Perm::UserRemove),
            "users",
            "Removes an account; its name is never reused.",
            Empty,
            || delete(api::accounts::remove_user),
        ),
        r(
            Method::POST,
            "/api/v1/users/{name}/disable",
            P(Perm::UserManage),
            "users",
            "Disables an account and ends its sessions.",
            Empty,
            || post(api::accounts::disable_user),
        ),
        r(
            Method::POST,
            "/api/v1/users/{name}/enable",
            P(Perm::UserManage),
            "users",
            "Enables an account.",
            Empty,
            || post(api::accounts::enable_user),
        ),
        r(
            Method::POST,
            "/api/v1/users/{name}/unlock",
            P(Perm::UserManage),
            "users",
            "Unlocks an account locked by failed logins (CR 1.11).",
            Empty,
            || post(api::accounts::unlock_user),
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/users/{name}/password",
                P(Perm::UserManage),
                "users",
                "Sets a new password for an account, by default one to be changed at next login.",
                Empty,
                || post(api::accounts::reset_password),
            ),
            schema::<api::accounts::PasswordReset>,
        ),
        r(
            Method::POST,
            "/api/v1/users/{name}/mfa/reset",
            P(Perm::UserManage),
            "users",
            "Removes an account's TOTP enrolment (lost authenticator).",
            Empty,
            || post(api::accounts::reset_mfa),
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/users/{name}/roles",
                P(Perm::UserManage),
                "users",
                "Assigns a role to an account.",
                Empty,
                || post(api::accounts::assign_role),
            ),
            schema::<api::accounts::RoleAssignment>,
        ),
        r(
            Method::DELETE,
            "/api/v1/users/{name}/roles/{role}",
            P(Perm::UserManage),
            "users",
            "Takes a role from an account.",
            Empty,
            || delete(api::accounts::unassign_role),
        ),
        r(
            Method::GET,
            "/api/v1/roles",
            P(Perm::RoleView),
            "users",
            "Lists roles with their permissions and members.",
            J(schema::<Vec<api::accounts::RoleView>>),
            || get(api::accounts::list_roles),
        ),
        r(
            Method::GET,
            "/api/v1/roles/{name}",
            P(Perm::RoleView),
            "users",
            "One role.",
            J(schema::<api::accounts::RoleView>),
            || get(api::accounts::show_role),
        ),
        // ----- sessions (CR 2.5, 2.6, 2.7) -----------------------------------------------
        r(
            Method::GET,
            "/api/v1/sessions",
            P(Perm::SessionView),
            "sessions",
            "Lists open sessions.",
            J(schema::<Vec<api::accounts::SessionView>>),
            || get(api::accounts::list_sessions),
        ),
        r(
            Method::DELETE,
            "/api/v1/sessions/{handle}",
            Authenticated,
            "sessions",
            "Terminates a session (own, or any with session.manage) (CR 2.6).",
            Empty,
            || delete(api::accounts::terminate_session),
        ),
        // ----- dual approval (CR 2.1 RE 4) -----------------------------------------------
        with_query(
            r(
                Method::GET,
                "/api/v1/approvals",
                Authenticated,
                "approvals",
                "Approval requests: the caller's own, or all for those who may decide them.",
                J(schema::<Vec<api::accounts::ApprovalView>>),
                || get(api::accounts::list_approvals),
            ),
            schema::<api::accounts::ApprovalFilter>,
        ),
        created(with_body(
            r(
                Method::POST,
                "/api/v1/approvals",
                Authenticated,
                "approvals",
                "Asks a second administrator to approve the use of a permission.",
                J(schema::<api::accounts::ApprovalView>),
                || post(api::accounts::request_approval),
            ),
            schema::<api::accounts::ApprovalAsk>,
        )),
        with_body(
            r(
                Method::POST,
                "/api/v1/approvals/{id}/approve",
                Authenticated,
                "approvals",
                "Approves a pending request (a different administrator holding the permission).",
                J(schema::<api::accounts::ApprovalView>),
                || post(api::accounts::approve),
            ),
            schema::<api::accounts::ApprovalNote>,
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/approvals/{id}/reject",
                Authenticated,
                "approvals",
                "Rejects a pending request.",
                J(schema::<api::accounts::ApprovalView>),
                || post(api::accounts::reject),
            ),
            schema::<api::accounts::ApprovalNote>,
        ),
        // ----- conduit policy ------------------------------------------------------------
        r(
            Method::GET,
            "/api/v1/policy",
            P(Perm::PolicyView),
            "policy",
            "The conduit policy in force: text, SHA-256, origin, roles.",
            J(schema::<api::policy::PolicyView>),
            || get(api::policy::show),
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/policy/validate",
                P(Perm::PolicyView),
                "policy",
                "Validates policy text: errors with line and column, lint findings.",
                J(schema::<api::policy::Validation>),
                || post(api::policy::validate),
            ),
            schema::<api::policy::PolicyText>,
        ),
        r(
            Method::GET,
            "/api/v1/policy/staged",
            P(Perm::PolicyView),
            "policy",
            "The staged policy, if any.",
            J(schema::<api::policy::StagedView>),
            || get(api::policy::staged),
        ),
        with_body(
            r(
                Method::PUT,
                "/api/v1/policy/staged",
                P(Perm::PolicyStage),
                "policy",
                "Stages a validated policy for review and apply.",
                J(schema::<api::policy::StagedView>),
                || put(api::policy::stage),
            ),
            schema::<api::policy::PolicyText>,
        ),
        r(
            Method::DELETE,
            "/api/v1/policy/staged",
            P(Perm::PolicyStage),
            "policy",
            "Discards the staged policy.",
            Empty,
            || delete(api::policy::discard),
        ),
        r(
            Method::GET,
            "/api/v1/policy/diff",
            P(Perm::PolicyView),
            "policy",
            "Unified diff of the staged policy against the one in force.",
            J(schema::<api::policy::Diff>),
            || get(api::policy::diff),
        ),
        with_body(
            r(
                Method::POST,
                "/api/v1/policy/apply",
                P(Perm::PolicyApply),
                "policy",
                "Puts the staged policy in force without dropping connections, and persists it.",
                J(schema::<api::policy::Applied>),
                || post(api::policy::apply),
            ),
            schema::<api::policy::ApplyRequest>,
        ),
        // ----- island mode (NDR 5.2 RE 2) -------------------------------------------------
        with_body(
            r(
                Method::PUT,
                "/api/v1/island",
                P(Perm::IslandMode),
                "status",
                "Stops (on) or resumes (off) all traffic across the conduit; survives restarts.",
                J(schema::<api::observe::StatusView>),
                || put(api::observe::set_island),
            ),
            schema::<api::observe::IslandSwitch>,
        ),
        // ----- audit trail (CR 2.8-2.12, CR 6.1) ----------------------------------------
        with_query(
            r(
                Method::GET,
                "/api/v1/audit",
                P(Perm::AuditRead),
                "audit",
                "Audit events, oldest first, filtered; page with after_seq.",
                J(schema::<api::observe::AuditPage>),
                || get(api::observe::audit_query),
            ),
            schema::<api::observe::AuditFilter>,
        ),
        with_query(
            r(
                Method::GET,
                "/api/v1/audit/export",
                P(Perm::AuditExport),
                "audit",
                "Exports audit events as JSON lines (CR 6.1 RE 1); the export is itself audited.",
                Media("application/x-ndjson"),
                || get(api::observe::audit_export),
            ),
            schema::<api::observe::AuditFilter>,
        ),
        r(
            Method::POST,
            "/api/v1/audit/verify",
            P(Perm::AuditRead),
            "audit",
            "Verifies the hash chain and signed checkpoints of the whole trail.",
            J(schema::<api::observe::VerifyView>),
            || post(api::observe::audit_verify),
        ),
        // ----- monitoring ----------------------------------------------------------------
        r(
            Method::GET,
            "/api/v1/status",
            P(Perm::MetricsRead),
            "status",
            "Gateway status: traffic state, listeners, policy, upstream, connections, counters.",
            J(schema::<api::observe::StatusView>),
            || get(api::observe::status),
        ),
        r(
            Method::GET,
            "/api/v1/stats/traffic",
            P(Perm::MetricsRead),
            "status",
            "Traffic statistics since start.",
            J(schema::<api::observe::TrafficView>),
            || get(api::observe::traffic),
        ),
        r(
            Method::GET,
            "/api/v1/alerts",
            P(Perm::MetricsRead),
            "status",
            "Recent IDS alerts, newest first.",
            J(schema::<Vec<api::observe::AlertView>>),
            || get(api::observe::alerts),
        ),
        r(
            Method::GET,
            "/api/v1/config-report",
            P(Perm::ConfigView),
            "configuration",
            "Every security-relevant setting, machine-readable (CR 7.6 RE 1).",
            J(schema::<crate::report::ConfigReport>),
            || get(api::observe::config_report),
        ),
        with_body(
            r(
                Method::PUT,
                "/api/v1/banner",
                P(Perm::ConfigChange),
                "configuration",
                "Sets the system use notification (CR 1.12).",
                Empty,
                || put(api::auth::set_banner),
            ),
            schema::<api::auth::Banner>,
        ),
        // ----- backup and restore (CR 7.3, 7.4) --------------------------------------------
        with_body(
            r(
                Method::POST,
                "/api/v1/backups",
                P(Perm::BackupCreate),
                "backup",
                "Creates an encrypted, signed backup of the data directory and answers with the file.",
                Media("application/octet-stream"),
                || post(api::backups::create),
            ),
            schema::<api::backups::NewBackup>,
        ),
        upload(r(
            Method::POST,
            "/api/v1/backups/verify",
            P(Perm::BackupCreate),
            "backup",
            "Checks an uploaded backup (body: the file): its signature by this device, and with \
           X-Rampart-Passphrase its decrypted contents. Writes nothing.",
            J(schema::<api::backups::BackupCheck>),
            || post(api::backups::verify),
        )),
        upload(r(
            Method::POST,
            "/api/v1/backups/restore",
            P(Perm::BackupRestore),
            "backup",
            "Verifies an uploaded backup completely (X-Rampart-Passphrase; X-Rampart-Confirm: \
           restore) and stages it; the next start of the gateway puts it in place.",
            J(schema::<api::backups::StagedRestoreView>),
            || post(api::backups::restore),
        )),
        r(
            Method::GET,
            "/api/v1/backups/restore",
            P(Perm::BackupRestore),
            "backup",
            "The staged restore, if any.",
            J(schema::<api::backups::StagedRestoreView>),
            || get(api::backups::staged),
        ),
        r(
            Method::DELETE,
            "/api/v1/backups/restore",
            P(Perm::BackupRestore),
            "backup",
            "Discards the staged restore.",
            Empty,
            || delete(api::backups::discard),
        ),
        r(
            Method::GET,
            "/api/v1/sbom",
            P(Perm::ConfigView),
            "configuration",
            "Component inventory of this build: CycloneDX 1.6 SBOM (CR 7.8).",
            Media("application/vnd.cyclonedx+json"),
            || get(api::observe::sbom),
        ),
        r(
            Method::GET,
            "/metrics",
            P(Perm::MetricsRead),
            "status",
            "Prometheus metrics (text exposition format).",
            Media("text/plain; version=0.0.4"),
            || get(api::observe::metrics),
        ),
    ]
}

/// Builds the router: every route with its guard, the body limits, the rate limit and the
/// security headers; anything else is 404 (or 401 for anonymous callers).
pub(crate) fn router(state: Arc<AppState>, extra: Vec<Route>) -> Router {
    let mut router: Router<Arc<AppState>> = Router::new();
    for route in table().into_iter().chain(extra) {
        let limit = if route.upload {
            state.config.max_upload_bytes
        } else {
            state.config.max_body_bytes
        };
        let rule = Rule {
            access: route.access,
            page: route.page,
            limit,
        };
        let method_router = (route.handler)()
            .route_layer(middleware::from_fn_with_state(
                Arc::clone(&state),
                move |state: State<Arc<AppState>>, request: Request, next: Next| {
                    guard(state, rule, request, next)
                },
            ))
            .route_layer(DefaultBodyLimit::max(limit))
            // Outermost: a body declared larger than the limit is refused before anything
            // (authentication included) waits for it.
            .route_layer(middleware::from_fn(move |request: Request, next: Next| {
                refuse_declared_oversize(limit, request, next)
            }));
        router = router.route(route.path, method_router);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            rate_limit,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not take that method; see /api/v1/openapi.json",
    )
}

/// Answers 413 at once when `Content-Length` exceeds the route's body limit (the body
/// extractors enforce the limit for bodies without a declared length).
async fn refuse_declared_oversize(limit: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "invalid",
            format!("the request body is larger than the {limit} bytes this route accepts"),
        )
        .into_response();
    }
    next.run(request).await
}

/// The caller, as resolved by the guard.
#[derive(Clone)]
pub(crate) struct Caller {
    pub(crate) principal: AuthenticatedPrincipal,
    /// The session id when the caller came with the session cookie.
    pub(crate) session: Option<Arc<zeroize::Zeroizing<String>>>,
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// What the guard enforces for one route.
#[derive(Clone, Copy)]
struct Rule {
    access: Access,
    /// A web UI page (see [`Route::page`]).
    page: bool,
    /// The body limit, for reading a page form's CSRF field.
    limit: usize,
}

/// Authenticates the caller (API token or session cookie), checks CSRF for state-changing
/// requests made with a session, redeems a dual approval if one is named, and authorises the
/// route's permission — all before the handler runs.
async fn guard(
    State(state): State<Arc<AppState>>,
    rule: Rule,
    mut request: Request,
    next: Next,
) -> Response {
    let Rule {
        access,
        page,
        limit,
    } = rule;
    if access == Access::Public {
        return next.run(request).await;
    }
    // Pages answer refusals in HTML: the login page for anonymous callers (saying so when a
    // session cookie came but no longer opens a session), an HTML 403 otherwise.
    let cookie_sent = session_cookie(request.headers()).is_some();
    let refuse = |e: ApiError| -> Response {
        if page {
            crate::ui::refusal(&e, cookie_sent)
        } else {
            e.into_response()
        }
    };
    let Some(peer) = request.extensions().get::<Peer>().copied() else {
        return ApiError::internal(&"request without a peer address").into_response();
    };
    let origin = AppState::origin(peer);
    let headers = request.headers();
    let token = bearer(headers).map(str::to_owned);
    let session = session_cookie(headers).map(|s| Arc::new(zeroize::Zeroizing::new(s.to_owned())));
    let csrf = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let approval = headers
        .get(APPROVAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        // A page form names the approval in its action's query (`?approval=<id>`).
        .or_else(|| crate::ui::approval_in_query(request.uri()).filter(|_| page));
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let identity = Arc::clone(&state.services.identity);
    let session_for_check = session.clone();
    let resolved =
        tokio::task::spawn_blocking(move || -> Result<AuthenticatedPrincipal, ApiError> {
            if let Some(token) = token {
                return Ok(identity.authenticate_token(&token, &origin)?);
            }
            let Some(session) = session_for_check else {
                return Err(ApiError::unauthenticated());
            };
            Ok(identity.validate_session(session.as_str(), &origin)?)
        })
        .await;
    let principal = match resolved {
        Ok(Ok(principal)) => {
            // The connection now carries a known caller: it leaves the unauthenticated budget.
            if let Some(connection) = request.extensions().get::<crate::server::ConnectionAuth>() {
                connection.authenticated();
            }
            principal
        }
        Ok(Err(e)) => {
            if e.status == axum::http::StatusCode::UNAUTHORIZED {
                HttpCounters::add(&state.counters.unauthenticated);
            }
            return refuse(e);
        }
        Err(e) => return refuse(ApiError::from(e)),
    };
    // A session came with the cookie (the bearer token wins when both are sent).
    let via_session = principal.session().is_some();
    if via_session && unsafe_method {
        // A page form carries the token in its `csrf` field; the body is read (within the
        // route's limit) and put back for the handler.
        let mut csrf = csrf;
        if page && csrf.is_none() {
            match crate::ui::csrf_in_form(request, limit).await {
                Ok((back, field)) => {
                    request = back;
                    csrf = field;
                }
                Err(e) => return refuse(e),
            }
        }
        let ok = match (&session, &csrf) {
            (Some(session), Some(csrf)) => state.csrf_valid(session.as_str(), csrf),
            _ => false,
        };
        if !ok {
            HttpCounters::add(&state.counters.forbidden);
            crate::api::record_denial(&state, &principal, peer, "csrf-check", request.uri().path())
                .await;
            return refuse(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header (GET /api/v1/auth/whoami returns it)",
            ));
        }
    }
    let principal = match approval {
        None => principal,
        Some(id) => {
            let Ok(id) = id.trim().parse::<i64>() else {
                return refuse(ApiError::invalid(
                    "X-Rampart-Approval must be an approval id (integer)",
                ));
            };
            let identity = Arc::clone(&state.services.identity);
            match tokio::task::spawn_blocking(move || identity.redeem_approval(&principal, id))
                .await
            {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => return refuse(ApiError::from(e)),
                Err(e) => return refuse(ApiError::from(e)),
            }
        }
    };
    if let Access::Permission(permission) = access {
        let identity = Arc::clone(&state.services.identity);
        let p = principal.clone();
        match tokio::task::spawn_blocking(move || identity.authorize(&p, permission)).await {
            Ok(Ok(())) => {}
            Ok(Err(denied)) => {
                HttpCounters::add(&state.counters.forbidden);
                return refuse(deny_reason(denied.reason));
            }
            Err(e) => return refuse(ApiError::from(e)),
        }
    }
    request.extensions_mut().insert(Caller {
        principal,
        session: if via_session { session } else { None },
    });
    next.run(request).await
}

async fn rate_limit(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    HttpCounters::add(&state.counters.requests);
    if let Some(peer) = request.extensions().get::<Peer>()
        && !state.limiter.allow(peer.0.ip())
    {
        HttpCounters::add(&state.counters.rate_limited);
        state.refused(peer.0, &crate::refusals::Refusal::rate_limited());
        let mut response = ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "too many requests from this address; slow down",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

/// The headers every answer carries. The API serves no HTML, so its CSP forbids everything.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(
        headers,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    );
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::CACHE_CONTROL, "no-store");
    set(
        headers,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    response
}
