//! The robustness storms against real targets on loopback: Rampart's gateway keeps its
//! essential function under every storm, a fragile PLC loses it, and no storm runs without
//! consent or an essential function to watch.
//!
//! A test binary of its own: storms load the machine, and the latencies they measure must
//! not be those of other tests running beside them. The tests here run one at a time.

#[allow(dead_code)]
#[path = "../it/util.rs"]
mod util;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_probe::robustness::StormSettings;
use rampart_probe::{
    ClientIdentity, EssentialFunction, Evidence, Outcome, Plan, PlanError, RobustnessOptions,
    Target,
};

use crate::util::{TestGateway, now};

/// One test at a time: each storm measures latencies.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The second loopback address storms are sent from, apart from the monitor's 127.0.0.1.
const STORM_FROM: &str = "127.0.0.2";

fn target(text: &str) -> Target {
    text.parse().unwrap()
}

fn names(checks: &[&str]) -> Vec<String> {
    checks.iter().map(|c| (*c).to_owned()).collect()
}

fn register_of(target: &Target) -> EssentialFunction {
    EssentialFunction {
        target: target.clone(),
        unit: 1,
        address: 0,
    }
}

async fn run(plan: &Plan) -> Evidence {
    let bound = plan.bound() + Duration::from_secs(5);
    let evidence = tokio::time::timeout(bound, plan.run(now()))
        .await
        .expect("the plan ends within its bound");
    for check in &evidence.checks {
        assert!(check.elapsed_ms <= check.bound_ms + 500, "{check:#?}");
    }
    evidence
}

#[test]
fn storms_need_consent_and_an_essential_function() {
    let modbus_plc = target("modbus://127.0.0.1:1502");
    let https = target("https://127.0.0.1:1443");
    let with_monitor = RobustnessOptions {
        monitor: Some(register_of(&modbus_plc)),
        ..RobustnessOptions::default()
    };
    let storm = names(&["storm-connections"]);
    // Without --intrusive: refused, naming what it would do.
    let err = Plan::with_robustness(
        vec![modbus_plc.clone()],
        Some(&storm),
        false,
        None,
        with_monitor.clone(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PlanError::IntrusiveWithoutConsent {
                id: "storm-connections",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("100 TCP connection attempts a second"),
        "{err}"
    );
    // Named without an essential function: refused.
    let err = Plan::with_robustness(
        vec![https.clone()],
        Some(&storm),
        true,
        None,
        RobustnessOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, PlanError::NoEssentialFunction("storm-connections")),
        "{err}"
    );
    // The essential function is a register read through Modbus, not HTTPS.
    let err = Plan::with_robustness(
        vec![https.clone()],
        None,
        true,
        None,
        RobustnessOptions {
            monitor: Some(register_of(&https)),
            ..RobustnessOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, PlanError::Monitor(_)), "{err}");
    // Over Modbus/TCP Security it needs a client certificate.
    let secure = target("modbus-tls://127.0.0.1:1802");
    let err = Plan::with_robustness(
        vec![secure.clone()],
        None,
        true,
        None,
        RobustnessOptions {
            monitor: Some(register_of(&secure)),
            ..RobustnessOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("client certificate"), "{err}");
    // The default intrusive selection leaves the storms out when nothing can be watched ...
    let plan = Plan::with_robustness(
        vec![https.clone()],
        None,
        true,
        None,
        RobustnessOptions::default(),
    )
    .unwrap();
    assert!(plan.runs().all(|(_, spec)| !spec.is_storm()));
    // ... and takes them in when something can; without --intrusive never.
    let plan = Plan::with_robustness(
        vec![modbus_plc.clone()],
        None,
        true,
        None,
        with_monitor.clone(),
    )
    .unwrap();
    let storms: Vec<&str> = plan
        .runs()
        .filter(|(_, s)| s.is_storm())
        .map(|(_, s)| s.id)
        .collect();
    assert_eq!(
        storms,
        [
            "storm-connections",
            "storm-slow-requests",
            "storm-malformed-frames",
            "storm-pipelined-requests",
            "storm-udp-flood",
            "storm-icmp-flood",
            "storm-syn-flood"
        ]
    );
    let plan = Plan::with_robustness(vec![modbus_plc], None, false, None, with_monitor).unwrap();
    assert!(plan.runs().all(|(_, spec)| !spec.intrusive));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_keeps_its_essential_function_under_storms() {
    let _serial = SERIAL.lock().await;
    let gw = TestGateway::start().await;
    let secure = target(&gw.secure());
    let pki = rampart_vault::pki::Pki::open(&gw.data).unwrap();
    let identity = |role: &str| {
        ClientIdentity::from_files(
            &pki.client_cert_path(role).unwrap(),
            &pki.client_key_path(role).unwrap(),
        )
        .unwrap()
    };
    // The storms use the viewer's certificate from a second address; the essential
    // function's client (an HMI) is the operator, from the first.
    let plan = Plan::with_robustness(
        vec![secure.clone()],
        Some(&names(&[
            "storm-connections",
            "storm-malformed-frames",
            "storm-pipelined-requests",
        ])),
        true,
        Some(identity("viewer")),
        RobustnessOptions {
            monitor: Some(register_of(&secure)),
            monitor_identity: Some(identity("operator")),
            storm_from: Some(STORM_FROM.parse().unwrap()),
            ..RobustnessOptions::default()
        },
    )
    .unwrap();
    let evidence = run(&plan).await;
    assert_eq!(evidence.checks.len(), 3);
    for check in &evidence.checks {
        let d = &check.details;
        assert_eq!(d["missed_polls"], 0, "{}: {}", check.id, check.observation);
        assert_eq!(d["still_up"], true, "{}: {}", check.id, check.observation);
        assert!(d["baseline"]["polls"].as_u64().unwrap() >= 40, "{d:#?}");
        assert!(d["under_load"]["polls"].as_u64().unwrap() >= 80, "{d:#?}");
        assert!(!d["recovery_ms"].is_null(), "{d:#?}");
        assert_eq!(
            check.outcome,
            Outcome::Met,
            "{}: {}",
            check.id,
            check.observation
        );
        assert!(
            check.observation.contains("0 missed") && check.observation.contains("still up"),
            "{}",
            check.observation
        );
    }
    let storm = |id: &str| &evidence.checks.iter().find(|c| c.id == id).unwrap().details["storm"];
    // Each storm really loaded the target at its stated rate.
    assert!(storm("storm-connections")["attempts"].as_u64().unwrap() >= 800);
    let malformed = storm("storm-malformed-frames");
    assert!(malformed["sent"].as_u64().unwrap() >= 800, "{malformed}");
    assert_eq!(malformed["data"], 0, "{malformed}");
    let pipelined = storm("storm-pipelined-requests");
    assert!(
        pipelined["answered"].as_u64().unwrap() >= 500,
        "{pipelined}"
    );
    gw.gateway.shutdown().await.unwrap();
}

/// A fragile PLC: one thread serves every connection, and taking a new connection costs it
/// 30 ms (as a small embedded stack that sets up per-connection state) — a storm of
/// connection attempts starves the clients it already has.
struct FragilePlc {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FragilePlc {
    fn start() -> FragilePlc {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut clients: Vec<(TcpStream, Vec<u8>)> = Vec::new();
            while !running.load(Ordering::Relaxed) {
                if let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true).unwrap();
                    std::thread::sleep(Duration::from_millis(30));
                    clients.push((stream, Vec::new()));
                    continue;
                }
                let mut busy = false;
                clients.retain_mut(|(stream, buffer)| {
                    let mut chunk = [0u8; 512];
                    match stream.read(&mut chunk) {
                        Ok(0) => return false,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return false,
                    }
                    // Every whole ADU is answered as a read of one register holding 42.
                    while buffer.len() >= 6 {
                        let len = 6 + usize::from(u16::from_be_bytes([buffer[4], buffer[5]]));
                        if len > 260 {
                            return false;
                        }
                        if buffer.len() < len {
                            break;
                        }
                        busy = true;
                        let answer = [buffer[0], buffer[1], 0, 0, 0, 5, buffer[6], 3, 2, 0, 42];
                        buffer.drain(..len);
                        if stream.write_all(&answer).is_err() {
                            return false;
                        }
                    }
                    true
                });
                if !busy {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        FragilePlc {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl FragilePlc {
    /// A plan of `storm-connections` against this PLC, watched through it, sent from
    /// [`STORM_FROM`]; `options` gives the rest.
    fn connection_storm(&self, options: RobustnessOptions) -> Plan {
        let modbus_plc = target(&format!("modbus://{}", self.addr));
        Plan::with_robustness(
            vec![modbus_plc.clone()],
            Some(&names(&["storm-connections"])),
            true,
            None,
            RobustnessOptions {
                monitor: Some(register_of(&modbus_plc)),
                storm_from: Some(STORM_FROM.parse().unwrap()),
                ..options
            },
        )
        .unwrap()
    }
}

impl Drop for FragilePlc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragile_plc_loses_its_essential_function_in_a_connection_storm() {
    let _serial = SERIAL.lock().await;
    let plc = FragilePlc::start();
    let evidence = run(&plc.connection_storm(RobustnessOptions::default())).await;
    let check = &evidence.checks[0];
    assert_eq!(check.outcome, Outcome::NotMet, "{}", check.observation);
    // Unloaded it answers at once; under the storm polls are missed or far slower.
    let d = &check.details;
    assert_eq!(d["baseline"]["missed"], 0, "{d:#?}");
    assert!(
        d["missed_polls"].as_u64().unwrap() > 0
            || check.observation.contains("exceeds 5x the unloaded p99"),
        "{}",
        check.observation
    );
    assert!(evidence.any_not_met());
}

/// Whether this process may open raw sockets (root, or `CAP_NET_RAW` in its namespace).
fn may_open_raw_sockets() -> bool {
    socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::RAW,
        Some(socket2::Protocol::ICMPV4),
    )
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_keeps_its_essential_function_under_udp_icmp_and_syn_floods() {
    let _serial = SERIAL.lock().await;
    let gw = TestGateway::start().await;
    let secure = target(&gw.secure());
    let pki = rampart_vault::pki::Pki::open(&gw.data).unwrap();
    let operator = ClientIdentity::from_files(
        &pki.client_cert_path("operator").unwrap(),
        &pki.client_key_path("operator").unwrap(),
    )
    .unwrap();
    let plan = Plan::with_robustness(
        vec![secure.clone()],
        Some(&names(&[
            "storm-udp-flood",
            "storm-icmp-flood",
            "storm-syn-flood",
        ])),
        true,
        None,
        RobustnessOptions {
            monitor: Some(register_of(&secure)),
            monitor_identity: Some(operator),
            storm_from: Some(STORM_FROM.parse().unwrap()),
            ..RobustnessOptions::default()
        },
    )
    .unwrap();
    let evidence = run(&plan).await;
    let check = |id: &str| evidence.checks.iter().find(|c| c.id == id).unwrap();
    // The UDP flood needs no privilege: it always runs.
    let udp = check("storm-udp-flood");
    assert_eq!(udp.outcome, Outcome::Met, "{}", udp.observation);
    assert!(
        udp.details["storm"]["sent"].as_u64().unwrap() >= 10_000,
        "{udp:#?}"
    );
    for id in ["storm-icmp-flood", "storm-syn-flood"] {
        let flood = check(id);
        if may_open_raw_sockets() {
            assert_eq!(flood.outcome, Outcome::Met, "{id}: {}", flood.observation);
            assert_eq!(flood.details["missed_polls"], 0, "{flood:#?}");
            assert!(
                flood.details["storm"]["sent"].as_u64().unwrap() >= 5_000,
                "{flood:#?}"
            );
            assert_eq!(flood.details["storm"]["source"], STORM_FROM);
        } else {
            // Without the privilege nothing is sent, and the evidence says why.
            assert_eq!(flood.outcome, Outcome::NotTested, "{id}");
            assert!(
                flood.observation.contains("CAP_NET_RAW"),
                "{}",
                flood.observation
            );
        }
    }
    gw.gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_runs_at_the_rate_and_for_the_time_the_user_sets() {
    let _serial = SERIAL.lock().await;
    let plc = FragilePlc::start();
    let (check, rate) = StormSettings::rate("storm-connections=40").unwrap();
    let plan = plc.connection_storm(RobustnessOptions {
        duration: Some(StormSettings::duration(2).unwrap()),
        rates: [(check, rate)].into_iter().collect(),
        ..RobustnessOptions::default()
    });
    let started = std::time::Instant::now();
    let evidence = run(&plan).await;
    let check = &evidence.checks[0];
    // 40 attempts a second for 2 s (the default is 100 a second for 10 s).
    let attempts = check.details["storm"]["attempts"].as_u64().unwrap();
    assert!(
        (60..=90).contains(&attempts),
        "{attempts}: {}",
        check.observation
    );
    assert!(
        check.observation.contains("at 40/s"),
        "{}",
        check.observation
    );
    // The bound follows the duration: 8 s shorter than the default storm's 40 s.
    assert_eq!(check.bound_ms, 32_000);
    assert!(check.elapsed_ms < check.bound_ms, "{}", check.elapsed_ms);
    assert!(started.elapsed() < Duration::from_secs(32));
}
