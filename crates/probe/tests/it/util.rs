//! Shared helpers: the peers on loopback and one way to run a probe.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rampart_gateway::config::AllowList;
use rampart_gateway::{Gateway, GatewayConfig, MemoryAuditSink, RunningGateway};
use rampart_probe::{CheckResult, Evidence, Outcome, Plan, Target};
use rampart_vault::DataDir;

/// The time now, through the one clock.
pub(crate) fn now() -> jiff::Timestamp {
    rampart_clock::Clock::now(&rampart_clock::SystemClock::new())
}

/// Runs `checks` (all applicable when empty) against `targets` and returns the evidence.
pub(crate) async fn probe(targets: &[String], checks: &[&str], intrusive: bool) -> Evidence {
    let targets: Vec<Target> = targets.iter().map(|t| t.parse().unwrap()).collect();
    let names: Vec<String> = checks.iter().map(|c| (*c).to_owned()).collect();
    let plan = Plan::new(
        targets,
        (!checks.is_empty()).then_some(names.as_slice()),
        intrusive,
    )
    .unwrap();
    // Every plan ends within the sum of its bounds (plus scheduling slack).
    let bound = plan.bound() + Duration::from_secs(5);
    let evidence = tokio::time::timeout(bound, plan.run(now()))
        .await
        .expect("the plan ends within its bound");
    for check in &evidence.checks {
        assert!(check.elapsed_ms <= check.bound_ms + 500, "{check:?}");
    }
    evidence
}

/// The result of `id` against `target`.
pub(crate) fn result<'a>(evidence: &'a Evidence, id: &str, target: &str) -> &'a CheckResult {
    evidence
        .checks
        .iter()
        .find(|c| c.id == id && c.target == target)
        .unwrap_or_else(|| panic!("no {id} against {target} in {evidence:#?}"))
}

/// Asserts the outcome of `id` against `target`, showing the observation on failure.
pub(crate) fn expect(evidence: &Evidence, id: &str, target: &str, outcome: Outcome) -> String {
    let r = result(evidence, id, target);
    assert_eq!(
        r.outcome, outcome,
        "{id} against {target}: {}\n{:#?}",
        r.observation, r.details
    );
    r.observation.clone()
}

/// A Rampart gateway on loopback: Modbus/TCP Security, and the plain listener with the
/// role `viewer` (reads only), in front of the built-in simulated PLC.
pub(crate) struct TestGateway {
    pub(crate) _temp: tempfile::TempDir,
    pub(crate) data: DataDir,
    pub(crate) gateway: RunningGateway,
}

impl TestGateway {
    pub(crate) async fn start() -> TestGateway {
        let mut config = GatewayConfig::default();
        config.secure.listen = "127.0.0.1:0".parse().unwrap();
        config.secure.allow = AllowList::loopback();
        config.plain.enabled = true;
        config.plain.listen = "127.0.0.1:0".parse().unwrap();
        config.plain.role = Some("viewer".into());
        config.management.listen = "127.0.0.1:0".parse().unwrap();
        let temp = tempfile::tempdir().unwrap();
        let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
        let gateway = Gateway::start_with_audit(config, &data, Arc::new(MemoryAuditSink::new()))
            .await
            .unwrap();
        TestGateway {
            _temp: temp,
            data,
            gateway,
        }
    }

    pub(crate) fn secure(&self) -> String {
        format!("modbus-tls://{}", self.gateway.secure_addr())
    }

    pub(crate) fn plain(&self) -> String {
        format!("modbus://{}", self.gateway.plain_addr().unwrap())
    }
}

/// A TCP server that accepts connections and never answers (they stay open while it runs).
pub(crate) async fn silent_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (addr, task)
}

/// A loopback port nothing listens on (bound, then released).
pub(crate) fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Whether a program is on the PATH.
pub(crate) fn have(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A free loopback port for an outside peer to bind.
pub(crate) fn free_port() -> u16 {
    closed_port().port()
}

/// Waits until `addr` accepts TCP connections (a peer process has started).
pub(crate) async fn wait_listening(addr: SocketAddr) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{addr} did not start listening within 10 s");
}

/// A child process killed when dropped.
pub(crate) struct Peer(pub(crate) std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
