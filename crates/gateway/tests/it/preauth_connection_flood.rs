//! CR 7.1, CR 7.2 (issue 14): connections that never authenticate cannot lock out a client
//! that does. 300 bare TCP connections from 10 source addresses (30 each, under the
//! per-address limit of 32) used to fill `max_connections = 256`, and an authenticated
//! client from an 11th address was reset. Now they fill at most the separate, fair budget of
//! unauthenticated connections, the client is served about as fast as without the flood,
//! and every refusal is accounted for in the trail in a few aggregated events.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rampart_audit::{AuditReader, Category, Query};
use rampart_conduit::DEFAULT_POLICY;
use rampart_gateway::{Gateway, PolicyUpdate, RunningGateway};
use rampart_vault::DataDir;
use rampart_vault::pki::Pki;
use tokio::io::AsyncReadExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ClientConfig;

use crate::util::{client_config, connect_from, eventually, loopback_config, tcp_from};

/// Flooding source addresses: 127.0.0.11 to 127.0.0.20.
const SOURCES: u8 = 10;
/// Connections held per flooding source (the per-address limit is 32).
const PER_SOURCE: usize = 30;
/// A flood connection the gateway closed is opened again after this long: the flood is
/// held, as an attacker would hold it.
const REFILL: Duration = Duration::from_millis(500);
/// The legitimate client's address, outside the flood.
const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 50));
/// Per measurement: connections (each timed with its first read), then samples of
/// [`READS_PER_SAMPLE`] reads on one connection (a read takes a few hundred microseconds on
/// loopback, where scheduler noise on two shared cores would dominate single reads).
const CONNECTS: usize = 100;
const READ_SAMPLES: usize = 200;
const READS_PER_SAMPLE: usize = 10;

fn flood_source(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, 11 + n])
}

/// Bare TCP connections that never start TLS, reopened when closed, until stopped. The
/// attacker runs on a thread and runtime of its own, as if on another host (it still shares
/// the two cores).
struct Flood {
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
    opened: Arc<AtomicU64>,
}

impl Flood {
    fn start(addr: SocketAddr) -> Flood {
        let (stop, stopped) = watch::channel(false);
        let opened = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&opened);
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(Flood::run(addr, stopped, counter));
        });
        Flood {
            stop,
            thread,
            opened,
        }
    }

    async fn run(addr: SocketAddr, stopped: watch::Receiver<bool>, opened: Arc<AtomicU64>) {
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        for n in 0..SOURCES {
            for _ in 0..PER_SOURCE {
                let mut stopped = stopped.clone();
                let opened = Arc::clone(&opened);
                tasks.push(tokio::spawn(async move {
                    while !*stopped.borrow() {
                        if let Ok(mut tcp) = tcp_from(flood_source(n), addr).await {
                            opened.fetch_add(1, Ordering::Relaxed);
                            // Send nothing; wait until the gateway closes it.
                            let mut byte = [0u8; 1];
                            tokio::select! {
                                _ = tcp.read(&mut byte) => {}
                                _ = stopped.changed() => return,
                            }
                        }
                        tokio::select! {
                            () = tokio::time::sleep(REFILL) => {}
                            _ = stopped.changed() => return,
                        }
                    }
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
    }

    /// Stops the flood, closes its connections and returns how many it opened.
    async fn stop(self) -> u64 {
        let _ = self.stop.send(true);
        tokio::task::spawn_blocking(move || self.thread.join().unwrap())
            .await
            .unwrap();
        self.opened.load(Ordering::Relaxed)
    }
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[(samples.len() * 99).div_ceil(100) - 1]
}

/// The legitimate client from [`CLIENT`]: [`CONNECTS`] times a connection with mutual TLS
/// and a first read (timed together), then [`READ_SAMPLES`] times [`READS_PER_SAMPLE`] reads
/// on one connection. Every one must be served. Returns the p99 of the connections and of
/// the read samples.
async fn measure(addr: SocketAddr, config: &Arc<ClientConfig>) -> (Duration, Duration) {
    let mut connects = Vec::with_capacity(CONNECTS);
    for i in 0..CONNECTS {
        let start = Instant::now();
        let mut client = connect_from(CLIENT, addr, Arc::clone(config))
            .await
            .unwrap_or_else(|e| panic!("connection {i} of the legitimate client failed: {e}"));
        let read = client.read_holding(0, 4).await;
        assert!(
            matches!(read, Ok(Ok(_))),
            "connection {i}: the first read was not served: {read:?}"
        );
        connects.push(start.elapsed());
    }
    let mut client = connect_from(CLIENT, addr, Arc::clone(config))
        .await
        .unwrap();
    let mut reads = Vec::with_capacity(READ_SAMPLES);
    for i in 0..READ_SAMPLES {
        let start = Instant::now();
        for _ in 0..READS_PER_SAMPLE {
            let read = client.read_holding(0, 4).await;
            assert!(matches!(read, Ok(Ok(_))), "read sample {i}: {read:?}");
        }
        reads.push(start.elapsed());
    }
    (p99(connects), p99(reads))
}

async fn no_rate_limit(gateway: &RunningGateway) {
    // The client's own token bucket must not be what is measured.
    let text = DEFAULT_POLICY
        .replacen(
            "requests_per_second = 200",
            "requests_per_second = 1000000",
            1,
        )
        .replacen("burst = 400", "burst = 1000000", 1);
    gateway
        .reload_policy(PolicyUpdate::Text {
            text,
            origin: "test".into(),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_tcp_flood_from_ten_sources_does_not_lock_out_an_authenticated_client() {
    let temp = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
    // The default limits (256 sessions, 32 per address, 64 unauthenticated, 8 per address,
    // 3 s handshake); summaries every second so that the test sees several intervals.
    let mut config = loopback_config();
    config.audit.refusal_interval = Duration::from_secs(1);
    let gateway = Gateway::start(config, &data).await.unwrap();
    no_rate_limit(&gateway).await;
    let addr = gateway.secure_addr();
    let tls = client_config(&Pki::open(&data).unwrap(), "viewer");

    measure(addr, &tls).await; // Warm-up.
    let (connect_unloaded, read_unloaded) = measure(addr, &tls).await;

    let flood_started = Instant::now();
    let flood = Flood::start(addr);
    // Past one handshake timeout, so that the held connections have been cut off and
    // refilled at least once.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let during = gateway.status();
    let (connect_flooded, read_flooded) = measure(addr, &tls).await;
    let opened = flood.stop().await;

    // The flood's connections close; then every refusal has been noted.
    eventually(|| gateway.status().connections == 0).await;
    let counters = gateway.status().counters;
    let flood_s = flood_started.elapsed().as_secs();
    gateway.shutdown().await.unwrap();

    println!(
        "pre-auth flood ({} sources x {PER_SOURCE} bare TCP, refilled after {REFILL:?}): \
         legitimate client p99 connect+first read: unloaded {connect_unloaded:?}, flooded \
         {connect_flooded:?}; p99 of {READS_PER_SAMPLE} reads: unloaded {read_unloaded:?}, \
         flooded {read_flooded:?}; \
         flood connections opened {opened}, open during the flood {}, refused {}, \
         handshakes failed {}",
        SOURCES, during.connections, counters.connections_refused, counters.handshakes_failed,
    );
    assert!(
        during.connections >= 64,
        "the flood filled the unauthenticated budget ({} open)",
        during.connections
    );
    assert!(
        counters.connections_refused > 1000,
        "the flood was refused many times ({})",
        counters.connections_refused
    );
    assert!(
        connect_flooded < connect_unloaded * 5,
        "connection p99 {connect_flooded:?} under the flood vs {connect_unloaded:?} unloaded"
    );
    assert!(
        read_flooded < read_unloaded * 5,
        "read p99 {read_flooded:?} under the flood vs {read_unloaded:?} unloaded"
    );

    // Every refusal is in the trail, aggregated per source and reason.
    let reader = AuditReader::open(&data.root().join("audit")).unwrap();
    let events = reader
        .query(&Query::new().category(Category::AccessControl))
        .unwrap();
    let (mut refusal_events, mut refused, mut failed) = (0u64, 0u64, 0u64);
    let mut per_key = std::collections::HashMap::<String, u64>::new();
    for event in &events {
        let count = || event.details()["count"].as_u64().unwrap();
        match event.action() {
            "modbus.connection_refused" => {
                refusal_events += 1;
                refused += count();
            }
            "modbus.handshake" => {
                refusal_events += 1;
                failed += count();
            }
            _ => continue,
        }
        let source: IpAddr = event.source_address().unwrap().parse().unwrap();
        assert!(
            (0..SOURCES).any(|n| flood_source(n) == source),
            "only flooding sources were refused, not {source}"
        );
        let reason: String = event.details()["reason"]
            .as_str()
            .unwrap()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        *per_key
            .entry(format!("{source} {} {reason}", event.action()))
            .or_default() += 1;
    }
    println!(
        "refusal events in the trail: {refusal_events} for {refused} refusals and {failed} failed handshakes"
    );
    assert_eq!(
        refused, counters.connections_refused,
        "refusals accounted for"
    );
    assert_eq!(
        failed, counters.handshakes_failed,
        "failed handshakes accounted for"
    );
    // One event per source, reason and interval (1 s here): the first at once, then one
    // summary per interval while the refusals go on, and a last one at the stop.
    for (key, events) in &per_key {
        assert!(
            *events <= flood_s + 3,
            "{events} events in {flood_s} s for {key}: not aggregated"
        );
    }
}
