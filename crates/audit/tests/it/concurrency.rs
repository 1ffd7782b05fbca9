//! Many writers, one chain: every acknowledged event is stored exactly once, where its receipt
//! says, and the chain verifies.

use std::collections::{HashMap, VecDeque};

use rampart_audit::{Actor, Category, NewEvent, Pending, Query, Receipt};
use serde_json::json;

use crate::util::Fixture;

const WRITERS: u64 = 4;
const PER_WRITER: u64 = 1500;

fn event(writer: u64, n: u64) -> NewEvent {
    NewEvent::builder(
        Category::ControlSystem,
        "modbus.read",
        Actor::certificate(format!("CN=writer-{writer}")).unwrap(),
    )
    .details(json!({ "writer": writer, "n": n }))
    .build()
    .unwrap()
}

#[test]
fn four_writers_every_acknowledged_event_present_exactly_once() {
    let fixture = Fixture::new();
    let store = fixture.open(Fixture::config().checkpoint_every(500).unwrap());
    let receipts: Vec<(u64, u64, Receipt)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = &store;
                scope.spawn(move || {
                    let mut acked = Vec::new();
                    if writer % 2 == 0 {
                        // Pipelined: up to 32 appends in flight.
                        let mut in_flight: VecDeque<(u64, Pending)> = VecDeque::new();
                        for n in 0..PER_WRITER {
                            if in_flight.len() == 32 {
                                let (m, pending) = in_flight.pop_front().unwrap();
                                acked.push((writer, m, pending.wait().unwrap()));
                            }
                            in_flight.push_back((n, store.submit(event(writer, n))));
                        }
                        for (m, pending) in in_flight {
                            acked.push((writer, m, pending.wait().unwrap()));
                        }
                    } else {
                        for n in 0..PER_WRITER {
                            acked.push((writer, n, store.append(event(writer, n)).unwrap()));
                        }
                    }
                    acked
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    store.close().unwrap();

    assert_eq!(receipts.len() as u64, WRITERS * PER_WRITER);
    let stored = fixture.verify();
    assert!(stored.is_intact(), "{stored}");
    assert_eq!(stored.events_checked(), WRITERS * PER_WRITER);

    let events = rampart_audit::AuditReader::open(fixture.path())
        .unwrap()
        .query(&Query::new())
        .unwrap();
    let mut by_seq = HashMap::new();
    for e in &events {
        let key = (
            e.details()["writer"].as_u64().unwrap(),
            e.details()["n"].as_u64().unwrap(),
        );
        assert!(by_seq.insert(e.seq(), (key, e.hash())).is_none());
    }
    let mut seen = std::collections::HashSet::new();
    for (writer, n, receipt) in &receipts {
        assert!(
            seen.insert(receipt.seq()),
            "seq {} acknowledged twice",
            receipt.seq()
        );
        assert_eq!(by_seq[&receipt.seq()], ((*writer, *n), receipt.hash()));
    }
    assert_eq!(
        by_seq.len(),
        receipts.len(),
        "nothing stored that was not acknowledged"
    );

    // Each writer's events are in its submission order.
    for writer in 0..WRITERS {
        let mut seqs: Vec<(u64, u64)> = receipts
            .iter()
            .filter(|r| r.0 == writer)
            .map(|r| (r.1, r.2.seq()))
            .collect();
        seqs.sort_unstable();
        assert!(
            seqs.windows(2).all(|w| w[0].1 < w[1].1),
            "writer {writer} out of order"
        );
    }
}

/// A CLI command appends while the gateway's store is open: two writers on one trail (two
/// connections, as two processes have) must continue each other's chain, not fork it.
#[test]
fn two_stores_on_one_trail_keep_one_chain() {
    let fixture = Fixture::new();
    let gateway = fixture.open(Fixture::config());
    let cli = fixture.open(Fixture::config());
    let mut seqs = Vec::new();
    for n in 0..50 {
        let store = if n % 3 == 0 { &cli } else { &gateway };
        seqs.push(store.append(event(n % 3, n)).unwrap().seq());
    }
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        seqs.len(),
        "every append got its own sequence number"
    );
    cli.close().unwrap();
    gateway.close().unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report}");
}
