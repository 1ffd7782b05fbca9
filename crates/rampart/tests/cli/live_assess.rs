//! `rampart assess --live` against a gateway started by `rampart up`, with an API token from
//! `rampart token create`: the whole operator path, over the real HTTPS management plane.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{ok, rampart, stderr, stdout};

const CONFIG: &str = "[secure]\nlisten = \"127.0.0.1:0\"\n[management]\nlisten = \"127.0.0.1:0\"\n";

struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `rampart up` and returns it with the management address it printed.
fn up(data: &std::path::Path, config: &std::path::Path) -> (Up, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "up",
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut management = None;
    let deadline = Instant::now() + Duration::from_mins(1);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.trim().strip_prefix("management (HTTPS)") {
            let url = rest.split_whitespace().next().unwrap();
            management = Some(url.trim_end_matches('/').to_owned());
        }
        if line.contains("SIGHUP reloads the policy") {
            break;
        }
    }
    // Keep draining stdout so the gateway never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    (
        Up(child),
        management.expect("rampart up printed its management address"),
    )
}

#[test]
fn assess_live_reads_the_settings_of_a_running_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (_up, url) = up(&data, &config);
    let data_arg = data.to_str().unwrap();
    let token = ok(&[
        "token",
        "create",
        "--data",
        data_arg,
        "--account",
        "admin",
        "--role",
        "admin",
        "--label",
        "assess",
        "--days",
        "1",
    ]);
    let token = token.trim();
    assert!(token.starts_with("rpt_"), "{token}");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/rampart-gateway.toml"
    );
    let ca = data.join("pki/ca.crt");
    let out = rampart(&[
        "assess",
        profile,
        "--live",
        &url,
        "--token",
        &format!("@{}", token_file.display()),
        "--ca",
        ca.to_str().unwrap(),
        "--format",
        "json",
    ]);
    // 0: SL-C reaches SL-T; 1: gaps. Either way a report, never bad input.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report["live"]["findings"]
        .as_array()
        .expect("live findings");
    assert!(!findings.is_empty());
    // The live checks decided from the real settings: MFA is not required by default.
    let mfa = findings
        .iter()
        .find(|f| f["check"] == "mfa-for-all")
        .expect("mfa check");
    assert_eq!(mfa["outcome"], "fail", "{mfa}");
    let unknown: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["outcome"] == "unknown")
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    // The token is revocable, and then refused.
    let list = ok(&["token", "list", "--data", data_arg, "--format", "json"]);
    let id = serde_json::from_str::<serde_json::Value>(&list).unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    ok(&["token", "revoke", "--data", data_arg, &id.to_string()]);
    let refused = rampart(&[
        "assess",
        profile,
        "--live",
        &url,
        "--token",
        token,
        "--ca",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
}
