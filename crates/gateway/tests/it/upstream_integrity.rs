//! The upstream side: transaction ids remapped over a shared pool, responses validated
//! against their requests, timeouts and reconnection.

use std::net::SocketAddr;
use std::time::Duration;

use rampart_gateway::bank::RegisterBank;
use rampart_modbus::ExceptionCode;
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
