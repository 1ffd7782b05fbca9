//! Decommissioning through the API (CR 4.2, RE 1, RE 2): `POST /api/v1/erase`, behind
//! `vault.erase`, which always needs a second administrator's approval (CR 2.1 RE 4,
//! `rampart_identity::ApprovalPolicy::ALWAYS`). The plane checks the confirmation and that no
//! other erase is in flight, then hands the erase to the process that runs it (a
//! [`Decommission`]): that records it in the audit trail (and delivers the trail to the SIEM
//! when forwarding is configured) before the plane answers 202, then stops the listeners and
//! erases the data directory with `rampart_vault::erase`, as `rampart erase` does.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use rampart_audit::Actor;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::actor_of;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::middleware::Caller;
use crate::state::{AppState, Peer};

/// The exit code of a gateway that stopped because its data directory was erased through the
/// API: distinct from a stop (0), a failure (1), bad input (2) and a restart (75), so that a
/// service manager does not start it again (systemd: `RestartPreventExitStatus=3`).
pub const ERASED_EXIT_CODE: u8 = 3;

/// The body of `POST /api/v1/erase`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The data directory's name (its last path component), typed as a confirmation, as
    /// `rampart erase` asks for on a terminal.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// What an accepted erase will do.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EraseAccepted {
    /// The data directory that will be erased.
    pub data_dir: String,
    /// The sequence number of the `vault.erase` audit event, recorded before anything is
    /// destroyed.
    pub audit_seq: u64,
    /// The collector the audit trail (with that event) was delivered to, if forwarding is
    /// configured.
    pub forwarded_to: Option<String>,
    /// What happens next.
    pub next: String,
}

/// Who asked for an erase, handed to the [`Decommission`] of the process.
#[derive(Debug, Clone)]
pub struct EraseOrder {
    /// The caller, as the audit trail names it.
    pub actor: Actor,
    /// The caller's address.
    pub source: Option<IpAddr>,
    /// The data directory to erase.
    pub data: PathBuf,
}

/// What the process did before the erase: the event recorded, where the trail went.
#[derive(Debug, Clone)]
pub struct Announced {
    /// The sequence number of the `vault.erase` event.
    pub seq: u64,
    /// The collector the trail was delivered to, if any.
    pub forwarded_to: Option<String>,
}

/// The process that runs the plane and owns the data directory (`rampart up`): it records an
/// erase and delivers the trail before anything is destroyed. The plane only calls it; the
/// erase itself happens once the plane has stopped (see
/// [`crate::RunningManagement::erase_requested`]).
pub trait Decommission: Send + Sync {
    /// Records the `vault.erase` event for `order` and, when forwarding is configured,
    /// delivers the audit trail to the SIEM. Runs on the blocking pool.
    ///
    /// # Errors
    /// Why the erase must not happen (the event could not be recorded, or the trail could not
    /// be delivered); the refusal is recorded in the trail when it can be.
    fn announce(&self, order: &EraseOrder) -> Result<Announced, String>;
}

/// The erase state of the plane: the process's [`Decommission`], and whether an erase is in
/// flight (at most one; once accepted the plane stops).
#[derive(Default)]
pub(crate) struct EraseControl {
    hook: OnceLock<Arc<dyn Decommission>>,
    in_flight: AtomicBool,
    pub(crate) ordered: tokio::sync::Notify,
}

impl EraseControl {
    pub(crate) fn set(&self, hook: Arc<dyn Decommission>) -> bool {
        self.hook.set(hook).is_ok()
    }
}

/// Clears the in-flight flag when an erase is refused after it was taken.
struct InFlight<'a>(&'a AtomicBool, bool);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(false, Ordering::SeqCst);
        }
    }
}

/// The name `confirm` must carry: the data directory's last path component.
pub(crate) fn directory_name(state: &AppState) -> String {
    let root = state.services.data.root();
    root.canonicalize()
        .ok()
        .as_deref()
        .and_then(|p| p.file_name())
        .or_else(|| root.file_name())
        .map_or_else(
            || root.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
}

/// `POST /api/v1/erase`: checks the confirmation, takes the one erase slot, has the process
/// record the erase (and deliver the trail), answers 202, and lets the process stop and erase.
pub(crate) async fn erase(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Extension(peer): Extension<Peer>,
    Json(request): Json<EraseRequest>,
) -> ApiResult<(StatusCode, Json<EraseAccepted>)> {
    let name = directory_name(&state);
    match request.confirm.as_deref() {
        None => {
            return Err(ApiError::invalid(format!(
                "confirm: missing; type the data directory's name ({name}) to erase it"
            )));
        }
        Some(typed) if typed != name => {
            return Err(ApiError::invalid(format!(
                "confirm: '{typed}' is not the data directory's name ({name}); nothing was erased"
            )));
        }
        Some(_) => {}
    }
    let control = &state.erase;
    if control
        .in_flight
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return Err(ApiError::conflict(
            "an erase of this data directory is already in flight",
        ));
    }
    let mut slot = InFlight(&control.in_flight, false);
    let Some(hook) = control.hook.get().map(Arc::clone) else {
        return Err(ApiError::unavailable(
            "this process cannot erase its data directory (it is not a gateway started with \
             `rampart up`); use `rampart erase` on the stopped gateway",
        ));
    };
    let data = state.services.data.root().to_owned();
    let order = EraseOrder {
        actor: actor_of(&caller.principal),
        source: Some(peer.0.ip()),
        data: data.clone(),
    };
    let announced = tokio::task::spawn_blocking(move || hook.announce(&order)).await?;
    let announced = announced
        .map_err(|reason| ApiError::unavailable(format!("{reason}; nothing was erased")))?;
    slot.1 = true;
    control.ordered.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(EraseAccepted {
            data_dir: data.display().to_string(),
            audit_seq: announced.seq,
            forwarded_to: announced.forwarded_to,
            next: format!(
                "the gateway stops its listeners, destroys the key-encryption key, overwrites \
                 and removes every file of {}, verifies that nothing remains, prints the report \
                 on its console and exits with code {ERASED_EXIT_CODE}",
                data.display()
            ),
        }),
    ))
}
