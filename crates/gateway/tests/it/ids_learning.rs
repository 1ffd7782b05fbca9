//! CR 6.2: the IDS learns a baseline live over a learning window (audited), keeps it across
//! a restart, and then alerts on what departs from it.

use std::sync::Arc;
use std::time::Duration;

use rampart_conduit::{Adaptation, Detector, LearningState};
use rampart_gateway::{Gateway, MemoryAuditSink};

use crate::util::{TestGateway, connect, eventually, loopback_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learned_baseline_is_saved_kept_and_alerts_on_a_new_function() {
    let gw = TestGateway::start().await;
    assert_eq!(gw.gateway.status().ids, LearningState::None);
    let state = gw
        .gateway
        .start_learning(Duration::from_secs(2), Adaptation::Frozen, "test")
        .await
        .unwrap();
    assert!(
        matches!(
            state,
            LearningState::Learning {
                until_us: Some(_),
                ..
            }
        ),
        "{state:?}"
    );
    assert_eq!(gw.events("ids.learning_started"), 1);
    let mut operator = gw.client("operator").await.unwrap();
    // The routine while learning: holding-register reads; nothing is alerted meanwhile,
    // not even the FC 17 reconnaissance the fixed detectors would report.
    for _ in 0..20 {
        assert!(operator.read_holding(0, 4).await.unwrap().is_ok());
    }
    gw.wait_for_events("ids.learning_finished", 1).await;
    eventually(|| matches!(gw.gateway.status().ids, LearningState::Detecting { .. })).await;
    let file = gw.data.root().join("gateway/ids-baseline.json");
    let baseline =
        rampart_conduit::Baseline::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(baseline.clients.len(), 1, "{:?}", baseline.clients.keys());
    assert!(gw.gateway.status().recent_alerts.is_empty());

    // Detecting: the routine raises nothing, a function the client never used does.
    assert!(operator.read_holding(0, 4).await.unwrap().is_ok());
    assert!(gw.gateway.status().recent_alerts.is_empty());
    assert!(operator.read_input(0, 2).await.unwrap().is_ok());
    let alerts = gw.gateway.status().recent_alerts;
    assert_eq!(
        alerts.iter().map(|a| a.detector).collect::<Vec<_>>(),
        [Detector::UnusualFunction],
        "{alerts:?}"
    );
    assert_eq!(alerts[0].function, Some(4));
    gw.wait_for_events("ids.alert", 1).await;

    // Kept across a restart.
    let TestGateway {
        temp: _temp,
        data,
        gateway,
        audit: _,
    } = gw;
    gateway.shutdown().await.unwrap();
    let audit = Arc::new(MemoryAuditSink::new());
    let gateway = Gateway::start_with_audit(loopback_config(), &data, audit.clone())
        .await
        .unwrap();
    assert!(matches!(
        gateway.status().ids,
        LearningState::Detecting { clients: 1, .. }
    ));
    gateway.clear_baseline("test").await.unwrap();
    assert_eq!(gateway.status().ids, LearningState::None);
    assert!(!data.root().join("gateway/ids-baseline.json").exists());
    assert!(audit.actions().contains(&"ids.baseline_cleared".to_owned()));
    let pki = rampart_vault::pki::Pki::open(&data).unwrap();
    let mut operator = connect(gateway.secure_addr(), &pki, "operator")
        .await
        .unwrap();
    assert!(operator.read_input(0, 2).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learning_window_out_of_range_is_refused_and_changes_nothing() {
    let gw = TestGateway::start().await;
    for duration in [Duration::ZERO, Duration::from_hours(31 * 24)] {
        let error = gw
            .gateway
            .start_learning(duration, Adaptation::Frozen, "test")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("out of range"), "{error}");
    }
    assert_eq!(gw.gateway.status().ids, LearningState::None);
    assert_eq!(gw.events("ids.learning_started"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_baseline_file_is_reported_and_monitoring_falls_back() {
    let gw = TestGateway::start().await;
    let TestGateway {
        temp: _temp,
        data,
        gateway,
        audit: _,
    } = gw;
    gateway.shutdown().await.unwrap();
    data.dir(rampart_vault::Entry::Gateway).unwrap();
    std::fs::write(
        data.root().join("gateway/ids-baseline.json"),
        "{\"format\": 1}",
    )
    .unwrap();
    let audit = Arc::new(MemoryAuditSink::new());
    let gateway = Gateway::start_with_audit(loopback_config(), &data, audit.clone())
        .await
        .unwrap();
    assert_eq!(gateway.status().ids, LearningState::None);
    assert!(audit.actions().contains(&"ids.baseline_invalid".to_owned()));
}
