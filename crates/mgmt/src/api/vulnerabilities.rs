//! This build's own inventory against the advisories the operator keeps in
//! `DATA/advisories/` (CR 7.8 component inventory; CR 3.2, 3.4: known vulnerabilities of the
//! component's software): what `rampart vuln self` does, on the running component.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rampart_vuln::{Inventory, Match, match_inventory};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The result of checking this build's SBOM against the advisories kept.
pub(crate) struct SelfCheck {
    /// Advisories read.
    pub(crate) advisories: usize,
    /// VEX statements read.
    pub(crate) statements: usize,
    /// Components in the SBOM.
    pub(crate) components: usize,
    /// Every match, VEX applied.
    pub(crate) matches: Vec<Match>,
    /// Expired or inapplicable VEX statements.
    pub(crate) warnings: Vec<String>,
}

impl SelfCheck {
    /// Matches that are affected or under investigation and not covered by VEX.
    pub(crate) fn open(&self) -> usize {
        self.matches.iter().filter(|m| m.is_open()).count()
    }
}

/// Checks this build's SBOM against `DATA/advisories/` as of `now` (VEX expiry by its date,
/// the trusted providers' keys and signatures by the second). Blocking (reads files).
///
/// # Errors
/// A text naming the file that cannot be read or fails its checks.
pub(crate) fn self_check(
    data: &rampart_vault::DataDir,
    now: jiff::Timestamp,
) -> Result<SelfCheck, String> {
    let today = jiff::tz::Offset::UTC.to_datetime(now).date();
    let feeds = rampart_vuln::load::feed_directory(
        &data.file(rampart_vault::Entry::Advisories),
        u64::try_from(now.as_second()).unwrap_or(0),
    )
    .map_err(|e| e.to_string())?;
    let inventory =
        Inventory::from_json(crate::SBOM_JSON, "this build's SBOM").map_err(|e| e.to_string())?;
    let mut matches = match_inventory(
        &inventory,
        &feeds.advisories,
        &rampart_vuln::Options::default(),
    );
    let warnings = rampart_vuln::vex::apply(&mut matches, &feeds.statements, today);
    Ok(SelfCheck {
        advisories: feeds.advisories.len(),
        statements: feeds.statements.len(),
        components: inventory.components.len(),
        matches,
        warnings,
    })
}

/// Now, by the component's clock.
pub(crate) fn now(state: &AppState) -> jiff::Timestamp {
    state.services.identity.now()
}

/// `GET /api/v1/vulnerabilities`: the advisories that affect this build, in the JSON of
/// `rampart vuln match --format json` (schemas/vuln/matches.schema.json) with counts.
pub(crate) async fn vulnerabilities(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let check = {
        let state = Arc::clone(&state);
        tokio::task::spawn_blocking(move || self_check(&state.services.data, now(&state))).await?
    }
    .map_err(|e| ApiError::unavailable(format!("the advisories cannot be read: {e}")))?;
    let mut body: serde_json::Value =
        serde_json::from_str(&rampart_vuln::report::json(&check.matches))
            .map_err(|e| ApiError::internal(&e))?;
    if let Some(object) = body.as_object_mut() {
        object.insert("advisories".into(), check.advisories.into());
        object.insert("vex_statements".into(), check.statements.into());
        object.insert("components".into(), check.components.into());
        object.insert("open".into(), check.open().into());
        object.insert("warnings".into(), check.warnings.clone().into());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}
