use super::*;

fn report(last: Option<u64>, signed: Option<u64>, findings: Vec<Finding>) -> VerifyReport {
    VerifyReport {
        path: PathBuf::from("audit.sqlite3"),
        pruned_through: None,
        first_seq: last.map(|_| 1),
        last_seq: last,
        events_checked: last.unwrap_or(0),
        checkpoints_verified: 0,
        signed_through: signed,
        findings,
    }
}

#[test]
fn an_unsigned_tail_is_stated_exactly() {
    let r = report(Some(110), Some(100), vec![]);
    assert!(r.is_intact());
    assert_eq!(r.unsigned_events(), 10);
    assert_eq!(
        r.statement(),
        "intact and signed up to seq 100; 10 event(s) after it (101..=110) are chained but \
         unsigned; deletion of trailing events after seq 100 cannot be detected."
    );
}

#[test]
fn a_fully_signed_store_still_states_the_rollback_limit() {
    let r = report(Some(100), Some(100), vec![]);
    assert_eq!(r.unsigned_events(), 0);
    assert!(
        r.statement()
            .starts_with("intact and signed up to seq 100 (events 1..=100).")
    );
    assert!(
        r.statement()
            .contains("cannot be detected from this file alone")
    );
}

#[test]
fn no_checkpoint_and_no_events_are_stated() {
    let unsigned = report(Some(5), None, vec![]);
    assert_eq!(unsigned.unsigned_events(), 5);
    assert!(
        unsigned
            .statement()
            .starts_with("intact but unsigned: 5 event(s) (1..=5)")
    );
    assert_eq!(
        report(None, None, vec![]).statement(),
        "intact: the store holds no events."
    );
}

#[test]
fn tampering_names_the_first_bad_seq_and_what_is_still_proven() {
    let r = report(Some(100), Some(50), vec![missing(60, 61)]);
    assert!(!r.is_intact());
    assert_eq!(r.first_bad_seq(), Some(60));
    assert_eq!(r.unsigned_events(), 0);
    assert_eq!(
        r.statement(),
        "TAMPERED: first bad seq 60: missing at seq 60..=61: the sequence jumps from 59 to 62: 2 \
         event(s) deleted. Proven: the chain is intact before seq 60, signed up to seq 50; nothing \
         from seq 60 on is proven."
    );
}

#[test]
fn finding_kinds_have_stable_names() {
    let names: Vec<&str> = [
        FindingKind::Modified,
        FindingKind::Missing,
        FindingKind::Inserted,
        FindingKind::Reordered,
        FindingKind::ForgedCheckpoint,
        FindingKind::CheckpointMismatch,
        FindingKind::Truncated,
        FindingKind::ForgedPruneRecord,
    ]
    .iter()
    .map(|k| k.as_str())
    .collect();
    assert_eq!(
        names,
        [
            "modified",
            "missing",
            "inserted",
            "reordered",
            "forged_checkpoint",
            "checkpoint_mismatch",
            "truncated",
            "forged_prune_record"
        ]
    );
}
