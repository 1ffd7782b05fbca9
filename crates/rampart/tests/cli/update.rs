//! `rampart update …` and `rampart launch`: a maker's repository, a device's slots, the
//! launcher's verification, fallback, anti-rollback, and power cuts during install.
//!
//! The slot binary in these tests is a copy of `/usr/bin/env` (an ELF the launcher can exec
//! from a descriptor): what it prints shows which slot ran and how. `/bin/false` stands for a
//! release that fails at start.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{assert_bad_input, ok, rampart, stderr, stdout};

struct Maker {
    dir: tempfile::TempDir,
}

impl Maker {
    fn new() -> Maker {
        let dir = tempfile::tempdir().unwrap();
        let maker = Maker { dir };
        ok(&[
            "update",
            "repo",
            "init",
            "--repo",
            &maker.repo(),
            "--keys",
            &maker.keys(),
        ]);
        maker
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn repo(&self) -> String {
        self.path("repo")
    }

    fn keys(&self) -> String {
        self.path("keys")
    }

    fn data(&self) -> String {
        self.path("data")
    }

    /// A bundle of `binary` with release notes that make each version's manifest distinct.
    fn bundle(&self, binary: &str, version: &str, security_version: u64) -> String {
        let notes = self.path(&format!("notes-{version}.md"));
        std::fs::write(&notes, format!("release {version}\n")).unwrap();
        let out = self.path(&format!("{version}.bundle"));
        ok(&[
            "update",
            "bundle",
            "--keys",
            &self.keys(),
            "--binary",
            binary,
            "--version",
            version,
            "--security-version",
            &security_version.to_string(),
            "--notes",
            &notes,
            "--out",
            &out,
        ]);
        out
    }

    /// A device provisioned with the repository's trust and version 1.0.0 committed.
    fn device(&self) -> String {
        let data = self.data();
        ok(&[
            "update",
            "trust",
            "--data",
            &data,
            "--root",
            &format!("{}/trust/root.json", self.repo()),
            "--release-keys",
            &format!("{}/trust/release-keys.json", self.repo()),
        ]);
        let first = self.bundle("/usr/bin/env", "1.0.0", 1);
        ok(&[
            "update", "install", "--data", &data, "--bundle", &first, "--commit",
        ]);
        data
    }
}

/// Runs the launcher; the slot binary (`env`) prints its environment.
fn launch(data: &str) -> std::process::Output {
    rampart(&["launch", "--data", data, "--", "RAMPART_LAUNCHED=1"])
}

fn launched_slot(output: &std::process::Output) -> Option<String> {
    stdout(output)
        .lines()
        .find_map(|l| l.strip_prefix("RAMPART_SLOT="))
        .map(str::to_owned)
}

fn boot_state(data: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&[
        "update", "status", "--data", data, "--format", "json",
    ]))
    .unwrap()
}

fn audit_actions(data: &str) -> Vec<String> {
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&["audit", "query", "--data", data, "--format", "json"])).unwrap();
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn an_update_is_installed_tried_committed_and_audited() {
    let maker = Maker::new();
    let data = maker.device();
    let output = launch(&data);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(launched_slot(&output).as_deref(), Some("a"));
    assert!(stdout(&output).contains("RAMPART_LAUNCHED=1"));
    assert!(!stdout(&output).contains("RAMPART_BOOT_TRIAL"));

    let next = maker.bundle("/usr/bin/env", "1.1.0", 2);
    ok(&["update", "install", "--data", &data, "--bundle", &next]);
    let output = launch(&data);
    assert_eq!(launched_slot(&output).as_deref(), Some("b"));
    assert!(stdout(&output).contains("RAMPART_BOOT_TRIAL=1/3"));
    assert_eq!(boot_state(&data)["security_version_floor"], 1);
    ok(&["update", "commit", "--data", &data]);
    assert_eq!(boot_state(&data)["security_version_floor"], 2);
    let output = launch(&data);
    assert_eq!(launched_slot(&output).as_deref(), Some("b"));
    assert!(!stdout(&output).contains("RAMPART_BOOT_TRIAL"));

    let actions = audit_actions(&data);
    for action in [
        "update.trust_provisioned",
        "update.installed",
        "update.boot",
        "update.committed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not audited: {actions:?}"
        );
    }
}

#[test]
fn a_release_that_fails_at_start_is_rolled_back_within_three_launches() {
    let maker = Maker::new();
    let data = maker.device();
    let broken = maker.bundle("/bin/false", "2.0.0", 5);
    ok(&["update", "install", "--data", &data, "--bundle", &broken]);
    for attempt in 1..=3 {
        let output = launch(&data);
        assert!(
            !output.status.success(),
            "attempt {attempt} ran the broken slot"
        );
        assert_eq!(launched_slot(&output), None);
    }
    let output = launch(&data);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(launched_slot(&output).as_deref(), Some("a"));
    assert!(stderr(&output).contains("not committed after 3 boot attempts"));
    let state = boot_state(&data);
    assert_eq!(state["slots"]["b"]["state"], "failed");
    assert_eq!(
        state["security_version_floor"], 1,
        "the floor rises only on commit"
    );
    assert!(
        audit_actions(&data)
            .iter()
            .any(|a| a == "update.boot_fallback")
    );
}

#[test]
fn a_bundle_below_the_security_version_is_refused_and_audited() {
    let maker = Maker::new();
    let data = maker.device();
    let fixed = maker.bundle("/usr/bin/env", "1.2.0", 3);
    ok(&["update", "install", "--data", &data, "--bundle", &fixed]);
    ok(&["update", "commit", "--data", &data]);
    let vulnerable = maker.bundle("/usr/bin/env", "1.3.0", 2);
    assert_bad_input(
        &[
            "update",
            "install",
            "--data",
            &data,
            "--bundle",
            &vulnerable,
        ],
        "below the committed security version 3",
    );
    // A replayed old bundle (the first release, same key) is refused too.
    let old = maker.path("1.0.0.bundle");
    assert_bad_input(
        &["update", "install", "--data", &data, "--bundle", &old],
        "below the committed security version",
    );
    assert!(
        audit_actions(&data)
            .iter()
            .any(|a| a == "update.install_refused")
    );
    // Rolling back to the slot below the floor is refused as well.
    assert_bad_input(&["update", "rollback", "--data", &data], "anti-rollback");
}

#[test]
fn a_slot_binary_modified_after_install_is_not_run() {
    let maker = Maker::new();
    let data = maker.device();
    let next = maker.bundle("/usr/bin/env", "1.1.0", 1);
    ok(&["update", "install", "--data", &data, "--bundle", &next]);
    let binary = PathBuf::from(&data).join("update/slots/b/rampart");
    std::fs::copy("/bin/true", &binary).unwrap();
    let output = launch(&data);
    assert_eq!(
        launched_slot(&output).as_deref(),
        Some("a"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("does not match its manifest"));
    // The committed slot tampered too: nothing verified is left, nothing runs.
    let binary = PathBuf::from(&data).join("update/slots/a/rampart");
    std::fs::copy("/bin/true", &binary).unwrap();
    let output = launch(&data);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no slot can boot"),
        "{}",
        stderr(&output)
    );
    assert!(
        audit_actions(&data)
            .iter()
            .any(|a| a == "update.boot_refused")
    );
}

#[test]
fn a_bundle_from_another_maker_is_refused() {
    let maker = Maker::new();
    let data = maker.device();
    let other = Maker::new();
    let foreign = other.bundle("/usr/bin/env", "9.0.0", 9);
    assert_bad_input(
        &["update", "install", "--data", &data, "--bundle", &foreign],
        "not a trusted release key",
    );
}

#[test]
fn bad_arguments_are_exit_code_2() {
    let maker = Maker::new();
    assert_bad_input(
        &[
            "update",
            "repo",
            "init",
            "--repo",
            &maker.path("r2"),
            "--keys",
            &maker.path("k2"),
            "--threshold",
            "root=3/2",
        ],
        "--threshold 'root=3/2'",
    );
    assert_bad_input(
        &[
            "update",
            "repo",
            "rotate",
            "--repo",
            &maker.repo(),
            "--keys",
            &maker.keys(),
            "--role",
            "admin",
        ],
        "role 'admin'",
    );
    assert_bad_input(
        &[
            "update",
            "bundle",
            "--keys",
            &maker.keys(),
            "--binary",
            "/nonexistent",
            "--version",
            "1.0.0",
            "--security-version",
            "1",
            "--out",
            &maker.path("x.bundle"),
        ],
        "not a file",
    );
    assert_bad_input(
        &[
            "update",
            "install",
            "--data",
            &maker.data(),
            "--bundle",
            "/etc/hostname",
        ],
        "rampart update trust",
    );
    let data = maker.device();
    assert_bad_input(
        &[
            "update",
            "install",
            "--data",
            &data,
            "--bundle",
            "/etc/hostname",
        ],
        "not an update bundle",
    );
    let first = maker.path("1.0.0.bundle");
    assert_bad_input(
        &[
            "update", "install", "--data", &data, "--bundle", &first, "--commit",
        ],
        "first install",
    );
}

/// Runs `update install` armed to stop at crash point `n`; SIGKILLs it there. Returns false
/// when the install finished before reaching point `n` (all points covered).
fn install_killed_at(data: &str, bundle: &str, n: u32) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["update", "install", "--data", data, "--bundle", bundle])
        .env("RAMPART_TEST_CRASH_AT", n.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut seen = String::new();
    let reached = loop {
        seen.push_str(&line);
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break false;
        }
        if line.starts_with("crash-point ") {
            break true;
        }
    };
    if reached {
        child.kill().unwrap();
    }
    let status = child.wait().unwrap();
    // An install that ended without reaching point n must have succeeded.
    assert!(
        reached || status.success(),
        "install failed at no crash point: {seen}"
    );
    reached
}

#[test]
fn a_power_cut_at_any_point_of_an_install_leaves_a_verified_slot_to_boot() {
    let maker = Maker::new();
    let template = maker.device();
    // Slot b holds an abandoned trial, so an install also moves an old slot aside.
    let abandoned = maker.bundle("/usr/bin/env", "1.0.5", 1);
    ok(&[
        "update", "install", "--data", &template, "--bundle", &abandoned,
    ]);
    ok(&["update", "rollback", "--data", &template]);
    let update = maker.bundle("/usr/bin/env", "1.1.0", 2);
    let mut points = 0;
    for n in 1.. {
        // Each cut starts from the same provisioned device.
        let data = maker.path(&format!("cut-{n}"));
        copy_dir(Path::new(&template), Path::new(&data));
        if !install_killed_at(&data, &update, n) {
            break;
        }
        points += 1;
        let output = launch(&data);
        assert!(
            output.status.success(),
            "cut at point {n}: {}",
            stderr(&output)
        );
        let slot = launched_slot(&output).unwrap();
        let state = boot_state(&data);
        assert_eq!(
            state["slots"]["a"]["state"], "committed",
            "cut at point {n}"
        );
        assert_eq!(state["security_version_floor"], 1);
        if slot == "b" {
            assert_eq!(state["slots"]["b"]["state"], "trial");
        }
        // The device can still be updated after the cut.
        ok(&["update", "install", "--data", &data, "--bundle", &update]);
        let output = launch(&data);
        assert_eq!(
            launched_slot(&output).as_deref(),
            Some("b"),
            "after cut {n}"
        );
        assert!(n < 200, "the crash points do not end");
    }
    assert!(points >= 20, "only {points} crash points");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::metadata(from).unwrap().permissions()).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_trial_gateway_commits_itself_after_its_health_check() {
    let maker = Maker::new();
    let data = maker.data();
    ok(&[
        "update",
        "trust",
        "--data",
        &data,
        "--root",
        &format!("{}/trust/root.json", maker.repo()),
        "--release-keys",
        &format!("{}/trust/release-keys.json", maker.repo()),
    ]);
    let binary = env!("CARGO_BIN_EXE_rampart");
    let first = maker.bundle(binary, "1.0.0", 1);
    ok(&[
        "update", "install", "--data", &data, "--bundle", &first, "--commit",
    ]);
    let next = maker.bundle(binary, "1.1.0", 2);
    ok(&["update", "install", "--data", &data, "--bundle", &next]);
    let config = maker.path("rampart.toml");
    std::fs::write(&config, crate::util::FREE_PORTS).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "launch", "--data", &data, "--", "up", "--data", &data, "--config", &config,
        ])
        .args(["--commit-after", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read on a thread so the deadline holds even when the gateway prints nothing more.
    let (sender, receiver) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("committed after its health check") {
                let _ = sender.send(());
            }
        }
    });
    let committed = receiver
        .recv_timeout(std::time::Duration::from_mins(2))
        .is_ok();
    let _ = child.kill();
    let _ = child.wait();
    assert!(committed, "the trial slot never committed itself");
    let state = boot_state(&data);
    assert_eq!(state["slots"]["b"]["state"], "committed");
    assert_eq!(state["slots"]["a"]["state"], "previous");
    assert_eq!(state["security_version_floor"], 2);
    let actions = audit_actions(&data);
    assert!(
        actions.iter().any(|a| a == "update.health_check"),
        "{actions:?}"
    );
}

/// A device provisioned with a repository URL (file://) and, optionally, an owner's approval
/// repository.
fn device_with_channel(maker: &Maker, owner: Option<&Maker>) -> String {
    let data = maker.data();
    let repository = format!("file://{}", maker.repo());
    let mut args = vec![
        "update".to_owned(),
        "trust".into(),
        "--data".into(),
        data.clone(),
        "--root".into(),
        format!("{}/trust/root.json", maker.repo()),
        "--release-keys".into(),
        format!("{}/trust/release-keys.json", maker.repo()),
        "--repository".into(),
        repository,
    ];
    if let Some(owner) = owner {
        args.extend([
            "--owner-root".into(),
            format!("{}/trust/root.json", owner.repo()),
            "--owner-repository".into(),
            format!("file://{}", owner.repo()),
        ]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&args);
    let first = maker.bundle("/usr/bin/env", "1.0.0", 1);
    ok(&[
        "update", "install", "--data", &data, "--bundle", &first, "--commit",
    ]);
    data
}

fn publish(maker: &Maker, bundle: &str) {
    ok(&[
        "update",
        "repo",
        "add",
        "--repo",
        &maker.repo(),
        "--keys",
        &maker.keys(),
        "--bundle",
        bundle,
    ]);
}

#[test]
fn a_device_checks_downloads_and_installs_from_its_repository() {
    let maker = Maker::new();
    let data = device_with_channel(&maker, None);
    let text = ok(&["update", "check", "--data", &data]);
    assert!(text.contains("up to date"), "{text}");
    let next = maker.bundle("/usr/bin/env", "1.1.0", 2);
    publish(&maker, &next);
    let text = ok(&["update", "check", "--data", &data]);
    assert!(text.contains("available: rampart-1.1.0-"), "{text}");
    assert!(text.contains("security version 2"), "{text}");
    let text = ok(&["update", "download", "--data", &data]);
    assert!(text.contains("downloaded rampart-1.1.0-"), "{text}");
    ok(&["update", "install", "--data", &data]);
    let output = launch(&data);
    assert_eq!(
        launched_slot(&output).as_deref(),
        Some("b"),
        "{}",
        stderr(&output)
    );
    // The trusted metadata is kept byte for byte as the repository serves it.
    let trusted =
        std::fs::read(PathBuf::from(&data).join("update/tuf/supplier/timestamp.json")).unwrap();
    let served =
        std::fs::read(PathBuf::from(maker.repo()).join("metadata/timestamp.json")).unwrap();
    assert_eq!(trusted, served);
    let actions = audit_actions(&data);
    for action in ["update.checked", "update.downloaded", "update.installed"] {
        assert!(actions.iter().any(|a| a == action), "{action} not audited");
    }
}

#[test]
fn an_update_needs_the_owners_approval_when_an_owner_root_is_pinned() {
    let supplier = Maker::new();
    let owner = Maker::new();
    let data = device_with_channel(&supplier, Some(&owner));
    let next = supplier.bundle("/usr/bin/env", "1.1.0", 2);
    publish(&supplier, &next);
    let text = ok(&["update", "check", "--data", &data]);
    assert!(
        text.contains("awaiting the owner's approval: rampart-1.1.0-"),
        "{text}"
    );
    assert_bad_input(&["update", "download", "--data", &data], "has not approved");
    // The owner cannot list it under its own release key; it approves the supplier's bytes.
    assert_bad_input(
        &[
            "update",
            "repo",
            "add",
            "--repo",
            &owner.repo(),
            "--keys",
            &owner.keys(),
            "--bundle",
            &next,
        ],
        "not a trusted release key",
    );
    ok(&[
        "update",
        "repo",
        "add",
        "--repo",
        &owner.repo(),
        "--keys",
        &owner.keys(),
        "--bundle",
        &next,
        "--release-keys",
        &format!("{}/trust/release-keys.json", supplier.repo()),
    ]);
    let text = ok(&["update", "check", "--data", &data]);
    assert!(text.contains("available: rampart-1.1.0-"), "{text}");
    ok(&["update", "download", "--data", &data]);
    ok(&["update", "install", "--data", &data]);
}

#[test]
fn a_replayed_old_timestamp_is_refused_and_audited_as_an_alert() {
    let maker = Maker::new();
    let data = device_with_channel(&maker, None);
    let old = std::fs::read(PathBuf::from(maker.repo()).join("metadata/timestamp.json")).unwrap();
    ok(&[
        "update",
        "repo",
        "sign",
        "--repo",
        &maker.repo(),
        "--keys",
        &maker.keys(),
    ]);
    ok(&["update", "check", "--data", &data]);
    // An attacker (a mirror) serves the older, validly signed timestamp again.
    std::fs::write(
        PathBuf::from(maker.repo()).join("metadata/timestamp.json"),
        old,
    )
    .unwrap();
    let output = rampart(&["update", "check", "--data", &data]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("timestamp"), "{}", stderr(&output));
    let events: Vec<serde_json::Value> = serde_json::from_str(&ok(&[
        "audit", "query", "--data", &data, "--format", "json",
    ]))
    .unwrap();
    let refused = events
        .iter()
        .rev()
        .find(|e| e["action"] == "update.checked")
        .unwrap();
    assert_eq!(refused["outcome"], "failure");
    assert_eq!(refused["severity"], "alert", "{refused}");
}

/// Serves `dir` over HTTP on loopback with python's http.server; killed when dropped.
struct HttpServer(std::process::Child, u16);

impl HttpServer {
    fn start(dir: &str) -> HttpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
                dir,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let server = HttpServer(child, port);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        drop(server);
        panic!("http.server did not listen on {port}");
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `rampart launch … -- up …` with its printed lines on a channel; killed when dropped.
struct Launched(std::process::Child, std::sync::mpsc::Receiver<String>);

impl Launched {
    fn start(data: &str, config: &str) -> Launched {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args([
                "launch", "--data", data, "--", "up", "--data", data, "--config", config,
            ])
            .args(["--commit-after", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Launched(child, receiver)
    }

    /// Waits (bounded) for a line containing `needle` and returns it.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_mins(2);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.1.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("the gateway never printed '{needle}'");
    }

    fn management_url(&self) -> String {
        let line = self.wait_for("management (HTTPS)");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .unwrap();
        url.trim_end_matches('/').to_owned()
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs python3's http.server: run scripts/test"]
fn a_running_gateway_updates_itself_from_a_served_repository_and_commits_the_new_slot() {
    let maker = Maker::new();
    let served = HttpServer::start(&maker.repo());
    let data = maker.data();
    ok(&[
        "update",
        "trust",
        "--data",
        &data,
        "--root",
        &format!("{}/trust/root.json", maker.repo()),
        "--release-keys",
        &format!("{}/trust/release-keys.json", maker.repo()),
        "--repository",
        &format!("http://127.0.0.1:{}", served.1),
    ]);
    let binary = env!("CARGO_BIN_EXE_rampart");
    let first = maker.bundle(binary, "1.0.0", 1);
    ok(&[
        "update", "install", "--data", &data, "--bundle", &first, "--commit",
    ]);
    ok(&[
        "user",
        "add",
        "--data",
        &data,
        "--process",
        "updater",
        "--role",
        "engineer",
    ]);
    let token = ok(&[
        "token",
        "create",
        "--data",
        &data,
        "--account",
        "updater",
        "--role",
        "engineer",
        "--label",
        "update",
        "--days",
        "1",
    ]);
    let token_file = maker.path("token");
    std::fs::write(&token_file, token.trim()).unwrap();
    let token_arg = format!("@{token_file}");
    let ca = format!("{data}/pki/ca.crt");
    let config = maker.path("rampart.toml");
    std::fs::write(&config, crate::util::FREE_PORTS).unwrap();

    // Version N runs, from the committed slot a.
    let gateway = Launched::start(&data, &config);
    let url = gateway.management_url();
    let live = |verb: &str| -> String {
        ok(&[
            "update", "live", verb, "--live", &url, "--token", &token_arg, "--ca", &ca,
        ])
    };
    let status: serde_json::Value = serde_json::from_str(&live("status")).unwrap();
    assert_eq!(status["running_slot"], "a");

    // The maker publishes N+1; the gateway checks, downloads, installs and restarts.
    let next = maker.bundle(binary, "1.1.0", 2);
    publish(&maker, &next);
    let checked: serde_json::Value = serde_json::from_str(&live("check")).unwrap();
    assert_eq!(checked["available"]["version"], "1.1.0", "{checked}");
    live("download");
    let installed: serde_json::Value = serde_json::from_str(&ok(&[
        "update",
        "live",
        "install",
        "--restart",
        "--live",
        &url,
        "--token",
        &token_arg,
        "--ca",
        &ca,
    ]))
    .unwrap();
    assert_eq!(installed["slot"], "b", "{installed}");
    // It stops with exit code 75 for its supervisor; here the test is the supervisor.
    let mut gateway = gateway;
    let mut code = None;
    for _ in 0..600 {
        if let Some(status) = gateway.0.try_wait().unwrap() {
            code = status.code();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(code, Some(75), "the gateway did not stop for its restart");
    drop(gateway);

    // Started again: the launcher verifies and boots slot b as a trial, which commits itself.
    let gateway = Launched::start(&data, &config);
    let url = gateway.management_url();
    gateway.wait_for("committed after its health check");
    let status: serde_json::Value = serde_json::from_str(&ok(&[
        "update", "live", "status", "--live", &url, "--token", &token_arg, "--ca", &ca,
    ]))
    .unwrap();
    assert_eq!(status["running_slot"], "b", "{status}");
    assert_eq!(status["boot_state"]["slots"]["b"]["state"], "committed");
    assert_eq!(status["boot_state"]["security_version_floor"], 2);

    // The assessment reads the FR3 evidence from the running gateway.
    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/rampart-gateway.toml"
    );
    let out = rampart(&[
        "assess", profile, "--live", &url, "--token", &token_arg, "--ca", &ca, "--format", "json",
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report["live"]["findings"].as_array().unwrap();
    for check in [
        "update-trust-pinned",
        "update-authenticity",
        "supplier-root-of-trust",
        "verified-boot",
        "boot-integrity",
        "boot-authenticity",
        "signed-software-only",
    ] {
        let finding = findings
            .iter()
            .find(|f| f["check"] == check)
            .unwrap_or_else(|| panic!("no finding {check}"));
        assert_eq!(finding["outcome"], "pass", "{finding}");
    }
    // With that live evidence, Rampart's FR3 (system integrity) reaches SL-C 2 at least.
    let fr3 = report["sl_c"]["FR3"].as_u64().unwrap();
    assert!(fr3 >= 2, "FR3 SL-C {fr3}: {:#}", report["gaps"]);
    drop(gateway);
}
