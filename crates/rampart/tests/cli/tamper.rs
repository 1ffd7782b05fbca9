//! Physical tamper detection (NDR 3.11, RE 1) in a running `rampart up`: a sensor file that
//! reads 0 while closed; a tamper is audited as an alert, closes all traffic with
//! `on_tamper = "closed"` and shows in the configuration report; closing it again is recorded;
//! a sensor that disappears is a tamper too.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{FREE_PORTS, ok, up_lines};

fn events(data: &Path, action: &str) -> Vec<Value> {
    let all: Vec<Value> = serde_json::from_str(&ok(&[
        "audit",
        "query",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    all.into_iter().filter(|e| e["action"] == action).collect()
}

/// Waits (bounded) until `count` events `action` are in the trail.
fn wait_for(data: &Path, action: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = events(data, action);
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{count} {action} not recorded within 30 s: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_tamper_is_an_alert_closes_traffic_and_a_vanished_sensor_counts_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let door = dir.path().join("door");
    std::fs::write(&door, "0\n").unwrap();
    let config = dir.path().join("rampart.toml");
    std::fs::write(
        &config,
        format!(
            "{FREE_PORTS}[tamper]\nsensors = [\"{}\"]\ninterval_s = 1\non_tamper = \"closed\"\n",
            door.display()
        ),
    )
    .unwrap();
    let (up, lines) = up_lines(&data, &config);
    let summary = lines
        .iter()
        .find(|l| l.trim_start().starts_with("tamper sensors"))
        .expect("rampart up names its tamper sensors");
    assert!(
        summary.contains(&door.display().to_string()) && summary.contains("on tamper: closed"),
        "{summary}"
    );
    let island = data.join("gateway/island");
    assert!(events(&data, "tamper.detected").is_empty());

    // The door opens: an alert naming the sensor, and all traffic closes.
    std::fs::write(&door, "1\n").unwrap();
    let detected = wait_for(&data, "tamper.detected", 1);
    assert_eq!(detected[0]["severity"], "alert");
    assert_eq!(detected[0]["category"], "access_control");
    assert_eq!(detected[0]["target"], door.display().to_string());
    assert_eq!(
        detected[0]["details"]["response"],
        "traffic closed (island mode)"
    );
    let island_on = wait_for(&data, "gateway.island_on", 1);
    assert_eq!(island_on[0]["details"]["by"], "tamper");
    assert_eq!(std::fs::read_to_string(&island).unwrap().trim(), "on");

    // Closed again: recorded; traffic stays closed until an operator reopens it.
    std::fs::write(&door, "0\n").unwrap();
    let cleared = wait_for(&data, "tamper.cleared", 1);
    assert_eq!(cleared[0]["severity"], "notice");
    assert_eq!(std::fs::read_to_string(&island).unwrap().trim(), "on");
    // Reported once each: no second alert while the state holds.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(events(&data, "tamper.detected").len(), 1);

    // A sensor that disappears (a cut wire, a removed module) is a tamper.
    std::fs::remove_file(&door).unwrap();
    let detected = wait_for(&data, "tamper.detected", 2);
    assert!(
        detected[1]["details"]["reading"]
            .as_str()
            .unwrap()
            .starts_with("UNREADABLE"),
        "{:?}",
        detected[1]
    );
    drop(up);
}

#[test]
fn tamper_settings_are_checked_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rampart.toml");
    for (text, says) in [
        (
            "[tamper]\non_tamper = \"shutdown\"\n",
            "'shutdown' is not an action on tamper",
        ),
        ("[tamper]\ninterval_s = 0\n", "tamper.interval_s"),
        ("[tamper]\nsensors = [\"\"]\n", "an empty sensor path"),
        ("[tamper]\nsensor = [\"auto\"]\n", "sensor"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = crate::util::rampart(&[
            "up",
            "--data",
            dir.path().join("data").to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = crate::util::stderr(&out);
        assert!(
            err.contains(says) && err.contains("rampart.toml:"),
            "{text}: {err}"
        );
    }
}
