//! Rampart's own gateway, started in-process: its Modbus/TCP Security port meets every TLS
//! check, and its plain listener (on by configuration, reads only) is reported as exactly
//! what it is — clear text, unauthenticated reads — while it refuses malformed frames and
//! writes.

use rampart_probe::Outcome;

use crate::util::{TestGateway, expect, probe, result};

#[tokio::test(flavor = "multi_thread")]
async fn the_modbus_security_port_meets_every_tls_check() {
    let gw = TestGateway::start().await;
    let secure = gw.secure();
    let evidence = probe(std::slice::from_ref(&secure), &[], false).await;
    let versions = expect(&evidence, "tls-versions", &secure, Outcome::Met);
    assert!(versions.contains("TLS 1.2 and TLS 1.3 only"), "{versions}");
    let details = &result(&evidence, "tls-versions", &secure).details;
    for old in ["SSL 3.0", "TLS 1.0", "TLS 1.1"] {
        assert!(
            details[old].as_str().unwrap().starts_with("refused"),
            "{old}: {details:?}"
        );
    }
    let suites = result(&evidence, "tls-cipher-suites", &secure);
    assert_eq!(suites.outcome, Outcome::Met, "{}", suites.observation);
    let accepted: Vec<&str> = suites.details["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // Exactly the Modbus/TCP Security v36 suites the gateway's key (ECDSA) can use.
    assert_eq!(
        accepted,
        [
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        ]
    );
    let renegotiation = expect(
        &evidence,
        "tls-compression-renegotiation",
        &secure,
        Outcome::Met,
    );
    assert!(
        renegotiation.contains("secure renegotiation signalled"),
        "{renegotiation}"
    );
    let cert = expect(&evidence, "tls-certificate", &secure, Outcome::Met);
    assert!(
        cert.contains("EC 256 bits") && cert.contains("127.0.0.1"),
        "{cert}"
    );
    let chain = &result(&evidence, "tls-certificate", &secure).details["chain"];
    assert_eq!(chain[0]["key_type"], "EC");
    assert!(
        chain[0]["signature_algorithm"]
            .as_str()
            .unwrap()
            .contains("ecdsa"),
        "{chain}"
    );
    let client = expect(&evidence, "tls-client-certificate", &secure, Outcome::Met);
    assert!(client.contains("without a client certificate"), "{client}");
    let plaintext = expect(&evidence, "modbus-plaintext", &secure, Outcome::Met);
    assert!(plaintext.contains("a TLS alert"), "{plaintext}");
    assert!(!evidence.any_not_met());
    gw.gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plain_listener_is_reported_as_unauthenticated_clear_text_but_robust() {
    let gw = TestGateway::start().await;
    let plain = gw.plain();
    let evidence = probe(std::slice::from_ref(&plain), &[], true).await;
    expect(&evidence, "modbus-plaintext", &plain, Outcome::NotMet);
    let reads = expect(
        &evidence,
        "modbus-unauthenticated-access",
        &plain,
        Outcome::NotMet,
    );
    assert!(reads.contains("FC 3 read holding registers"), "{reads}");
    // The viewer role's policy allows the data reads only: no diagnostics, no server id.
    let functions = expect(&evidence, "modbus-function-codes", &plain, Outcome::Met);
    assert!(functions.contains("serves none"), "{functions}");
    let malformed = expect(&evidence, "modbus-malformed-frames", &plain, Outcome::Met);
    assert!(malformed.contains("answered as before"), "{malformed}");
    // The viewer role may not write: the policy answers exception 0x01.
    let write = expect(
        &evidence,
        "modbus-unauthenticated-write",
        &plain,
        Outcome::Met,
    );
    assert!(write.contains("exception 0x01"), "{write}");
    gw.gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_client_certificate_the_session_checks_run_over_modbus_security() {
    use rampart_probe::{ClientIdentity, Plan, Target};
    let gw = TestGateway::start().await;
    let secure = gw.secure();
    let pki = rampart_vault::pki::Pki::open(&gw.data).unwrap();
    let run = |role: &str| {
        let identity = ClientIdentity::from_files(
            &pki.client_cert_path(role).unwrap(),
            &pki.client_key_path(role).unwrap(),
        )
        .unwrap();
        let target: Target = secure.parse().unwrap();
        let checks = [
            "modbus-malformed-frames".to_owned(),
            "modbus-role-write".to_owned(),
        ];
        Plan::with_identity(vec![target], Some(&checks), true, Some(identity)).unwrap()
    };
    // The viewer may read, not write: malformed frames are refused over TLS, the write too.
    let evidence = run("viewer").run(crate::util::now()).await;
    let malformed = expect(&evidence, "modbus-malformed-frames", &secure, Outcome::Met);
    assert!(malformed.contains("answered as before"), "{malformed}");
    let details = &result(&evidence, "modbus-malformed-frames", &secure).details;
    assert!(
        details["valid read before"]
            .as_str()
            .unwrap()
            .contains("data"),
        "{details:?}"
    );
    let write = expect(&evidence, "modbus-role-write", &secure, Outcome::Met);
    assert!(write.contains("exception 0x01"), "{write}");
    // The operator may write holding registers 0-19: reported, and the value left as it was.
    let evidence = run("operator").run(crate::util::now()).await;
    let write = expect(&evidence, "modbus-role-write", &secure, Outcome::NotMet);
    assert!(write.contains("accepted a write"), "{write}");
    assert_eq!(
        result(&evidence, "modbus-role-write", &secure).details["restored"],
        "unchanged"
    );
    // Without a certificate the session checks do not apply to modbus-tls:// at all.
    let checks = ["modbus-role-write".to_owned()];
    assert_eq!(
        Plan::new(vec![secure.parse().unwrap()], Some(&checks), true).unwrap_err(),
        rampart_probe::PlanError::NothingToRun
    );
    gw.gateway.shutdown().await.unwrap();
}
