//! Threat: an attacker reorders events or inserts fabricated ones (CR 3.9).

use rampart_audit::FindingKind;

use crate::util::{Case, Fixture, canonical_row, chain_hash, check, expect_finding};

/// Swaps the rows at two sequence numbers.
macro_rules! swap {
    ($a:literal, $b:literal) => {
        concat!(
            "UPDATE events SET seq = -1 WHERE seq = ",
            $a,
            ";",
            "UPDATE events SET seq = ",
            $a,
            " WHERE seq = ",
            $b,
            ";",
            "UPDATE events SET seq = ",
            $b,
            " WHERE seq = -1;"
        )
    };
}

/// Shifts events from `$at` on up by one and inserts a copy of event `$at` by another actor at
/// `$at`.
macro_rules! insert_at {
    ($at:literal) => {
        concat!(
            "UPDATE events SET seq = -seq WHERE seq >= ",
            $at,
            ";",
            "UPDATE events SET seq = -seq + 1 WHERE seq < 0;",
            "INSERT INTO events SELECT ",
            $at,
            ", ts, time_source, clock_sync, actor_kind, ",
            "'CN=mallory', source, interface, category, action, target, 'success', severity, ",
            "details, hash FROM events WHERE seq = ",
            $at,
            " + 1;"
        )
    };
}

#[test]
fn reordered_and_inserted_events_are_located() {
    check(&[
        Case {
            name: "two neighbours swapped",
            tamper: swap!(50, 51),
            kind: FindingKind::Reordered,
            first: 50,
            last: 51,
        },
        Case {
            name: "two distant events swapped",
            tamper: swap!(50, 60),
            kind: FindingKind::Reordered,
            first: 50,
            last: 60,
        },
        Case {
            name: "an event moved later",
            tamper: "UPDATE events SET seq = -1 WHERE seq = 50;
                     UPDATE events SET seq = -seq WHERE seq BETWEEN 51 AND 55;
                     UPDATE events SET seq = -seq - 1 WHERE seq < -1;
                     UPDATE events SET seq = 55 WHERE seq = -1;",
            kind: FindingKind::Reordered,
            first: 50,
            last: 55,
        },
        Case {
            name: "a fabricated event with a copied hash",
            tamper: insert_at!(50),
            kind: FindingKind::Inserted,
            first: 50,
            last: 50,
        },
    ]);
}

/// A fabricated event whose hash chains correctly from its predecessor (the format is public)
/// passes its own link; the original event after it no longer does, and is recognised. (Seq 52
/// because no checkpoint signs it: at a checkpointed seq the checkpoint mismatch shows first.)
#[test]
fn a_fabricated_event_with_a_correct_hash_is_located() {
    let fixture = Fixture::with_events(100);
    fixture.tamper(insert_at!(52));
    let conn = fixture.sqlite();
    let hash = chain_hash(&fixture.stored_hash(51), &canonical_row(&conn, 52));
    conn.execute(
        "UPDATE events SET hash = ?1 WHERE seq = 52",
        [hash.as_slice()],
    )
    .unwrap();
    expect_finding(
        &fixture.verify(),
        FindingKind::Inserted,
        52,
        52,
        "chained insertion",
    );
}

#[test]
fn a_fabricated_event_at_a_checkpointed_seq_breaks_the_checkpoint() {
    let fixture = Fixture::with_events(100);
    fixture.tamper(insert_at!(50));
    let conn = fixture.sqlite();
    let hash = chain_hash(&fixture.stored_hash(49), &canonical_row(&conn, 50));
    conn.execute(
        "UPDATE events SET hash = ?1 WHERE seq = 50",
        [hash.as_slice()],
    )
    .unwrap();
    expect_finding(
        &fixture.verify(),
        FindingKind::CheckpointMismatch,
        26,
        50,
        "at checkpoint",
    );
}
