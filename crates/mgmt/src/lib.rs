//! The management plane of the Rampart gateway: an HTTPS API on its own address (CR 5.1).
//!
//! - **Transport**: TLS 1.2/1.3 with the vault's suites only; a source allow-list (NDR 1.13),
//!   connection limits, handshake, header and request timeouts, body limits and a per-source
//!   rate limit (CR 7.1); HSTS, CSP and the other security headers on every answer.
//! - **Authentication**: the banner before credentials (CR 1.12); login with generic failures
//!   (CR 1.10) and lockout (CR 1.11) by the identity service; sessions in a `__Host-` cookie
//!   with a CSRF token; API tokens for programs (CR 1.14).
//! - **Authorisation**: every route has an [`Access`] rule in one table, enforced by one guard
//!   through the identity service's check before the handler runs (CR 2.1); dual approval
//!   (CR 2.1 RE 4) by naming a redeemed approval in `X-Rampart-Approval`.
//! - **Documentation**: the same table writes the `OpenAPI` 3.1 document.
//!
//! See docs/management.md.

#![forbid(unsafe_code)]
// Input from the network and from files never panics the component: errors are returned.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
pub mod api;
mod config;
pub mod crypto_inventory;
mod error;
mod extract;
mod middleware;
mod openapi;
mod refusals;
mod report;
mod router;
mod server;
mod state;
mod ui;

use std::sync::Arc;

pub use access::{ACCESS_REQUEST_HEADER, AccessRequestStatus, AccessRequestView, RequestState};
pub use config::ManagementConfig;
pub use error::{ApiError, ErrorBody, ErrorEnvelope};
pub use middleware::{APPROVAL_HEADER, Access, CSRF_HEADER, SESSION_COOKIE};
pub use openapi::{document as openapi_document, document_json as openapi_json};
pub use report::{
    ConfigReport, ReportComponent, ReportInputs, SCHEMA_VERSION, SelfTest, Setting,
    build_from as config_report,
};
pub use router::route_list;
pub use server::{RunningManagement, StartError};
pub use state::Services;

/// The `CycloneDX` 1.6 SBOM of this build (CR 7.8): the packages the `rampart` binary links,
/// made from the resolved dependency graph by `sbom/generate.rs`, committed, proven exact by
/// the SBOM test, and checked against the `Cargo.lock` being built by the build script.
pub const SBOM_JSON: &str = include_str!("../sbom/rampart.cdx.json");

/// Starts the management plane.
///
/// # Errors
/// [`StartError`] when the certificate or key cannot be used or the address cannot be bound.
pub async fn start(
    config: ManagementConfig,
    services: Services,
) -> Result<RunningManagement, StartError> {
    let state = Arc::new(
        state::AppState::new(services, config).map_err(|e| StartError::Random(e.to_string()))?,
    );
    let router = router::router(Arc::clone(&state));
    server::start(state, router).await
}
