//! CR 2.8: with the real, hash-chained store, a denial is recorded with who, from where,
//! what and why, and the chain verifies with the device key.

use rampart_audit::{AuditReader, Outcome, Query, verify};
use rampart_gateway::Gateway;
use rampart_modbus::ExceptionCode;
use rampart_vault::DataDir;
use rampart_vault::pki::Pki;

use crate::util::{connect, loopback_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_write_is_in_the_signed_audit_trail() {
    let temp = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
    let gateway = Gateway::start(loopback_config(), &data).await.unwrap();
    let pki = Pki::open(&data).unwrap();
    let mut viewer = connect(gateway.secure_addr(), &pki, "viewer")
        .await
        .unwrap();
    assert_eq!(
        viewer.write_register(0, 123).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    drop(viewer);
    gateway.shutdown().await.unwrap();

    let dir = data.root().join("audit");
    let reader = AuditReader::open(&dir).unwrap();
    let denied = reader
        .query(&Query::new().outcome(Outcome::Denied))
        .unwrap();
    assert_eq!(denied.len(), 1, "{denied:?}");
    let event = &denied[0];
    assert_eq!(event.action(), "modbus.request");
    assert!(
        event.actor().name().contains("CN=viewer"),
        "{}",
        event.actor()
    );
    assert!(event.source_address().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(event.interface(), Some("modbus-tls"));
    assert!(event.target().unwrap().contains("write single register"));
    let reason = event.details()["reason"].as_str().unwrap();
    assert!(reason.contains("viewer"), "{reason}");
    let actions: Vec<String> = reader
        .tail(100)
        .unwrap()
        .iter()
        .map(|e| e.action().to_owned())
        .collect();
    for expected in [
        "gateway.started",
        "modbus.connect",
        "ids.alert",
        "gateway.stopped",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected}: {actions:?}"
        );
    }
    let key = data.device_key().unwrap().public_key();
    let report = verify(&dir, &key).unwrap();
    assert!(report.is_intact(), "{report}");
}
