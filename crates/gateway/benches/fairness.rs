//! Fairness under a flood (CR 7.1), measured end to end on loopback in release mode:
//! the p50/p99 latency of a client reading holding registers, alone and while other
//! clients flood the gateway at full speed, against the register bank as upstream.
//!
//! `cargo bench -p rampart-gateway --bench fairness` prints one line per scenario; the goal
//! of the issue is a loaded p99 below 5x the unloaded p99. The flooders share one client
//! certificate (one client); scenarios without a rate limit show what scheduling alone
//! achieves when the gateway's two cores are saturated, the last one what the default
//! policy's per-client token bucket adds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_conduit::DEFAULT_POLICY;
use rampart_gateway::bank::RegisterBank;
use rampart_gateway::config::UpstreamTarget;
use rampart_gateway::{Gateway, GatewayConfig, MemoryAuditSink, PolicyUpdate};
use rampart_vault::DataDir;
use rampart_vault::pki::Pki;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

const SAMPLES: usize = 2000;
const FLOOD_DEPTH: u16 = 16;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let bank = RegisterBank::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bank");
    let temp = tempfile::tempdir().expect("tempdir");
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).expect("data");
    let mut config = GatewayConfig::default();
    config.secure.listen = "127.0.0.1:0".parse().expect("addr");
    config.management.listen = "127.0.0.1:0".parse().expect("addr");
    config.upstream.target = UpstreamTarget::Remote(bank.local_addr().to_string());
    config.upstream.connections = 4;
    config.upstream.pipeline = 8;
    let gateway = Gateway::start_with_audit(config, &data, Arc::new(MemoryAuditSink::new()))
        .await
        .expect("gateway");
    let unlimited = DEFAULT_POLICY
        .replacen(
            "requests_per_second = 200",
            "requests_per_second = 1000000",
            1,
        )
        .replacen("burst = 400", "burst = 1000000", 1);
    gateway
        .reload_policy(PolicyUpdate::Text {
            text: unlimited.clone(),
            origin: "bench".into(),
        })
        .await
        .expect("policy");
    let pki = Pki::open(&data).expect("pki");
    let addr = gateway.secure_addr();
    let mut victim = connect(addr, &pki, "viewer").await;
    measure(&mut victim, 200, Duration::ZERO).await;
    let (p50, unloaded) = measure(&mut victim, SAMPLES, Duration::ZERO).await;
    println!("fairness: victim alone              p50 {p50:>9.1?}  p99 {unloaded:>9.1?}");
    for (flooders, limited) in [(1usize, false), (4, false), (16, false), (16, true)] {
        let text = if limited {
            DEFAULT_POLICY.to_owned()
        } else {
            unlimited.clone()
        };
        gateway
            .reload_policy(PolicyUpdate::Text {
                text,
                origin: "bench".into(),
            })
            .await
            .expect("policy");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for _ in 0..flooders {
            let mut client = connect(addr, &pki, "engineer").await;
            let stop = Arc::clone(&stop);
            tasks.push(tokio::spawn(async move {
                let batch = batch(FLOOD_DEPTH);
                let mut done = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    client.write_all(&batch).await.expect("flood write");
                    for _ in 0..FLOOD_DEPTH {
                        receive(&mut client).await;
                    }
                    done += u64::from(FLOOD_DEPTH);
                }
                done
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let start = Instant::now();
        // Under the default policy the victim, too, may send only 200 requests a second.
        let (p50, p99) = if limited {
            measure(&mut victim, 300, Duration::from_millis(6)).await
        } else {
            measure(&mut victim, SAMPLES, Duration::ZERO).await
        };
        let elapsed = start.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut flood = 0;
        for task in tasks {
            flood += task.await.expect("flooder");
        }
        #[allow(clippy::cast_precision_loss, reason = "a rate for people")]
        let rate = flood as f64 / elapsed.as_secs_f64();
        println!(
            "fairness: {flooders:>2} flooding connection(s) p50 {p50:>9.1?}  p99 {p99:>9.1?} \
             ({:.1}x unloaded p99; flood {rate:.0} req/s; {})",
            p99.as_secs_f64() / unloaded.as_secs_f64(),
            if limited {
                "default policy: 200 req/s per client"
            } else {
                "no rate limit"
            }
        );
    }
    gateway.shutdown().await.expect("shutdown");
    bank.shutdown().await;
}

async fn connect(addr: std::net::SocketAddr, pki: &Pki, name: &str) -> TlsStream<TcpStream> {
    let cert = pki.client_cert_path(name).expect("name");
    let key = pki.client_key_path(name).expect("name");
    let config = rampart_vault::tls::client_config(&pki.ca_cert_path(), Some((&cert, &key)))
        .expect("client config");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake")
}

/// `n` pipelined requests for holding registers 0-9 of unit 1.
fn batch(n: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for tid in 0..n {
        let [hi, lo] = tid.to_be_bytes();
        out.extend_from_slice(&[hi, lo, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10]);
    }
    out
}

async fn receive(stream: &mut TlsStream<TcpStream>) {
    let mut header = [0u8; 7];
    stream
        .read_exact(&mut header)
        .await
        .expect("response header");
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[4], header[5]])) - 1];
    stream.read_exact(&mut body).await.expect("response body");
    assert_eq!(body.first(), Some(&3), "a register response");
}

/// p50 and p99 of `n` sequential reads, `pause` apart.
async fn measure(
    stream: &mut TlsStream<TcpStream>,
    n: usize,
    pause: Duration,
) -> (Duration, Duration) {
    let request = batch(1);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        let start = Instant::now();
        stream.write_all(&request).await.expect("write");
        receive(stream).await;
        samples.push(start.elapsed());
    }
    samples.sort_unstable();
    (samples[n / 2], samples[(n * 99).div_ceil(100) - 1])
}
