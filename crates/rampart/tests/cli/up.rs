//! `rampart up` and `rampart island`: start on the embedded default, print where things are,
//! stop cleanly on SIGTERM; bad configuration is bad input.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{assert_bad_input, ok, rampart, stderr};

/// A configuration that listens on free ports, so tests do not collide.
const CONFIG: &str = "[secure]\nlisten = \"127.0.0.1:0\"\n[management]\nlisten = \"127.0.0.1:0\"\n";

#[test]
fn up_starts_on_the_embedded_default_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "up",
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_mins(1);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("SIGHUP reloads the policy") {
            break;
        }
    }
    assert!(seen.contains("Modbus/TCP Security  127.0.0.1:"), "{seen}");
    assert!(seen.contains("plain Modbus/TCP     off"), "{seen}");
    assert!(seen.contains("One-time password:"), "{seen}");
    for file in [
        "pki/ca.crt",
        "pki/clients/operator.crt",
        "pki/clients/operator.key",
        "pki/clients/viewer.crt",
        "pki/clients/engineer.key",
        "policy.toml",
        "keys/device.key",
    ] {
        assert!(data.join(file).is_file(), "{file} missing");
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "rampart up did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(exit.success(), "{exit:?}: {rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("SIGTERM: shutting down")),
        "{rest:?}"
    );
    // The trail holds the start and the stop, and verifies.
    let events = ok(&[
        "audit",
        "query",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "jsonl",
        "--limit",
        "200",
    ]);
    assert!(
        events.contains("gateway.started") && events.contains("gateway.stopped"),
        "{events}"
    );
    ok(&["audit", "verify", "--data", data.to_str().unwrap()]);

    // A second start keeps the PKI and prints no new password.
    let mut again = Command::new(env!("CARGO_BIN_EXE_rampart"))
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
    let mut text = String::new();
    for line in BufReader::new(again.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        text.push_str(&line);
        text.push('\n');
        if line.contains("SIGHUP") {
            break;
        }
    }
    Command::new("kill")
        .args(["-INT", &again.id().to_string()])
        .status()
        .unwrap();
    assert!(again.wait().unwrap().success());
    assert!(!text.contains("One-time password"), "{text}");
    assert!(text.contains("CRL"), "{text}");
}

#[test]
fn island_mode_is_persisted_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let text = ok(&["island", "on", "--data", data]);
    assert!(text.contains("island mode on"), "{text}");
    let events = ok(&["audit", "query", "--data", data, "--format", "jsonl"]);
    assert!(events.contains("island-on"), "{events}");
    ok(&["island", "off", "--data", data]);
    let events = ok(&["audit", "query", "--data", data, "--format", "jsonl"]);
    assert!(events.contains("island-off"), "{events}");
}

#[test]
fn bad_gateway_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[secure]\nlisten = \"not an address\"\n").unwrap();
    let bad_trusted = dir.path().join("bad-trusted.toml");
    std::fs::write(
        &bad_trusted,
        "[management]\ntrusted = [\"10.0.0.0/8\", \"192.168.1.0/33\"]\n",
    )
    .unwrap();
    for (args, message) in [
        (
            vec![
                "up",
                "--config",
                bad_trusted.to_str().unwrap(),
                "--data",
                data.to_str().unwrap(),
            ],
            "management.trusted",
        ),
        (
            vec![
                "up",
                "--config",
                bad_trusted.to_str().unwrap(),
                "--data",
                data.to_str().unwrap(),
            ],
            "192.168.1.0/33",
        ),
        (
            vec![
                "up",
                "--upstream",
                "nowhere",
                "--data",
                data.to_str().unwrap(),
            ],
            "neither \"simulator\" nor HOST:PORT",
        ),
        (
            vec![
                "up",
                "--config",
                bad.to_str().unwrap(),
                "--data",
                data.to_str().unwrap(),
            ],
            "bad.toml:2",
        ),
        (
            vec![
                "up",
                "--config",
                "/nonexistent/gateway.toml",
                "--data",
                data.to_str().unwrap(),
            ],
            "gateway.toml",
        ),
        (vec!["island", "maybe"], "invalid value 'maybe'"),
    ] {
        assert_bad_input(&args, message);
    }
}

#[test]
fn a_second_gateway_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, crate::util::FREE_PORTS).unwrap();
    let (_first, _) = crate::util::up(&data, &config);
    // Even with a restore staged, the second start moves nothing: it is refused first.
    let staged = dir.path().join("data.restore-staged");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("LAYOUT"), "rampart-data 1\n").unwrap();
    std::fs::write(
        dir.path().join("data.restore-staged.json"),
        r#"{"sha256":"00","created":"2026-11-28T00:00:00Z","device_key":"00","requested_by":"test","requested_at":"2026-11-28T00:00:00Z","last_event_in_backup":null}"#,
    )
    .unwrap();
    let second = rampart(&[
        "up",
        "--data",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(stderr(&second).contains("in use"), "{}", stderr(&second));
    assert!(
        staged.join("LAYOUT").is_file(),
        "the staged restore was not applied"
    );
    assert!(
        data.join("keys/device.key").is_file(),
        "the running gateway's directory stays"
    );
    std::fs::remove_dir_all(&staged).unwrap();
    std::fs::remove_file(dir.path().join("data.restore-staged.json")).unwrap();
    // A restore is refused as well while the gateway runs.
    let backup = dir.path().join("b.rbk");
    let mut create = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["backup", "create"])
        .arg(&backup)
        .args(["--data", data.to_str().unwrap(), "--passphrase-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = create.stdin.take().unwrap();
        stdin.write_all(b"a passphrase for the test\n").unwrap();
    }
    assert!(create.wait().unwrap().success());
    let mut restore = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["backup", "restore"])
        .arg(&backup)
        .args([
            "--data",
            data.to_str().unwrap(),
            "--passphrase-stdin",
            "--yes",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = restore.stdin.take().unwrap();
        stdin.write_all(b"a passphrase for the test\n").unwrap();
    }
    let out = restore.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
