//! Robustness (CR 7.1, CR 7.1 RE 1, CR 7.2, NDR 5.2): storms of connections, TLS
//! handshakes, slow requests, malformed frames and pipelined bursts, at fixed rates for a
//! fixed time, while the essential-function [`monitor`] polls a register through the target
//! every 100 ms — in the manner of `ISASecure`'s communication robustness testing.
//!
//! Each storm check runs the same way: the monitor starts and measures the unloaded
//! latency for [`BASELINE`]; the storm runs for [`STORM_DURATION`] (and drains); the
//! monitor goes on until the essential function has recovered (three polls in a row within
//! the latency limit) or [`RECOVERY_WAIT`] has passed; then one fresh session tells
//! whether the target is still up. Met when no poll was missed, the p99 latency under load
//! stayed within [`LATENCY_FACTOR`] times the unloaded p99, the target is still up, and
//! the storm saw nothing wrong in the target's own answers (data for a malformed frame).

pub(crate) mod floods;
pub(crate) mod monitor;
pub(crate) mod storms;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::evidence::Outcome;
use crate::net::Context;
use crate::run::Finding;
use crate::target::{Scheme, Target};
pub use monitor::EssentialFunction;
use monitor::{Monitor, POLL_INTERVAL, Window};
use storms::{StormReport, StormTarget};

/// How long the unloaded latency is measured before a storm.
pub(crate) const BASELINE: Duration = Duration::from_secs(5);
/// How long each storm lasts.
pub const STORM_DURATION: Duration = Duration::from_secs(10);
/// How long the monitor waits for the essential function to recover after a storm.
pub(crate) const RECOVERY_WAIT: Duration = Duration::from_secs(10);
/// The most the p99 latency under load may exceed the unloaded p99, as a factor.
pub(crate) const LATENCY_FACTOR: u32 = 5;
/// Consecutive healthy polls that make a recovery.
const RECOVERY_STREAK: usize = 3;
/// The bound of each storm check: baseline, storm, drain, recovery and the final check.
pub(crate) const STORM_BOUND: Duration = Duration::from_secs(40);

/// What the robustness checks need besides the targets.
#[derive(Clone, Debug, Default)]
pub struct RobustnessOptions {
    /// The essential function to watch. Without one, no storm runs.
    pub monitor: Option<EssentialFunction>,
    /// The client certificate the monitor polls with over Modbus/TCP Security, when it is
    /// not the plan's: the essential function's client (an HMI, say) is another identity
    /// than the one the storms use, as a target that shares its capacity fairly between
    /// clients tells them apart by certificate.
    pub monitor_identity: Option<crate::checks::ClientIdentity>,
    /// The local address storms are sent from (e.g. `127.0.0.2` on loopback, or the
    /// tester's interface): the target's per-source limits then see the storm apart from
    /// the essential function's client, as they would see an attacker apart from the HMI.
    pub storm_from: Option<IpAddr>,
}

impl EssentialFunction {
    /// The default essential function among `targets`: holding register 0 of unit 1 through
    /// the first `modbus://` target, or the first `modbus-tls://` one when a client
    /// certificate is given.
    pub fn default_for(targets: &[Target], has_client_certificate: bool) -> Option<Self> {
        targets
            .iter()
            .find(|t| {
                t.scheme() == Scheme::Modbus
                    || (t.scheme() == Scheme::ModbusTls && has_client_certificate)
            })
            .map(|t| EssentialFunction {
                target: t.clone(),
                unit: 1,
                address: 0,
            })
    }
}

/// The storms, one per check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Storm {
    Connections,
    Handshakes,
    SlowRequests,
    Malformed,
    Pipelined,
    Flood(floods::Flood),
}

/// Runs `storm` against `target` while the monitor watches the plan's essential function.
pub(crate) async fn storm(context: &Context, target: &Target, storm: Storm) -> Finding {
    let Some(function) = context.robustness.monitor.clone() else {
        return Finding::new(
            Outcome::NotTested,
            "no essential function to watch (name one with --monitor)",
        );
    };
    let storm_target = match storm_target(context, target).await {
        Ok(t) => t,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    // A flood that cannot send (no privilege for a raw socket) is found out before anything
    // is sent or watched.
    let flood = match storm {
        Storm::Flood(kind) => match floods::open(kind, &storm_target) {
            Ok(socket) => Some(socket),
            Err(e) => {
                return Finding::new(Outcome::NotTested, format!("{e}; nothing was sent"));
            }
        },
        _ => None,
    };
    let monitor = match Monitor::start(context, &function).await {
        Ok(m) => m,
        Err(e) => {
            return Finding::new(
                Outcome::NotTested,
                format!("the essential function cannot be watched: {e}"),
            );
        }
    };
    tokio::time::sleep(BASELINE).await;
    let storm_start = monitor.elapsed();
    let until = Instant::now() + STORM_DURATION;
    let report = match storm {
        Storm::Connections => storms::connections(&storm_target, until).await,
        Storm::Handshakes => storms::handshakes(&storm_target, until).await,
        Storm::SlowRequests => storms::slow_requests(&storm_target, until).await,
        Storm::Malformed => storms::malformed(&storm_target, until).await,
        Storm::Pipelined => storms::pipelined(&storm_target, until).await,
        Storm::Flood(_) => match flood {
            Some(socket) => floods::run(socket, until).await,
            None => StormReport {
                summary: "no socket to flood from".to_owned(),
                details: Map::new(),
                problems: Vec::new(),
            },
        },
    };
    let storm_end = monitor.elapsed();
    let baseline = monitor::window(&monitor.polls(), Duration::ZERO, storm_start);
    let limit = latency_limit(&baseline);
    let recovery_deadline = Instant::now() + RECOVERY_WAIT;
    let recovered = loop {
        let found = monitor::recovery(&monitor.polls(), storm_end, limit, RECOVERY_STREAK);
        if found.is_some() || Instant::now() >= recovery_deadline {
            break found;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    let polls = monitor.stop().await;
    let still_up = monitor::check_once(context, &function).await;
    judge(Judged {
        function: &function,
        baseline,
        during: monitor::window(&polls, storm_start, storm_end),
        after: monitor::window(
            &polls,
            storm_end,
            storm_end + recovered.unwrap_or(RECOVERY_WAIT),
        ),
        limit,
        recovered,
        still_up,
        report,
    })
}

/// The most a poll under load may take: [`LATENCY_FACTOR`] times the unloaded p99.
fn latency_limit(baseline: &Window) -> Duration {
    baseline.p99.unwrap_or(monitor::POLL_DEADLINE) * LATENCY_FACTOR
}

async fn storm_target(context: &Context, target: &Target) -> Result<StormTarget, String> {
    let address = tokio::net::lookup_host((target.host(), target.port()))
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", target.host()))?
        .next()
        .ok_or_else(|| format!("{} resolves to no address", target.host()))?;
    let (tls, authenticated) = match (&context.identity, target.scheme()) {
        (Some(identity), Scheme::ModbusTls) => (Arc::clone(identity), true),
        _ => (
            rampart_vault::tls::danger_inspecting_client_config(rustls::ALL_VERSIONS, None, &[])
                .map_err(|e| e.to_string())?,
            false,
        ),
    };
    Ok(StormTarget {
        target: target.clone(),
        address,
        from: context.robustness.storm_from,
        tls,
        authenticated,
    })
}

struct Judged<'a> {
    function: &'a EssentialFunction,
    baseline: Window,
    during: Window,
    after: Window,
    limit: Duration,
    recovered: Option<Duration>,
    still_up: Result<Duration, String>,
    report: StormReport,
}

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| {
        json!((d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0)
    })
}

fn window_json(w: &Window) -> Value {
    json!({
        "polls": w.due,
        "missed": w.missed,
        "p50_ms": ms(w.p50),
        "p99_ms": ms(w.p99),
        "max_ms": ms(w.max),
    })
}

fn judge(j: Judged<'_>) -> Finding {
    let mut problems = j.report.problems.clone();
    let missed = j.during.missed + j.after.missed;
    if missed > 0 {
        problems.push(format!(
            "{missed} of {} polls of the essential function missed",
            j.during.due + j.after.due
        ));
    }
    if let Some(p99) = j.during.p99
        && p99 > j.limit
    {
        problems.push(format!(
            "p99 latency under load {:.2} ms exceeds {LATENCY_FACTOR}x the unloaded p99 ({:.2} ms)",
            p99.as_secs_f64() * 1000.0,
            j.limit.as_secs_f64() * 1000.0 / f64::from(LATENCY_FACTOR),
        ));
    }
    if j.recovered.is_none() {
        problems.push(format!(
            "the essential function had not recovered {} s after the storm",
            RECOVERY_WAIT.as_secs()
        ));
    }
    if let Err(e) = &j.still_up {
        problems.push(format!("the target is down after the storm: {e}"));
    }
    let load = format!(
        "p99 {:.2} ms under load against {:.2} ms unloaded",
        j.during.p99.unwrap_or_default().as_secs_f64() * 1000.0,
        j.baseline.p99.unwrap_or_default().as_secs_f64() * 1000.0,
    );
    let outcome = if problems.is_empty() {
        Outcome::Met
    } else {
        Outcome::NotMet
    };
    let observation = if problems.is_empty() {
        format!(
            "{}; {} polled every 100 ms: 0 missed, {load}, still up",
            j.report.summary, j.function
        )
    } else {
        format!("{}; {}", j.report.summary, problems.join("; "))
    };
    let mut details: Map<String, Value> = Map::new();
    details.insert("storm".into(), Value::Object(j.report.details));
    details.insert("essential_function".into(), json!(j.function.to_string()));
    details.insert("baseline".into(), window_json(&j.baseline));
    details.insert("under_load".into(), window_json(&j.during));
    details.insert("after".into(), window_json(&j.after));
    details.insert("latency_limit_ms".into(), ms(Some(j.limit)));
    details.insert("missed_polls".into(), json!(missed));
    details.insert("recovery_ms".into(), ms(j.recovered));
    details.insert("still_up".into(), json!(j.still_up.is_ok()));
    Finding {
        outcome,
        observation,
        details,
    }
}
