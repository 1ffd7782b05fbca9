//! Threat: an attacker deletes events to hide what happened (CR 3.9, CR 2.8).

use rampart_audit::FindingKind;

use crate::util::{Case, check};

/// Moves every event after `seq` down by `by`, as an attacker hiding a gap would.
macro_rules! renumber_after {
    ($seq:literal, $by:literal) => {
        concat!(
            "UPDATE events SET seq = -seq WHERE seq > ",
            $seq,
            "; UPDATE events SET seq = -seq - ",
            $by,
            " WHERE seq < 0;"
        )
    };
}

#[test]
fn a_deleted_event_is_located() {
    check(&[
        Case {
            name: "one event",
            tamper: "DELETE FROM events WHERE seq = 50",
            kind: FindingKind::Missing,
            first: 50,
            last: 50,
        },
        Case {
            name: "a run of events",
            tamper: "DELETE FROM events WHERE seq BETWEEN 40 AND 44",
            kind: FindingKind::Missing,
            first: 40,
            last: 44,
        },
        Case {
            name: "the first event",
            tamper: "DELETE FROM events WHERE seq = 1",
            kind: FindingKind::Missing,
            first: 1,
            last: 1,
        },
        Case {
            name: "an event a checkpoint signs",
            tamper: "DELETE FROM events WHERE seq = 75",
            kind: FindingKind::Missing,
            first: 75,
            last: 75,
        },
        Case {
            name: "one event, later events renumbered to close the gap",
            tamper: concat!("DELETE FROM events WHERE seq = 50;", renumber_after!(50, 1)),
            kind: FindingKind::Missing,
            first: 50,
            last: 50,
        },
        Case {
            name: "two events, later events renumbered to close the gap",
            tamper: concat!(
                "DELETE FROM events WHERE seq IN (50, 51);",
                renumber_after!(51, 2)
            ),
            kind: FindingKind::Missing,
            first: 50,
            last: 51,
        },
    ]);
}
