//! Robustness (CR 7.1, CR 7.1 RE 1, CR 7.2, NDR 5.2): storms of connections, TLS
//! handshakes, slow requests, malformed frames and pipelined bursts, at fixed rates for a
//! fixed time, while the essential-function [`monitor`] polls a register through the target
//! every 100 ms — in the manner of `ISASecure`'s communication robustness testing.
//!
//! Each storm check runs the same way: the monitor starts and measures the unloaded
//! latency for [`BASELINE`]; the storm runs for [`STORM_DURATION`] or the user's duration,
//! at its default rate ([`STORM_RATES`]) or the user's (and drains); the
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
/// How long each storm lasts unless the user sets it ([`RobustnessOptions::duration`]).
pub const STORM_DURATION: Duration = Duration::from_secs(10);
/// The shortest and the longest storm a user may set, in seconds.
pub const STORM_DURATION_RANGE: std::ops::RangeInclusive<u64> = 1..=60;
/// How many times its default rate a user may set a storm to: every storm stays bounded.
pub const MAX_RATE_FACTOR: u32 = 10;
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
    /// How long each storm lasts ([`STORM_DURATION`] when `None`; checked by
    /// [`StormSettings::duration`]).
    pub duration: Option<Duration>,
    /// Rates set by the user, by storm check id (checked by [`StormSettings::rate`]); the
    /// others run at their defaults ([`STORM_RATES`]).
    pub rates: std::collections::BTreeMap<String, u32>,
    /// Addresses the SYN flood claims to come from (`--storm-spoof`): each segment from a
    /// random one, so the target's answers go to hosts that never reply and its half-open
    /// connections pile up (backlog exhaustion). Without it the flood comes from the
    /// prober, whose kernel resets every answer.
    pub spoof: Option<SpoofedSources>,
}

/// An IPv4 network the SYN flood spoofs its sources from (`198.18.0.0/15`, say): addresses
/// that must not answer the target (unused, or routed nowhere), which the tester names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpoofedSources {
    network: std::net::Ipv4Addr,
    prefix: u8,
}

impl SpoofedSources {
    /// The shortest prefix taken: a /8 is already 16 million addresses.
    pub const SHORTEST_PREFIX: u8 = 8;

    /// Parses `A.B.C.D/N` (N from [`Self::SHORTEST_PREFIX`] to 32; host bits must be zero).
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(text: &str) -> Result<SpoofedSources, String> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: expected an IPv4 network, A.B.C.D/N"))?;
        let network: std::net::Ipv4Addr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {address:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .trim()
            .parse()
            .ok()
            .filter(|p| (Self::SHORTEST_PREFIX..=32).contains(p))
            .ok_or_else(|| {
                format!(
                    "{text:?}: the prefix length must be {} to 32",
                    Self::SHORTEST_PREFIX
                )
            })?;
        let sources = SpoofedSources { network, prefix };
        if u32::from(network) & !sources.mask() != 0 {
            return Err(format!(
                "{text:?}: host bits are set (the network is {}/{prefix})",
                std::net::Ipv4Addr::from(u32::from(network) & sources.mask())
            ));
        }
        if network.is_loopback() || network.is_unspecified() || network.is_multicast() {
            return Err(format!(
                "{text:?}: loopback, unspecified and multicast sources are answered locally \
                 or not at all: name addresses routed nowhere (198.18.0.0/15, say)"
            ));
        }
        Ok(sources)
    }

    fn mask(self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    /// The address of the network chosen by `random` (its host bits).
    pub(crate) fn pick(self, random: u32) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::from(u32::from(self.network) | (random & !self.mask()))
    }

    /// Whether `address` is in the network.
    pub fn contains(self, address: std::net::Ipv4Addr) -> bool {
        u32::from(address) & self.mask() == u32::from(self.network)
    }
}

impl std::fmt::Display for SpoofedSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Each storm check's default rate and what the rate counts.
pub const STORM_RATES: [(&str, u32, &str); 8] = [
    (
        "storm-connections",
        storms::CONNECTION_RATE,
        "connection attempts a second",
    ),
    (
        "storm-tls-handshakes",
        storms::HANDSHAKE_RATE,
        "TLS handshakes a second",
    ),
    (
        "storm-slow-requests",
        storms::SLOW_CONNECTIONS,
        "slow connections (opened 10 a second)",
    ),
    (
        "storm-malformed-frames",
        storms::MALFORMED_RATE,
        "malformed frames a second",
    ),
    (
        "storm-pipelined-requests",
        storms::PIPELINE_BURSTS_PER_SECOND,
        "bursts of 16 reads a second per session",
    ),
    (
        "storm-udp-flood",
        floods::UDP_RATE,
        "UDP datagrams a second",
    ),
    (
        "storm-icmp-flood",
        floods::ICMP_RATE,
        "ICMP echo requests a second",
    ),
    (
        "storm-syn-flood",
        floods::SYN_RATE,
        "TCP SYN segments a second",
    ),
];

/// Checks of the storm settings a user gives.
pub struct StormSettings;

impl StormSettings {
    /// A storm duration of `seconds`.
    ///
    /// # Errors
    /// A message naming the allowed range.
    pub fn duration(seconds: u64) -> Result<Duration, String> {
        if STORM_DURATION_RANGE.contains(&seconds) {
            Ok(Duration::from_secs(seconds))
        } else {
            Err(format!(
                "{seconds} s: a storm lasts {} to {} s",
                STORM_DURATION_RANGE.start(),
                STORM_DURATION_RANGE.end()
            ))
        }
    }

    /// A rate `CHECK=N` for one storm check: N from 1 to [`MAX_RATE_FACTOR`] times the
    /// check's default.
    ///
    /// # Errors
    /// A message naming the storm checks, or the allowed range of N and what it counts.
    pub fn rate(text: &str) -> Result<(String, u32), String> {
        let (id, value) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: expected CHECK=N, e.g. storm-connections=200"))?;
        let (id, default, unit) = STORM_RATES
            .iter()
            .find(|(known, _, _)| *known == id.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = STORM_RATES.iter().map(|(k, _, _)| *k).collect();
                format!("{id:?} is not a storm check ({})", known.join(", "))
            })?;
        let most = default.saturating_mul(MAX_RATE_FACTOR);
        let rate = value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=most).contains(n))
            .ok_or_else(|| {
                format!("{id}={value}: N counts {unit}, from 1 to {most} (default {default})")
            })?;
        Ok(((*id).to_owned(), rate))
    }
}

impl RobustnessOptions {
    /// How long each storm lasts.
    pub(crate) fn storm_duration(&self) -> Duration {
        self.duration.unwrap_or(STORM_DURATION)
    }

    /// The bound of a storm check: [`STORM_BOUND`] for a storm of [`STORM_DURATION`],
    /// longer or shorter with the storm.
    pub(crate) fn storm_bound(&self) -> Duration {
        STORM_BOUND.saturating_sub(STORM_DURATION) + self.storm_duration()
    }

    /// What the storm check `id` will do in this plan, its duration and rate after the
    /// user's `--storm-duration` and `--storm-rate` ("30 s, 200 connection attempts a
    /// second"); `None` for a check that is not a storm. The checks' summaries give the
    /// defaults.
    pub fn storm_load(&self, id: &str) -> Option<String> {
        let (_, _, unit) = STORM_RATES.iter().find(|(known, _, _)| *known == id)?;
        Some(format!(
            "{} s, {} {unit}",
            self.storm_duration().as_secs(),
            self.storm_rate(id)
        ))
    }

    /// The rate of the storm check `id`: the user's, else its default.
    fn storm_rate(&self, id: &str) -> u32 {
        self.rates.get(id).copied().unwrap_or_else(|| {
            STORM_RATES
                .iter()
                .find(|(known, _, _)| *known == id)
                .map_or(1, |(_, default, _)| *default)
        })
    }
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

impl Storm {
    /// The id of the check that runs this storm.
    fn check_id(self) -> &'static str {
        match self {
            Storm::Connections => "storm-connections",
            Storm::Handshakes => "storm-tls-handshakes",
            Storm::SlowRequests => "storm-slow-requests",
            Storm::Malformed => "storm-malformed-frames",
            Storm::Pipelined => "storm-pipelined-requests",
            Storm::Flood(floods::Flood::Udp) => "storm-udp-flood",
            Storm::Flood(floods::Flood::Icmp) => "storm-icmp-flood",
            Storm::Flood(floods::Flood::Syn) => "storm-syn-flood",
        }
    }
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
    let until = Instant::now() + context.robustness.storm_duration();
    let rate = context.robustness.storm_rate(storm.check_id());
    let report = match storm {
        Storm::Connections => storms::connections(&storm_target, until, rate).await,
        Storm::Handshakes => storms::handshakes(&storm_target, until, rate).await,
        Storm::SlowRequests => storms::slow_requests(&storm_target, until, rate).await,
        Storm::Malformed => storms::malformed(&storm_target, until, rate).await,
        Storm::Pipelined => storms::pipelined(&storm_target, until, rate).await,
        Storm::Flood(_) => match flood {
            Some(socket) => floods::run(socket, until, rate).await,
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
        spoof: context.robustness.spoof,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storm_settings_are_bounded_and_name_what_is_wrong() {
        assert_eq!(StormSettings::duration(1), Ok(Duration::from_secs(1)));
        assert_eq!(StormSettings::duration(60), Ok(Duration::from_mins(1)));
        assert!(
            StormSettings::duration(0)
                .unwrap_err()
                .contains("1 to 60 s")
        );
        assert_eq!(
            StormSettings::rate(" storm-syn-flood = 20000 "),
            Ok(("storm-syn-flood".to_owned(), 20_000))
        );
        let err = StormSettings::rate("storm-syn-flood=20001").unwrap_err();
        assert!(err.contains("from 1 to 20000 (default 2000)"), "{err}");
        assert!(StormSettings::rate("storm-connections=0").is_err());
        assert!(StormSettings::rate("storm-connections=x").is_err());
        // Every storm check of the registry has a rate, and nothing else does.
        let storms: Vec<&str> = crate::checks::CHECKS
            .iter()
            .filter(|c| c.is_storm())
            .map(|c| c.id)
            .collect();
        let rated: Vec<&str> = STORM_RATES.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(storms, rated);
    }

    #[test]
    fn a_storms_bound_follows_its_duration() {
        let mut options = RobustnessOptions::default();
        assert_eq!(options.storm_bound(), STORM_BOUND);
        options.duration = Some(Duration::from_mins(1));
        assert_eq!(options.storm_bound(), Duration::from_secs(90));
        assert_eq!(options.storm_rate("storm-connections"), 100);
        options.rates.insert("storm-connections".into(), 7);
        assert_eq!(options.storm_rate("storm-connections"), 7);
    }
}
