//! Threat: reading the audit trail next to a running gateway changes it, and the trail
//! misreports how it was left (CR 2.8, CR 6.1). `audit verify|query|tail` add nothing (no
//! `audit.opened`/`audit.closed`, no writer registration); a writer opening beside the live
//! gateway does not claim a crash; after a kill the next open says unclean, after a clean stop
//! clean.

use std::path::Path;
use std::time::{Duration, Instant};

use rampart_audit::AuditReader;
use serde_json::Value;

use crate::util::{FREE_PORTS, ok, up};

const UNCLEAN: &str = "unclean (crash or kill): events after the last checkpoint are unsigned";
const STILL_OPEN: &str = "not applicable: the trail is held open by another running writer";

/// The last sequence number and every `audit.opened` event's details, read directly.
fn trail(data: &Path) -> (u64, Vec<Value>) {
    let reader = AuditReader::open(&data.join("audit")).unwrap();
    let events = reader.tail(100_000).unwrap();
    let last = events.last().map_or(0, rampart_audit::AuditEvent::seq);
    let opened = events
        .iter()
        .filter(|e| e.action() == "audit.opened")
        .map(|e| Value::Object(e.details().clone()))
        .collect();
    (last, opened)
}

fn registered_writers(data: &Path) -> usize {
    std::fs::read_dir(data.join("audit/writers")).map_or(0, |dir| {
        dir.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("writer-"))
            .count()
    })
}

/// Waits (at most 30 s) until the trail has not grown for a second: the gateway has started.
fn settled(data: &Path) -> (u64, Vec<Value>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut before = trail(data);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = trail(data);
        if now.0 == before.0 || Instant::now() > deadline {
            return now;
        }
        before = now;
    }
}

fn append(data: &str) -> Value {
    ok(&[
        "audit",
        "append",
        "--data",
        data,
        "--category",
        "control_system",
        "--action",
        "maintenance-note",
    ]);
    trail(Path::new(data)).1.pop().unwrap()
}

#[test]
fn read_only_audit_commands_leave_a_live_trail_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    let data_s = data.to_str().unwrap();

    let (gateway, _) = up(&data, &config);
    let before = settled(&data);
    assert_eq!(
        registered_writers(&data),
        1,
        "the gateway's own registration"
    );
    for args in [
        vec!["audit", "verify", "--data", data_s],
        vec!["audit", "query", "--data", data_s, "--format", "jsonl"],
        vec!["audit", "query", "--data", data_s, "--limit", "5"],
        vec!["audit", "tail", "--data", data_s, "-n", "3"],
        vec!["audit", "verify", "--data", data_s],
    ] {
        let text = ok(&args);
        assert!(!text.is_empty(), "{args:?}");
    }
    let after = trail(&data);
    assert_eq!(after.0, before.0, "events were added by read-only commands");
    assert_eq!(after.1.len(), before.1.len(), "audit.opened added");
    assert_eq!(registered_writers(&data), 1);
    let listed = ok(&[
        "audit", "query", "--data", data_s, "--format", "jsonl", "--limit", "100000",
    ]);
    assert_eq!(listed.lines().count() as u64, before.0);

    // A writer beside the running gateway does not claim that the gateway crashed.
    let opened = append(data_s);
    assert_eq!(opened["previous_shutdown"], STILL_OPEN, "{opened}");
    assert_eq!(opened["running_writers"], 1, "{opened}");

    // SIGKILL: the next open says unclean, the one after clean.
    drop(gateway);
    let opened = append(data_s);
    assert_eq!(opened["previous_shutdown"], UNCLEAN, "{opened}");
    assert_eq!(opened["writers_ended_uncleanly"], 1, "{opened}");
    assert_eq!(append(data_s)["previous_shutdown"], "clean");

    // A clean stop (SIGTERM): the next open says clean.
    let (mut gateway, _) = up(&data, &config);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &gateway.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while gateway.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "rampart up did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(append(data_s)["previous_shutdown"], "clean");
    assert_eq!(registered_writers(&data), 0);
    ok(&["audit", "verify", "--data", data_s]);
}
