//! `rampart ids live` against a gateway started by `rampart up`, with API tokens from
//! `rampart token create`: who may start a learning window, and the whole round trip.

use crate::util::{ok, process_token, rampart, stderr, stdout, up};

#[test]
fn ids_live_starts_shows_fetches_and_clears_a_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, crate::util::FREE_PORTS).unwrap();
    let (_up, url) = up(&data, &config);
    let data_arg = data.to_str().unwrap();
    let engineer = process_token(data_arg, "ids-engineer", "engineer", "ids");
    let viewer = process_token(data_arg, "ids-viewer", "viewer", "ids");
    let ca = data.join("pki/ca.crt");
    let ca = ca.to_str().unwrap();
    let live = |token: &str, args: &[&str]| {
        let mut all = vec!["ids", "live"];
        all.extend_from_slice(&args[..1]);
        all.extend_from_slice(&["--live", &url, "--token", token, "--ca", ca]);
        all.extend_from_slice(&args[1..]);
        rampart(&all)
    };
    let out = live(&viewer, &["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("IDS: none"), "{}", stdout(&out));
    // A viewer may look but not silence the IDS: bad input naming the permission.
    let out = live(&viewer, &["start", "--for", "60"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("policy.apply"), "{}", stderr(&out));
    let out = live(&engineer, &["start", "--for", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = live(&engineer, &["start", "--for", "3600"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("IDS: learning, learning until"),
        "{}",
        stdout(&out)
    );
    let baseline = dir.path().join("baseline.json");
    let out = live(&engineer, &["fetch", "--out", baseline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = rampart(&["ids", "show", baseline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = live(&engineer, &["clear"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("IDS: none"), "{}", stdout(&out));
    // The gateway's own vulnerability check, through the same API client: nothing kept,
    // nothing open.
    let out = rampart(&[
        "vuln", "self", "--live", &url, "--token", &engineer, "--ca", ca,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("0 advisories"), "{}", stdout(&out));
    // Recorded with who did it.
    let trail = ok(&["audit", "query", "--data", data_arg, "--format", "json"]);
    assert!(trail.contains("ids.learning_started"), "{trail}");
    assert!(trail.contains("ids.baseline_cleared"), "{trail}");
}
