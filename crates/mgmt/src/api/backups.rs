//! Backups through the API (CR 7.3, CR 7.3 RE 1, CR 7.4): create and download, verify an
//! uploaded backup, and restore one. The passphrase travels in the `X-Rampart-Passphrase`
//! header (over TLS; never logged or recorded), the backup file as the request body.
//!
//! A restore cannot replace the data directory under the running gateway: it is verified and
//! restored in full into `<DATA>.restore-staged` now, audited, and put in place by the next
//! start of `rampart up`, before anything opens the data directory.

use std::io::Cursor;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_audit::{Category, Outcome, Severity};
use rampart_backup::{BackupError, CreateOptions, Passphrase};
use rampart_identity::{Password, PasswordRejected};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{event, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

/// The header that carries the backup passphrase.
pub const PASSPHRASE_HEADER: &str = "x-rampart-passphrase";
/// The header that confirms a restore (`restore`).
pub const CONFIRM_HEADER: &str = "x-rampart-confirm";

/// A backup to create.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBackup {
    /// The passphrase the backup key is derived from (argon2id): at least 12 characters, and
    /// it must meet the account password policy (for an account without MFA: at least 15
    /// characters and at most 128 by default, not on the blocklist, not easy to guess), because
    /// the backup holds every private key of the device. Keep it off the device: without it
    /// the backup cannot be restored.
    #[schemars(length(min = 12))]
    pub passphrase: String,
}

/// What verifying an uploaded backup found.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct BackupCheck {
    /// SHA-256 of the backup file, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was made (RFC 3339).
    pub created: String,
    /// The device key that signed it (this device's), hex.
    pub device_key: String,
    /// Whether the contents were decrypted and every file checked (with the passphrase);
    /// false: only the origin (signature by this device) was checked.
    pub contents_verified: bool,
    /// Files and directories in the backup, when the contents were checked.
    pub entries: Option<usize>,
}

/// A staged restore.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StagedRestoreView {
    /// SHA-256 of the backup file, hex.
    pub sha256: String,
    /// When the backup was made (RFC 3339).
    pub created: String,
    /// Who asked for the restore.
    pub requested_by: String,
    /// When (RFC 3339).
    pub requested_at: String,
    /// The last audit event in the backup.
    pub last_event_in_backup: Option<u64>,
    /// What happens next.
    pub applies: String,
}

impl From<rampart_backup::staged::StagedRestore> for StagedRestoreView {
    fn from(s: rampart_backup::staged::StagedRestore) -> StagedRestoreView {
        StagedRestoreView {
            sha256: s.sha256,
            created: s.created,
            requested_by: s.requested_by,
            requested_at: s.requested_at,
            last_event_in_backup: s.last_event_in_backup,
            applies: "at the next start of the gateway (restart rampart up); \
                      DELETE /api/v1/backups/restore discards it"
                .to_owned(),
        }
    }
}

fn passphrase_of(headers: &HeaderMap) -> ApiResult<Option<Passphrase>> {
    let Some(value) = headers.get(PASSPHRASE_HEADER) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid("X-Rampart-Passphrase must be visible ASCII text"))?;
    Passphrase::new(text.to_owned())
        .map(Some)
        .map_err(|e| ApiError::invalid(e.to_string()))
}

/// Why a new backup's passphrase was refused, for the caller.
pub(crate) fn weak_passphrase(reason: &PasswordRejected) -> String {
    format!(
        "the backup passphrase does not meet the password policy: {reason} (the backup holds \
         every private key of the device; a phrase of several unrelated words works well)"
    )
}

fn backup_error(e: BackupError) -> ApiError {
    if e.is_bad_backup() {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-backup",
            e.to_string(),
        )
    } else {
        match e {
            BackupError::WeakPassphrase(_) | BackupError::TooLarge(_) => {
                ApiError::invalid(e.to_string())
            }
            other => ApiError::internal(&other),
        }
    }
}

fn device_key(state: &AppState) -> ApiResult<rampart_vault::DevicePublicKey> {
    Ok(state
        .services
        .data
        .device_key()
        .map_err(|e| ApiError::internal(&e))?
        .public_key())
}

/// `POST /api/v1/backups`: creates a backup and answers with the file.
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Json(request): Json<NewBackup>,
) -> ApiResult<Response> {
    // The strength check of account passwords (CR 1.7): whoever holds the file can guess
    // offline, and the backup holds every private key.
    let strength = state
        .services
        .identity
        .check_passphrase_strength(&Password::from(request.passphrase.as_str()));
    let passphrase = Passphrase::new(request.passphrase).map_err(backup_error)?;
    strength.map_err(|e| ApiError::invalid(weak_passphrase(&e)))?;
    let data = state.services.data.clone();
    let made = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        rampart_backup::create(&data, &passphrase, &CreateOptions::default(), &mut out)
            .map(|summary| (summary, out))
    })
    .await?;
    let outcome = if made.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let details = match &made {
        Ok((summary, _)) => serde_json::json!({
            "sha256": summary.sha256, "size": summary.size, "created": summary.created,
            "device_key": summary.device_key.to_hex(), "entries": summary.entries,
        }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    let built = event(
        &caller.principal,
        Some(peer),
        Category::BackupRestore,
        "backup.create",
    )
    .target("data directory")
    .outcome(outcome)
    .details(details)
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    record(&state, built).await?;
    let (summary, bytes) = made.map_err(backup_error)?;
    let name = format!(
        "rampart-{}-{}.rbk",
        &summary.device_key.to_hex()[..12],
        summary.created.replace([':', '-'], "")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (
                header::HeaderName::from_static("x-rampart-backup-sha256"),
                summary.sha256,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/v1/backups/verify`: checks an uploaded backup; writes nothing.
pub(crate) async fn verify(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<BackupCheck>> {
    let passphrase = passphrase_of(&headers)?;
    let trusted = device_key(&state)?;
    let check = tokio::task::spawn_blocking(move || -> Result<BackupCheck, BackupError> {
        let mut input = Cursor::new(body);
        if let Some(passphrase) = passphrase {
            let verified = rampart_backup::verify(&mut input, trusted, &passphrase)?;
            let signed = verified.signed();
            Ok(BackupCheck {
                sha256: signed.sha256().to_owned(),
                size: signed.size(),
                created: signed.header().created.clone(),
                device_key: signed.header().device_key.clone(),
                contents_verified: true,
                entries: Some(verified.manifest().entries.len()),
            })
        } else {
            let signed = rampart_backup::check_origin(&mut input, trusted)?;
            Ok(BackupCheck {
                sha256: signed.sha256().to_owned(),
                size: signed.size(),
                created: signed.header().created.clone(),
                device_key: signed.header().device_key.clone(),
                contents_verified: false,
                entries: None,
            })
        }
    })
    .await?
    .map_err(backup_error)?;
    Ok(axum::Json(check))
}

/// `POST /api/v1/backups/restore`: verifies the uploaded backup completely and stages it.
pub(crate) async fn restore(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, axum::Json<StagedRestoreView>)> {
    if headers.get(CONFIRM_HEADER).and_then(|v| v.to_str().ok()) != Some("restore") {
        return Err(ApiError::invalid(
            "a restore replaces every account, key, policy and the audit trail at the next \
             start: confirm it with the header X-Rampart-Confirm: restore",
        ));
    }
    let passphrase = passphrase_of(&headers)?.ok_or_else(|| {
        ApiError::invalid("the backup's passphrase is needed: X-Rampart-Passphrase")
    })?;
    let trusted = device_key(&state)?;
    let root = state.services.data.root().to_owned();
    let who = caller.principal.name().to_owned();
    let staged = tokio::task::spawn_blocking(move || {
        rampart_backup::staged::stage(Cursor::new(body), &root, &passphrase, trusted, &who)
    })
    .await?;
    let (outcome, severity, details) = match &staged {
        Ok((_, record)) => (
            Outcome::Success,
            Severity::Warning,
            serde_json::json!({
                "sha256": record.sha256, "created": record.created,
                "last_event_in_backup": record.last_event_in_backup,
                "applies": "next start",
            }),
        ),
        Err(e) => (
            Outcome::Failure,
            Severity::Warning,
            serde_json::json!({ "error": e.to_string() }),
        ),
    };
    let built = event(
        &caller.principal,
        Some(peer),
        Category::BackupRestore,
        "backup.restore-staged",
    )
    .target("data directory")
    .outcome(outcome)
    .severity(severity)
    .details(details)
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    let recorded = record(&state, built).await;
    let (_, record_staged) = staged.map_err(backup_error)?;
    if let Err(e) = recorded {
        // Fail closed: a restore nobody can account for is not applied.
        let _ = rampart_backup::staged::discard(state.services.data.root());
        return Err(e);
    }
    Ok((StatusCode::ACCEPTED, axum::Json(record_staged.into())))
}

/// `GET /api/v1/backups/restore`: the staged restore, if any.
pub(crate) async fn staged(
    State(state): State<Arc<AppState>>,
) -> ApiResult<axum::Json<StagedRestoreView>> {
    rampart_backup::staged::pending(state.services.data.root())
        .map_err(|e| ApiError::internal(&e))?
        .map(|s| axum::Json(s.into()))
        .ok_or_else(|| ApiError::not_found("no restore is staged"))
}

/// `DELETE /api/v1/backups/restore`: discards the staged restore.
pub(crate) async fn discard(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<StatusCode> {
    let built = event(
        &caller.principal,
        Some(peer),
        Category::BackupRestore,
        "backup.restore-discarded",
    )
    .target("data directory")
    .outcome(Outcome::Success)
    .build()
    .map_err(|e| ApiError::internal(&e))?;
    if rampart_backup::staged::pending(state.services.data.root())
        .map_err(|e| ApiError::internal(&e))?
        .is_none()
    {
        return Err(ApiError::not_found("no restore is staged"));
    }
    record(&state, built).await?;
    rampart_backup::staged::discard(state.services.data.root())
        .map_err(|e| ApiError::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}
