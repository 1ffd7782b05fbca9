//! The upstream side: transaction ids remapped over a shared pool, responses validated
//! against their requests, timeouts and reconnection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rampart_gateway::bank::RegisterBank;
use rampart_modbus::{AddressRange, ExceptionCode, Request, RequestPdu};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::util::{TestGateway, eventually, loopback_config, with_upstream};

/// A PLC that answers every request with two registers, whatever was asked.
async fn lying_plc() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 12];
                while stream.read_exact(&mut request).await.is_ok() {
                    let response = [
                        request[0], request[1], 0, 0, 0, 7, request[6], 3, 4, 0, 1, 0, 2,
                    ];
                    if stream.write_all(&response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_does_not_answer_the_request_never_reaches_the_client() {
    let plc = lying_plc().await;
    let gw = TestGateway::with_config(with_upstream(loopback_config(), plc)).await;
    let mut viewer = gw.client("viewer").await.unwrap();
    // One register asked, two returned: the client gets 0x0B instead.
    assert_eq!(
        viewer.read_holding(0, 1).await.unwrap(),
        Err(ExceptionCode::GATEWAY_TARGET_FAILED_TO_RESPOND)
    );
    gw.wait_for_events("modbus.upstream_invalid", 1).await;
    let status = gw.gateway.status();
    assert!(
        status
            .upstream
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("does not answer")),
        "{:?}",
        status.upstream
    );
    // Two registers asked: the same PLC answers correctly and it goes through.
    assert_eq!(viewer.read_holding(0, 2).await.unwrap(), Ok(vec![1, 2]));
}

/// A PLC that takes requests and never answers; counts the connections it accepted.
async fn silent_plc() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut sink = [0u8; 256];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    (addr, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plc_that_never_answers_gives_exception_0b_after_the_response_timeout() {
    let (plc, accepted) = silent_plc().await;
    let mut config = with_upstream(loopback_config(), plc);
    config.upstream.response_timeout = Duration::from_millis(300);
    let gw = TestGateway::with_config(config).await;
    let mut viewer = gw.client("viewer").await.unwrap();
    for _ in 0..2 {
        let start = std::time::Instant::now();
        assert_eq!(
            viewer.read_holding(0, 1).await.unwrap(),
            Err(ExceptionCode::GATEWAY_TARGET_FAILED_TO_RESPOND)
        );
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }
    // A timeout closes the connection it happened on, and the pool opens another (two at
    // start, as configured by default, then at least one more).
    eventually(|| accepted.load(Ordering::SeqCst) >= 3).await;
    assert!(
        gw.gateway
            .status()
            .upstream
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no response within 300 ms")),
        "{:?}",
        gw.gateway.status().upstream
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_plc_gives_exception_0a_in_bounded_time() {
    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut config = with_upstream(loopback_config(), closed);
    config.upstream.response_timeout = Duration::from_millis(300);
    let gw = TestGateway::with_config(config).await;
    let mut viewer = gw.client("viewer").await.unwrap();
    let start = std::time::Instant::now();
    assert_eq!(
        viewer.read_holding(0, 1).await.unwrap(),
        Err(ExceptionCode::GATEWAY_PATH_UNAVAILABLE)
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(gw.gateway.status().upstream.connected, 0);
    assert_eq!(gw.gateway.status().counters.upstream_failures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_share_one_upstream_connection_with_remapped_transaction_ids() {
    let bank = RegisterBank::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut config = with_upstream(loopback_config(), bank.local_addr());
    config.upstream.connections = 1;
    config.upstream.pipeline = 4;
    let gw = TestGateway::with_config(config).await;
    let mut tasks = Vec::new();
    for client in 0..4u16 {
        let mut viewer = gw.client("viewer").await.unwrap();
        tasks.push(tokio::spawn(async move {
            // Every client uses transaction ids 1, 2, 3...: the gateway keeps them apart.
            for i in 0..50u16 {
                let address = client * 1000 + i;
                let values = viewer.read_input(address, 1).await.unwrap().unwrap();
                assert_eq!(values, [address]);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let status = gw.gateway.status();
    assert_eq!(status.upstream.configured, 1);
    assert_eq!(status.upstream.forwarded, 200);
    assert_eq!(status.upstream.connects, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_that_fill_every_upstream_connection_are_all_answered_promptly() {
    // 8 clients send 8 pipelined reads at a time; the pool has 3 connections of 2 requests
    // in flight each. A full connection hands the queued rest to another one: no request
    // waits for the response timeout (5 s here) to be failed or picked up.
    let bank = RegisterBank::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut config = with_upstream(loopback_config(), bank.local_addr());
    config.upstream.connections = 3;
    config.upstream.pipeline = 2;
    config.upstream.response_timeout = Duration::from_secs(5);
    let gw = TestGateway::with_config(config).await;
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for client in 0..8u16 {
        let mut viewer = gw.client("viewer").await.unwrap();
        tasks.push(tokio::spawn(async move {
            // 5 bursts of 8: 320 requests in all, within the default policy's burst of 400.
            for burst in 0..5u16 {
                let first = client * 1000 + burst * 8;
                let mut bytes = Vec::new();
                for i in 0..8u16 {
                    Request::new(
                        i + 1,
                        1,
                        RequestPdu::ReadInputRegisters(AddressRange::new(first + i, 1).unwrap()),
                    )
                    .encode(&mut bytes)
                    .unwrap();
                }
                viewer.stream.write_all(&bytes).await.unwrap();
                for _ in 0..8 {
                    let response = viewer.receive().await.unwrap();
                    assert_eq!(
                        response[7], 4,
                        "a read-input-registers answer: {response:?}"
                    );
                    let tid = u16::from_be_bytes([response[0], response[1]]);
                    let value = u16::from_be_bytes([response[9], response[10]]);
                    // Input register n holds n.
                    assert_eq!(value, first + tid - 1);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    let status = gw.gateway.status();
    assert_eq!(status.upstream.forwarded, 320);
    assert_eq!(status.counters.upstream_failures, 0);
}

/// A slow PLC: answers read input registers (one register, value = address) 100 ms after
/// each request, one at a time per connection; counts the connections that served requests.
async fn slow_plc() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&serving);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut request = [0u8; 12];
                let mut seen = false;
                while stream.read_exact(&mut request).await.is_ok() {
                    if !seen {
                        seen = true;
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let response = [
                        request[0], request[1], 0, 0, 0, 5, request[6], 4, 2, request[8],
                        request[9],
                    ];
                    if stream.write_all(&response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, serving)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_upstream_connection_hands_queued_requests_to_the_others() {
    // One client sends 12 pipelined reads at once; each of the 3 connections takes 2 at a
    // time. The connection woken first fills up and wakes another for the rest, so all three
    // work in parallel (no further submission would wake them).
    let (plc, serving) = slow_plc().await;
    let mut config = with_upstream(loopback_config(), plc);
    config.upstream.connections = 3;
    config.upstream.pipeline = 2;
    let gw = TestGateway::with_config(config).await;
    eventually(|| gw.gateway.status().upstream.connected == 3).await;
    let mut viewer = gw.client("viewer").await.unwrap();
    let mut bytes = Vec::new();
    for i in 0..12u16 {
        Request::new(
            i + 1,
            1,
            RequestPdu::ReadInputRegisters(AddressRange::new(100 + i, 1).unwrap()),
        )
        .encode(&mut bytes)
        .unwrap();
    }
    viewer.stream.write_all(&bytes).await.unwrap();
    for _ in 0..12 {
        let response = viewer.receive().await.unwrap();
        let tid = u16::from_be_bytes([response[0], response[1]]);
        assert_eq!(
            u16::from_be_bytes([response[9], response[10]]),
            100 + tid - 1
        );
    }
    assert_eq!(serving.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_reconnects_after_the_plc_restarts() {
    let bank = RegisterBank::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = bank.local_addr();
    let mut config = with_upstream(loopback_config(), addr);
    config.upstream.response_timeout = Duration::from_millis(300);
    config.upstream.backoff_min = Duration::from_millis(20);
    config.upstream.backoff_max = Duration::from_millis(100);
    let gw = TestGateway::with_config(config).await;
    let mut viewer = gw.client("viewer").await.unwrap();
    assert_eq!(viewer.read_input(7, 1).await.unwrap(), Ok(vec![7]));
    bank.shutdown().await;
    let result = viewer.read_input(7, 1).await.unwrap();
    assert!(result.is_err(), "{result:?}");
    let _bank = RegisterBank::start(addr).await.unwrap();
    let mut answered = false;
    for _ in 0..50 {
        if viewer.read_input(7, 1).await.unwrap() == Ok(vec![7]) {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "{:?}", gw.gateway.status().upstream);
    eventually(|| gw.gateway.status().upstream.connects >= 2).await;
}
