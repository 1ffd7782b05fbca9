//! The IDS of the running gateway (CR 6.2): a baseline of normal traffic learned live over
//! a learning window (started from the management API, the web UI or the CLI, and
//! audited), kept in the data directory across restarts, and the anomaly alerts that
//! aggregation held back, reported once per counting window.

use std::sync::Arc;
use std::time::Duration;

use rampart_audit::{Category, Outcome, Severity};
use rampart_conduit::{Adaptation, Baseline, LearningPeriod, LearningState};
use rampart_vault::{DataDir, Entry};
use serde_json::json;
use tokio::sync::watch;

use crate::audit::{GatewayEvent, Who};
use crate::state::Shared;

/// Where the live baseline is kept.
pub(crate) const BASELINE_FILE: Entry = Entry::IdsBaseline;
/// The longest learning window that can be asked for (30 days).
pub const MAX_LEARNING: Duration = Duration::from_hours(30 * 24);
/// How often the learning window's end is checked and held-back alerts are reported.
const TICK: Duration = Duration::from_secs(1);

/// Reads the saved baseline, if there is one.
///
/// # Errors
/// A text naming the file and what is wrong with it.
pub(crate) fn load_baseline(data: &DataDir) -> Result<Option<Baseline>, String> {
    let path = data.file(BASELINE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text =
        rampart_vault::read_capped_text(&path, rampart_conduit::baseline::MAX_BASELINE_BYTES)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    Baseline::from_json(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts a learning window of `duration`: recorded first (no record, no change).
pub(crate) async fn start_learning(
    shared: &Shared,
    duration: Duration,
    adaptation: Adaptation,
    by: &str,
) -> Result<LearningState, String> {
    if duration.is_zero() || duration > MAX_LEARNING {
        return Err(format!(
            "a learning window of {} s is out of range (1 s to {} s)",
            duration.as_secs(),
            MAX_LEARNING.as_secs()
        ));
    }
    let now = shared.ids_time_us();
    let until = now.saturating_add(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX));
    let event = GatewayEvent::new(
        Category::ConfigurationChange,
        "ids.learning_started",
        Who::Gateway(by.to_owned()),
    )
    .severity(Severity::Notice)
    .essential()
    .details(json!({
        "by": by,
        "duration_s": duration.as_secs(),
        "adaptation": adaptation.to_string(),
        "until_us": until,
    }));
    if !shared.record(event).await {
        return Err("the start of learning could not be recorded in the audit trail".into());
    }
    tracing::warn!(
        by,
        duration_s = duration.as_secs(),
        "IDS learning started: no alert until it ends"
    );
    Ok(shared.with_ids(|ids| {
        ids.start_learning(LearningPeriod::Until(until), adaptation);
        ids.learning_state()
    }))
}

/// Drops the baseline and its file: the fixed-threshold detectors only.
pub(crate) async fn clear_baseline(shared: &Shared, by: &str) -> Result<(), String> {
    let event = GatewayEvent::new(
        Category::ConfigurationChange,
        "ids.baseline_cleared",
        Who::Gateway(by.to_owned()),
    )
    .severity(Severity::Warning)
    .essential()
    .details(json!({ "by": by }));
    if !shared.record(event).await {
        return Err("clearing the baseline could not be recorded in the audit trail".into());
    }
    shared.with_ids(rampart_conduit::Ids::clear_baseline);
    let path = shared.data_root.join(BASELINE_FILE.relative_path());
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Ends learning windows on time, saves what was learned, and reports held-back alerts.
pub(crate) async fn watch(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let window = Duration::from_micros(shared.ids_window_us());
    let mut last_flush = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let now = shared.ids_time_us();
        let learned = shared.with_ids(|ids| {
            if ids.advance(now) {
                ids.baseline().cloned()
            } else {
                None
            }
        });
        if let Some(baseline) = learned {
            save(&shared, baseline).await;
        }
        if last_flush.elapsed() >= window {
            last_flush = tokio::time::Instant::now();
            let mut alerts = Vec::new();
            shared.with_ids(|ids| ids.flush(now, &mut alerts));
            for alert in alerts {
                let who = Who::Address(alert.client.clone());
                let source = alert.client.clone();
                shared.remember_alert(&alert);
                if !shared.record_alerts(vec![alert], &who, &source).await {
                    break;
                }
            }
        }
    }
}

/// Writes the learned baseline (0600, atomically) and records the end of learning.
async fn save(shared: &Shared, baseline: Baseline) {
    let root = shared.data_root.clone();
    let path = root.join(BASELINE_FILE.relative_path());
    let text = baseline.to_json();
    let written = tokio::task::spawn_blocking(move || {
        let data = DataDir::open(&root).map_err(|e| e.to_string())?;
        data.dir(Entry::Gateway).map_err(|e| e.to_string())?;
        rampart_vault::write_atomic(&data.file(BASELINE_FILE), text.as_bytes(), 0o600)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    let event = GatewayEvent::new(
        Category::ConfigurationChange,
        "ids.learning_finished",
        Who::Gateway("rampart-gateway".into()),
    )
    .severity(Severity::Notice)
    .outcome(if written.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
    .details(json!({
        "clients": baseline.clients.len(),
        "requests": baseline.requests,
        "learned_until_us": baseline.learned_until_us,
        "file": path.display().to_string(),
        "saved": written.is_ok(),
        "error": written.as_ref().err(),
    }));
    match &written {
        Ok(()) => tracing::warn!(
            clients = baseline.clients.len(),
            requests = baseline.requests,
            "IDS learning finished; detecting on the baseline"
        ),
        Err(error) => tracing::error!(%error, "the learned IDS baseline could not be saved"),
    }
    shared.record(event).await;
}
