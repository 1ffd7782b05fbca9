//! Each IDS detector raises its alert, once per window, with its ATT&CK technique.

use rampart_conduit::{Alert, Detector, Ids, IdsConfig, Observation, Severity};
use rampart_modbus::{ExceptionCode, ReadDeviceIdCode, Request, RequestPdu, Response};

use crate::util::{default_policy, range, request};

fn feed(ids: &mut Ids, t: u64, req: &Request<'_>) -> Vec<Alert> {
    let mut alerts = Vec::new();
    ids.observe(
        t,
        "10.0.0.9",
        Observation::Request {
            request: req,
            decision: None,
        },
        &mut alerts,
    );
    alerts
}

fn detectors(alerts: &[Alert]) -> Vec<Detector> {
    alerts.iter().map(|a| a.detector).collect()
}

#[test]
fn policy_violations_are_alerted_with_the_reason() {
    let policy = default_policy();
    let mut ids = Ids::new(IdsConfig::default());
    let req = request(
        1,
        RequestPdu::WriteSingleRegister {
            address: 3,
            value: 9,
        },
    );
    let decision = policy.decide(policy.resolve(Some("viewer")), &req);
    let mut alerts = Vec::new();
    ids.observe(
        0,
        "c",
        Observation::Request {
            request: &req,
            decision: Some(&decision),
        },
        &mut alerts,
    );
    assert_eq!(detectors(&alerts), [Detector::PolicyViolation]);
    assert_eq!(alerts[0].severity, Severity::High);
    assert_eq!(alerts[0].technique.id, "T0855");
    assert!(
        alerts[0]
            .explanation
            .contains("role 'viewer' may not use write single register"),
        "{}",
        alerts[0].explanation
    );
}

#[test]
fn reconnaissance_functions_are_alerted_once_each() {
    let mut ids = Ids::new(IdsConfig::default());
    let id = request(
        1,
        RequestPdu::ReadDeviceIdentification {
            code: ReadDeviceIdCode::Basic,
            object_id: 0,
        },
    );
    assert_eq!(
        detectors(&feed(&mut ids, 0, &id)),
        [Detector::Reconnaissance]
    );
    assert!(feed(&mut ids, 1, &id).is_empty(), "reported once");
    let listen_only = request(
        1,
        RequestPdu::Diagnostics {
            sub_function: 4,
            data: &[0, 0],
        },
    );
    let alerts = feed(&mut ids, 2, &listen_only);
    assert_eq!(
        (alerts[0].severity, alerts[0].technique.id),
        (Severity::High, "T0858")
    );
    let server_id = request(1, RequestPdu::ReportServerId);
    assert_eq!(feed(&mut ids, 3, &server_id)[0].technique.id, "T0888");
}

#[test]
fn address_and_unit_scans_are_detected() {
    let config = IdsConfig {
        scan_addresses: 16,
        scan_units: 4,
        ..IdsConfig::default()
    };
    let mut ids = Ids::new(config);
    let mut all = Vec::new();
    for i in 0..40u16 {
        all.extend(feed(
            &mut ids,
            u64::from(i),
            &request(1, RequestPdu::ReadHoldingRegisters(range(i * 100, 1))),
        ));
    }
    assert_eq!(
        detectors(&all),
        [Detector::AddressScan],
        "one alert per window"
    );
    let mut all = Vec::new();
    for unit in 1..=10u8 {
        all.extend(feed(
            &mut ids,
            100,
            &request(unit, RequestPdu::ReadCoils(range(0, 1))),
        ));
    }
    assert_eq!(detectors(&all), [Detector::UnitScan]);
    assert_eq!(all[0].technique.id, "T0846");
}

#[test]
fn write_bursts_and_floods_are_detected_and_windows_reset() {
    let config = IdsConfig {
        write_burst: 10,
        flood_requests: 50,
        window_us: 1_000_000,
        ..IdsConfig::default()
    };
    let mut ids = Ids::new(config);
    let write = request(
        1,
        RequestPdu::WriteSingleRegister {
            address: 1,
            value: 1,
        },
    );
    let mut all = Vec::new();
    for t in 0..60 {
        all.extend(feed(&mut ids, t, &write));
    }
    assert_eq!(
        detectors(&all),
        [Detector::WriteBurst, Detector::RequestFlood]
    );
    // After the window, the counts start again: nine writes raise nothing.
    let mut later = Vec::new();
    for t in 0..9 {
        later.extend(feed(&mut ids, 2_000_000 + t, &write));
    }
    assert!(later.is_empty(), "{later:?}");
}

#[test]
fn exception_storms_and_illegal_address_probes_are_detected() {
    let config = IdsConfig {
        exception_storm: 6,
        scan_address_exceptions: 3,
        ..IdsConfig::default()
    };
    let mut ids = Ids::new(config);
    let req = request(1, RequestPdu::ReadHoldingRegisters(range(9000, 1)));
    let reply = Response::exception(&req, ExceptionCode::ILLEGAL_DATA_ADDRESS);
    let mut alerts = Vec::new();
    for t in 0..10 {
        ids.observe(t, "c", Observation::Response(&reply), &mut alerts);
    }
    assert_eq!(
        detectors(&alerts),
        [Detector::AddressScan, Detector::ExceptionStorm]
    );
}

#[test]
fn functions_outside_the_learned_baseline_are_flagged() {
    let config = IdsConfig {
        baseline_requests: 5,
        ..IdsConfig::default()
    };
    let mut ids = Ids::new(config);
    let read = request(1, RequestPdu::ReadHoldingRegisters(range(0, 1)));
    for t in 0..5 {
        assert!(feed(&mut ids, t, &read).is_empty());
    }
    assert!(
        feed(&mut ids, 6, &read).is_empty(),
        "a baseline function is quiet"
    );
    let write = request(
        1,
        RequestPdu::WriteSingleRegister {
            address: 0,
            value: 0,
        },
    );
    let alerts = feed(&mut ids, 7, &write);
    assert_eq!(detectors(&alerts), [Detector::UnusualFunction]);
    assert!(feed(&mut ids, 8, &write).is_empty(), "reported once");
}

#[test]
fn malformed_frames_are_alerted() {
    let mut ids = Ids::new(IdsConfig::default());
    let mut alerts = Vec::new();
    ids.observe(
        0,
        "c",
        Observation::Malformed("protocol id 1 is not 0"),
        &mut alerts,
    );
    assert_eq!(detectors(&alerts), [Detector::MalformedFrame]);
    assert!(alerts[0].explanation.contains("protocol id 1"));
}

#[test]
fn client_state_is_bounded() {
    let mut ids = Ids::new(IdsConfig {
        max_clients: 3,
        ..IdsConfig::default()
    });
    let read = request(1, RequestPdu::ReadHoldingRegisters(range(0, 1)));
    for i in 0..100u64 {
        let mut alerts = Vec::new();
        ids.observe(
            i,
            &format!("client-{i}"),
            Observation::Request {
                request: &read,
                decision: None,
            },
            &mut alerts,
        );
    }
    // Nothing to assert on memory directly; the public behaviour is that it keeps working.
    assert_eq!(ids.config().max_clients, 3);
}
