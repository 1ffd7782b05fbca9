//! `sslyze` (from `PyPI`) against the management port and the Modbus/TCP Security port: nothing below
//! TLS 1.2 and no weak cipher suite (CR 4.3).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::Harness;

/// Runs sslyze against `target` and returns the scan result of the one server.
fn scan(target: &str, out: &Path, client: Option<(&Path, &Path)>) -> Value {
    let mut command = Command::new("python3");
    command.args(["-m", "sslyze", "--quiet", "--mozilla_config=disable"]);
    for version in [
        "--sslv2",
        "--sslv3",
        "--tlsv1",
        "--tlsv1_1",
        "--tlsv1_2",
        "--tlsv1_3",
    ] {
        command.arg(version);
    }
    if let Some((cert, key)) = client {
        command.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    command
        .arg(format!("--json_out={}", out.display()))
        .arg(target);
    let status = command
        .status()
        .expect("python3 -m sslyze (pip install sslyze)");
    assert!(status.success(), "sslyze failed on {target}");
    let report: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    let server = report["server_scan_results"][0].clone();
    assert_eq!(server["scan_status"], "COMPLETED", "{server}");
    server["scan_result"].clone()
}

fn accepted(result: &Value, command: &str) -> Vec<String> {
    let entry = &result[command];
    assert_eq!(entry["status"], "COMPLETED", "{command}: {entry}");
    entry["result"]["accepted_cipher_suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cipher_suite"]["name"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_strong(result: &Value, what: &str) {
    for old in [
        "ssl_2_0_cipher_suites",
        "ssl_3_0_cipher_suites",
        "tls_1_0_cipher_suites",
        "tls_1_1_cipher_suites",
    ] {
        assert!(accepted(result, old).is_empty(), "{what} accepts {old}");
    }
    let tls12 = accepted(result, "tls_1_2_cipher_suites");
    assert!(!tls12.is_empty(), "{what}: no TLS 1.2 suite");
    for suite in &tls12 {
        assert!(
            suite.starts_with("TLS_ECDHE_") && suite.contains("_GCM_"),
            "{what}: weak TLS 1.2 suite {suite}"
        );
    }
    let tls13 = accepted(result, "tls_1_3_cipher_suites");
    assert!(!tls13.is_empty(), "{what}: no TLS 1.3 suite");
    for suite in &tls13 {
        assert!(
            ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"].contains(&suite.as_str()),
            "{what}: {suite}"
        );
    }
    println!("{what}: TLS 1.2 {tls12:?}; TLS 1.3 {tls13:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs sslyze: run scripts/test"]
async fn sslyze_finds_only_tls_1_2_and_1_3_with_strong_suites_on_both_ports() {
    let h = Harness::start().await;
    let out = tempfile::tempdir().unwrap();
    let mgmt = h.addr;
    let secure = h.gateway.secure_addr();
    let pki = h.data.file(rampart_vault::Entry::Pki);
    let (m, s) = tokio::task::spawn_blocking(move || {
        let m = scan(&mgmt.to_string(), &out.path().join("mgmt.json"), None);
        let cert = pki.join("clients/viewer.crt");
        let key = pki.join("clients/viewer.key");
        let s = scan(
            &secure.to_string(),
            &out.path().join("modbus.json"),
            Some((&cert, &key)),
        );
        (m, s)
    })
    .await
    .unwrap();
    assert_strong(&m, "management (HTTPS)");
    assert_strong(&s, "Modbus/TCP Security");
    h.stop().await;
}
