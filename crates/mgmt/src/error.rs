//! The one error envelope of the API: `{"error": {"status": 403, "code": "forbidden",
//! "message": "…"}}`. Messages name what is wrong without revealing whether an account exists
//! (CR 1.10) or anything about internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rampart_identity::{DenyReason, IdentityError, LoginError, SessionError, TokenError};
use schemars::JsonSchema;
use serde::Serialize;

/// An API error: an HTTP status, a stable machine-readable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code, e.g. `unauthenticated`, `forbidden`, `invalid`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The error inside [`ErrorEnvelope`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// The HTTP status code.
    pub status: u16,
    /// A stable machine-readable code.
    pub code: String,
    /// A human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is malformed or a value is out of range.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// 401: no valid credentials.
    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "authentication required",
        )
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 503: a component the request needs is not available (e.g. the audit trail cannot
    /// record, so the action is refused: fail closed).
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500 with a generic message; the detail goes to the log, not to the client.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "management request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the component log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                status: self.status.as_u16(),
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> ApiError {
        match e {
            IdentityError::Denied(denied) => deny_reason(denied.reason),
            IdentityError::AccountNotFound(_)
            | IdentityError::RoleNotFound(_)
            | IdentityError::ApprovalNotFound(_)
            | IdentityError::SessionNotFound(_)
            | IdentityError::TokenNotFound(_)
            | IdentityError::OverrideNotFound(_) => ApiError::not_found(e.to_string()),
            IdentityError::AlreadyExists { .. }
            | IdentityError::ApprovalNotPending { .. }
            | IdentityError::LastAdmin { .. }
            | IdentityError::SelfApproval(_) => ApiError::conflict(e.to_string()),
            // A wrong current password, or a kind of login that cannot do this (an API
            // token cannot change a password or enrol TOTP). Not 401: the caller's own
            // credentials are still valid.
            IdentityError::AuthenticationFailed => ApiError::new(
                StatusCode::FORBIDDEN,
                "authentication-failed",
                "authentication failed: a wrong current password, or a login that cannot do this",
            ),
            IdentityError::Random(ref r) => ApiError::internal(r),
            IdentityError::AuditUnavailable(_) => ApiError::unavailable(
                "the audit trail cannot record the action, so it was not done",
            ),
            IdentityError::Storage(ref s) => ApiError::internal(s),
            other => ApiError::invalid(other.to_string()),
        }
    }
}

/// The response for an authorisation denial.
pub(crate) fn deny_reason(reason: DenyReason) -> ApiError {
    match reason {
        DenyReason::ApprovalRequired => ApiError::new(
            StatusCode::FORBIDDEN,
            "approval-required",
            format!(
                "{reason}: request it with POST /api/v1/approvals, then repeat this request \
                 with the header X-Rampart-Approval: <id> once approved"
            ),
        ),
        DenyReason::PasswordChangeRequired => ApiError::new(
            StatusCode::FORBIDDEN,
            "password-change-required",
            reason.to_string(),
        ),
        DenyReason::MfaEnrolmentRequired => ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa-enrolment-required",
            reason.to_string(),
        ),
        DenyReason::AuditUnavailable => ApiError::unavailable(
            "the audit trail cannot record the decision, so the action was refused",
        ),
        _ => ApiError::forbidden(format!("not allowed: {reason}")),
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> ApiError {
        match e {
            // One message for every failure (CR 1.10).
            LoginError::Failed => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "login-failed",
                "login failed: wrong user name, password or code, or the account cannot log in now",
            ),
            LoginError::AuditUnavailable(_) => {
                ApiError::unavailable("the audit trail cannot record logins; nobody is logged in")
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> ApiError {
        match e {
            SessionError::Invalid => ApiError::unauthenticated(),
            SessionError::LimitReached { .. } => ApiError::conflict(e.to_string()),
            SessionError::AuditUnavailable(_) => {
                ApiError::unavailable("the audit trail cannot record sessions")
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> ApiError {
        match e {
            TokenError::Invalid => ApiError::unauthenticated(),
            TokenError::AuditUnavailable(_) => {
                ApiError::unavailable("the audit trail cannot record token use")
            }
            other => ApiError::internal(&other),
        }
    }
}

/// A blocking task failed to finish (panicked or was cancelled).
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(&e)
    }
}

/// Shorthand for handler results.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
