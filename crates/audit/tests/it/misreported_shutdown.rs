//! Threat: the trail misreports how it was left (CR 2.8, CR 3.9). A writer opening next to a
//! live one (a CLI command beside the running gateway) must not claim a crash, a crash must
//! not pass for a clean shutdown, and only the last writer to close marks the store closed
//! cleanly.

use std::sync::Arc;

use rampart_audit::testing::insecure_signing_key;
use rampart_audit::{AuditReader, AuditStore, ManualClock, Severity, StoreConfig, Timestamp};
use serde_json::Value;

use crate::util::{Fixture, OTHER_WRITER_DIR, OtherWriter, START};

const UNCLEAN: &str = "unclean (crash or kill): events after the last checkpoint are unsigned";
const STILL_OPEN: &str = "not applicable: the trail is held open by another running writer";

/// The child side of [`OtherWriter`]: does nothing unless started by it.
#[test]
fn child_holding_the_trail_open() {
    let Ok(dir) = std::env::var(OTHER_WRITER_DIR) else {
        return;
    };
    let _store = AuditStore::open(
        dir.as_ref(),
        StoreConfig::default(),
        Arc::new(ManualClock::new(
            Timestamp::from_unix_micros(START).unwrap(),
        )),
        Arc::new(insecure_signing_key(1)),
    )
    .unwrap();
    println!("OPEN");
    // Killed by the test long before this; bounded in case the test itself died.
    std::thread::sleep(std::time::Duration::from_mins(2));
}

/// `(previous_shutdown, severity, details)` of every `audit.opened`, in order.
fn opened(fixture: &Fixture) -> Vec<(String, Severity, Value)> {
    AuditReader::open(fixture.path())
        .unwrap()
        .tail(1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action() == "audit.opened")
        .map(|e| {
            let details = Value::Object(e.details().clone());
            (
                details["previous_shutdown"].as_str().unwrap().to_owned(),
                e.severity(),
                details,
            )
        })
        .collect()
}

fn open_and_close(fixture: &Fixture) {
    fixture.open(StoreConfig::default()).close().unwrap();
}

#[test]
fn a_trail_held_open_by_a_live_writer_is_not_reported_as_a_crash() {
    let fixture = Fixture::new();
    let gateway = OtherWriter::start(fixture.path());
    // Two commands next to the running writer.
    open_and_close(&fixture);
    open_and_close(&fixture);
    // The writer is killed: the next open says so, and the one after is clean again.
    gateway.kill();
    open_and_close(&fixture);
    open_and_close(&fixture);

    let opened = opened(&fixture);
    let summary: Vec<(&str, Severity)> = opened.iter().map(|(p, s, _)| (p.as_str(), *s)).collect();
    assert_eq!(
        summary,
        [
            ("none (new store)", Severity::Notice),
            (STILL_OPEN, Severity::Notice),
            (STILL_OPEN, Severity::Notice),
            (UNCLEAN, Severity::Warning),
            ("clean", Severity::Notice),
        ]
    );
    assert_eq!(opened[1].2["running_writers"], 1);
    assert_eq!(opened[3].2["writers_ended_uncleanly"], 1);
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
}

#[test]
fn only_the_last_writer_to_close_marks_the_store_clean() {
    for first_closes_first in [true, false] {
        let fixture = Fixture::new();
        let a = fixture.open(StoreConfig::default());
        let b = fixture.open(StoreConfig::default());
        if first_closes_first {
            a.close().unwrap();
            // A crash of the remaining writer is still seen.
            let c = fixture.open(StoreConfig::default());
            c.close().unwrap();
            b.close().unwrap();
        } else {
            b.close().unwrap();
            a.close().unwrap();
        }
        open_and_close(&fixture);
        let previous: Vec<String> = opened(&fixture).into_iter().map(|(p, _, _)| p).collect();
        let mut expected = vec!["none (new store)", STILL_OPEN];
        if first_closes_first {
            expected.push(STILL_OPEN);
        }
        expected.push("clean");
        assert_eq!(
            previous, expected,
            "first closes first: {first_closes_first}"
        );
    }
}

#[test]
fn a_kill_after_another_writer_closed_is_reported_as_unclean() {
    let fixture = Fixture::new();
    open_and_close(&fixture);
    let gateway = OtherWriter::start(fixture.path());
    // A command opens and closes while the writer runs; it must not mark the store clean.
    open_and_close(&fixture);
    gateway.kill();
    open_and_close(&fixture);
    let previous: Vec<String> = opened(&fixture).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(previous, ["none (new store)", "clean", STILL_OPEN, UNCLEAN]);
}
