//! Threat: an attacker forges, alters or moves a signed checkpoint (CR 3.9).

use rampart_audit::testing::insecure_signing_key;
use rampart_audit::{FindingKind, verify, verify_with_keys};

use crate::util::{Case, Fixture, START, check, checkpoint_message, expect_finding};

#[test]
fn an_altered_checkpoint_is_located() {
    check(&[
        Case {
            name: "signature zeroed",
            tamper: "UPDATE checkpoints SET signature = zeroblob(64) WHERE seq = 50",
            kind: FindingKind::ForgedCheckpoint,
            first: 50,
            last: 50,
        },
        Case {
            name: "signature truncated",
            tamper: "UPDATE checkpoints SET signature = X'00' WHERE seq = 50",
            kind: FindingKind::ForgedCheckpoint,
            first: 50,
            last: 50,
        },
        Case {
            name: "hash replaced by another event's",
            tamper: "UPDATE checkpoints SET hash = (SELECT hash FROM events WHERE seq = 49)
                     WHERE seq = 50",
            kind: FindingKind::ForgedCheckpoint,
            first: 50,
            last: 50,
        },
        Case {
            name: "checkpoint moved to another seq",
            tamper: "UPDATE checkpoints SET seq = 51 WHERE seq = 50",
            kind: FindingKind::ForgedCheckpoint,
            first: 51,
            last: 51,
        },
        Case {
            name: "time changed",
            tamper: "UPDATE checkpoints SET ts = ts + 1 WHERE seq = 100",
            kind: FindingKind::ForgedCheckpoint,
            first: 100,
            last: 100,
        },
    ]);
}

#[test]
fn a_checkpoint_signed_by_another_key_is_forged() {
    let fixture = Fixture::with_events(100);
    let hash = fixture.stored_hash(60);
    let signature = insecure_signing_key(2).sign(&checkpoint_message(60, &hash, START));
    fixture
        .sqlite()
        .execute(
            "INSERT INTO checkpoints (seq, hash, ts, signature) VALUES (60, ?1, ?2, ?3)",
            rusqlite::params![hash.as_slice(), START, signature.as_slice()],
        )
        .unwrap();
    expect_finding(
        &fixture.verify(),
        FindingKind::ForgedCheckpoint,
        60,
        60,
        "other key",
    );
}

/// A validly signed checkpoint that does not match the chain (e.g. copied from another store
/// with the same key) is reported with the range of events it would vouch for.
#[test]
fn a_validly_signed_checkpoint_that_does_not_match_the_chain_is_located() {
    let fixture = Fixture::with_events(100);
    let wrong = fixture.stored_hash(59);
    let signature = fixture.signed_checkpoint(60, &wrong, START);
    fixture
        .sqlite()
        .execute(
            "INSERT INTO checkpoints (seq, hash, ts, signature) VALUES (60, ?1, ?2, ?3)",
            rusqlite::params![wrong.as_slice(), START, signature.as_slice()],
        )
        .unwrap();
    let report = fixture.verify();
    expect_finding(
        &report,
        FindingKind::CheckpointMismatch,
        51,
        60,
        "wrong hash, right key",
    );
    assert_eq!(report.signed_through(), Some(50));
}

#[test]
fn verifying_with_the_wrong_key_fails_at_the_first_checkpoint() {
    let fixture = Fixture::with_events(100);
    let wrong = insecure_signing_key(9).public_key();
    let report = verify(fixture.path(), &wrong).unwrap();
    expect_finding(&report, FindingKind::ForgedCheckpoint, 25, 25, "wrong key");
    assert_eq!(report.signed_through(), None);
}

#[test]
fn any_of_several_trusted_keys_is_accepted() {
    let fixture = Fixture::with_events(30);
    let keys = [
        insecure_signing_key(9).public_key(),
        fixture.key.public_key(),
    ];
    let report = verify_with_keys(fixture.path(), &keys).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.checkpoints_verified(), 2);
}
