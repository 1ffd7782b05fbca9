//! CR 6.1 (audit log accessibility): filtered, ordered, read-only access.

use rampart_audit::{
    Actor, ActorKind, AuditEvent, AuditReader, Category, NewEvent, Outcome, Query, Severity,
    StoreError, Timestamp,
};
use serde_json::json;

use crate::util::{Fixture, START};

const EVENTS: u64 = 60;

/// Event `i` (stored as seq `i + 1`, at START + (i + 1) s).
fn event(i: u64) -> NewEvent {
    let i = i as usize;
    NewEvent::builder(
        Category::ALL[i % 7],
        if i.is_multiple_of(4) {
            "pki.revoked"
        } else {
            "action"
        },
        Actor::user(format!("u{}", i % 3)).unwrap(),
    )
    .outcome(Outcome::ALL[i % 3])
    .severity(Severity::ALL[i % 8])
    .details(json!({ "i": i }))
    .build()
    .unwrap()
}

fn store_of(n: u64) -> Fixture {
    let fixture = Fixture::new();
    let store = fixture.open(Fixture::config());
    for i in 0..n {
        fixture.clock.advance(std::time::Duration::from_secs(1));
        store.append(event(i)).unwrap();
    }
    store.close().unwrap();
    fixture
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(START + seconds * 1_000_000).unwrap()
}

type Predicate = Box<dyn Fn(&AuditEvent) -> bool>;

fn seqs(events: &[AuditEvent]) -> Vec<u64> {
    events.iter().map(AuditEvent::seq).collect()
}

#[test]
fn filters_match_a_brute_force_scan() {
    let fixture = store_of(EVENTS);
    let reader = AuditReader::open(fixture.path()).unwrap();
    let all = reader.query(&Query::new()).unwrap();
    assert_eq!(seqs(&all), (1..=EVENTS).collect::<Vec<_>>());

    let cases: Vec<(&str, Query, Predicate)> = vec![
        (
            "time range",
            Query::new().since(at(10)).until(at(20)),
            Box::new(|e| e.timestamp() >= at(10) && e.timestamp() < at(20)),
        ),
        (
            "one category",
            Query::new().category(Category::ConfigurationChange),
            Box::new(|e| e.category() == Category::ConfigurationChange),
        ),
        (
            "two categories",
            Query::new()
                .category(Category::AccessControl)
                .category(Category::Reconnaissance),
            Box::new(|e| {
                matches!(
                    e.category(),
                    Category::AccessControl | Category::Reconnaissance
                )
            }),
        ),
        (
            "actor",
            Query::new().actor("u1"),
            Box::new(|e| e.actor().name() == "u1"),
        ),
        (
            "actor kind",
            Query::new().actor_kind(ActorKind::Process),
            Box::new(|e| e.actor().kind() == ActorKind::Process),
        ),
        (
            "action",
            Query::new().action("pki.revoked"),
            Box::new(|e| e.action() == "pki.revoked"),
        ),
        (
            "action and category",
            Query::new()
                .category(Category::AccessControl)
                .action("pki.revoked"),
            Box::new(|e| e.action() == "pki.revoked" && e.category() == Category::AccessControl),
        ),
        (
            "outcome",
            Query::new().outcome(Outcome::Denied),
            Box::new(|e| e.outcome() == Outcome::Denied),
        ),
        (
            "severity at least error",
            Query::new().min_severity(Severity::Error),
            Box::new(|e| e.severity().is_at_least(Severity::Error)),
        ),
        (
            "seq range",
            Query::new().seq_range(5..=9),
            Box::new(|e| (5..=9).contains(&e.seq())),
        ),
        (
            "after seq",
            Query::new().after_seq(55),
            Box::new(|e| e.seq() > 55),
        ),
        (
            "combined",
            Query::new()
                .outcome(Outcome::Failure)
                .min_severity(Severity::Warning)
                .since(at(30)),
            Box::new(|e| {
                e.outcome() == Outcome::Failure
                    && e.severity().is_at_least(Severity::Warning)
                    && e.timestamp() >= at(30)
            }),
        ),
    ];
    for (name, query, predicate) in cases {
        let expected: Vec<u64> = all
            .iter()
            .filter(|e| predicate(e))
            .map(AuditEvent::seq)
            .collect();
        assert_eq!(seqs(&reader.query(&query).unwrap()), expected, "{name}");
        let limited = reader.query(&query.clone().limit(2)).unwrap();
        assert_eq!(
            seqs(&limited),
            expected.iter().take(2).copied().collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[test]
fn tail_event_and_extent() {
    let fixture = store_of(EVENTS);
    let reader = AuditReader::open(fixture.path()).unwrap();
    assert_eq!(seqs(&reader.tail(5).unwrap()), [56, 57, 58, 59, 60]);
    assert_eq!(reader.tail(1000).unwrap().len(), EVENTS as usize);
    let seventh = reader.event(7).unwrap().unwrap();
    assert_eq!(
        (seventh.details()["i"].as_u64(), seventh.timestamp()),
        (Some(6), at(7))
    );
    assert!(reader.event(61).unwrap().is_none());
    let extent = reader.extent().unwrap();
    assert_eq!(
        (extent.first_seq, extent.last_seq, extent.events),
        (Some(1), Some(60), 60)
    );
    let checkpoint = reader.latest_checkpoint().unwrap().unwrap();
    assert_eq!(
        (checkpoint.seq(), checkpoint.hash()),
        (60, reader.event(60).unwrap().unwrap().hash())
    );
    assert!(checkpoint.is_signed_by_any(&[fixture.key.public_key()]));
    assert_eq!(
        reader.recorded_public_key().unwrap().unwrap(),
        fixture.key.public_key().to_hex()
    );
}

#[test]
fn iteration_pages_through_large_results_in_order() {
    let fixture = store_of(1200);
    let reader = AuditReader::open(fixture.path()).unwrap();
    let seqs: Vec<u64> = reader
        .iter(&Query::new())
        .map(|e| e.unwrap().seq())
        .collect();
    assert_eq!(seqs, (1..=1200).collect::<Vec<_>>());
    let users: Vec<u64> = reader
        .iter(&Query::new().actor("u2").limit(600))
        .map(|e| e.unwrap().seq())
        .collect();
    assert_eq!(
        users,
        (1..=1200).filter(|s| (s - 1) % 3 == 2).collect::<Vec<_>>()
    );
}

#[test]
fn a_value_this_crate_never_writes_is_reported_not_guessed() {
    let fixture = store_of(3);
    fixture.tamper("UPDATE events SET category = 'bogus' WHERE seq = 2");
    let reader = AuditReader::open(fixture.path()).unwrap();
    let err = reader.query(&Query::new()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { seq: 2, column: "category", value, .. } if value == "bogus"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("event 2: column 'category' holds invalid value bogus")
    );
}
