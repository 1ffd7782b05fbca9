//! `rampart audit …` and `rampart user|role|session …` on a data directory.

use std::os::unix::fs::PermissionsExt as _;

use crate::util::{assert_bad_input, ok, rampart, stderr, stdout, with_stdin};

/// Adds the human account `name` with role operator and a password read from stdin.
fn add_operator(data: &str, name: &str) {
    let output = with_stdin(
        &[
            "user",
            "add",
            name,
            "--role",
            "operator",
            "--password-stdin",
            "--data",
            data,
        ],
        "correct horse battery staple xyz\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_fresh_data_directory_is_initialised_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let text = ok(&[
        "audit",
        "append",
        "--data",
        data,
        "--category",
        "control_system",
        "--action",
        "maintenance-start",
        "--target",
        "tank-1",
        "--details",
        "{\"ticket\":\"CHG-42\"}",
    ]);
    assert!(text.starts_with("recorded event "), "{text}");
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&["audit", "query", "--data", data, "--format", "json"])).unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"data-directory-initialised"),
        "{actions:?}"
    );
    let note = events
        .iter()
        .find(|e| e["action"] == "maintenance-start")
        .unwrap();
    assert_eq!(note["target"], "tank-1");
    assert_eq!(note["details"]["ticket"], "CHG-42");
    assert!(note["actor"]["name"].as_str().unwrap().starts_with("os:"));
    assert_eq!(
        std::fs::metadata(data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let report = ok(&["audit", "verify", "--data", data]);
    assert!(report.contains("intact"), "{report}");
}

#[test]
fn audit_filters_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    for (action, outcome) in [("a1", "success"), ("a2", "denied"), ("a3", "failure")] {
        ok(&[
            "audit",
            "append",
            "--data",
            data,
            "--category",
            "access_control",
            "--action",
            action,
            "--outcome",
            outcome,
        ]);
    }
    let denied = ok(&[
        "audit",
        "query",
        "--data",
        data,
        "--outcome",
        "denied",
        "--format",
        "jsonl",
    ]);
    let lines: Vec<serde_json::Value> = denied
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["action"], "a2");
    let a3 = ok(&[
        "audit", "query", "--data", data, "--action", "a3", "--format", "json",
    ]);
    let a3: serde_json::Value = serde_json::from_str(&a3).unwrap();
    assert_eq!(a3.as_array().unwrap().len(), 1, "{a3}");
    assert_eq!(a3[0]["outcome"], "failure");
    let csv_text = ok(&[
        "audit",
        "export",
        "--data",
        data,
        "--category",
        "access_control",
        "--format",
        "csv",
    ]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(reader.records().count(), 3);
    let out = dir.path().join("export.json");
    ok(&[
        "audit",
        "export",
        "--data",
        data,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    let exported: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(exported.len() >= 3);
    let tail = ok(&["audit", "tail", "--data", data, "-n", "2"]);
    assert!(tail.contains("2 events"), "{tail}");
}

#[test]
fn audit_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    for (args, message) in [
        (
            vec![
                "audit",
                "append",
                "--data",
                data,
                "--category",
                "gossip",
                "--action",
                "x",
            ],
            "gossip",
        ),
        (
            vec![
                "audit",
                "append",
                "--data",
                data,
                "--category",
                "control_system",
                "--action",
                "x",
                "--details",
                "[1]",
            ],
            "JSON object",
        ),
        (
            vec![
                "audit",
                "append",
                "--data",
                data,
                "--category",
                "control_system",
                "--action",
                "x",
                "--details",
                "{",
            ],
            "not JSON",
        ),
        (
            vec!["audit", "query", "--data", data, "--since", "yesterday"],
            "yesterday",
        ),
        (
            vec!["audit", "verify", "--data", "/nonexistent/rampart"],
            "not a directory",
        ),
    ] {
        assert_bad_input(&args, message);
    }
    // A directory that is not a data directory is never written to.
    let foreign = tempfile::tempdir().unwrap();
    std::fs::write(foreign.path().join("notes.txt"), "mine").unwrap();
    std::fs::set_permissions(foreign.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let output = rampart(&["audit", "tail", "--data", foreign.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a Rampart data directory"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_dir(foreign.path()).unwrap().count(), 1);
}

#[test]
fn verify_detects_a_modified_event_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data_s = data.to_str().unwrap();
    for i in 0..5 {
        ok(&[
            "audit",
            "append",
            "--data",
            data_s,
            "--category",
            "control_system",
            "--action",
            &format!("step-{i}"),
        ]);
    }
    ok(&["audit", "verify", "--data", data_s]);
    // Edit the database behind the store's back.
    let db = data.join("audit/audit.sqlite3");
    let conn = rusqlite_free_edit(&db);
    assert!(conn, "edited");
    let output = rampart(&["audit", "verify", "--data", data_s]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("first bad event is sequence number"),
        "{}",
        stderr(&output)
    );
}

/// Flips one byte of an event's action text in the database file (no database library
/// needed: the text is stored verbatim), so the row no longer matches its hash.
fn rusqlite_free_edit(db: &std::path::Path) -> bool {
    let mut bytes = std::fs::read(db).unwrap();
    let needle = b"step-2";
    let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) else {
        return false;
    };
    bytes[at + 5] = b'9';
    std::fs::write(db, bytes).unwrap();
    true
}

#[test]
fn users_are_managed_and_every_change_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    add_operator(data, "alice");
    let users: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&["user", "list", "--data", data, "--format", "json"])).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["must_change_password"], true);
    ok(&["user", "disable", "alice", "--data", data]);
    let shown: serde_json::Value = serde_json::from_str(&ok(&[
        "user", "show", "alice", "--data", data, "--format", "json",
    ]))
    .unwrap();
    assert_eq!(shown["enabled"], false);
    ok(&["user", "enable", "alice", "--data", data]);
    ok(&["user", "unlock", "alice", "--data", data]);
    ok(&["user", "mfa", "alice", "--data", data]);
    ok(&["role", "grant", "operator", "audit.read", "--data", data]);
    let role: serde_json::Value = serde_json::from_str(&ok(&[
        "role", "show", "operator", "--data", data, "--format", "json",
    ]))
    .unwrap();
    assert!(role.to_string().contains("audit.read"), "{role}");
    ok(&["user", "remove", "alice", "--data", data]);
    // Identifiers are never reused.
    let again = with_stdin(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "viewer",
            "--password-stdin",
            "--data",
            data,
        ],
        "another good long passphrase 123\n",
    );
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    let events = ok(&[
        "audit", "query", "--data", data, "--format", "jsonl", "--limit", "500",
    ]);
    for action in [
        "account-create",
        "account-disable",
        "account-enable",
        "account-remove",
        "permission-grant",
    ] {
        assert!(events.contains(action), "{action} not audited:\n{events}");
    }
    assert!(
        !events.contains("correct horse"),
        "a password reached the audit trail"
    );
}

#[test]
fn refused_passwords_and_unknown_roles_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    let short = with_stdin(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "operator",
            "--password-stdin",
            "--data",
            data,
        ],
        "password\n",
    );
    assert_eq!(short.status.code(), Some(2));
    assert!(stderr(&short).contains("too short"), "{}", stderr(&short));
    let role = with_stdin(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "wizard",
            "--password-stdin",
            "--data",
            data,
        ],
        "a long enough passphrase for bob 42\n",
    );
    assert_eq!(role.status.code(), Some(2));
    assert!(stderr(&role).contains("wizard"), "{}", stderr(&role));
    let no_tty = rampart(&["user", "add", "bob", "--role", "operator", "--data", data]);
    assert_eq!(no_tty.status.code(), Some(2));
    assert!(
        stderr(&no_tty).contains("--password-stdin"),
        "{}",
        stderr(&no_tty)
    );
    let perm = rampart(&["role", "grant", "viewer", "frobnicate", "--data", data]);
    assert_eq!(perm.status.code(), Some(2));
}

#[test]
fn forwarding_bad_input_exits_2_and_an_unreachable_collector_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data_s = data.to_str().unwrap();
    ok(&[
        "audit",
        "append",
        "--data",
        data_s,
        "--category",
        "control_system",
        "--action",
        "x",
    ]);
    let ca = data.join("keys/device.pub");
    let ca_s = ca.to_str().unwrap();
    for args in [
        vec![
            "audit", "forward", "--data", data_s, "--to", "no-port", "--ca", ca_s,
        ],
        vec![
            "audit",
            "forward",
            "--data",
            data_s,
            "--to",
            "127.0.0.1:6514",
            "--ca",
            "/nonexistent/ca.pem",
        ],
        vec![
            "audit",
            "forward",
            "--data",
            data_s,
            "--to",
            "127.0.0.1:6514",
            "--ca",
            ca_s,
            "--facility",
            "kitchen",
        ],
    ] {
        let output = rampart(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

/// CR 2.9/2.10: the capacity and the response to a full trail are configured in
/// DATA/audit.toml; overwrite-oldest prunes with a signed record and verify still holds.
#[test]
fn audit_capacity_is_configurable_and_pruning_keeps_the_trail_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data_s = data.to_str().unwrap();
    // Reading never initialises a data directory; a first write does.
    let output = rampart(&["audit", "tail", "--data", data_s]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!data.exists());
    ok(&[
        "audit",
        "append",
        "--data",
        data_s,
        "--category",
        "control_system",
        "--action",
        "init",
    ]);
    std::fs::write(
        data.join("audit.toml"),
        "max_events = 20\nwarn_at_percent = 50\non_full = \"overwrite-oldest\"\n",
    )
    .unwrap();
    for i in 0..12 {
        ok(&[
            "audit",
            "append",
            "--data",
            data_s,
            "--category",
            "control_system",
            "--action",
            &format!("step-{i}"),
        ]);
    }
    let events = ok(&["audit", "query", "--data", data_s, "--format", "jsonl"]);
    assert!(events.contains("audit.capacity.threshold"), "{events}");
    assert!(events.contains("audit.pruned"), "{events}");
    // The capacity holds (the open/close events of the last append may sit on top of it; the
    // query itself adds none), and the oldest events are the ones that went.
    assert!(events.lines().count() <= 25, "{events}");
    assert!(!events.contains("\"step-0\""), "{events}");
    let report = ok(&["audit", "verify", "--data", data_s]);
    assert!(
        report.contains("pruned under the capacity policy"),
        "{report}"
    );

    // A bad file is bad input for every command that writes to the trail (readers do not
    // use it, so a broken audit.toml never keeps anyone from reading the trail).
    let append = |data_s: &str| {
        rampart(&[
            "audit",
            "append",
            "--data",
            data_s,
            "--category",
            "control_system",
            "--action",
            "x",
        ])
    };
    std::fs::write(data.join("audit.toml"), "on_full = \"explode\"\n").unwrap();
    let output = append(data_s);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("audit.toml: on_full: 'explode'"),
        "{}",
        stderr(&output)
    );
    std::fs::write(data.join("audit.toml"), "\ncolour = 1\n").unwrap();
    let output = append(data_s);
    assert!(
        stderr(&output).contains("audit.toml: line 2: unknown field `colour`"),
        "{}",
        stderr(&output)
    );
    let tail = ok(&["audit", "tail", "--data", data_s]);
    assert!(tail.contains("events"), "reading still works: {tail}");
}

#[test]
fn api_tokens_for_another_account_are_for_process_accounts_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    add_operator(data, "alice");
    let token_for = |account: &str| {
        rampart(&[
            "token",
            "create",
            "--data",
            data,
            "--account",
            account,
            "--role",
            "operator",
            "--label",
            "scada",
            "--days",
            "1",
        ])
    };
    // A token is a credential for its owner: none for a person made by someone else.
    let refused = token_for("alice");
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("process accounts"),
        "{}",
        stderr(&refused)
    );
    ok(&[
        "user",
        "add",
        "scada",
        "--process",
        "--role",
        "operator",
        "--data",
        data,
    ]);
    let shown: serde_json::Value = serde_json::from_str(&ok(&[
        "user", "show", "scada", "--data", data, "--format", "json",
    ]))
    .unwrap();
    assert_eq!(shown["kind"], "process");
    let made = token_for("scada");
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(stdout(&made).trim().starts_with("rpt_"));
    // --process and a password do not go together.
    let both = rampart(&[
        "user",
        "add",
        "x",
        "--process",
        "--password-stdin",
        "--role",
        "viewer",
        "--data",
        data,
    ]);
    assert_eq!(both.status.code(), Some(2));
}
