//! The request size filter (CR 7.1): a body declared larger than the route's limit is refused
//! before anything, authentication included, waits for it.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Answers 413 at once when `Content-Length` exceeds the route's body limit (the body
/// extractors enforce the limit for bodies without a declared length).
pub(crate) async fn refuse_declared_oversize(
    limit: usize,
    request: Request,
    next: Next,
) -> Response {
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
