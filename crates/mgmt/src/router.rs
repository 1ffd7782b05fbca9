//! The route table: every route of the API and of the web UI in one list, built with
//! [`Routes`]. An entry names the method, path, [`Access`] rule and handler, then documents
//! itself; from it come the router (each route behind its guard and size filter, see
//! [`crate::middleware`]), the `OpenAPI` document (API routes only) and [`route_list`]. A
//! route cannot exist without an access rule: the methods that add one take it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self as layer, Next};
use axum::routing::{MethodRouter, delete, get, post, put};
use rampart_identity::Permission;
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::api;
use crate::error::ApiError;
use crate::middleware::{self, Access, Rule};
use crate::state::AppState;
use crate::ui;

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
pub(crate) struct Route {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
    pub(crate) tag: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) query: Option<fn(&mut SchemaGenerator) -> Schema>,
    pub(crate) body: Option<fn(&mut SchemaGenerator) -> Schema>,
    pub(crate) answer: Answer,
    /// Takes an upload: the larger body limit.
    pub(crate) upload: bool,
    /// The status of success when it is not 200 (or 204 for an empty answer): 201 Created,
    /// 202 Accepted.
    pub(crate) success: Option<&'static str>,
    pub(crate) handler: MethodRouter<Arc<AppState>>,
    /// A web UI page (`crate::ui`): the guard answers its refusals in HTML (anonymous callers
    /// are sent to the login page) and, for a form post, takes the CSRF token from the form
    /// field `csrf` when no `X-CSRF-Token` header is sent. Pages stay out of the `OpenAPI`
    /// document.
    pub(crate) page: bool,
}

/// The table under construction. [`Routes::get`] and its siblings add a route; the
/// describing methods ([`Routes::doc`], [`Routes::json`], …) apply to the route added last;
/// [`Routes::tag`] and [`Routes::pages`] apply to the routes added after them.
pub(crate) struct Routes {
    table: Vec<Route>,
    tag: &'static str,
    page: bool,
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

impl Routes {
    pub(crate) fn new() -> Routes {
        Routes {
            table: Vec::new(),
            tag: "",
            page: false,
        }
    }

    /// The `OpenAPI` tag of the routes added from now on.
    pub(crate) fn tag(mut self, tag: &'static str) -> Routes {
        self.tag = tag;
        self
    }

    /// The routes added from now on are web UI pages answering HTML (see [`Route::page`]).
    pub(crate) fn pages(mut self) -> Routes {
        self.page = true;
        self.tag = "ui";
        self
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: MethodRouter<Arc<AppState>>,
    ) -> Routes {
        self.table.push(Route {
            method,
            path,
            access,
            tag: self.tag,
            summary: "",
            query: None,
            body: None,
            answer: if self.page {
                Answer::Media("text/html")
            } else {
                Answer::Empty
            },
            upload: false,
            success: None,
            handler,
            page: self.page,
        });
        self
    }

    pub(crate) fn get<H: Handler<T, Arc<AppState>>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        self.add(Method::GET, path, access, get(handler))
    }

    pub(crate) fn post<H: Handler<T, Arc<AppState>>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        self.add(Method::POST, path, access, post(handler))
    }

    pub(crate) fn put<H: Handler<T, Arc<AppState>>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        self.add(Method::PUT, path, access, put(handler))
    }

    pub(crate) fn delete<H: Handler<T, Arc<AppState>>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        self.add(Method::DELETE, path, access, delete(handler))
    }

    fn last(mut self, change: impl FnOnce(&mut Route)) -> Routes {
        if let Some(route) = self.table.last_mut() {
            change(route);
        }
        self
    }

    /// What the route does, for the `OpenAPI` document.
    pub(crate) fn doc(self, summary: &'static str) -> Routes {
        self.last(|r| r.summary = summary)
    }

    /// Answers JSON of `T`.
    pub(crate) fn json<T: JsonSchema>(self) -> Routes {
        self.last(|r| r.answer = Answer::Json(schema::<T>))
    }

    /// Answers another media type.
    pub(crate) fn media(self, media: &'static str) -> Routes {
        self.last(|r| r.answer = Answer::Media(media))
    }

    /// Takes a JSON body of `T`.
    pub(crate) fn body<T: JsonSchema>(self) -> Routes {
        self.last(|r| r.body = Some(schema::<T>))
    }

    /// Takes query parameters of `T`.
    pub(crate) fn query<T: JsonSchema>(self) -> Routes {
        self.last(|r| r.query = Some(schema::<T>))
    }

    /// Answers 201 Created rather than 200.
    pub(crate) fn created(self) -> Routes {
        self.last(|r| r.success = Some("201"))
    }

    /// Answers 202 Accepted rather than 200: the work goes on after the answer.
    pub(crate) fn accepted(self) -> Routes {
        self.last(|r| r.success = Some("202"))
    }

    /// Takes an upload, within the larger body limit.
    pub(crate) fn upload(self) -> Routes {
        self.last(|r| r.upload = true)
    }
}

/// Every route, API and web UI.
#[allow(clippy::too_many_lines)] // One table, read top to bottom.
pub(crate) fn table() -> Vec<Route> {
    use Access::{Authenticated, Permission as P, Public};
    use Permission as Perm;
    Routes::new()
        // ----- before login ------------------------------------------------------------
        .tag("status")
        .get("/api/v1/health", Public, api::observe::health)
        .doc("Liveness: answers when the management plane runs.")
        .json::<api::observe::Health>()
        .tag("auth")
        .get("/api/v1/banner", Public, api::auth::banner)
        .doc("The system use notification shown before credentials are asked for (CR 1.12).")
        .json::<api::auth::Banner>()
        .post("/api/v1/auth/login", Public, api::auth::login)
        .doc("Logs in with a password (and a TOTP code when enrolled); sets the session cookie.")
        .body::<api::auth::LoginRequest>()
        .json::<api::auth::LoginAnswer>()
        // ----- the caller's own session --------------------------------------------------
        .get("/api/v1/auth/whoami", Authenticated, api::auth::whoami)
        .doc("The caller: account, roles, permissions, pending obligations and CSRF token.")
        .json::<api::auth::Whoami>()
        .post("/api/v1/auth/logout", Authenticated, api::auth::logout)
        .doc("Ends the caller's session and clears the cookie.")
        .post(
            "/api/v1/auth/password",
            Authenticated,
            api::auth::change_password,
        )
        .doc("Changes the caller's own password (required after an initial or reset password).")
        .body::<api::auth::PasswordChange>()
        .post(
            "/api/v1/auth/totp/enrol",
            Authenticated,
            api::auth::totp_enrol,
        )
        .doc("Starts TOTP enrolment: a new secret and otpauth URI (CR 1.1 RE 2).")
        .json::<api::auth::TotpEnrolmentAnswer>()
        .post(
            "/api/v1/auth/totp/confirm",
            Authenticated,
            api::auth::totp_confirm,
        )
        .doc("Completes TOTP enrolment with a code from the authenticator.")
        .body::<api::auth::TotpCode>()
        .tag("meta")
        .get("/api/v1/openapi.json", Authenticated, api::openapi_document)
        .doc("This API's OpenAPI 3.1 document.")
        .media("application/json")
        // ----- API tokens (CR 1.14) ------------------------------------------------------
        .tag("tokens")
        .get("/api/v1/tokens", Authenticated, api::accounts::list_tokens)
        .doc("API tokens: the caller's own, or everyone's with token.manage.")
        .json::<Vec<api::accounts::TokenView>>()
        .post("/api/v1/tokens", Authenticated, api::accounts::create_token)
        .doc("Creates an API token for an account, scoped to one role, expiring; shown once.")
        .body::<api::accounts::NewTokenRequest>()
        .json::<api::accounts::NewTokenAnswer>()
        .created()
        .delete(
            "/api/v1/tokens/{id}",
            Authenticated,
            api::accounts::revoke_token,
        )
        .doc("Revokes an API token (own, or any with token.manage).")
        // ----- users and roles (CR 1.1, 1.3, 2.1) ----------------------------------------
        .tag("users")
        .get(
            "/api/v1/users",
            P(Perm::UserView),
            api::accounts::list_users,
        )
        .doc("Lists accounts.")
        .json::<Vec<api::accounts::AccountView>>()
        .post(
            "/api/v1/users",
            P(Perm::UserManage),
            api::accounts::create_user,
        )
        .doc(
            "Creates a human account with an initial password that must be changed at first login.",
        )
        .body::<api::accounts::NewUser>()
        .json::<api::accounts::AccountView>()
        .created()
        .get(
            "/api/v1/users/{name}",
            Authenticated,
            api::accounts::show_user,
        )
        .doc("One account (the caller's own, or any with user.view).")
        .json::<api::accounts::AccountView>()
        .delete(
            "/api/v1/users/{name}",
            P(Perm::UserRemove),
            api::accounts::remove_user,
        )
        .doc("Removes an account; its name is never reused.")
        .post(
            "/api/v1/users/{name}/disable",
            P(Perm::UserManage),
            api::accounts::disable_user,
        )
        .doc("Disables an account and ends its sessions.")
        .post(
            "/api/v1/users/{name}/enable",
            P(Perm::UserManage),
            api::accounts::enable_user,
        )
        .doc("Enables an account.")
        .post(
            "/api/v1/users/{name}/unlock",
            P(Perm::UserManage),
            api::accounts::unlock_user,
        )
        .doc("Unlocks an account locked by failed logins (CR 1.11).")
        .post(
            "/api/v1/users/{name}/password",
            P(Perm::UserManage),
            api::accounts::reset_password,
        )
        .doc("Sets a new password for an account, by default one to be changed at next login.")
        .body::<api::accounts::PasswordReset>()
        .post(
            "/api/v1/users/{name}/mfa/reset",
            P(Perm::UserManage),
            api::accounts::reset_mfa,
        )
        .doc("Removes an account's TOTP enrolment (lost authenticator).")
        .post(
            "/api/v1/users/{name}/roles",
            P(Perm::UserManage),
            api::accounts::assign_role,
        )
        .doc("Assigns a role to an account.")
        .body::<api::accounts::RoleAssignment>()
        .delete(
            "/api/v1/users/{name}/roles/{role}",
            P(Perm::UserManage),
            api::accounts::unassign_role,
        )
        .doc("Takes a role from an account.")
        .get(
            "/api/v1/roles",
            P(Perm::RoleView),
            api::accounts::list_roles,
        )
        .doc("Lists roles with their permissions and members.")
        .json::<Vec<api::accounts::RoleView>>()
        .get(
            "/api/v1/roles/{name}",
            P(Perm::RoleView),
            api::accounts::show_role,
        )
        .doc("One role.")
        .json::<api::accounts::RoleView>()
        // ----- sessions (CR 2.5, 2.6, 2.7) -----------------------------------------------
        .tag("sessions")
        .get(
            "/api/v1/sessions",
            P(Perm::SessionView),
            api::accounts::list_sessions,
        )
        .doc("Lists open sessions.")
        .json::<Vec<api::accounts::SessionView>>()
        .delete(
            "/api/v1/sessions/{handle}",
            Authenticated,
            api::accounts::terminate_session,
        )
        .doc("Terminates a session (own, or any with session.manage) (CR 2.6).")
        // ----- dual approval (CR 2.1 RE 4) -----------------------------------------------
        .tag("approvals")
        .get(
            "/api/v1/approvals",
            Authenticated,
            api::accounts::list_approvals,
        )
        .doc("Approval requests: the caller's own, or all for those who may decide them.")
        .query::<api::accounts::ApprovalFilter>()
        .json::<Vec<api::accounts::ApprovalView>>()
        .post(
            "/api/v1/approvals",
            Authenticated,
            api::accounts::request_approval,
        )
        .doc("Asks a second administrator to approve the use of a permission.")
        .body::<api::accounts::ApprovalAsk>()
        .json::<api::accounts::ApprovalView>()
        .created()
        .post(
            "/api/v1/approvals/{id}/approve",
            Authenticated,
            api::accounts::approve,
        )
        .doc("Approves a pending request (a different administrator holding the permission).")
        .body::<api::accounts::ApprovalNote>()
        .json::<api::accounts::ApprovalView>()
        .post(
            "/api/v1/approvals/{id}/reject",
            Authenticated,
            api::accounts::reject,
        )
        .doc("Rejects a pending request.")
        .body::<api::accounts::ApprovalNote>()
        .json::<api::accounts::ApprovalView>()
        // ----- access from untrusted networks (NDR 1.13 RE 1) -----------------------------
        .tag("access-requests")
        .get(
            "/api/v1/access-requests",
            P(Perm::AccessApprove),
            api::access::list,
        )
        .doc("Access requests from untrusted networks, newest first (from a trusted network).")
        .json::<Vec<crate::access::AccessRequestView>>()
        .post(
            "/api/v1/access-requests/{id}/approve",
            P(Perm::AccessApprove),
            api::access::approve,
        )
        .doc("Approves a pending access request: one session from its address (not your own).")
        .json::<crate::access::AccessRequestView>()
        .post(
            "/api/v1/access-requests/{id}/deny",
            P(Perm::AccessApprove),
            api::access::deny,
        )
        .doc("Denies a pending access request.")
        .json::<crate::access::AccessRequestView>()
        .get(
            "/api/v1/access-requests/{id}/status",
            Public,
            api::access::status,
        )
        .doc("The state of an access request, answered only to the address that made it.")
        .json::<crate::access::AccessRequestStatus>()
        // ----- conduit policy ------------------------------------------------------------
        .tag("policy")
        .get("/api/v1/policy", P(Perm::PolicyView), api::policy::show)
        .doc("The conduit policy in force: text, SHA-256, origin, roles.")
        .json::<api::policy::PolicyView>()
        .post(
            "/api/v1/policy/validate",
            P(Perm::PolicyView),
            api::policy::validate,
        )
        .doc("Validates policy text: errors with line and column, lint findings.")
        .body::<api::policy::PolicyText>()
        .json::<api::policy::Validation>()
        .get(
            "/api/v1/policy/staged",
            P(Perm::PolicyView),
            api::policy::staged,
        )
        .doc("The staged policy, if any.")
        .json::<api::policy::StagedView>()
        .put(
            "/api/v1/policy/staged",
            P(Perm::PolicyStage),
            api::policy::stage,
        )
        .doc("Stages a validated policy for review and apply.")
        .body::<api::policy::PolicyText>()
        .json::<api::policy::StagedView>()
        .delete(
            "/api/v1/policy/staged",
            P(Perm::PolicyStage),
            api::policy::discard,
        )
        .doc("Discards the staged policy.")
        .get(
            "/api/v1/policy/diff",
            P(Perm::PolicyView),
            api::policy::diff,
        )
        .doc("Unified diff of the staged policy against the one in force.")
        .json::<api::policy::Diff>()
        .post(
            "/api/v1/policy/apply",
            P(Perm::PolicyApply),
            api::policy::apply,
        )
        .doc("Puts the staged policy in force without dropping connections, and persists it.")
        .body::<api::policy::ApplyRequest>()
        .json::<api::policy::Applied>()
        // ----- island mode (NDR 5.2 RE 2) -------------------------------------------------
        .tag("status")
        .put(
            "/api/v1/island",
            P(Perm::IslandMode),
            api::observe::set_island,
        )
        .doc("Stops (on) or resumes (off) all traffic across the conduit; survives restarts.")
        .body::<api::observe::IslandSwitch>()
        .json::<api::observe::StatusView>()
        // ----- audit trail (CR 2.8-2.12, CR 6.1) ----------------------------------------
        .tag("audit")
        .get(
            "/api/v1/audit",
            P(Perm::AuditRead),
            api::observe::audit_query,
        )
        .doc("Audit events, oldest first, filtered; page with after_seq.")
        .query::<api::observe::AuditFilter>()
        .json::<api::observe::AuditPage>()
        .get(
            "/api/v1/audit/export",
            P(Perm::AuditExport),
            api::observe::audit_export,
        )
        .doc("Exports audit events as JSON lines (CR 6.1 RE 1); the export is itself audited.")
        .query::<api::observe::AuditFilter>()
        .media("application/x-ndjson")
        .post(
            "/api/v1/audit/verify",
            P(Perm::AuditRead),
            api::observe::audit_verify,
        )
        .doc("Verifies the hash chain and signed checkpoints of the whole trail.")
        .json::<api::observe::VerifyView>()
        // ----- monitoring ----------------------------------------------------------------
        .tag("status")
        .get("/api/v1/status", P(Perm::MetricsRead), api::observe::status)
        .doc("Gateway status: traffic state, listeners, policy, upstream, connections, counters.")
        .json::<api::observe::StatusView>()
        .get(
            "/api/v1/stats/traffic",
            P(Perm::MetricsRead),
            api::observe::traffic,
        )
        .doc("Traffic statistics since start.")
        .json::<api::observe::TrafficView>()
        .get("/api/v1/alerts", P(Perm::MetricsRead), api::observe::alerts)
        .doc("Recent IDS alerts, newest first.")
        .json::<Vec<api::observe::AlertView>>()
        // ----- vulnerabilities (CR 7.8, CR 3.2) --------------------------------------------
        .get(
            "/api/v1/vulnerabilities",
            P(Perm::ConfigView),
            api::vulnerabilities::vulnerabilities,
        )
        .doc("This build's SBOM checked against the advisories in DATA/advisories/ (VEX applied): the rampart vuln JSON with counts.")
        .media("application/json")
        // ----- IDS baseline (CR 6.2) ------------------------------------------------------
        .get("/api/v1/ids", P(Perm::MetricsRead), api::ids::ids)
        .doc("Where the IDS stands with its baseline: none, learning (until when) or detecting.")
        .json::<api::ids::IdsView>()
        .post(
            "/api/v1/ids/learning",
            P(Perm::PolicyApply),
            api::ids::start_learning,
        )
        .doc("Starts learning a new baseline for duration_s seconds: no alert until it ends; audited.")
        .body::<api::ids::LearningRequest>()
        .json::<api::ids::IdsView>()
        .get(
            "/api/v1/ids/baseline",
            P(Perm::ConfigView),
            api::ids::baseline,
        )
        .doc("The baseline learned or in force, as its JSON file (docs/ids.md).")
        .media("application/json")
        .get(
            "/api/v1/ids/baseline/policy",
            P(Perm::PolicyView),
            api::ids::proposed_policy,
        )
        .doc("A least-privilege conduit policy proposed from the baseline, to review and stage.")
        .media("application/toml")
        .delete(
            "/api/v1/ids/baseline",
            P(Perm::PolicyApply),
            api::ids::clear_baseline,
        )
        .doc("Drops the baseline and its file: fixed thresholds only; audited.")
        .json::<api::ids::IdsView>()
        .tag("configuration")
        .get(
            "/api/v1/config-report",
            P(Perm::ConfigView),
            api::observe::config_report,
        )
        .doc("Every security-relevant setting, machine-readable (CR 7.6 RE 1).")
        .json::<crate::report::ConfigReport>()
        .put(
            "/api/v1/banner",
            P(Perm::ConfigChange),
            api::auth::set_banner,
        )
        .doc("Sets the system use notification (CR 1.12).")
        .body::<api::auth::Banner>()
        // ----- backup and restore (CR 7.3, 7.4) --------------------------------------------
        .tag("backup")
        .post(
            "/api/v1/backups",
            P(Perm::BackupCreate),
            api::backups::create,
        )
        .doc("Creates an encrypted, signed backup of the data directory and answers with the file.")
        .body::<api::backups::NewBackup>()
        .media("application/octet-stream")
        .post(
            "/api/v1/backups/verify",
            P(Perm::BackupCreate),
            api::backups::verify,
        )
        .doc(
            "Checks an uploaded backup (body: the file): its signature by this device, and with \
         X-Rampart-Passphrase its decrypted contents. Writes nothing.",
        )
        .json::<api::backups::BackupCheck>()
        .upload()
        .post(
            "/api/v1/backups/restore",
            P(Perm::BackupRestore),
            api::backups::restore,
        )
        .doc(
            "Verifies an uploaded backup completely (X-Rampart-Passphrase; X-Rampart-Confirm: \
         restore) and stages it; the next start of the gateway puts it in place.",
        )
        .json::<api::backups::StagedRestoreView>()
        .upload()
        .accepted()
        .get(
            "/api/v1/backups/restore",
            P(Perm::BackupRestore),
            api::backups::staged,
        )
        .doc("The staged restore, if any.")
        .json::<api::backups::StagedRestoreView>()
        .delete(
            "/api/v1/backups/restore",
            P(Perm::BackupRestore),
            api::backups::discard,
        )
        .doc("Discards the staged restore.")
        // ----- decommissioning (CR 4.2, RE 1, RE 2) ----------------------------------------
        .post("/api/v1/erase", P(Perm::VaultErase), api::erase::erase)
        .doc(
            "Erases the data directory for decommissioning: always needs a second \
             administrator's approval (X-Rampart-Approval). Body {\"confirm\": \"<the data \
             directory's name>\"}. Records vault.erase (and delivers the trail to the SIEM when \
             forwarding is configured), answers 202, then the gateway stops, destroys the KEK, \
             overwrites and removes every file, and exits with code 3.",
        )
        .body::<api::erase::EraseRequest>()
        .json::<api::erase::EraseAccepted>()
        .accepted()
        .tag("configuration")
        .get("/api/v1/sbom", P(Perm::ConfigView), api::observe::sbom)
        .doc("Component inventory of this build: CycloneDX 1.6 SBOM (CR 7.8).")
        .media("application/vnd.cyclonedx+json")
        .get("/api/v1/crypto", P(Perm::ConfigView), api::observe::crypto)
        .doc(
            "Cryptographic inventory (CR 4.3): every algorithm and key, its length or curve, \
             where it lives (encrypted-file, tpm, plain-file issued to a client), its purpose \
             and the requirements it serves.",
        )
        .json::<Vec<crate::crypto_inventory::CryptoAsset>>()
        // ----- secure updates (NDR 3.10, 3.12, 3.13, 3.14) ---------------------------------
        .tag("update")
        .get("/api/v1/update", P(Perm::ConfigView), api::update::status)
        .doc(
            "The update state: the slot running, the A/B slots and boot state (committed, trial, \
             security-version floor, history), the repository, the last check, a downloaded \
             bundle.",
        )
        .json::<api::update::UpdateStatus>()
        .post("/api/v1/update/check", P(Perm::UpdateInstall), api::update::check)
        .doc(
            "Refreshes the TUF metadata of the supplier's repository (and of the owner's \
             approval repository) and reports the newest bundle this device may install; 502 \
             when a repository fails verification (nothing from it is trusted).",
        )
        .post("/api/v1/update/download", P(Perm::UpdateInstall), api::update::download)
        .doc("Checks, then downloads the newest installable bundle through TUF.")
        .post("/api/v1/update/install", P(Perm::UpdateInstall), api::update::install)
        .doc(
            "Installs the downloaded bundle into the slot that is not committed, as a trial \
             (anti-rollback: never below the security-version floor); with \"restart\": true \
             the gateway restarts into it. Dual approval when the hardening level asks for it.",
        )
        .body::<api::update::InstallRequest>()
        .json::<api::update::Installed>()
        .accepted()
        .post("/api/v1/update/rollback", P(Perm::UpdateInstall), api::update::rollback)
        .doc("Abandons the trial slot, or returns to the previous slot (never below the floor).")
        .post("/api/v1/update/restart", P(Perm::UpdateInstall), api::update::restart)
        .doc("Shuts the gateway down cleanly so that the launcher starts it again.")
        .json::<api::update::Restarting>()
        .tag("status")
        .get("/metrics", P(Perm::MetricsRead), api::observe::metrics)
        .doc("Prometheus metrics (text exposition format).")
        .media("text/plain; version=0.0.4")
        // ----- the web UI (docs/management.md, "Web UI") ---------------------------------
        .pages()
        .get("/static/ui.css", Access::Public, ui::style)
        .doc("Style sheet.")
        .get("/static/ui.js", Access::Public, ui::script)
        .doc("Script.")
        .get("/", Public, ui::auth::root)
        .doc("Start: the dashboard (or the login page).")
        .get("/login", Public, ui::auth::login_page)
        .doc("The system use notification and the login form (CR 1.12).")
        .post("/login", Public, ui::auth::login)
        .doc("Logs in from the form; sets the session cookie.")
        .post("/logout", Authenticated, ui::auth::logout)
        .doc("Ends the session.")
        .get("/account", Authenticated, ui::auth::account)
        .doc("The caller's account.")
        .get("/password", Authenticated, ui::auth::password_page)
        .doc("Change of the caller's password (forced after an initial password, CR 1.5).")
        .post("/password", Authenticated, ui::auth::change_password)
        .doc("Changes the caller's password.")
        .get("/totp", Authenticated, ui::auth::totp_page)
        .doc("TOTP enrolment (CR 1.1 RE 2).")
        .post("/totp", Authenticated, ui::auth::totp_start)
        .doc("Starts TOTP enrolment: the QR code and the secret, once.")
        .post("/totp/confirm", Authenticated, ui::auth::totp_confirm)
        .doc("Completes TOTP enrolment with a code.")
        .get("/dashboard", P(Perm::MetricsRead), ui::dashboard::dashboard)
        .doc("Live status of the gateway.")
        .get("/tokens", Authenticated, ui::tokens::tokens)
        .doc("API tokens for programs: the caller's own, or all with token.manage.")
        .post("/tokens", Authenticated, ui::tokens::create_token)
        .doc("Creates an API token and shows it once.")
        .post(
            "/tokens/{id}/revoke",
            Authenticated,
            ui::tokens::revoke_token,
        )
        .doc("Revokes an API token.")
        .post("/island/on", P(Perm::IslandMode), ui::dashboard::island_on)
        .doc("Island mode on: stops all traffic across the conduit.")
        .post(
            "/island/off",
            P(Perm::IslandMode),
            ui::dashboard::island_off,
        )
        .doc("Island mode off: traffic flows again as the policy allows.")
        .get("/alerts", P(Perm::MetricsRead), ui::alerts::alerts)
        .doc("Recent IDS alerts.")
        .get(
            "/vulnerabilities",
            P(Perm::ConfigView),
            ui::vulnerabilities::vulnerabilities,
        )
        .doc("Known vulnerabilities of this build: its SBOM against the advisories kept.")
        .get("/update", P(Perm::ConfigView), ui::update::update)
        .doc("Updates: slots, versions, the last check, install, rollback, history.")
        .post("/update/check", P(Perm::UpdateInstall), ui::update::check)
        .doc("Checks the update repository.")
        .post("/update/download", P(Perm::UpdateInstall), ui::update::download)
        .doc("Downloads the newest installable bundle.")
        .post("/update/install", P(Perm::UpdateInstall), ui::update::install)
        .doc("Installs the downloaded bundle and restarts into it.")
        .post("/update/rollback", P(Perm::UpdateInstall), ui::update::rollback)
        .doc("Rolls back.")
        .post("/update/restart", P(Perm::UpdateInstall), ui::update::restart)
        .doc("Restarts the gateway.")
        .get("/ids", P(Perm::MetricsRead), ui::ids::ids)
        .doc("The IDS baseline: its state, a learning window, clearing it.")
        .post("/ids/learning", P(Perm::PolicyApply), ui::ids::start_learning)
        .doc("Starts a learning window.")
        .post("/ids/clear", P(Perm::PolicyApply), ui::ids::clear)
        .doc("Clears the baseline.")
        .get("/users", P(Perm::UserView), ui::users::users)
        .doc("Accounts and roles.")
        .post("/users", P(Perm::UserManage), ui::users::create_user)
        .doc("Creates an account.")
        .post(
            "/users/{name}/disable",
            P(Perm::UserManage),
            ui::users::user_action,
        )
        .doc("Disables an account.")
        .post(
            "/users/{name}/enable",
            P(Perm::UserManage),
            ui::users::user_action,
        )
        .doc("Enables an account.")
        .post(
            "/users/{name}/unlock",
            P(Perm::UserManage),
            ui::users::user_action,
        )
        .doc("Unlocks an account.")
        .post(
            "/users/{name}/mfa-reset",
            P(Perm::UserManage),
            ui::users::user_action,
        )
        .doc("Removes an account's TOTP enrolment.")
        .post(
            "/users/{name}/password",
            P(Perm::UserManage),
            ui::users::reset_password,
        )
        .doc("Sets a new password to be changed at next login.")
        .get("/sessions", P(Perm::SessionView), ui::sessions::sessions)
        .doc("Open sessions.")
        .post(
            "/sessions/{handle}/terminate",
            Authenticated,
            ui::sessions::terminate,
        )
        .doc("Terminates a session.")
        .get("/approvals", Authenticated, ui::approvals::approvals)
        .doc("Dual approval requests.")
        .post("/approvals", Authenticated, ui::approvals::ask_approval)
        .doc("Asks for approval.")
        .post(
            "/approvals/{id}/approve",
            Authenticated,
            ui::approvals::decide,
        )
        .doc("Approves a request.")
        .post(
            "/approvals/{id}/reject",
            Authenticated,
            ui::approvals::decide,
        )
        .doc("Rejects a request.")
        .get(
            "/access-requests",
            P(Perm::AccessApprove),
            ui::access::access_requests,
        )
        .doc("Access requests from untrusted networks, with approve and deny.")
        .post(
            "/access-requests/{id}/approve",
            P(Perm::AccessApprove),
            ui::access::decide,
        )
        .doc("Approves an access request.")
        .post(
            "/access-requests/{id}/deny",
            P(Perm::AccessApprove),
            ui::access::decide,
        )
        .doc("Denies an access request.")
        .get("/audit", P(Perm::AuditRead), ui::audit::audit)
        .doc("The audit log: filter, page, export.")
        .post("/audit/verify", P(Perm::AuditRead), ui::audit::audit_verify)
        .doc("Verifies the audit trail.")
        .get("/backups", P(Perm::BackupCreate), ui::backups::backups)
        .doc("Backups: create, restore.")
        .post(
            "/backups",
            P(Perm::BackupCreate),
            ui::backups::create_backup,
        )
        .doc("Creates a backup and downloads it.")
        .post(
            "/backups/restore",
            P(Perm::BackupRestore),
            ui::backups::restore_backup,
        )
        .doc("Verifies an uploaded backup and stages the restore.")
        .upload()
        .post(
            "/backups/restore/discard",
            P(Perm::BackupRestore),
            ui::backups::discard_restore,
        )
        .doc("Discards the staged restore.")
        .post("/erase", P(Perm::VaultErase), ui::erase::erase)
        .doc("Erases the data directory with an approval (decommissioning).")
        .get("/about", P(Perm::ConfigView), ui::about::about)
        .doc("Version, SBOM, certificates, licences.")
        .get("/policy", P(Perm::PolicyView), ui::policy::policy)
        .doc("The policy in force, the staged one and the editor.")
        .post(
            "/policy/validate",
            P(Perm::PolicyView),
            ui::policy::validate,
        )
        .doc("Validates edited policy text; problems at their line.")
        .post("/policy/stage", P(Perm::PolicyStage), ui::policy::stage)
        .doc("Stages edited policy text.")
        .get("/policy/diff", P(Perm::PolicyView), ui::policy::diff)
        .doc("The staged policy against the one in force, with apply.")
        .post("/policy/apply", P(Perm::PolicyApply), ui::policy::apply)
        .doc("Applies the staged policy that was reviewed.")
        .post("/policy/discard", P(Perm::PolicyStage), ui::policy::discard)
        .doc("Discards the staged policy.")
        .table
}

/// The API's routes (the web UI's pages left out): what the `OpenAPI` document describes.
pub(crate) fn api_table() -> Vec<Route> {
    table().into_iter().filter(|r| !r.page).collect()
}

/// Method, path and access of every API route, for tests and documentation.
pub fn route_list() -> Vec<(Method, &'static str, Access)> {
    api_table()
        .into_iter()
        .map(|r| (r.method, r.path, r.access))
        .collect()
}

/// Builds the router: every route with its guard, the body limits, the rate limit and the
/// security headers; anything else is 404 (or 401 for anonymous callers).
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut router: Router<Arc<AppState>> = Router::new();
    for route in table() {
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
        let method_router = route
            .handler
            .route_layer(layer::from_fn_with_state(
                Arc::clone(&state),
                move |state: State<Arc<AppState>>, request: Request, next: Next| {
                    middleware::guard::guard(state, rule, request, next)
                },
            ))
            .route_layer(DefaultBodyLimit::max(limit))
            // Outermost: a body declared larger than the limit is refused before anything
            // (authentication included) waits for it.
            .route_layer(layer::from_fn(move |request: Request, next: Next| {
                middleware::size_limit::refuse_declared_oversize(limit, request, next)
            }));
        router = router.route(route.path, method_router);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(layer::from_fn_with_state(
            Arc::clone(&state),
            middleware::rate_limit::rate_limit,
        ))
        .layer(layer::from_fn(middleware::headers::security_headers))
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_route_is_documented_and_added_once() {
        let mut seen = HashSet::new();
        for route in table() {
            assert!(!route.summary.is_empty(), "{} {}", route.method, route.path);
            assert!(!route.tag.is_empty(), "{} {}", route.method, route.path);
            assert!(
                seen.insert((route.method.clone(), route.path)),
                "{} {} twice",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn pages_follow_the_api_and_stay_out_of_its_list() {
        let table = table();
        let first_page = table.iter().position(|r| r.page).unwrap();
        assert!(table[first_page..].iter().all(|r| r.page));
        assert_eq!(route_list().len(), first_page);
    }
}
