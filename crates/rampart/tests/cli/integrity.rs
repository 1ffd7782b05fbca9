//! Start-up and run-time integrity (CR 3.4 RE 1 and RE 2, CR 3.14; issue #16 point 6): every
//! tamper case is caught before the first listener opens — the gateway refuses to start, prints
//! the reason, prints no listener address, and records `integrity.mismatch` — and a change
//! while it runs raises `integrity.changed`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{FREE_PORTS, ok, rampart, stdout, up_lines};

/// A data directory that has started once (sealed on first start) with its configuration.
struct Sealed {
    dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
}

impl Sealed {
    fn new() -> Sealed {
        Sealed::with_config("")
    }

    fn with_config(extra: &str) -> Sealed {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let config = dir.path().join("rampart.toml");
        std::fs::write(&config, format!("{FREE_PORTS}{extra}")).unwrap();
        let (up, lines) = up_lines(&data, &config);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("sealed") && l.contains("trust on first use")),
            "the first start seals: {lines:?}"
        );
        drop(up);
        Sealed { dir, data, config }
    }

    fn data(&self) -> &str {
        self.data.to_str().unwrap()
    }

    fn config(&self) -> &str {
        self.config.to_str().unwrap()
    }

    fn file(&self, relative: &str) -> PathBuf {
        self.data.join(relative)
    }

    fn seal(&self) {
        ok(&[
            "integrity",
            "seal",
            "--data",
            self.data(),
            "--config",
            self.config(),
        ]);
    }

    fn actions(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&ok(&[
            "audit",
            "query",
            "--data",
            self.data(),
            "--format",
            "json",
        ]))
        .unwrap()
    }

    fn events(&self, action: &str) -> Vec<serde_json::Value> {
        self.actions()
            .into_iter()
            .filter(|e| e["action"] == action)
            .collect()
    }
}

/// What a refused start printed.
struct Refused {
    stdout: String,
    stderr: String,
}

/// Starts `rampart up` (`binary`, with `env`) and expects it to refuse: exit code 1 within a
/// minute, no listener address printed, `integrity.mismatch` at alert severity recorded with
/// `reason` among its reasons.
fn refuses(sealed: &Sealed, binary: &Path, env: &[(&str, &str)], reason: &str) -> Refused {
    let mut child = Command::new(binary)
        .args(["up", "--data", sealed.data(), "--config", sealed.config()])
        .env_remove("RAMPART_SLOT")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rampart up did not refuse to start within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |r: &mut dyn std::io::Read| {
        let mut text = String::new();
        r.read_to_string(&mut text).unwrap();
        text
    };
    let stdout = read(child.stdout.as_mut().unwrap());
    let stderr = read(child.stderr.as_mut().unwrap());
    assert_eq!(status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    for listener in [
        "Modbus/TCP Security",
        "management (HTTPS)",
        "plain Modbus/TCP",
    ] {
        assert!(
            !stdout.contains(listener),
            "a listener was announced before the check: {stdout}"
        );
    }
    assert!(stderr.contains("INTEGRITY MISMATCH"), "{stderr}");
    assert!(stderr.contains(reason), "{reason:?} not in {stderr}");
    let events = sealed.events("integrity.mismatch");
    let event = events.last().expect("integrity.mismatch recorded");
    assert_eq!(event["severity"], "alert", "{event}");
    assert!(
        event.to_string().contains(reason),
        "{reason:?} not in {event}"
    );
    Refused { stdout, stderr }
}

fn rampart_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rampart"))
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_untouched_component_starts_and_verifies() {
    let sealed = Sealed::new();
    let output = rampart(&[
        "integrity",
        "verify",
        "--data",
        sealed.data(),
        "--config",
        sealed.config(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let (up, lines) = up_lines(&sealed.data, &sealed.config);
    drop(up);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("entries verified against the sealed manifest")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("management (HTTPS)")));
}

#[test]
fn a_flipped_byte_in_the_binary_is_refused() {
    let sealed = Sealed::new();
    // A copy of the binary, sealed by itself, then one byte of its text changed.
    let binary = sealed.dir.path().join("rampart");
    std::fs::copy(rampart_binary(), &binary).unwrap();
    let output = Command::new(&binary)
        .args([
            "integrity",
            "seal",
            "--data",
            sealed.data(),
            "--config",
            sealed.config(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&binary).unwrap();
    let needle = b"SIGHUP reloads the policy";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the binary holds its console text");
    drop(bytes);
    flip_byte(&binary, at + 1);
    refuses(&sealed, &binary, &[], "binary (");
}

#[test]
fn a_flipped_byte_in_the_policy_is_refused() {
    let sealed = Sealed::new();
    flip_byte(&sealed.file("policy.toml"), 10);
    refuses(&sealed, &rampart_binary(), &[], "policy (");
}

#[test]
fn a_flipped_byte_in_the_configuration_is_refused() {
    let sealed = Sealed::new();
    // Still a valid configuration: a comment changed.
    let mut text = std::fs::read_to_string(&sealed.config).unwrap();
    text.push_str("# tuned\n");
    std::fs::write(&sealed.config, &text).unwrap();
    sealed.seal();
    let text = text.replace("# tuned", "# tunes");
    std::fs::write(&sealed.config, text).unwrap();
    refuses(&sealed, &rampart_binary(), &[], "config (");
}

#[test]
fn a_flipped_byte_in_a_trust_anchor_is_refused() {
    let sealed = Sealed::new();
    flip_byte(&sealed.file("pki/ca.crt"), 40);
    refuses(&sealed, &rampart_binary(), &[], "trust-anchor:ca.crt");
}

#[test]
fn a_trust_anchor_added_next_to_the_others_is_refused() {
    let sealed = Sealed::new();
    std::fs::copy(sealed.file("pki/ca.crt"), sealed.file("pki/rogue-ca.crt")).unwrap();
    refuses(&sealed, &rampart_binary(), &[], "rogue-ca.crt");
}

#[test]
fn a_policy_replaced_by_a_symlink_is_refused_even_to_the_same_text() {
    let sealed = Sealed::new();
    let policy = sealed.file("policy.toml");
    let elsewhere = sealed.dir.path().join("policy-elsewhere.toml");
    std::fs::copy(&policy, &elsewhere).unwrap();
    std::fs::remove_file(&policy).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &policy).unwrap();
    refuses(&sealed, &rampart_binary(), &[], "is now symlink");
}

#[test]
fn a_truncated_crl_is_refused() {
    let sealed = Sealed::new();
    let crl = sealed.file("pki/ca.crl");
    let bytes = std::fs::read(&crl).unwrap();
    std::fs::write(&crl, &bytes[..bytes.len() / 2]).unwrap();
    refuses(&sealed, &rampart_binary(), &[], "truncated");
}

#[test]
fn an_older_signed_manifest_put_back_is_a_rollback() {
    let sealed = Sealed::new();
    let manifest = sealed.file("integrity/manifest.json");
    let old = std::fs::read(&manifest).unwrap();
    // An intended change, sealed as sequence 2; then the attacker restores the policy and
    // the manifest of sequence 1 that matches it.
    let policy = sealed.file("policy.toml");
    let old_policy = std::fs::read(&policy).unwrap();
    std::fs::write(&policy, [old_policy.as_slice(), b"\n# reviewed\n"].concat()).unwrap();
    sealed.seal();
    std::fs::write(&policy, &old_policy).unwrap();
    std::fs::write(&manifest, old).unwrap();
    refuses(&sealed, &rampart_binary(), &[], "rollback");
}

#[test]
fn a_manifest_signed_by_another_key_is_refused() {
    let sealed = Sealed::new();
    let other = Sealed::new();
    std::fs::copy(
        other.file("integrity/manifest.json"),
        sealed.file("integrity/manifest.json"),
    )
    .unwrap();
    refuses(&sealed, &rampart_binary(), &[], "not by this device's key");
}

#[test]
fn a_deleted_manifest_is_not_a_first_start() {
    let sealed = Sealed::new();
    std::fs::remove_file(sealed.file("integrity/manifest.json")).unwrap();
    refuses(&sealed, &rampart_binary(), &[], "is gone");
}

#[test]
fn a_renamed_slot_is_refused() {
    let sealed = Sealed::new();
    // The component sealed as running from slot a.
    let slot_a = sealed.file("update/slots/a");
    std::fs::create_dir_all(&slot_a).unwrap();
    std::fs::write(slot_a.join("manifest.json"), b"{\"slot\": \"a\"}\n").unwrap();
    let output = Command::new(rampart_binary())
        .args([
            "integrity",
            "seal",
            "--data",
            sealed.data(),
            "--config",
            sealed.config(),
        ])
        .env("RAMPART_SLOT", "a")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Slot a's directory renamed to b, and started as slot b.
    std::fs::rename(&slot_a, sealed.file("update/slots/b")).unwrap();
    let refused = refuses(
        &sealed,
        &rampart_binary(),
        &[("RAMPART_SLOT", "b")],
        "sealed for slot a but running from slot b",
    );
    assert!(
        refused.stderr.contains("refusing to start"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stdout.contains("listen"), "{}", refused.stdout);
}

#[test]
fn on_mismatch_closed_starts_with_traffic_closed_and_says_so() {
    let sealed = Sealed::with_config("[integrity]\non_mismatch = \"closed\"\n");
    flip_byte(&sealed.file("policy.toml"), 10);
    let mut child = Command::new(rampart_binary())
        .args(["up", "--data", sealed.data(), "--config", sealed.config()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let banner = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let mut seen = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        let done = line.contains("SIGHUP reloads the policy");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let banner = banner.join().unwrap().join("\n");
    assert!(banner.contains("INTEGRITY MISMATCH"), "{banner}");
    let text = seen.join("\n");
    assert!(text.contains("traffic closed (island mode)"), "{text}");
    assert!(text.contains("ISLAND MODE"), "{text}");
    let event = sealed.events("integrity.mismatch").pop().expect("recorded");
    assert_eq!(
        event["details"]["response"],
        "started with traffic closed (island mode)"
    );
}

#[test]
fn a_trust_anchor_changed_while_running_raises_an_alert_naming_it() {
    let sealed = Sealed::with_config("[integrity]\nrecheck_interval_s = 1\n");
    let (up, _) = up_lines(&sealed.data, &sealed.config);
    let crl = sealed.file("pki/ca.crl");
    flip_byte(&crl, 30);
    // Generous: every re-check hashes the (debug, ~300 MB) binary, and tests run in parallel.
    let deadline = Instant::now() + Duration::from_mins(2);
    let event = loop {
        if let Some(event) = sealed.events("integrity.changed").pop() {
            break event;
        }
        assert!(
            Instant::now() < deadline,
            "no integrity.changed within 2 min"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    drop(up);
    assert_eq!(event["severity"], "alert");
    assert!(
        event["target"].as_str().unwrap().ends_with("pki/ca.crl"),
        "{event}"
    );
    // Each change is alerted once, not at every re-check.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sealed.events("integrity.changed").len(), 1);
}

#[test]
fn a_policy_reloaded_by_the_gateway_is_sealed_not_alerted() {
    let sealed = Sealed::with_config("[integrity]\nrecheck_interval_s = 1\n");
    let (up, _) = up_lines(&sealed.data, &sealed.config);
    let policy = sealed.file("policy.toml");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, format!("{text}\n# reviewed and applied\n")).unwrap();
    // SIGHUP: the gateway reloads the policy (audited policy.reload), as an apply through the
    // management plane does.
    let pid = up.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Generous: every re-check hashes the (debug, ~300 MB) binary, and tests run in parallel.
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let sealed_events = sealed.events("integrity.sealed");
        if sealed_events
            .iter()
            .any(|e| e["details"]["reason"] == "policy-applied")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the applied policy was not sealed"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(up);
    assert!(sealed.events("integrity.changed").is_empty());
    let output = rampart(&[
        "integrity",
        "verify",
        "--data",
        sealed.data(),
        "--config",
        sealed.config(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn the_measurement_log_replays_and_an_edit_is_caught() {
    let sealed = Sealed::new();
    let out = ok(&["integrity", "log", "--data", sealed.data(), "--verify"]);
    assert!(out.contains("replayed"), "{out}");
    assert!(
        out.contains("seal") && out.contains("trust-anchor:ca.crt"),
        "{out}"
    );
    let log = sealed.file("integrity/measurements.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let edited = text.replacen("\"seal\"", "\"start\"", 1);
    std::fs::write(&log, edited).unwrap();
    let output = rampart(&["integrity", "log", "--data", sealed.data(), "--verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("line 1"), "{}", stdout(&output));
}

#[test]
fn verify_exit_codes_are_0_1_2() {
    let sealed = Sealed::new();
    let verify = |data: &str| {
        rampart(&[
            "integrity",
            "verify",
            "--data",
            data,
            "--config",
            sealed.config(),
        ])
        .status
        .code()
    };
    assert_eq!(verify(sealed.data()), Some(0));
    flip_byte(&sealed.file("pki/ca.crt"), 40);
    assert_eq!(verify(sealed.data()), Some(1));
    let missing = sealed.dir.path().join("nowhere");
    assert_eq!(verify(missing.to_str().unwrap()), Some(2));
}

/// `rampart launch -- up`: the lines up to the start-up summary (or to the end, if it stops).
fn launch_lines(data: &str, config: &str) -> Vec<String> {
    let mut child = Command::new(rampart_binary())
        .args([
            "launch", "--data", data, "--", "up", "--data", data, "--config", config,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains("SIGHUP reloads the policy");
            if sender.send(line).is_err() || done {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_mins(2);
    while let Ok(line) = receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        lines.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[test]
fn booting_another_verified_slot_is_sealed_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (repo, keys, data, config) = (
        path("repo"),
        path("keys"),
        path("data"),
        path("rampart.toml"),
    );
    std::fs::write(&config, FREE_PORTS).unwrap();
    ok(&["update", "repo", "init", "--repo", &repo, "--keys", &keys]);
    ok(&[
        "update",
        "trust",
        "--data",
        &data,
        "--root",
        &format!("{repo}/trust/root.json"),
        "--release-keys",
        &format!("{repo}/trust/release-keys.json"),
    ]);
    let bundle = |version: &str, security_version: &str| {
        let notes = path(&format!("notes-{version}.md"));
        std::fs::write(&notes, format!("release {version}\n")).unwrap();
        let out = path(&format!("{version}.bundle"));
        ok(&[
            "update",
            "bundle",
            "--keys",
            &keys,
            "--binary",
            env!("CARGO_BIN_EXE_rampart"),
            "--version",
            version,
            "--security-version",
            security_version,
            "--notes",
            &notes,
            "--out",
            &out,
        ]);
        out
    };
    let first = bundle("1.0.0", "1");
    ok(&[
        "update", "install", "--data", &data, "--bundle", &first, "--commit",
    ]);
    let lines = launch_lines(&data, &config);
    assert!(
        lines.iter().any(|l| l.contains("trust on first use")),
        "slot a's first start seals: {lines:?}"
    );
    // An update: slot b, another manifest, another binary path, another slot name.
    let next = bundle("1.1.0", "2");
    ok(&["update", "install", "--data", &data, "--bundle", &next]);
    let lines = launch_lines(&data, &config);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("slot b (rampart 1.1.0) verified against the pinned release keys")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("management (HTTPS)")),
        "{lines:?}"
    );
    let events: Vec<serde_json::Value> = serde_json::from_str(&ok(&[
        "audit", "query", "--data", &data, "--format", "json",
    ]))
    .unwrap();
    assert!(events.iter().any(|e| e["action"] == "integrity.sealed"
        && e["details"]["reason"] == "slot-verified"
        && e["details"]["slot"] == "b"));
    assert!(!events.iter().any(|e| e["action"] == "integrity.mismatch"));
}
