//! No probe outlives its bound: a target that accepts and never answers is reported as
//! hanging (or not tested) within the bound, never waited on forever; a closed port is
//! "nothing there", not a failure of the probe.

use std::time::{Duration, Instant};

use rampart_probe::Outcome;

use crate::util::{closed_port, expect, probe, result, silent_server};

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_target_is_a_hang_within_the_bound_not_a_hung_probe() {
    let (addr, server) = silent_server().await;
    let plain = format!("modbus://{addr}");
    let tls = format!("modbus-tls://{addr}");
    let started = Instant::now();
    let evidence = probe(
        &[plain.clone(), tls.clone()],
        &[
            "modbus-malformed-frames",
            "tls-client-certificate",
            "tls-certificate",
        ],
        false,
    )
    .await;
    let malformed = expect(
        &evidence,
        "modbus-malformed-frames",
        &plain,
        Outcome::NotMet,
    );
    assert!(malformed.contains("hung"), "{malformed}");
    // A TLS port that never answers the handshake refuses nothing: not tested, not met.
    expect(
        &evidence,
        "tls-client-certificate",
        &tls,
        Outcome::NotTested,
    );
    expect(&evidence, "tls-certificate", &tls, Outcome::NotTested);
    let r = result(&evidence, "modbus-malformed-frames", &plain);
    assert!(r.elapsed_ms < r.bound_ms, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_has_no_clear_text_modbus_and_no_tls_to_judge() {
    let addr = closed_port();
    let plain = format!("modbus://{addr}");
    let tls = format!("tls://{addr}");
    let evidence = probe(&[plain.clone(), tls.clone()], &[], false).await;
    let text = expect(&evidence, "modbus-plaintext", &plain, Outcome::Met);
    assert!(text.contains("nothing accepts"), "{text}");
    expect(
        &evidence,
        "modbus-unauthenticated-access",
        &plain,
        Outcome::Met,
    );
    expect(
        &evidence,
        "modbus-malformed-frames",
        &plain,
        Outcome::NotTested,
    );
    for id in ["tls-versions", "tls-cipher-suites", "tls-certificate"] {
        let why = expect(&evidence, id, &tls, Outcome::NotTested);
        assert!(why.contains("connection refused"), "{id}: {why}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_closes_even_a_valid_read_is_not_judged_on_malformed_frames() {
    // It accepts and closes every connection at once, as a gateway does for a revoked
    // certificate: closing a malformed frame then proves nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let plain = format!("modbus://{addr}");
    let evidence = probe(
        std::slice::from_ref(&plain),
        &["modbus-malformed-frames"],
        false,
    )
    .await;
    let why = expect(
        &evidence,
        "modbus-malformed-frames",
        &plain,
        Outcome::NotTested,
    );
    assert!(
        why.starts_with("a valid read (FC 3) was not answered (closed"),
        "{why}"
    );
    server.abort();
}
