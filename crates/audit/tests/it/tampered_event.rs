//! Threat: an attacker with file access changes a recorded event (CR 3.9).

use rampart_audit::FindingKind;

use crate::util::{Case, Fixture, check, expect_finding};

#[test]
fn a_changed_event_is_located() {
    check(&[
        Case {
            name: "outcome denied -> success",
            tamper: "UPDATE events SET outcome = 'success' WHERE seq = 60",
            kind: FindingKind::Modified,
            first: 60,
            last: 60,
        },
        Case {
            name: "details replaced",
            tamper: r#"UPDATE events SET details = '{"function_code":3}' WHERE seq = 61"#,
            kind: FindingKind::Modified,
            first: 61,
            last: 61,
        },
        Case {
            name: "actor of the first event",
            tamper: "UPDATE events SET actor = 'CN=someone-else' WHERE seq = 1",
            kind: FindingKind::Modified,
            first: 1,
            last: 1,
        },
        Case {
            name: "timestamp moved by a second",
            tamper: "UPDATE events SET ts = ts + 1000000 WHERE seq = 100",
            kind: FindingKind::Modified,
            first: 100,
            last: 100,
        },
        Case {
            name: "severity lowered",
            tamper: "UPDATE events SET severity = 7 WHERE seq = 33",
            kind: FindingKind::Modified,
            first: 33,
            last: 33,
        },
        Case {
            name: "optional field removed",
            tamper: "UPDATE events SET source = NULL WHERE seq = 12",
            kind: FindingKind::Modified,
            first: 12,
            last: 12,
        },
        Case {
            name: "same bytes, other SQLite type",
            tamper: "UPDATE events SET action = CAST(action AS BLOB) WHERE seq = 30",
            kind: FindingKind::Modified,
            first: 30,
            last: 30,
        },
        Case {
            name: "stored hash zeroed",
            tamper: "UPDATE events SET hash = zeroblob(32) WHERE seq = 40",
            kind: FindingKind::Modified,
            first: 40,
            last: 40,
        },
        Case {
            name: "stored hash truncated",
            tamper: "UPDATE events SET hash = X'00' WHERE seq = 41",
            kind: FindingKind::Modified,
            first: 41,
            last: 41,
        },
    ]);
}

/// Recomputing the changed event's own hash moves the break to the next link: the finding
/// names that link and says the change may be in the event before it.
#[test]
fn a_changed_event_with_its_hash_recomputed_breaks_the_next_link() {
    let fixture = Fixture::with_events(100);
    fixture.tamper("UPDATE events SET outcome = 'success' WHERE seq = 60");
    let conn = fixture.sqlite();
    let hash = crate::util::chain_hash(
        &fixture.stored_hash(59),
        &crate::util::canonical_row(&conn, 60),
    );
    conn.execute(
        "UPDATE events SET hash = ?1 WHERE seq = 60",
        [hash.as_slice()],
    )
    .unwrap();
    let report = fixture.verify();
    expect_finding(
        &report,
        FindingKind::Modified,
        61,
        61,
        "hash of 60 recomputed",
    );
    assert!(
        report
            .first_problem()
            .unwrap()
            .detail()
            .contains("hash of event 60")
    );
}

/// Recomputing every later hash makes the chain consistent again; the signed checkpoint after
/// the change catches it, and the location is the range it covers.
#[test]
fn a_rewritten_chain_is_caught_by_the_next_checkpoint() {
    let fixture = Fixture::with_events(100);
    fixture.tamper("UPDATE events SET outcome = 'success' WHERE seq = 60");
    fixture.rechain_from(60);
    let report = fixture.verify();
    expect_finding(
        &report,
        FindingKind::CheckpointMismatch,
        51,
        75,
        "chain rewritten from 60",
    );
    assert_eq!(report.signed_through(), Some(50));
    assert_eq!(report.checkpoints_verified(), 2);
}

/// Large stores are verified on two threads; a change in either half is located the same way.
#[test]
fn a_change_in_a_large_store_is_located_in_either_half() {
    let fixture = Fixture::with_many(120_000);
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.events_checked(), report.checkpoints_verified()),
        (120_000, 12)
    );
    fixture.tamper("UPDATE events SET target = 'x' WHERE seq = 110000");
    expect_finding(
        &fixture.verify(),
        FindingKind::Modified,
        110_000,
        110_000,
        "second half",
    );
    fixture.tamper("DELETE FROM events WHERE seq = 30000");
    expect_finding(
        &fixture.verify(),
        FindingKind::Missing,
        30_000,
        30_000,
        "first half",
    );
    fixture.tamper("DELETE FROM events WHERE seq = 60001");
    let report = fixture.verify();
    expect_finding(&report, FindingKind::Missing, 30_000, 30_000, "both halves");
    assert_eq!(report.signed_through(), Some(20_000));
}
