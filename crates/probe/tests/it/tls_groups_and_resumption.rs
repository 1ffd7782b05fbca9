//! Key-exchange groups and session resumption after a fatal alert: Rampart's gateway (in
//! process) and, ignored unless `scripts/test` installed them, stunnel4 offering a weak curve
//! and `openssl s_server`, which resumes sessions.

use std::process::{Command, Stdio};

use rampart_probe::{ClientIdentity, Evidence, Outcome, Plan, Target};

use crate::util::{Peer, TestGateway, expect, free_port, have, probe, result, wait_listening};
use crate::weak_tls_peers::{certificate, stunnel};

fn names(evidence: &Evidence, id: &str, target: &str, key: &str) -> Vec<String> {
    result(evidence, id, target).details[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {:#?}", result(evidence, id, target).details))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The resumption check over Modbus/TCP Security with the gateway's `viewer` certificate.
async fn resumption_with_viewer(gw: &TestGateway) -> Evidence {
    let pki = rampart_vault::pki::Pki::open(&gw.data).unwrap();
    let identity = ClientIdentity::from_files(
        &pki.client_cert_path("viewer").unwrap(),
        &pki.client_key_path("viewer").unwrap(),
    )
    .unwrap();
    let target: Target = gw.secure().parse().unwrap();
    let checks = ["tls-resumption-after-alert".to_owned()];
    Plan::with_identity(vec![target], Some(&checks), false, Some(identity))
        .unwrap()
        .run(crate::util::now())
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_accepts_only_its_three_groups_and_no_session_after_an_alert() {
    let gw = TestGateway::start().await;
    let secure = gw.secure();
    let evidence = probe(std::slice::from_ref(&secure), &["tls-groups"], false).await;
    let groups = expect(&evidence, "tls-groups", &secure, Outcome::Met);
    // Exactly the vault's policy: X25519, P-256, P-384, in both versions.
    for version in ["TLS 1.3", "TLS 1.2"] {
        assert_eq!(
            names(&evidence, "tls-groups", &secure, version),
            ["secp256r1", "secp384r1", "X25519"],
            "{version}: {groups}"
        );
    }
    let evidence = resumption_with_viewer(&gw).await;
    let r = result(&evidence, "tls-resumption-after-alert", &secure);
    println!("{}: {}", r.outcome, r.observation);
    gw.gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs stunnel4: run scripts/test"]
async fn stunnel_with_a_192_bit_curve_is_reported_and_strict_stunnel_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (_weak, weak_port, _weak_backend) = stunnel(
        dir.path(),
        "weakcurve",
        "sslVersionMax = TLSv1.2\nciphers = ALL:@SECLEVEL=0\ncurves = secp192r1:prime256v1",
    );
    let strict_dir = tempfile::tempdir().unwrap();
    let (_strict, strict_port, _strict_backend) = stunnel(
        strict_dir.path(),
        "strict",
        "sslVersionMin = TLSv1.2\nciphers = ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
    );
    wait_listening(format!("127.0.0.1:{weak_port}").parse().unwrap()).await;
    wait_listening(format!("127.0.0.1:{strict_port}").parse().unwrap()).await;
    let weak = format!("tls://127.0.0.1:{weak_port}");
    let strict = format!("tls://127.0.0.1:{strict_port}");
    let evidence = probe(
        &[weak.clone(), strict.clone()],
        &["tls-groups", "tls-resumption-after-alert"],
        false,
    )
    .await;
    let groups = expect(&evidence, "tls-groups", &weak, Outcome::NotMet);
    assert!(groups.contains("secp192r1 (TLS 1.2)"), "{groups}");
    let groups = expect(&evidence, "tls-groups", &strict, Outcome::Met);
    println!("strict: {groups}");
    for target in [&weak, &strict] {
        let r = result(&evidence, "tls-resumption-after-alert", target);
        println!("{target}: {} {}", r.outcome, r.observation);
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs openssl: run scripts/test"]
async fn openssl_s_server_resumes_and_the_probe_says_what_it_does_after_an_alert() {
    assert!(
        have("openssl"),
        "openssl is not installed: run scripts/test"
    );
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let port = free_port();
    let _server = Peer(
        Command::new("openssl")
            .args(["s_server", "-quiet"])
            .args([
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
                &cert,
                "-key",
                &key,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
    let target = format!("tls://127.0.0.1:{port}");
    let evidence = probe(
        std::slice::from_ref(&target),
        &["tls-resumption-after-alert", "tls-groups"],
        false,
    )
    .await;
    for id in ["tls-resumption-after-alert", "tls-groups"] {
        let r = result(&evidence, id, &target);
        println!("{id}: {} {} {:#?}", r.outcome, r.observation, r.details);
    }
}
