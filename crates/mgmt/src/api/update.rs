//! Secure updates through the API (NDR 3.10, NDR 3.12, NDR 3.13): the slots and boot state,
//! a check and a download through TUF, an install into the slot that is not running (behind
//! `update.install`, which the hardening level can put under dual approval), rollback, and a
//! restart into the trial slot. The work is `rampart_update`'s; every step is audited.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use rampart_audit::{Category, Outcome, Severity};
use rampart_update::device::{ChannelError, CheckResult, Device};
use rampart_update::slots::{BootState, InstallOptions, SlotName, UpdateError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{event, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

/// The update state of the component.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpdateStatus {
    /// The slot this process runs from (`a`, `b`), if it was started by the launcher.
    pub running_slot: Option<String>,
    /// Whether this process is a trial boot (commits itself after its health check).
    pub trial_boot: bool,
    /// The boot state: slots, security-version floor, history.
    #[schemars(with = "serde_json::Value")]
    pub boot_state: BootState,
    /// Whether the device is provisioned (pinned supplier root and release keys).
    pub provisioned: bool,
    /// The supplier's repository, if configured.
    pub repository: Option<String>,
    /// Whether an owner root is pinned: updates need the owner's approval (NDR 3.13).
    pub owner_approval_required: bool,
    /// The last check, if any.
    #[schemars(with = "Option<serde_json::Value>")]
    pub last_check: Option<CheckResult>,
    /// A bundle downloaded and verified, waiting to be installed (its file name).
    pub downloaded: Option<String>,
}

/// What to do after an install.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallRequest {
    /// Restart into the new slot right away (the launcher then boots it as a trial).
    #[serde(default)]
    pub restart: bool,
    /// Accept a release older than the committed one (never below the security version).
    #[serde(default)]
    pub allow_downgrade: bool,
}

/// What an install did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Installed {
    /// The slot written.
    pub slot: String,
    /// The release installed.
    pub version: String,
    /// Its security version.
    pub security_version: u64,
    /// What happens next.
    pub next: String,
}

fn device(state: &AppState) -> ApiResult<Device> {
    let dir = state
        .services
        .data
        .dir(rampart_vault::Entry::Update)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Device::new(
        dir,
        Arc::new(rampart_audit::SystemClock::new()),
    ))
}

/// This build's `ARCH-OS`, as bundles name it.
fn device_target() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

fn channel_error(e: ChannelError) -> ApiError {
    match e {
        ChannelError::NotProvisioned(m)
        | ChannelError::Nothing(m)
        | ChannelError::NotApproved(m) => ApiError::conflict(m),
        ChannelError::Tuf { .. } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "repository-not-verified",
            e.to_string(),
        ),
        other => ApiError::internal(&other),
    }
}

fn update_error(e: UpdateError) -> ApiError {
    match e {
        UpdateError::Io { .. } => ApiError::internal(&e),
        other => ApiError::conflict(other.to_string()),
    }
}

fn severity_of(e: &ChannelError) -> Severity {
    if e.is_verification_failure() {
        Severity::Alert
    } else {
        Severity::Warning
    }
}

/// `GET /api/v1/update`.
pub(crate) async fn status(State(state): State<Arc<AppState>>) -> ApiResult<Json<UpdateStatus>> {
    let device = device(&state)?;
    let launched = state.services.launched_slot;
    let status = tokio::task::spawn_blocking(move || -> Result<UpdateStatus, String> {
        let boot_state = device.slots().boot_state().map_err(|e| e.to_string())?;
        Ok(UpdateStatus {
            running_slot: launched.map(|s| s.to_string()),
            trial_boot: std::env::var_os("RAMPART_BOOT_TRIAL").is_some(),
            boot_state,
            provisioned: device.trust_dir().join("release-keys.json").exists(),
            repository: device.channel().ok().map(|c| c.supplier),
            owner_approval_required: device.owner_approval_required(),
            last_check: device.last_check(),
            downloaded: device
                .downloaded()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
        })
    })
    .await?
    .map_err(ApiError::unavailable)?;
    Ok(Json(status))
}

/// `POST /api/v1/update/check`.
pub(crate) async fn check(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<Json<CheckResult>> {
    let device = device(&state)?;
    let result = tokio::task::spawn_blocking(move || {
        let boot = device
            .slots()
            .boot_state()
            .map_err(|e| ChannelError::NotProvisioned(e.to_string()))?;
        device.check(&device_target(), &boot)
    })
    .await?;
    let built = event(
        &caller.principal,
        Some(peer),
        Category::ConfigurationChange,
        "update.checked",
    );
    let built = match &result {
        Ok(checked) => built
            .outcome(Outcome::Success)
            .details(checked.audit_details()),
        Err(e) => built
            .outcome(Outcome::Failure)
            .severity(severity_of(e))
            .details(serde_json::json!({ "error": e.to_string() })),
    }
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    Ok(Json(result.map_err(channel_error)?))
}

/// `POST /api/v1/update/download`.
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<Json<serde_json::Value>> {
    let device = device(&state)?;
    let result = tokio::task::spawn_blocking(move || {
        let boot = device
            .slots()
            .boot_state()
            .map_err(|e| ChannelError::NotProvisioned(e.to_string()))?;
        device.download(&device_target(), &boot)
    })
    .await?;
    let built = event(
        &caller.principal,
        Some(peer),
        Category::ConfigurationChange,
        "update.downloaded",
    );
    let built = match &result {
        Ok((candidate, path)) => built
            .target(path.display().to_string())
            .outcome(Outcome::Success)
            .details(serde_json::json!({ "bundle": candidate })),
        Err(e) => built
            .outcome(Outcome::Failure)
            .severity(severity_of(e))
            .details(serde_json::json!({ "error": e.to_string() })),
    }
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    let (candidate, _) = result.map_err(channel_error)?;
    Ok(Json(serde_json::json!({ "downloaded": candidate })))
}

/// `POST /api/v1/update/install`: the downloaded bundle into the slot that is not committed.
pub(crate) async fn install(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Json(request): Json<InstallRequest>,
) -> ApiResult<(StatusCode, Json<Installed>)> {
    let device = device(&state)?;
    let trust = device.trust_dir().join("release-keys.json");
    let bundle: Option<PathBuf> = device.downloaded();
    let Some(bundle) = bundle else {
        return Err(ApiError::conflict(
            "no bundle is downloaded: POST /api/v1/update/download first",
        ));
    };
    let now = state.services.identity.now();
    let allow_downgrade = request.allow_downgrade;
    let launched = state.services.launched_slot;
    let result = tokio::task::spawn_blocking(move || -> Result<_, UpdateError> {
        let keys = rampart_update::repo::read_release_keys(&trust)
            .map_err(|e| UpdateError::State(format!("the device is not provisioned: {e}")))?;
        let slots = device.slots();
        let state_before = slots.boot_state()?;
        // Never overwrite the slot this process runs from.
        let target = state_before
            .committed()
            .map_or(SlotName::A, SlotName::other);
        if launched == Some(target) {
            return Err(UpdateError::State(format!(
                "this gateway runs from slot {target}, which is on trial: commit or roll it back \
                 before installing another bundle"
            )));
        }
        let mut file =
            std::io::BufReader::new(std::fs::File::open(&bundle).map_err(|e| UpdateError::Io {
                context: format!("open {}", bundle.display()),
                source: e,
            })?);
        let installed = slots.install(
            &mut file,
            &keys,
            &InstallOptions {
                allow_downgrade,
                commit: false,
                max_attempts: rampart_update::slots::DEFAULT_MAX_ATTEMPTS,
                device_target: Some(device_target()),
                now,
            },
        )?;
        device.clear_downloads();
        Ok(installed)
    })
    .await?;
    let rollback = matches!(
        result,
        Err(UpdateError::SecurityVersionRollback { .. }
            | UpdateError::Downgrade { .. }
            | UpdateError::Bundle(_))
    );
    let built = event(
        &caller.principal,
        Some(peer),
        Category::ConfigurationChange,
        match &result {
            Ok(_) => "update.installed",
            Err(_) => "update.install_refused",
        },
    );
    let built = match &result {
        Ok(installed) => built
            .outcome(Outcome::Success)
            .severity(Severity::Notice)
            .details(serde_json::json!({
                "slot": installed.slot.as_str(),
                "version": installed.manifest.version.to_string(),
                "security_version": installed.manifest.security_version,
                "restart": request.restart,
            })),
        Err(e) => built
            .outcome(Outcome::Failure)
            .severity(if rollback {
                Severity::Alert
            } else {
                Severity::Warning
            })
            .details(serde_json::json!({ "error": e.to_string() })),
    }
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    let installed = result.map_err(update_error)?;
    let next = if request.restart {
        state.restart.notify_one();
        "the gateway restarts now; the launcher boots the new slot as a trial".to_owned()
    } else {
        "restart the gateway (POST /api/v1/update/restart) to boot the new slot as a trial"
            .to_owned()
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(Installed {
            slot: installed.slot.to_string(),
            version: installed.manifest.version.to_string(),
            security_version: installed.manifest.security_version,
            next,
        }),
    ))
}

/// `POST /api/v1/update/rollback`.
pub(crate) async fn rollback(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<Json<serde_json::Value>> {
    let device = device(&state)?;
    let now = state.services.identity.now();
    let result = tokio::task::spawn_blocking(move || device.slots().rollback(now)).await?;
    let built = event(
        &caller.principal,
        Some(peer),
        Category::ConfigurationChange,
        "update.rolled_back",
    );
    let built = match &result {
        Ok((slot, record)) => built.outcome(Outcome::Success).details(
            serde_json::json!({ "slot": slot.as_str(), "version": record.version.to_string() }),
        ),
        Err(e) => built
            .outcome(Outcome::Failure)
            .details(serde_json::json!({ "error": e.to_string() })),
    }
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    let (slot, record) = result.map_err(update_error)?;
    Ok(Json(serde_json::json!({
        "slot": slot.as_str(),
        "version": record.version.to_string(),
        "next": "the launcher boots this slot at the next start",
    })))
}

/// The answer to a restart request.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Restarting {
    /// What happens next.
    pub next: String,
}

/// `POST /api/v1/update/restart`: a clean shutdown so that the launcher (or the service
/// manager) starts the gateway again, into a trial slot if one is pending.
pub(crate) async fn restart(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<(StatusCode, Json<Restarting>)> {
    let built = event(
        &caller.principal,
        Some(peer),
        Category::ControlSystem,
        "update.restart_requested",
    )
    .outcome(Outcome::Success)
    .severity(Severity::Notice)
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    state.restart.notify_one();
    Ok((
        StatusCode::OK,
        Json(Restarting {
            next: "the gateway stops (exit code 75) for its service manager to start it again"
                .to_owned(),
        }),
    ))
}
