//! The per-source request rate limit of the management plane (CR 7.1): a source over its rate
//! is answered 429 with `Retry-After`, counted, and its refusal audited (aggregated).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::{AppState, HttpCounters, Peer};

/// Counts every request and refuses those over their source's rate.
pub(crate) async fn rate_limit(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
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
