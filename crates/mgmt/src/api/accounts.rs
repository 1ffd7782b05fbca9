//! Users, roles, sessions, API tokens and dual approval: thin handlers over the identity
//! service, which checks the caller's rights again for the target and audits every change.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use jiff::SignedDuration;
use rampart_identity::{
    AccountInfo, AccountKind, AccountName, ApprovalRequest, NewAccount, Password, Permission,
    RoleInfo, RoleName, SessionInfo, TokenInfo,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::with_identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::middleware::Caller;
use crate::state::AppState;

fn account_name(text: &str) -> ApiResult<AccountName> {
    AccountName::parse(text).map_err(|e| ApiError::invalid(e.to_string()))
}

fn role_name(text: &str) -> ApiResult<RoleName> {
    RoleName::parse(text).map_err(|e| ApiError::invalid(e.to_string()))
}

/// An account.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::struct_excessive_bools)] // A flat view of independent flags.
pub struct AccountView {
    /// The name.
    pub name: String,
    /// `human` or `process`.
    pub kind: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Whether it may log in.
    pub enabled: bool,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Expires (RFC 3339), if set.
    pub expires_at: Option<String>,
    /// Locked by failed logins now.
    pub locked: bool,
    /// Until when, if the lock ends by itself.
    pub locked_until: Option<String>,
    /// Failed logins counted towards the lockout.
    pub failed_logins: i64,
    /// The password must be changed at next login.
    pub must_change_password: bool,
    /// TOTP is set up.
    pub mfa_enrolled: bool,
}

impl From<AccountInfo> for AccountView {
    fn from(a: AccountInfo) -> AccountView {
        AccountView {
            name: a.name,
            kind: match a.kind {
                AccountKind::Human => "human",
                _ => "process",
            }
            .to_owned(),
            roles: a.roles,
            enabled: a.enabled,
            created_at: a.created_at.to_string(),
            expires_at: a.expires_at.map(|t| t.to_string()),
            locked: a.locked,
            locked_until: a.locked_until.map(|t| t.to_string()),
            failed_logins: a.failed_logins,
            must_change_password: a.must_change_password,
            mfa_enrolled: a.mfa_enrolled,
        }
    }
}

/// A new human account.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The name: lower-case letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// Roles to assign.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The initial password (checked against the password policy).
    pub password: String,
    /// Whether the password must be changed at first login; default true.
    #[serde(default = "yes")]
    pub must_change_password: bool,
}

fn yes() -> bool {
    true
}

/// A password set by an administrator.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// The new password.
    pub password: String,
    /// Whether it must be changed at next login; default true.
    #[serde(default = "yes")]
    pub must_change_password: bool,
}

/// A role to assign.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    /// The role.
    pub role: String,
}

/// A role.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RoleView {
    /// The name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Built in (cannot be deleted).
    pub builtin: bool,
    /// Members must use MFA.
    pub mfa_required: bool,
    /// Permissions it grants.
    pub permissions: Vec<String>,
    /// Accounts holding it.
    pub members: Vec<String>,
}

impl From<RoleInfo> for RoleView {
    fn from(r: RoleInfo) -> RoleView {
        RoleView {
            name: r.name.as_str().to_owned(),
            description: r.description,
            builtin: r.builtin,
            mfa_required: r.mfa_required,
            permissions: r
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            members: r.members,
        }
    }
}

/// A session.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SessionView {
    /// The handle to terminate it with (not the session id).
    pub handle: i64,
    /// The account.
    pub account: String,
    /// How it logged in.
    pub method: String,
    /// Started (RFC 3339).
    pub created_at: String,
    /// Last request (RFC 3339).
    pub last_seen_at: String,
    /// Locks when idle until (RFC 3339).
    pub idle_expires_at: String,
    /// Ends at the latest (RFC 3339).
    pub expires_at: String,
    /// Source address.
    pub source: Option<String>,
}

impl From<SessionInfo> for SessionView {
    fn from(s: SessionInfo) -> SessionView {
        SessionView {
            handle: s.handle,
            account: s.account,
            method: super::enum_text(&s.method),
            created_at: s.created_at.to_string(),
            last_seen_at: s.last_seen_at.to_string(),
            idle_expires_at: s.idle_expires_at.to_string(),
            expires_at: s.expires_at.to_string(),
            source: s.source.map(|a| a.to_string()),
        }
    }
}

/// An API token (never its secret).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TokenView {
    /// Its id.
    pub id: i64,
    /// The account it acts for.
    pub account: String,
    /// The one role it carries.
    pub role: String,
    /// What it is for.
    pub label: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Expires (RFC 3339).
    pub expires_at: String,
    /// Revoked (RFC 3339), if it was.
    pub revoked_at: Option<String>,
    /// Last used (RFC 3339).
    pub last_used_at: Option<String>,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> TokenView {
        TokenView {
            id: t.id,
            account: t.account,
            role: t.role,
            label: t.label,
            created_at: t.created_at.to_string(),
            expires_at: t.expires_at.to_string(),
            revoked_at: t.revoked_at.map(|x| x.to_string()),
            last_used_at: t.last_used_at.map(|x| x.to_string()),
        }
    }
}

/// A token to create.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// The account it acts for (a process account, or the caller's own).
    pub account: String,
    /// The one role it carries, which the account must hold.
    pub role: String,
    /// What it is for.
    pub label: String,
    /// Lifetime in days (at most the configured maximum).
    #[schemars(range(min = 1))]
    pub lifetime_days: u32,
}

/// A created token: the secret is shown only here, once.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct NewTokenAnswer {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// The token's details.
    pub info: TokenView,
}

/// An approval request.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalView {
    /// Its id.
    pub id: i64,
    /// Who asked.
    pub requester: String,
    /// The permission.
    pub permission: String,
    /// The target, if one.
    pub target: Option<String>,
    /// Why.
    pub reason: String,
    /// `pending`, `approved`, `rejected`, `redeemed` or `expired`.
    pub state: String,
    /// Asked (RFC 3339).
    pub requested_at: String,
    /// Expires (RFC 3339).
    pub expires_at: String,
}

impl From<ApprovalRequest> for ApprovalView {
    fn from(a: ApprovalRequest) -> ApprovalView {
        ApprovalView {
            id: a.id,
            requester: a.requester,
            permission: a.permission.as_str().to_owned(),
            target: a.target,
            reason: a.reason,
            state: super::enum_text(&a.state),
            requested_at: a.requested_at.to_string(),
            expires_at: a.expires_at.to_string(),
        }
    }
}

/// Filter of the approval list.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalFilter {
    /// Only pending requests.
    #[serde(default)]
    pub pending: bool,
}

/// A request for approval.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalAsk {
    /// The permission to use, e.g. `policy.apply`.
    pub permission: String,
    /// The target, e.g. the account to remove.
    #[serde(default)]
    pub target: Option<String>,
    /// Why.
    pub reason: String,
}

/// A decision note.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalNote {
    /// A note for the trail.
    #[serde(default)]
    pub note: String,
}

/// `GET /api/v1/users`.
pub(crate) async fn list_users(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<AccountView>>> {
    let list = with_identity(&state, move |id| Ok(id.list_accounts(&caller.principal)?)).await?;
    Ok(Json(list.into_iter().map(AccountView::from).collect()))
}

/// `POST /api/v1/users`.
pub(crate) async fn create_user(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(new): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let mut account =
        NewAccount::new(account_name(&new.name)?).must_change_password(new.must_change_password);
    for role in &new.roles {
        account = account.role(role_name(role)?);
    }
    let info = with_identity(&state, move |id| {
        let password = Password::new(new.password);
        Ok(id.create_user(&caller.principal, &account, &password)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(info.into())))
}

/// `GET /api/v1/users/{name}`.
pub(crate) async fn show_user(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<Json<AccountView>> {
    let name = account_name(&name)?;
    let info = with_identity(&state, move |id| Ok(id.account(&caller.principal, &name)?)).await?;
    Ok(Json(info.into()))
}

macro_rules! account_action {
    ($fn_name:ident, $method:ident, $doc:literal) => {
        #[doc = $doc]
        pub(crate) async fn $fn_name(
            State(state): State<Arc<AppState>>,
            Extension(caller): Extension<Caller>,
            Path(name): Path<String>,
        ) -> ApiResult<StatusCode> {
            let name = account_name(&name)?;
            with_identity(&state, move |id| Ok(id.$method(&caller.principal, &name)?)).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

account_action!(
    remove_user,
    remove_account,
    "`DELETE /api/v1/users/{name}`."
);
account_action!(
    disable_user,
    disable_account,
    "`POST /api/v1/users/{name}/disable`."
);
account_action!(
    enable_user,
    enable_account,
    "`POST /api/v1/users/{name}/enable`."
);
account_action!(
    unlock_user,
    unlock_account,
    "`POST /api/v1/users/{name}/unlock`."
);
account_action!(
    reset_mfa,
    reset_mfa,
    "`POST /api/v1/users/{name}/mfa/reset`."
);

/// `POST /api/v1/users/{name}/password`.
pub(crate) async fn reset_password(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    Json(reset): Json<PasswordReset>,
) -> ApiResult<StatusCode> {
    let name = account_name(&name)?;
    with_identity(&state, move |id| {
        let password = Password::new(reset.password);
        Ok(id.set_password(
            &caller.principal,
            &name,
            &password,
            reset.must_change_password,
        )?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{name}/roles`.
pub(crate) async fn assign_role(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    Json(assignment): Json<RoleAssignment>,
) -> ApiResult<StatusCode> {
    let name = account_name(&name)?;
    let role = role_name(&assignment.role)?;
    with_identity(&state, move |id| {
        Ok(id.assign_role(&caller.principal, &name, &role)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/users/{name}/roles/{role}`.
pub(crate) async fn unassign_role(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path((name, role)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let name = account_name(&name)?;
    let role = role_name(&role)?;
    with_identity(&state, move |id| {
        Ok(id.unassign_role(&caller.principal, &name, &role)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/roles`.
pub(crate) async fn list_roles(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<RoleView>>> {
    let roles = with_identity(&state, move |id| Ok(id.list_roles(&caller.principal)?)).await?;
    Ok(Json(roles.into_iter().map(RoleView::from).collect()))
}

/// `GET /api/v1/roles/{name}`.
pub(crate) async fn show_role(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<Json<RoleView>> {
    let name = role_name(&name)?;
    let role = with_identity(&state, move |id| Ok(id.role(&caller.principal, &name)?)).await?;
    Ok(Json(role.into()))
}

/// `GET /api/v1/sessions`.
pub(crate) async fn list_sessions(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let list = with_identity(&state, move |id| {
        Ok(id.list_sessions(&caller.principal, None)?)
    })
    .await?;
    Ok(Json(list.into_iter().map(SessionView::from).collect()))
}

/// `DELETE /api/v1/sessions/{handle}`.
pub(crate) async fn terminate_session(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(handle): Path<i64>,
) -> ApiResult<StatusCode> {
    with_identity(&state, move |id| {
        Ok(id.terminate_session(&caller.principal, handle)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tokens`.
pub(crate) async fn list_tokens(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<TokenView>>> {
    let list = with_identity(&state, move |id| {
        // Everyone's with token.manage, else the caller's own.
        let all = id.list_tokens(&caller.principal, None);
        match all {
            Ok(list) => Ok(list),
            Err(rampart_identity::IdentityError::Denied(_)) => {
                let own = caller.principal.account().cloned();
                Ok(id.list_tokens(&caller.principal, own.as_ref())?)
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    Ok(Json(list.into_iter().map(TokenView::from).collect()))
}

/// `POST /api/v1/tokens`.
pub(crate) async fn create_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewTokenAnswer>)> {
    let owner = account_name(&request.account)?;
    let role = role_name(&request.role)?;
    if request.lifetime_days == 0 {
        return Err(ApiError::invalid("lifetime_days must be at least 1"));
    }
    let lifetime = SignedDuration::from_hours(i64::from(request.lifetime_days) * 24);
    let created = with_identity(&state, move |id| {
        Ok(id.create_token(&caller.principal, &owner, &role, &request.label, lifetime)?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenAnswer {
            token: created.token.expose_secret().to_owned(),
            info: created.info.into(),
        }),
    ))
}

/// `DELETE /api/v1/tokens/{id}`.
pub(crate) async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(token_id): Path<i64>,
) -> ApiResult<StatusCode> {
    with_identity(&state, move |id| {
        Ok(id.revoke_token(&caller.principal, token_id)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/approvals`.
pub(crate) async fn list_approvals(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(filter): Query<ApprovalFilter>,
) -> ApiResult<Json<Vec<ApprovalView>>> {
    let list = with_identity(&state, move |id| {
        Ok(id.list_approvals(&caller.principal, filter.pending)?)
    })
    .await?;
    Ok(Json(list.into_iter().map(ApprovalView::from).collect()))
}

/// `POST /api/v1/approvals`.
pub(crate) async fn request_approval(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Json(ask): Json<ApprovalAsk>,
) -> ApiResult<(StatusCode, Json<ApprovalView>)> {
    let permission: Permission = ask
        .permission
        .parse()
        .map_err(|e: rampart_identity::UnknownPermission| ApiError::invalid(e.to_string()))?;
    let request = with_identity(&state, move |id| {
        Ok(id.request_approval(
            &caller.principal,
            permission,
            ask.target.as_deref(),
            &ask.reason,
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(request.into())))
}

/// `POST /api/v1/approvals/{id}/approve`.
pub(crate) async fn approve(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(request_id): Path<i64>,
    Json(note): Json<ApprovalNote>,
) -> ApiResult<Json<ApprovalView>> {
    let decided = with_identity(&state, move |id| {
        Ok(id.approve(&caller.principal, request_id, &note.note)?)
    })
    .await?;
    Ok(Json(decided.into()))
}

/// `POST /api/v1/approvals/{id}/reject`.
pub(crate) async fn reject(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(request_id): Path<i64>,
    Json(note): Json<ApprovalNote>,
) -> ApiResult<Json<ApprovalView>> {
    let decided = with_identity(&state, move |id| {
        Ok(id.reject(&caller.principal, request_id, &note.note)?)
    })
    .await?;
    Ok(Json(decided.into()))
}
