//! Threat: an attacker cuts events off the end of the trail. Verification detects it when a
//! signed checkpoint covers the missing events, and otherwise states exactly what is proven.

use rampart_audit::FindingKind;
use rampart_audit::testing::sample_event;

use crate::util::{Fixture, canonical_row, chain_hash, expect_finding};

#[test]
fn a_cleanly_closed_store_is_signed_to_the_end() {
    let fixture = Fixture::with_events(110);
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.signed_through(), report.unsigned_events()),
        (Some(110), 0)
    );
    assert_eq!(
        report.checkpoints_verified(),
        5,
        "25, 50, 75, 100 and 110 at close"
    );
    assert_eq!(report.events_checked(), 110);
}

#[test]
fn deleting_events_a_checkpoint_signs_is_truncation() {
    let fixture = Fixture::with_events(100);
    fixture.tamper("DELETE FROM events WHERE seq >= 90");
    let report = fixture.verify();
    expect_finding(
        &report,
        FindingKind::Truncated,
        90,
        100,
        "tail cut below the checkpoint",
    );
    assert_eq!(report.signed_through(), Some(75));
}

/// Events after the last checkpoint (here: the writer died before signing them) are chained but
/// unsigned; removing them, with or without the checkpoint after them, cannot be detected, and
/// the report says so instead of claiming more.
#[test]
fn an_unsigned_tail_is_reported_exactly_and_its_deletion_is_undetectable() {
    let fixture = Fixture::new();
    let store = fixture.open(Fixture::config());
    fixture.append_samples(&store, 1, 111);
    // A crash: the writer never reaches its final checkpoint.
    std::mem::forget(store);

    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.signed_through(), report.unsigned_events()),
        (Some(100), 10)
    );
    assert_eq!(
        report.statement(),
        "intact and signed up to seq 100; 10 event(s) after it (101..=110) are chained but \
         unsigned; deletion of trailing events after seq 100 cannot be detected."
    );

    fixture.tamper("DELETE FROM events WHERE seq > 105");
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.signed_through(), report.unsigned_events()),
        (Some(100), 5)
    );

    // Removing a checkpoint with the events it signs rolls the proof back to the one before.
    fixture.tamper("DELETE FROM events WHERE seq > 95; DELETE FROM checkpoints WHERE seq = 100");
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.signed_through(), report.unsigned_events()),
        (Some(75), 20)
    );
}

/// The converse: an event appended after the last checkpoint with a correct hash is chained and
/// unsigned, indistinguishable from a real one. The report does not vouch for it.
#[test]
fn a_forged_event_after_the_last_checkpoint_is_only_ever_unsigned() {
    let fixture = Fixture::with_events(100);
    let conn = fixture.sqlite();
    conn.execute_batch(
        "INSERT INTO events SELECT 101, ts, time_source, clock_sync, actor_kind, actor, source,
            interface, category, action, target, outcome, severity, details, hash
            FROM events WHERE seq = 100",
    )
    .unwrap();
    let hash = chain_hash(&fixture.stored_hash(100), &canonical_row(&conn, 101));
    conn.execute(
        "UPDATE events SET hash = ?1 WHERE seq = 101",
        [hash.as_slice()],
    )
    .unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.signed_through(), report.unsigned_events()),
        (Some(100), 1)
    );
    let _ = sample_event(0);
}
