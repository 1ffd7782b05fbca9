//! `rampart policy check|learn` and `rampart inspect`: exit codes, outputs and bad input.

use crate::util::{assert_bad_input, ok, rampart, stderr, stdout};

fn pcap(name: &str) -> String {
    format!("{}/../../testdata/pcaps/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn policy_check_reports_errors_at_the_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "bad.toml",
        "version = 1\n[[role]]\nname = \"ops\"\n[[role.rule]]\nunits = 1\nfunctions = [3]\nread = \"100-50\"\n",
    );
    let output = rampart(&["policy", "check", &bad]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("bad.toml:7:8: address range '100-50' is reversed"),
        "{err}"
    );

    let missing = rampart(&["policy", "check", "/nonexistent/policy.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read the policy"));
}

#[test]
fn policy_check_lints_and_exits_1_on_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let shadowed = write(
        &dir,
        "p.toml",
        "version = 1\n[[role]]\nname = \"ops\"\n[[role.rule]]\nunits = \"*\"\nfunctions = [3]\nread = \"*\"\n\
         [[role.rule]]\nunits = 1\nfunctions = [3]\nread = \"0-9\"\n",
    );
    let output = rampart(&["policy", "check", &shadowed]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("p.toml:8: warning[shadowed]"), "{text}");

    let clean = write(
        &dir,
        "clean.toml",
        "version = 1\n[[role]]\nname = \"ops\"\n[[role.rule]]\nunits = 1\nfunctions = [3]\nread = \"0-9\"\n",
    );
    let text = ok(&["policy", "check", &clean]);
    assert!(text.contains("ok: 1 roles, 1 rules, sha256 "), "{text}");
}

#[test]
fn learn_then_inspect_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("learned.toml");
    let report = ok(&[
        "policy",
        "learn",
        "--pcap",
        &pcap("iti_modbus_test.pcap"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(report.contains("1142 requests from 5 clients"), "{report}");
    ok(&["policy", "check", out.to_str().unwrap()]);
    let output = rampart(&[
        "inspect",
        "--pcap",
        &pcap("iti_modbus_test.pcap"),
        "--policy",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["totals"]["denied"], 0);
    assert_eq!(json["totals"]["requests"], 1142);
}

#[test]
fn inspect_json_has_totals_alerts_and_frames() {
    let output = rampart(&[
        "inspect",
        "--pcap",
        &pcap("zeek_modbus-eit.pcap"),
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "alerts were raised: exit 1");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in [
        "requests",
        "responses",
        "exceptions",
        "malformed",
        "denied",
        "alerts",
    ] {
        assert!(json["totals"][key].is_u64(), "totals.{key}");
    }
    let frames = json["frames"].as_array().unwrap();
    assert!(!frames.is_empty());
    assert_eq!(frames[0]["function_code"], 43);
    assert!(
        json["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["technique"]["id"] == "T0888")
    );
}

#[test]
fn inspect_exits_0_on_clean_traffic_and_2_on_bad_input() {
    let text = ok(&["inspect", "--pcap", &pcap("zeek_modbusSmall.pcap")]);
    assert!(text.contains("requests 16  responses 16"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let junk = write(&dir, "junk.pcap", "not a capture");
    for args in [
        vec!["inspect", "--pcap", junk.as_str()],
        vec!["inspect", "--pcap", "/nonexistent.pcap"],
        vec![
            "inspect",
            "--pcap",
            &pcap("zeek_modbusSmall.pcap"),
            "--policy",
            "/nonexistent.toml",
        ],
        vec![
            "inspect",
            "--pcap",
            &pcap("zeek_modbusSmall.pcap"),
            "--port",
            "99999",
        ],
        vec![
            "inspect",
            "--pcap",
            &pcap("zeek_modbusSmall.pcap"),
            "--role",
            "viewer",
        ],
        vec!["inspect"],
    ] {
        let output = rampart(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"));
    }
}

#[test]
fn learn_on_a_capture_without_modbus_is_bad_input() {
    let output = rampart(&[
        "policy",
        "learn",
        "--pcap",
        &pcap("zeek_modbusSmall.pcap"),
        "--port",
        "503",
    ]);
    // Port 502 is always inspected, so this capture does have requests: it succeeds.
    assert!(output.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.pcap");
    // A valid pcap header with no packets.
    let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    header.extend([0; 8]);
    header.extend(65_535u32.to_le_bytes());
    header.extend(1u32.to_le_bytes());
    std::fs::write(&path, header).unwrap();
    let output = rampart(&["policy", "learn", "--pcap", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no Modbus/TCP requests found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn ids_learn_then_inspect_with_the_baseline_and_bad_baselines_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("normal.json");
    let baseline_arg = baseline.to_str().unwrap();
    // The write-heavy capture: the fixed write-burst threshold alerts, the baseline does not.
    let fixed = rampart(&["inspect", "--pcap", &pcap("zeek_modbusBig.pcap")]);
    assert_eq!(fixed.status.code(), Some(1), "{}", stderr(&fixed));
    assert!(stdout(&fixed).contains("write-burst"), "{}", stdout(&fixed));
    let learned = rampart(&[
        "inspect",
        "--pcap",
        &pcap("zeek_modbusBig.pcap"),
        "--learn-for",
        "20",
    ]);
    assert_eq!(learned.status.code(), Some(0), "{}", stdout(&learned));
    assert!(
        stdout(&learned).contains("baseline: 1 clients"),
        "{}",
        stdout(&learned)
    );
    ok(&[
        "ids",
        "learn",
        "--pcap",
        &pcap("zeek_modbusBig.pcap"),
        "--out",
        baseline_arg,
    ]);
    assert!(ok(&["ids", "show", baseline_arg]).contains("1 clients"));
    let proposed = dir.path().join("proposed.toml");
    ok(&[
        "ids",
        "policy",
        baseline_arg,
        "--out",
        proposed.to_str().unwrap(),
    ]);
    let checked = rampart(&["policy", "check", proposed.to_str().unwrap()]);
    assert!(
        matches!(checked.status.code(), Some(0 | 1)),
        "{}",
        stderr(&checked)
    );
    let again = rampart(&[
        "inspect",
        "--pcap",
        &pcap("zeek_modbusBig.pcap"),
        "--baseline",
        baseline_arg,
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    // Another client's capture against it: new talkers.
    let other = rampart(&[
        "inspect",
        "--pcap",
        &pcap("iti_modbus_test.pcap"),
        "--baseline",
        baseline_arg,
        "--format",
        "json",
    ]);
    assert_eq!(other.status.code(), Some(1));
    assert!(stdout(&other).contains("\"new-talker\""));
    // Bad baselines and flags: exit 2 naming the file and what is wrong.
    let broken = write(
        &dir,
        "broken.json",
        "{\"format\": \"rampart-ids-baseline\", \"version\": 9}",
    );
    for (args, needle) in [
        (vec!["ids", "show", broken.as_str()], "broken.json"),
        (
            vec![
                "inspect",
                "--pcap",
                &pcap("zeek_modbusSmall.pcap"),
                "--baseline",
                broken.as_str(),
            ],
            "broken.json",
        ),
        (
            vec![
                "inspect",
                "--pcap",
                &pcap("zeek_modbusSmall.pcap"),
                "--learn-for",
                "0",
            ],
            "learn-for",
        ),
        (
            vec![
                "inspect",
                "--pcap",
                &pcap("zeek_modbusSmall.pcap"),
                "--learn-for",
                "5",
                "--baseline",
                broken.as_str(),
            ],
            "cannot be used with",
        ),
    ] {
        assert_bad_input(&args, needle);
    }
}
