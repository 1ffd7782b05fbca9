//! CR 2.9 (audit storage capacity) and CR 2.10 (response to audit processing failures): a
//! warning at the threshold, and on full either signed pruning or refusal, never silent loss.

use std::sync::{Arc, Mutex};

use rampart_audit::testing::sample_event;
use rampart_audit::{
    Capacity, CapacityAlarm, FindingKind, OnFull, Query, Severity, StoreConfig, StoreError,
};

use crate::util::{Fixture, expect_finding};

fn recording(alarms: &Arc<Mutex<Vec<CapacityAlarm>>>) -> rampart_audit::AlarmHook {
    let alarms = Arc::clone(alarms);
    Arc::new(move |alarm: &CapacityAlarm| alarms.lock().unwrap().push(alarm.clone()))
}

fn config(capacity: Capacity, alarms: &Arc<Mutex<Vec<CapacityAlarm>>>) -> StoreConfig {
    Fixture::config()
        .capacity(capacity)
        .on_alarm(recording(alarms))
}

/// A store of at most 100 events that pruned itself while 250 were appended.
fn overwritten() -> (Fixture, Vec<CapacityAlarm>) {
    let fixture = Fixture::new();
    let alarms = Arc::new(Mutex::new(Vec::new()));
    let capacity = Capacity::new(100).unwrap().prune_batch(10).unwrap();
    let store = fixture.open(config(capacity, &alarms));
    for i in 0..250 {
        store.append(sample_event(i)).unwrap();
        assert!(store.status().stored <= 100, "never above the maximum");
    }
    store.close().unwrap();
    let alarms = alarms.lock().unwrap().clone();
    (fixture, alarms)
}

#[test]
fn overwrite_oldest_prunes_under_a_signed_record_and_verification_holds() {
    let (fixture, alarms) = overwritten();
    assert_eq!(
        alarms[0],
        CapacityAlarm::Threshold {
            stored: 80,
            max: 100,
            percent: 80
        }
    );
    let prunes: Vec<(u64, u64)> = alarms
        .iter()
        .filter_map(|a| match a {
            CapacityAlarm::Pruned {
                first_seq,
                last_seq,
            } => Some((*first_seq, *last_seq)),
            _ => None,
        })
        .collect();
    assert!(prunes.len() >= 15, "{prunes:?}");
    assert_eq!(prunes[0].0, 1);
    assert!(
        prunes.windows(2).all(|w| w[1].0 == w[0].1 + 1),
        "contiguous: {prunes:?}"
    );
    assert!(
        !alarms
            .iter()
            .any(|a| matches!(a, CapacityAlarm::Full { .. }))
    );

    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    let pruned_through = prunes.last().unwrap().1;
    assert_eq!(report.pruned_through(), Some(pruned_through));
    assert_eq!(report.first_seq(), Some(pruned_through + 1));
    assert!(
        report
            .statement()
            .contains("were pruned under the capacity policy"),
        "{report}"
    );

    // Every prune left an audit-log event saying what was removed.
    let reader = rampart_audit::AuditReader::open(fixture.path()).unwrap();
    let recorded: Vec<_> = reader
        .query(&Query::new().category(rampart_audit::Category::AuditLog))
        .unwrap()
        .into_iter()
        .filter(|e| e.action() == "audit.pruned")
        .collect();
    let last = recorded.last().unwrap();
    assert_eq!(last.severity(), Severity::Warning);
    assert_eq!(last.details()["last_seq"], pruned_through);
    assert_eq!(last.details()["reason"], "capacity");
}

#[test]
fn pruning_records_cannot_be_removed_or_forged() {
    let (fixture, _) = overwritten();
    let prunes: Vec<(u64, u64)> = fixture
        .sqlite()
        .prepare("SELECT first_seq, last_seq FROM prunes ORDER BY last_seq")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (first, last) = *prunes.last().unwrap();

    let cases: [(&str, String, FindingKind, u64, u64); 4] = [
        (
            "latest prune record deleted",
            format!("DELETE FROM prunes WHERE last_seq = {last}"),
            FindingKind::Missing,
            first,
            last,
        ),
        (
            "all prune records deleted",
            "DELETE FROM prunes".into(),
            FindingKind::Missing,
            1,
            last,
        ),
        (
            "prune record signature zeroed",
            format!("UPDATE prunes SET signature = zeroblob(64) WHERE last_seq = {last}"),
            FindingKind::ForgedPruneRecord,
            first,
            last,
        ),
        (
            "oldest remaining event deleted",
            format!("DELETE FROM events WHERE seq = {}", last + 1),
            FindingKind::Missing,
            last + 1,
            last + 1,
        ),
    ];
    for (name, sql, kind, from, to) in cases {
        let (fixture, _) = overwritten();
        fixture.tamper(&sql);
        expect_finding(&fixture.verify(), kind, from, to, name);
    }
    drop(fixture);
}

#[test]
fn stop_refuses_routine_events_loudly_and_keeps_a_reserve_for_essential_ones() {
    let fixture = Fixture::new();
    let alarms = Arc::new(Mutex::new(Vec::new()));
    let capacity = Capacity::new(50)
        .unwrap()
        .on_full(OnFull::Stop)
        .essential_reserve(5);
    let store = fixture.open(config(capacity, &alarms));
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..80 {
        match store.append(sample_event(i)) {
            Ok(_) => accepted += 1,
            Err(StoreError::Full { stored, max }) => {
                assert_eq!((stored, max), (51, 50));
                refused += 1;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    // 40 events, the threshold warning, 9 more events, the full alarm: 51 stored.
    assert_eq!(
        (accepted, refused),
        (49, 31),
        "every append answered, none lost silently"
    );
    assert!(store.status().refusing);
    assert_eq!(
        alarms.lock().unwrap().as_slice(),
        &[
            CapacityAlarm::Threshold {
                stored: 40,
                max: 50,
                percent: 80
            },
            CapacityAlarm::Full {
                stored: 50,
                max: 50
            },
        ]
    );

    let essential = |i| {
        rampart_audit::NewEvent::builder(
            rampart_audit::Category::AccessControl,
            "intrusion.alert",
            rampart_audit::Actor::process("conduit").unwrap(),
        )
        .severity(Severity::Alert)
        .details(serde_json::json!({ "n": i }))
        .essential()
        .build()
        .unwrap()
    };
    for i in 0..4 {
        store.append(essential(i)).unwrap();
    }
    let err = store.append(essential(4)).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::ReserveExhausted {
                stored: 55,
                max: 50,
                reserve: 5
            }
        ),
        "{err}"
    );
    store.close().unwrap();

    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
    let reader = rampart_audit::AuditReader::open(fixture.path()).unwrap();
    let alarms = reader
        .query(&Query::new().min_severity(Severity::Alert))
        .unwrap();
    assert_eq!(alarms[0].action(), "audit.capacity.full");
    assert_eq!(alarms[0].seq(), 51);
    assert_eq!(alarms.len(), 5);

    // A full store still opens (the component must start), raises the alarm again, and keeps
    // refusing.
    let again = Arc::new(Mutex::new(Vec::new()));
    let capacity = Capacity::new(50)
        .unwrap()
        .on_full(OnFull::Stop)
        .essential_reserve(5);
    let store = fixture.open(config(capacity, &again).lifecycle_events(true));
    assert!(matches!(
        store.append(sample_event(0)),
        Err(StoreError::Full { .. })
    ));
    assert_eq!(
        again.lock().unwrap().as_slice(),
        &[CapacityAlarm::Full {
            stored: 55,
            max: 50
        }]
    );
    store.close().unwrap();
    assert!(fixture.verify().is_intact());
}
