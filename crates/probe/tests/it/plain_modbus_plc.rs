//! A plain PLC on loopback (Rampart's simulated tank PLC: Modbus/TCP without any
//! authentication, like most installed PLCs): clear text, data for anyone, and — with
//! `--intrusive` only — a write accepted from anyone, which the probe leaves as it found it.

use rampart_gateway::sim::SimulatedPlc;
use rampart_probe::Outcome;

use crate::util::{expect, probe, result};

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_plc_serves_anyone_in_clear_text() {
    let plc = SimulatedPlc::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let target = format!("modbus://{}", plc.local_addr());
    let evidence = probe(std::slice::from_ref(&target), &[], false).await;
    assert!(
        evidence
            .checks
            .iter()
            .all(|c| c.id != "modbus-unauthenticated-write"),
        "read-only by default"
    );
    expect(&evidence, "modbus-plaintext", &target, Outcome::NotMet);
    let reads = expect(
        &evidence,
        "modbus-unauthenticated-access",
        &target,
        Outcome::NotMet,
    );
    for fc in ["FC 1", "FC 2", "FC 3", "FC 4"] {
        assert!(reads.contains(fc), "{reads}");
    }
    let details = &result(&evidence, "modbus-malformed-frames", &target).details;
    for frame in ["protocol id 1", "MBAP length 1024", "FC 3 quantity 126"] {
        let reply = details[frame].as_str().unwrap();
        assert!(!reply.contains("no answer"), "{frame} hung: {reply}");
    }
    assert!(evidence.any_not_met());
    plc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_intrusive_write_is_accepted_by_a_plain_plc_and_changes_nothing() {
    let plc = SimulatedPlc::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let target = format!("modbus://{}", plc.local_addr());
    let before = plc.tank().holding_registers()[0];
    let evidence = probe(
        std::slice::from_ref(&target),
        &["modbus-unauthenticated-write"],
        true,
    )
    .await;
    assert!(evidence.intrusive);
    let write = expect(
        &evidence,
        "modbus-unauthenticated-write",
        &target,
        Outcome::NotMet,
    );
    assert!(
        write.contains("accepted a write (FC 6) without authentication"),
        "{write}"
    );
    let details = &result(&evidence, "modbus-unauthenticated-write", &target).details;
    assert_eq!(details["value_read"], u64::from(before));
    assert_eq!(details["restored"], "unchanged");
    assert_eq!(plc.tank().holding_registers()[0], before);
    plc.shutdown().await;
}
