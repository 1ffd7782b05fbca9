//! `rampart assess --live` against a gateway started by `rampart up`, with an API token from
//! `rampart token create`: the whole operator path, over the real HTTPS management plane.

use crate::util::{ok, rampart, stderr, stdout, up};

#[test]
fn assess_live_reads_the_settings_of_a_running_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, crate::util::FREE_PORTS).unwrap();
    let (_up, url) = up(&data, &config);
    let data_arg = data.to_str().unwrap();
    let token = crate::util::assessor_token(&data);
    let token = token.as_str();
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
    // The running gateway protects the secrets in its memory (CR 4.2 RE 1).
    let memory = findings
        .iter()
        .find(|f| f["check"] == "memory-protected")
        .expect("memory check");
    assert_eq!(memory["outcome"], "pass", "{memory}");
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
