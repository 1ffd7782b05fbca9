//! NDR 5.2 RE 3 fail close: when a required event cannot be recorded, traffic stops, the
//! reason is visible, and it resumes only once recording works again.

use rampart_gateway::Traffic;
use rampart_modbus::ExceptionCode;

use crate::util::{TestGateway, assert_refused};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_failure_stops_all_traffic_until_resumed() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    let mut operator = gw.client("operator").await.unwrap();
    assert!(viewer.read_holding(0, 1).await.unwrap().is_ok());

    gw.audit.set_failing(true);
    // A denial must be recorded; it cannot be, so no answer comes and traffic stops.
    assert!(viewer.write_register(0, 1).await.is_err());
    match gw.gateway.status().traffic {
        Traffic::Halted { reason, island } => {
            assert!(reason.contains("fail close"), "{reason}");
            assert!(reason.contains("could not record"), "{reason}");
            assert!(!island);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        operator.is_closed_by_server().await,
        "every connection stops"
    );
    assert_refused(gw.client("operator").await).await;
    assert!(gw.gateway.start_summary().contains("HALTED"));

    // Resuming needs a working trail.
    assert!(gw.gateway.resume("test").await.is_err());
    gw.audit.set_failing(false);
    gw.gateway.resume("test").await.unwrap();
    assert_eq!(gw.gateway.status().traffic, Traffic::Open);
    let mut viewer = gw.client("viewer").await.unwrap();
    assert_eq!(
        viewer.write_register(0, 1).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    assert!(gw.audit.actions().contains(&"gateway.resumed".to_owned()));
}
