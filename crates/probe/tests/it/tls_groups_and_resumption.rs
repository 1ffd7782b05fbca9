//! Key-exchange groups and session resumption after a fatal alert: Rampart's gateway (in
//! process) and, ignored unless `scripts/test` installed them, stunnel4 offering a weak curve
//! and `openssl s_server` resuming by stateless tickets (after an alert too), by its session
//! cache (which forgets a session a fatal alert ended) and not at all.

use std::process::{Command, Stdio};

use rampart_probe::{ClientIdentity, Evidence, Outcome, Plan, Target};

use crate::util::{Peer, TestGateway, expect, free_port, have, probe, result, wait_listening};
use crate::weak_tls_peers::{certificate, stunnel_pair};

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
async fn the_gateway_accepts_only_its_three_groups_and_never_resumes_a_session() {
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
    // This check found rustls resuming a TLS 1.3 session the gateway had ended with a fatal
    // alert (Modbus/TCP Security forbids it); the vault now turns resumption off, so every
    // connection is a full handshake with its client certificate checked against the CRL.
    let evidence = resumption_with_viewer(&gw).await;
    let refused = expect(
        &evidence,
        "tls-resumption-after-alert",
        &secure,
        Outcome::Met,
    );
    assert!(refused.contains("resumption not supported"), "{refused}");
    assert!(!refused.contains("resumed a session"), "{refused}");
    gw.gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs stunnel4: run scripts/test"]
async fn stunnel_with_a_192_bit_curve_is_reported_and_strict_stunnel_is_not() {
    let pair = stunnel_pair(
        "sslVersionMax = TLSv1.2\nciphers = ALL:@SECLEVEL=0\ncurves = secp192r1:prime256v1",
    )
    .await;
    let (weak, strict) = (pair.weak.clone(), pair.strict.clone());
    let evidence = probe(
        &[weak.clone(), strict.clone()],
        &["tls-groups", "tls-resumption-after-alert"],
        false,
    )
    .await;
    let groups = expect(&evidence, "tls-groups", &weak, Outcome::NotMet);
    assert!(groups.contains("secp192r1 (TLS 1.2)"), "{groups}");
    let groups = expect(&evidence, "tls-groups", &strict, Outcome::Met);
    assert!(
        groups.contains("DHE: none") || !groups.contains("DHE"),
        "{groups}"
    );
    // stunnel resumes with OpenSSL's stateless tickets, after an alert too.
    let resumed = expect(
        &evidence,
        "tls-resumption-after-alert",
        &weak,
        Outcome::NotMet,
    );
    assert!(
        resumed.contains("TLS 1.3: not accepted") && resumed.contains("TLS 1.2: resumed a session"),
        "{resumed}"
    );
    expect(
        &evidence,
        "tls-resumption-after-alert",
        &strict,
        Outcome::NotMet,
    );
}

/// `openssl s_server` with `options` on a free port, its target and the process.
async fn s_server(cert: &str, key: &str, options: &[&str]) -> (Peer, String) {
    let port = free_port();
    let server = Peer(
        Command::new("openssl")
            .args(["s_server", "-quiet"])
            .args(options)
            .args([
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
                cert,
                "-key",
                key,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
    (server, format!("tls://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs openssl: run scripts/test"]
async fn openssl_s_server_resumes_after_an_alert_with_tickets_and_not_with_its_session_cache() {
    assert!(
        have("openssl"),
        "openssl is not installed: run scripts/test"
    );
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    // Stateless tickets (the default): the server cannot forget a session it ended.
    let (_tickets, tickets) = s_server(&cert, &key, &[]).await;
    // Sessions in its cache only: OpenSSL removes one a fatal alert ended.
    let (_cache, cache) = s_server(&cert, &key, &["-no_ticket"]).await;
    // Neither: nothing to resume.
    let (_none, none) = s_server(&cert, &key, &["-no_ticket", "-no_cache"]).await;
    let evidence = probe(
        &[tickets.clone(), cache.clone(), none.clone()],
        &["tls-resumption-after-alert", "tls-groups"],
        false,
    )
    .await;
    let resumed = expect(
        &evidence,
        "tls-resumption-after-alert",
        &tickets,
        Outcome::NotMet,
    );
    for version in ["TLS 1.3", "TLS 1.2"] {
        assert!(
            resumed.contains(&format!("{version}: resumed a session")),
            "{resumed}"
        );
    }
    let refused = expect(
        &evidence,
        "tls-resumption-after-alert",
        &cache,
        Outcome::Met,
    );
    for version in ["TLS 1.3", "TLS 1.2"] {
        assert!(
            refused.contains(&format!("{version}: refused to resume a session")),
            "{refused}"
        );
    }
    let nothing = expect(&evidence, "tls-resumption-after-alert", &none, Outcome::Met);
    assert!(nothing.contains("resumption not supported"), "{nothing}");
    // OpenSSL 3's default groups: the common curves, and the RFC 7919 groups in TLS 1.3.
    let groups = expect(&evidence, "tls-groups", &tickets, Outcome::Met);
    let tls13 = names(&evidence, "tls-groups", &tickets, "TLS 1.3");
    for group in ["X25519", "secp256r1", "ffdhe2048"] {
        assert!(tls13.iter().any(|g| g == group), "{groups}");
    }
}
