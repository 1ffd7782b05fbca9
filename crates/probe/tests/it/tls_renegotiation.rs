//! Client-initiated renegotiation, measured by a TLS 1.2 handshake of the probe's own and a
//! second `ClientHello` inside the session: Rampart's gateway (rustls never renegotiates:
//! over Modbus/TCP Security with the `viewer` certificate, and without one, where the
//! handshake itself needs it), and — ignored unless `scripts/test` installed them —
//! `openssl s_server` with and without `-client_renegotiation`, where sslyze's `--reneg`
//! scan must agree.

use std::path::Path;
use std::process::{Command, Stdio};

use rampart_probe::{ClientIdentity, Outcome, Plan, PlanError, Target};
use serde_json::Value;

use crate::util::{Peer, TestGateway, expect, free_port, have, probe, result, wait_listening};
use crate::weak_tls_peers::certificate;

const CHECK: &str = "tls-client-renegotiation";

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_refuses_renegotiation_and_needs_a_client_certificate_to_be_asked() {
    let gw = TestGateway::start().await;
    let secure = gw.secure();
    let pki = rampart_vault::pki::Pki::open(&gw.data).unwrap();
    let identity = ClientIdentity::from_files(
        &pki.client_cert_path("viewer").unwrap(),
        &pki.client_key_path("viewer").unwrap(),
    )
    .unwrap();
    let target: Target = secure.parse().unwrap();
    let checks = [CHECK.to_owned()];
    let evidence = Plan::with_identity(vec![target], Some(&checks), false, Some(identity))
        .unwrap()
        .run(crate::util::now())
        .await;
    // rustls queues a warning alert no_renegotiation, which the gateway sends with its next
    // answer: the probe sees no answer, which is refusal.
    let refused = expect(&evidence, CHECK, &secure, Outcome::Met);
    assert!(
        refused.starts_with(
            "refuses client-initiated renegotiation: a secure renegotiation (RFC 5746)"
        ),
        "{refused}"
    );
    let details = &result(&evidence, CHECK, &secure).details;
    assert_eq!(details["client_certificate"], "sent", "{details:?}");
    assert_eq!(details["secure_renegotiation"], true);

    // Without a certificate the Modbus/TCP Security port is not asked: the check needs a
    // session there.
    assert!(matches!(
        Plan::new(vec![secure.parse().unwrap()], Some(&checks), false),
        Err(PlanError::NothingToRun)
    ));
    gw.gateway.shutdown().await.unwrap();
}

/// sslyze's `--reneg` scan of `host_port`: (accepts client renegotiation, signals RFC 5746).
fn sslyze_reneg(dir: &Path, host_port: &str) -> (bool, bool) {
    let out = dir.join(format!("reneg-{}.json", host_port.replace(':', "-")));
    let status = Command::new("python3")
        .args([
            "-m",
            "sslyze",
            "--quiet",
            "--mozilla_config=disable",
            "--reneg",
        ])
        .arg(format!("--json_out={}", out.display()))
        .arg(host_port)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "sslyze failed on {host_port}");
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let scan = &report["server_scan_results"][0];
    assert_eq!(scan["scan_status"], "COMPLETED", "{scan:#}");
    let result = &scan["scan_result"]["session_renegotiation"]["result"];
    (
        result["is_vulnerable_to_client_renegotiation_dos"]
            .as_bool()
            .unwrap_or_else(|| panic!("{result:#}")),
        result["supports_secure_renegotiation"]
            .as_bool()
            .unwrap_or_else(|| panic!("{result:#}")),
    )
}

fn s_server(dir: &Path, extra: &[&str]) -> (Peer, u16) {
    let (cert, key) = certificate(dir);
    let port = free_port();
    let peer = Peer(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-tls1_2"])
            .args(extra)
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
    (peer, port)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs openssl and sslyze: run scripts/test"]
async fn openssl_accepts_renegotiation_only_when_told_to_and_sslyze_agrees() {
    assert!(
        have("openssl"),
        "openssl is not installed: run scripts/test"
    );
    let dir = tempfile::tempdir().unwrap();
    for (extra, accepts) in [(&["-client_renegotiation"][..], true), (&[][..], false)] {
        let sub = dir.path().join(if accepts { "allows" } else { "refuses" });
        std::fs::create_dir(&sub).unwrap();
        let (_server, port) = s_server(&sub, extra);
        wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
        let target = format!("tls://127.0.0.1:{port}");
        let evidence = probe(std::slice::from_ref(&target), &[CHECK], false).await;
        let outcome = if accepts {
            Outcome::NotMet
        } else {
            Outcome::Met
        };
        let observation = expect(&evidence, CHECK, &target, outcome);
        let details = &result(&evidence, CHECK, &target).details;
        if accepts {
            assert!(
                observation.contains("accepts client-initiated renegotiation")
                    && observation.contains("answered with a ServerHello"),
                "{observation}"
            );
        } else {
            assert!(
                observation.contains("refuses client-initiated renegotiation"),
                "{observation}"
            );
        }
        assert_eq!(details["secure_renegotiation"], true, "{details:?}");
        // sslyze, on the same server, sees the same.
        let (dos, secure) = sslyze_reneg(&sub, &format!("127.0.0.1:{port}"));
        assert_eq!(
            (dos, secure),
            (accepts, true),
            "sslyze --reneg against {extra:?}; the probe: {observation}"
        );
    }
}
