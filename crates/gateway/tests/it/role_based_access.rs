//! CR 2.1 authorisation enforcement: each role gets exactly what the default policy grants,
//! end to end against the simulated PLC.

use rampart_audit::Category;
use rampart_gateway::sim::{HR_LEVEL_SETPOINT, IR_LEVEL};
use rampart_modbus::{AddressRange, ExceptionCode, RequestPdu};
use rampart_vault::pki::ClientSpec;

use crate::util::{TestGateway, exception};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_reads_every_table_of_the_simulated_plc() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    let setpoints = viewer.read_holding(0, 4).await.unwrap().unwrap();
    assert_eq!(setpoints, [500, 900, 100, 1]);
    let level = viewer.read_input(IR_LEVEL, 8).await.unwrap().unwrap();
    assert!(level[0] <= 1000, "level {level:?}");
    for pdu in [
        RequestPdu::ReadCoils(AddressRange::new(0, 16).unwrap()),
        RequestPdu::ReadDiscreteInputs(AddressRange::new(0, 16).unwrap()),
    ] {
        let response = viewer.call(pdu).await.unwrap();
        assert_eq!(exception(&response), None);
    }
    // Past the register map the PLC itself answers with an exception, which is forwarded.
    assert_eq!(
        viewer.read_holding(18, 5).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_DATA_ADDRESS)
    );
    let status = gw.gateway.status();
    assert_eq!(status.counters.allowed, 5);
    assert_eq!(status.counters.denied, 0);
    assert_eq!(gw.events("modbus.connect"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_writes_get_exception_1_and_an_audit_event_and_an_alert() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    assert_eq!(
        viewer.write_register(HR_LEVEL_SETPOINT, 990).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    // The connection stays usable, and the PLC never saw the write.
    assert_eq!(
        viewer.read_holding(HR_LEVEL_SETPOINT, 1).await.unwrap(),
        Ok(vec![500])
    );
    let denied: Vec<_> = gw
        .audit
        .events()
        .into_iter()
        .filter(|e| e.action() == "modbus.request")
        .collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].category(), Category::AccessControl);
    assert!(gw.events("ids.alert") >= 1, "{:?}", gw.audit.actions());
    assert_eq!(gw.gateway.status().counters.denied, 1);
    assert!(!gw.gateway.status().recent_alerts.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_writes_setpoints_and_valves_but_nothing_else() {
    let gw = TestGateway::start().await;
    let mut operator = gw.client("operator").await.unwrap();
    assert_eq!(
        operator
            .write_register(HR_LEVEL_SETPOINT, 650)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        operator.read_holding(HR_LEVEL_SETPOINT, 1).await.unwrap(),
        Ok(vec![650])
    );
    let response = operator
        .call(RequestPdu::WriteSingleCoil {
            address: 2,
            value: false,
        })
        .await
        .unwrap();
    assert_eq!(exception(&response), None);
    // Holding register 20 and coil 16 are outside the operator's write ranges.
    assert_eq!(
        operator.write_register(20, 1).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    let response = operator
        .call(RequestPdu::WriteSingleCoil {
            address: 16,
            value: true,
        })
        .await
        .unwrap();
    assert_eq!(exception(&response), Some(ExceptionCode::ILLEGAL_FUNCTION));
    // Allowed writes are control-system events in the trail.
    assert_eq!(gw.events("modbus.write"), 2);
    assert_eq!(gw.events("modbus.request"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineer_uses_functions_the_operator_may_not() {
    let gw = TestGateway::start().await;
    let mut engineer = gw.client("engineer").await.unwrap();
    let mut operator = gw.client("operator").await.unwrap();
    let pdu = RequestPdu::ReadWriteMultipleRegisters {
        read: AddressRange::new(0, 2).unwrap(),
        write: AddressRange::new(10, 1).unwrap(),
        values: rampart_modbus::Registers::new(&[0, 7]).unwrap(),
    };
    assert_eq!(exception(&engineer.call(pdu).await.unwrap()), None);
    assert_eq!(
        exception(&operator.call(pdu).await.unwrap()),
        Some(ExceptionCode::ILLEGAL_FUNCTION)
    );
    assert_eq!(engineer.read_holding(10, 1).await.unwrap(), Ok(vec![7]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_null_role_and_unknown_roles_are_denied_everything() {
    let gw = TestGateway::start().await;
    let pki = gw.pki();
    pki.issue_client(&ClientSpec::new("anonymous")).unwrap();
    pki.issue_client(&ClientSpec::new("janitor").role("janitor"))
        .unwrap();
    for name in ["anonymous", "janitor"] {
        let mut client = gw.client(name).await.unwrap();
        assert_eq!(
            client.read_holding(0, 1).await.unwrap(),
            Err(ExceptionCode::ILLEGAL_FUNCTION),
            "{name}"
        );
    }
    assert_eq!(gw.gateway.status().counters.denied, 2);
    assert_eq!(gw.gateway.status().counters.allowed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_may_answer_denials_with_a_reset() {
    let gw = TestGateway::start().await;
    let text = rampart_conduit::DEFAULT_POLICY.replacen(
        "on_deny = \"exception\"",
        "on_deny = \"reset\"",
        1,
    );
    gw.gateway
        .reload_policy(rampart_gateway::PolicyUpdate::Text {
            text,
            origin: "reset policy".into(),
        })
        .await
        .unwrap();
    let mut viewer = gw.client("viewer").await.unwrap();
    assert!(viewer.read_holding(0, 1).await.unwrap().is_ok());
    assert!(
        viewer.write_register(0, 1).await.is_err(),
        "no answer, the connection ends"
    );
    assert_eq!(gw.events("modbus.request"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_summary_says_what_listens_where() {
    let gw = TestGateway::start().await;
    let summary = gw.gateway.start_summary();
    println!("{summary}");
    for needle in [
        &gw.addr().to_string(),
        "TLS 1.3 and 1.2",
        "simulated PLC at 127.0.0.1:",
        "policy.toml (created from the default)",
        "clients/{operator,engineer,viewer}.{crt,key}",
        "traffic              open",
    ] {
        assert!(
            summary.contains(needle),
            "'{needle}' missing in:\n{summary}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_lists_each_connected_client_with_its_role_and_traffic() {
    let gw = TestGateway::start().await;
    let mut viewer = gw.client("viewer").await.unwrap();
    let mut operator = gw.client("operator").await.unwrap();
    viewer.read_holding(0, 2).await.unwrap().unwrap();
    assert_eq!(
        viewer.write_register(HR_LEVEL_SETPOINT, 990).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    operator.read_holding(0, 2).await.unwrap().unwrap();
    let clients = gw.gateway.status().clients;
    assert_eq!(clients.len(), 2, "{clients:?}");
    let by_role = |role: &str| {
        clients
            .iter()
            .find(|c| c.role.as_deref() == Some(role))
            .unwrap_or_else(|| panic!("no {role} in {clients:?}"))
    };
    assert_eq!(
        (by_role("viewer").requests, by_role("viewer").denied),
        (2, 1)
    );
    assert_eq!(
        (by_role("operator").requests, by_role("operator").denied),
        (1, 0)
    );
    assert_eq!(by_role("viewer").interface, "modbus-tls");
    assert!(by_role("viewer").client.contains("viewer"), "{clients:?}");
    drop(viewer);
    // The entry goes when the connection closes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while gw.gateway.status().clients.len() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the closed connection stays listed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
