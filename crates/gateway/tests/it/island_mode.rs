//! NDR 5.2 RE 2 island mode: all traffic stops at once, and stays stopped across a restart.

use std::sync::Arc;

use rampart_gateway::{Gateway, MemoryAuditSink, Traffic, island_persisted, persist_island};

use crate::util::{TestGateway, assert_refused, connect, loopback_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn island_mode_closes_connections_and_refuses_new_ones() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    assert!(viewer.read_holding(0, 1).await.unwrap().is_ok());
    gw.gateway.set_island(true, "test").await.unwrap();
    assert!(viewer.is_closed_by_server().await);
    assert_eq!(gw.gateway.status().traffic, Traffic::Island);
    assert_refused(gw.client("viewer").await).await;
    assert_eq!(gw.events("gateway.island_on"), 1);
    assert!(island_persisted(&gw.data).unwrap());

    gw.gateway.set_island(false, "test").await.unwrap();
    assert_eq!(gw.gateway.status().traffic, Traffic::Open);
    let mut viewer = gw.client("viewer").await.unwrap();
    assert!(viewer.read_holding(0, 1).await.unwrap().is_ok());
    assert_eq!(gw.events("gateway.island_off"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn island_mode_survives_a_restart() {
    let gw = TestGateway::start().await;
    gw.gateway.set_island(true, "test").await.unwrap();
    let TestGateway {
        temp: _temp,
        data,
        gateway,
        audit,
    } = gw;
    gateway.shutdown().await.unwrap();
    assert!(audit.actions().contains(&"gateway.stopped".to_owned()));

    let audit = Arc::new(MemoryAuditSink::new());
    let gateway = Gateway::start_with_audit(loopback_config(), &data, audit.clone())
        .await
        .unwrap();
    assert_eq!(gateway.status().traffic, Traffic::Island);
    assert!(gateway.start_summary().contains("ISLAND MODE"));
    let pki = rampart_vault::pki::Pki::open(&data).unwrap();
    assert_refused(connect(gateway.secure_addr(), &pki, "viewer").await).await;
    gateway.set_island(false, "test").await.unwrap();
    let mut viewer = connect(gateway.secure_addr(), &pki, "viewer")
        .await
        .unwrap();
    assert!(viewer.read_holding(0, 1).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_island_file_switches_a_running_gateway() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    // As `rampart island on --data DIR` would, from another process.
    persist_island(&gw.data, true).unwrap();
    assert!(viewer.is_closed_by_server().await);
    gw.wait_for_events("gateway.island_on", 1).await;
    persist_island(&gw.data, false).unwrap();
    gw.wait_for_events("gateway.island_off", 1).await;
    let mut viewer = gw.client("viewer").await.unwrap();
    assert!(viewer.read_holding(0, 1).await.unwrap().is_ok());
}
