//! Forwarding to an in-process rustls collector on loopback: RFC 5425 framing on the wire,
//! certificate checks in both directions, and resumption after a cut connection.

use std::os::unix::fs::PermissionsExt as _;

use rampart_forward::testing::{parse_message, split_frames};
use rampart_forward::{CHECKPOINT_SD_ID, ForwardError, Stop};

use crate::util::{Pki, TestCollector, Trail, check_guarantee, config};

#[test]
fn the_trail_goes_out_octet_counted_over_tls() {
    let pki = Pki::generate();
    let collector = TestCollector::start(pki.server_config(false), None);
    let mut trail = Trail::new(50);
    trail.append(1, 120);
    let mut forwarder =
        trail.forwarder(pki.collector(collector.address, "ca.pem", false), config());
    let report = forwarder.drain(&Stop::new()).unwrap();
    assert_eq!((report.events_sent, report.events_resent), (120, 0));
    assert_eq!((report.delivered, report.unconfirmed), (120, 0));
    assert_eq!(
        report.checkpoints_sent, 1,
        "checkpoint 100, after event 100"
    );

    // Closing the store signs checkpoint 120; the next run sends just that.
    trail.store.take().unwrap().close().unwrap();
    let report = forwarder.drain(&Stop::new()).unwrap();
    assert_eq!((report.events_sent, report.checkpoints_sent), (0, 1));
    drop(forwarder);

    let connections = collector.connections();
    assert_eq!(connections.len(), 2);
    // Every byte on the wire belongs to a whole frame, and every frame is RFC 5424.
    let mut messages = Vec::new();
    for bytes in &connections {
        for frame in split_frames(bytes).unwrap() {
            messages.push(parse_message(frame).unwrap());
        }
    }
    let copies = check_guarantee(&messages, 120);
    assert!(copies.values().all(|c| c == &[false]));
    let checkpoints: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.param(CHECKPOINT_SD_ID, "seq"))
        .collect();
    assert_eq!(checkpoints, ["100", "120"]);

    let cursor = std::fs::read_to_string(trail.cursor()).unwrap();
    assert!(cursor.contains("\ndelivered 120\n"), "{cursor}");
    assert!(cursor.contains("\ncheckpoint-delivered 120\n"), "{cursor}");
    let mode = std::fs::metadata(trail.cursor())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn mutual_tls_authenticates_the_forwarder() {
    let pki = Pki::generate();
    let collector = TestCollector::start(pki.server_config(true), None);
    let trail = Trail::new(1000);
    trail.append(1, 10);
    let report = trail
        .forwarder(pki.collector(collector.address, "ca.pem", true), config())
        .drain(&Stop::new())
        .unwrap();
    assert_eq!(report.delivered, 10);
    check_guarantee(&collector.messages(), 10);

    // Without a client certificate the collector refuses every connection.
    let other = Trail::new(1000);
    other.append(1, 3);
    let mut config = config();
    config.retry_for = std::time::Duration::from_secs(2);
    let err = other
        .forwarder(pki.collector(collector.address, "ca.pem", false), config)
        .drain(&Stop::new())
        .unwrap_err();
    assert!(matches!(err, ForwardError::Unreachable { .. }), "{err}");
}

#[test]
fn a_collector_the_ca_does_not_vouch_for_is_refused() {
    let pki = Pki::generate();
    let collector = TestCollector::start(pki.server_config(false), None);
    let trail = Trail::new(1000);
    trail.append(1, 3);
    for (collector, expected) in [
        (
            pki.collector(collector.address, "other-ca.pem", false),
            "UnknownIssuer",
        ),
        (
            pki.collector(collector.address, "ca.pem", false)
                .server_name("siem.example.org")
                .unwrap(),
            "not valid for name",
        ),
    ] {
        let mut config = config();
        config.retry_for = std::time::Duration::from_millis(300);
        let mut forwarder = trail.forwarder(collector, config);
        let err = forwarder.drain(&Stop::new()).unwrap_err();
        let ForwardError::Unreachable { last_error, .. } = &err else {
            panic!("{err}");
        };
        assert!(last_error.contains(expected), "{last_error}");
        assert_eq!(forwarder.cursor().sent(), 0, "not a byte of the trail left");
    }
    assert!(collector.messages().is_empty());
}

#[test]
fn a_cut_connection_resumes_with_marked_copies() {
    let pki = Pki::generate();
    let collector = TestCollector::start(pki.server_config(false), Some(40_000));
    let trail = Trail::new(100);
    trail.append(1, 400);
    let report = trail
        .forwarder(pki.collector(collector.address, "ca.pem", false), config())
        .drain(&Stop::new())
        .unwrap();
    assert_eq!(report.disconnects, 1);
    assert_eq!(report.delivered, 400);
    let copies = check_guarantee(&collector.messages(), 400);
    let resent = copies.values().flatten().filter(|r| **r).count();
    assert!(resent > 0, "the cut must force a resend");
}
