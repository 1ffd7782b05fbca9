//! Refusals before authentication, for the audit trail (CR 2.8, CR 6.1).
//!
//! Anyone who can reach the management address can make it refuse things: connections over a
//! limit or from outside the allow-list, failed or stalled TLS handshakes, unauthenticated
//! connections closed to make room, requests over the rate limit, login forms posted from
//! another site. Each is recorded, but an attacker must not be able to flood the trail with
//! them: the first of each source, action and reason is recorded at once, the others are
//! counted and recorded as one summary event per `refusal_interval` (the data plane does the
//! same with the same [`RefusalLog`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rampart_audit::{Actor, Category, NewEvent, Outcome, Severity};
use rampart_gateway::admission::RefusalLog;
use serde_json::json;
use tokio::sync::watch;

use crate::state::AppState;

/// The interface name refusals are recorded with, as the handlers' events.
const INTERFACE: &str = "https-api";

/// What was refused; the summary of a key repeats its first refusal.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// The audit action, e.g. `https.connection_refused`.
    pub(crate) action: &'static str,
    pub(crate) outcome: Outcome,
    pub(crate) reason: String,
}

impl Refusal {
    /// A connection closed or refused before authentication.
    pub(crate) fn connection(reason: impl Into<String>) -> Refusal {
        Refusal {
            action: "https.connection_refused",
            outcome: Outcome::Denied,
            reason: reason.into(),
        }
    }

    /// A TLS handshake that failed or did not complete in time.
    pub(crate) fn handshake(reason: impl Into<String>) -> Refusal {
        Refusal {
            action: "https.handshake",
            outcome: Outcome::Failure,
            reason: reason.into(),
        }
    }

    /// A request refused by the per-source rate limit (429).
    pub(crate) fn rate_limited() -> Refusal {
        Refusal {
            action: "https.rate_limited",
            outcome: Outcome::Denied,
            reason: "too many requests from this source address (CR 7.1)".to_owned(),
        }
    }

    /// A login or request from outside the trusted networks refused without an access
    /// request (`untrusted_access = "deny"`, the table of requests full, a session opened
    /// elsewhere) (NDR 1.13 RE 1).
    pub(crate) fn untrusted(reason: impl Into<String>) -> Refusal {
        Refusal {
            action: "access.refused",
            outcome: Outcome::Denied,
            reason: reason.into(),
        }
    }

    /// A login form posted from another site (login CSRF).
    pub(crate) fn cross_site_login(reason: impl Into<String>) -> Refusal {
        Refusal {
            action: "ui.login_refused",
            outcome: Outcome::Denied,
            reason: reason.into(),
        }
    }

    /// The event of `count` refusals from `source`; `extra`'s fields join the details.
    fn event(&self, source: &str, count: u64, extra: serde_json::Value) -> Option<NewEvent> {
        let actor = Actor::process(format!("client {source}")).ok()?;
        let mut details = json!({ "reason": self.reason, "count": count });
        if let (Some(details), serde_json::Value::Object(extra)) = (details.as_object_mut(), extra)
        {
            details.extend(extra);
        }
        NewEvent::builder(Category::AccessControl, self.action, actor)
            .source_address(source)
            .interface(INTERFACE)
            .outcome(self.outcome)
            .severity(Severity::Warning)
            .details(details)
            .build()
            .ok()
    }
}

/// The refusals of the plane, aggregated per source, action and reason.
pub(crate) type Refusals = RefusalLog<Refusal>;

impl AppState {
    /// Notes a refusal of `peer` and records it now if it is the first of its source, action
    /// and reason in the interval (in the background: a refusal never waits for the trail);
    /// the others are counted into the next summary.
    pub(crate) fn refused(self: &Arc<Self>, peer: SocketAddr, refusal: &Refusal) {
        tracing::debug!(%peer, action = refusal.action, reason = %refusal.reason, "refused");
        let kind = format!("{} {}", refusal.action, refusal.reason);
        if !self.refusals.note(peer.ip(), &kind, || refusal.clone()) {
            return;
        }
        let interval = self.config.refusal_interval.as_secs();
        let repeats = format!("counted and recorded as one summary event every {interval} s");
        let Some(event) = refusal.event(&peer.ip().to_string(), 1, json!({ "repeats": repeats }))
        else {
            return;
        };
        let audit = Arc::clone(&self.services.audit);
        tokio::task::spawn_blocking(move || {
            if let Err(error) = audit.append(event) {
                tracing::error!(%error, "the audit trail refused a refusal event");
            }
        });
    }

    /// Records one summary event per source, action and reason with the refusals counted
    /// since the last call.
    pub(crate) async fn record_refusal_summaries(self: &Arc<Self>) {
        let interval = self.config.refusal_interval.as_secs();
        let events: Vec<NewEvent> = self
            .refusals
            .drain()
            .into_iter()
            .filter_map(|summary| {
                let source = summary
                    .source
                    .map_or_else(|| "(other sources)".to_owned(), |ip: IpAddr| ip.to_string());
                let extra = json!({ "summary": true, "interval_s": interval });
                summary.template.event(&source, summary.count, extra)
            })
            .collect();
        if events.is_empty() {
            return;
        }
        let audit = Arc::clone(&self.services.audit);
        let appended = tokio::task::spawn_blocking(move || {
            for event in events {
                audit.append(event)?;
            }
            Ok::<(), rampart_audit::StoreError>(())
        })
        .await;
        if !matches!(appended, Ok(Ok(()))) {
            tracing::error!("the audit trail refused a refusal summary");
        }
    }
}

/// Records the summaries once per interval, and a last time when the plane stops.
pub(crate) async fn summaries(state: Arc<AppState>, mut stopped: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.config.refusal_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => state.record_refusal_summaries().await,
            _ = stopped.changed() => {
                state.record_refusal_summaries().await;
                return;
            }
        }
    }
}
