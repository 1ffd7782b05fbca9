//! CR 7.1 denial-of-service protection and CR 7.2 resource management: limits on
//! connections, request rate, frame size and time, and fairness under a flood.

use std::time::{Duration, Instant};

use rampart_conduit::DEFAULT_POLICY;
use rampart_gateway::PolicyUpdate;
use rampart_modbus::{AddressRange, ExceptionCode, Registers, RequestPdu};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::util::{TestGateway, WAIT, assert_refused, exception, loopback_config};

/// The default policy with other limits.
fn with_limits(rate: u32, burst: u32, max_pdu: u16) -> String {
    DEFAULT_POLICY
        .replacen(
            "max_pdu_bytes = 253",
            &format!("max_pdu_bytes = {max_pdu}"),
            1,
        )
        .replacen(
            "requests_per_second = 200",
            &format!("requests_per_second = {rate}"),
            1,
        )
        .replacen("burst = 400", &format!("burst = {burst}"), 1)
}

async fn set_policy(gw: &TestGateway, text: String) {
    gw.gateway
        .reload_policy(PolicyUpdate::Text {
            text,
            origin: "test".into(),
        })
        .await
        .unwrap();
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[(samples.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_does_not_starve_another() {
    let gw = TestGateway::start().await;
    // No rate limit: fairness must come from the scheduling, not from the token bucket.
    set_policy(&gw, with_limits(1_000_000, 1_000_000, 253)).await;
    let mut victim = gw.client("viewer").await.unwrap();
    let mut measure = async |n: usize| {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            victim.read_holding(0, 4).await.unwrap().unwrap();
            samples.push(start.elapsed());
        }
        p99(samples)
    };
    measure(20).await;
    let unloaded = measure(100).await;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut flooders = Vec::new();
    for _ in 0..2 {
        let mut client = gw.client("engineer").await.unwrap();
        let stop_rx = stop_rx.clone();
        flooders.push(tokio::spawn(async move {
            // 16 requests in flight, as fast as the gateway takes them.
            let mut batch = Vec::new();
            for tid in 0..16u16 {
                rampart_modbus::Request::new(
                    tid,
                    1,
                    RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 10).unwrap()),
                )
                .encode(&mut batch)
                .unwrap();
            }
            let mut sent = 0u64;
            while !*stop_rx.borrow() {
                if client.send_raw(&batch).await.is_err() {
                    break;
                }
                for _ in 0..16 {
                    if client.receive().await.is_err() {
                        return sent;
                    }
                }
                sent += 16;
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loaded = measure(100).await;
    stop_tx.send(true).unwrap();
    let mut flooded = 0;
    for flooder in flooders {
        flooded += flooder.await.unwrap();
    }
    println!("victim p99 unloaded {unloaded:?}, under flood {loaded:?}; flood requests {flooded}");
    assert!(flooded > 1000, "the flood ran ({flooded} requests)");
    // Loose: the benchmark measures this precisely (goal: below 5x).
    assert!(
        loaded < unloaded * 20 + Duration::from_millis(50),
        "victim p99 {loaded:?} under flood vs {unloaded:?} unloaded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_rate_is_limited_per_client() {
    let gw = TestGateway::start().await;
    set_policy(&gw, with_limits(20, 5, 253)).await;
    let mut client = gw.client("viewer").await.unwrap();
    let start = Instant::now();
    for _ in 0..15 {
        client.read_holding(0, 1).await.unwrap().unwrap();
    }
    // 5 at once, then 20 a second: the other 10 take at least half a second.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(gw.gateway.status().counters.throttled > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_source_address_are_limited() {
    let mut config = loopback_config();
    config.limits.max_connections_per_ip = 2;
    let gw = TestGateway::with_config(config).await;
    let mut first = gw.client("viewer").await.unwrap();
    let _second = gw.client("viewer").await.unwrap();
    assert_refused(gw.client("viewer").await).await;
    gw.wait_for_events("modbus.connection_refused", 1).await;
    assert!(first.read_holding(0, 1).await.unwrap().is_ok());
    drop(first);
    // The slot is freed once the gateway sees the close.
    let mut admitted = false;
    for _ in 0..50 {
        if let Ok(mut client) = gw.client("viewer").await
            && client.read_holding(0, 1).await.is_ok()
        {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(admitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    let mut config = loopback_config();
    config.secure.handshake_timeout = Duration::from_millis(300);
    config.limits.idle_timeout = Duration::from_secs(1);
    let gw = TestGateway::with_config(config).await;
    // A client that never starts the handshake (slowloris).
    let mut silent = TcpStream::connect(gw.addr()).await.unwrap();
    let mut byte = [0u8; 1];
    let start = Instant::now();
    let read = tokio::time::timeout(WAIT, silent.read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)));
    assert!(start.elapsed() < Duration::from_secs(3));
    gw.wait_for_events("modbus.handshake", 1).await;
    // An authenticated client that goes quiet.
    let mut idle = gw.client("viewer").await.unwrap();
    idle.read_holding(0, 1).await.unwrap().unwrap();
    let start = Instant::now();
    assert!(idle.is_closed_by_server().await);
    assert!(start.elapsed() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framing_error_closes_the_connection_and_is_recorded() {
    let gw = TestGateway::start().await;
    let mut client = gw.client("engineer").await.unwrap();
    // Protocol id 5: not Modbus. No resynchronisation: the connection ends.
    client
        .send_raw(&[0, 1, 0, 5, 0, 6, 1, 3, 0, 0, 0, 1])
        .await
        .unwrap();
    assert!(client.is_closed_by_server().await);
    gw.wait_for_events("modbus.malformed", 1).await;
    assert!(gw.events("ids.alert") >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_pdus_get_exception_3_and_are_recorded() {
    let gw = TestGateway::start().await;
    set_policy(&gw, with_limits(200, 400, 20)).await;
    let mut client = gw.client("engineer").await.unwrap();
    // FC 3 asking for 0 registers: framed, but not a valid PDU.
    client
        .send_raw(&[0, 9, 0, 0, 0, 6, 1, 3, 0, 0, 0, 0])
        .await
        .unwrap();
    let response = client.receive().await.unwrap();
    assert_eq!(
        exception(&response),
        Some(ExceptionCode::ILLEGAL_DATA_VALUE)
    );
    // A 26-byte PDU over the policy's max_pdu_bytes of 20.
    let values = [0u8; 20];
    let response = client
        .call(RequestPdu::WriteMultipleRegisters {
            range: AddressRange::new(8, 10).unwrap(),
            values: Registers::new(&values).unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(
        exception(&response),
        Some(ExceptionCode::ILLEGAL_DATA_VALUE)
    );
    // The connection is still in step.
    assert_eq!(client.read_holding(0, 1).await.unwrap(), Ok(vec![500]));
    assert_eq!(gw.events("modbus.malformed"), 2);
    assert_eq!(gw.gateway.status().counters.malformed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_all_answered() {
    let gw = TestGateway::start().await;
    let mut client = gw.client("viewer").await.unwrap();
    let mut batch = Vec::new();
    for tid in 1..=40u16 {
        rampart_modbus::Request::new(
            tid,
            1,
            RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 1).unwrap()),
        )
        .encode(&mut batch)
        .unwrap();
    }
    client.stream.write_all(&batch).await.unwrap();
    let mut tids = Vec::new();
    for _ in 0..40 {
        let response = client.receive().await.unwrap();
        tids.push(u16::from_be_bytes([response[0], response[1]]));
    }
    tids.sort_unstable();
    assert_eq!(tids, (1..=40).collect::<Vec<_>>());
}
