use std::time::Duration;

use super::*;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

#[test]
fn a_source_gets_at_most_its_cap() {
    let budget = PreAuthBudget::new(10, 2);
    let _a = budget.admit(ip(1)).unwrap();
    let _b = budget.admit(ip(1)).unwrap();
    assert_eq!(
        budget.admit(ip(1)).unwrap_err(),
        PreAuthRefusal::PerSource { limit: 2 }
    );
    assert!(
        budget.admit(ip(2)).is_ok(),
        "another source has its own cap"
    );
}

#[test]
fn a_slot_is_given_back_on_drop() {
    let budget = PreAuthBudget::new(1, 1);
    let slot = budget.admit(ip(1)).unwrap();
    assert_eq!(budget.len(), 1);
    assert!(budget.admit(ip(1)).is_err());
    drop(slot);
    assert!(budget.is_empty());
    assert!(budget.admit(ip(1)).is_ok());
}

#[tokio::test]
async fn a_releaser_gives_the_slot_back_at_once_and_only_once() {
    let budget = PreAuthBudget::new(2, 2);
    let mut slot = budget.admit(ip(1)).unwrap();
    let other = budget.admit(ip(1)).unwrap();
    let releaser = slot.releaser();
    releaser.release();
    assert_eq!(budget.len(), 1, "free before the slot is dropped");
    // The holder learns that its place is gone (it tells release from eviction itself).
    tokio::time::timeout(Duration::from_secs(1), slot.evicted())
        .await
        .expect("resolves after a release");
    let again = budget.admit(ip(1)).unwrap();
    releaser.release();
    drop(slot);
    assert_eq!(
        budget.len(),
        2,
        "a second release or the drop frees nothing more"
    );
    drop((other, again));
    assert!(budget.is_empty());
}

#[tokio::test]
async fn a_newcomer_evicts_the_oldest_of_the_greediest_source_when_full() {
    let budget = PreAuthBudget::new(4, 4);
    let mut flood: Vec<PreAuthSlot> = (0..4).map(|_| budget.admit(ip(1)).unwrap()).collect();
    let _newcomer = budget.admit(ip(9)).unwrap();
    assert_eq!(
        budget.len(),
        4,
        "the newcomer took a slot, it did not add one"
    );
    // The oldest connection of the flooding source is told to close, the others are not.
    tokio::time::timeout(Duration::from_secs(1), flood[0].evicted())
        .await
        .expect("the oldest is evicted");
    for slot in &mut flood[1..] {
        assert!(
            tokio::time::timeout(Duration::from_millis(20), slot.evicted())
                .await
                .is_err()
        );
    }
    // The evicted slot's drop gives nothing back twice.
    drop(flood.remove(0));
    assert_eq!(budget.len(), 4);
}

#[test]
fn a_full_and_fair_budget_refuses() {
    let budget = PreAuthBudget::new(4, 4);
    let _slots: Vec<PreAuthSlot> = (1..=4).map(|i| budget.admit(ip(i)).unwrap()).collect();
    // Every source holds one: nobody holds more than a newcomer would.
    assert_eq!(
        budget.admit(ip(9)).unwrap_err(),
        PreAuthRefusal::Full { limit: 4 }
    );
    // A source refilling its own share cannot evict another source's connection either.
    assert!(budget.admit(ip(1)).is_err());
}

#[test]
fn ten_flooding_sources_never_lock_out_an_eleventh() {
    // The attack of issue 14 in miniature: 10 sources at their cap, refilling, fill the
    // budget; each new source still gets in, and the flood settles at a fair share.
    let budget = PreAuthBudget::new(64, 8);
    let mut held = Vec::new();
    for _ in 0..30 {
        for source in 1..=10 {
            if let Ok(slot) = budget.admit(ip(source)) {
                held.push(slot);
            }
        }
    }
    assert_eq!(budget.len(), 64);
    for newcomer in 100..105 {
        assert!(
            budget.admit(ip(newcomer)).is_ok(),
            "source {newcomer} is locked out"
        );
    }
}

#[test]
fn mapped_ipv6_addresses_count_as_their_ipv4_source() {
    let budget = PreAuthBudget::new(10, 1);
    let _a = budget.admit(ip(1)).unwrap();
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    assert!(budget.admit(mapped).is_err());
}

#[test]
fn refusals_are_recorded_once_per_key_then_counted() {
    let log = RefusalLog::new();
    assert!(log.note(ip(1), "refused: full", || "first"));
    for _ in 0..9 {
        assert!(!log.note(ip(1), "refused: full", || "never"));
    }
    assert!(log.note(ip(2), "refused: full", || "other source"));
    assert!(log.note(ip(1), "handshake timeout", || "other kind"));
    let mut summaries = log.drain();
    summaries.sort_by_key(|s| s.count);
    assert_eq!(
        summaries,
        vec![RefusalSummary {
            source: Some(ip(1)),
            template: "first",
            count: 9,
        }]
    );
    // Sustained: counted, one summary per interval; the counts add up.
    assert!(!log.note(ip(1), "refused: full", || "never"));
    assert_eq!(log.drain()[0].count, 1);
    // A key quiet for a whole interval is forgotten and recorded at once again.
    assert!(log.drain().is_empty());
    assert!(log.drain().is_empty());
    assert!(log.note(ip(1), "refused: full", || "again"));
}

#[test]
fn digits_in_reasons_do_not_make_new_keys() {
    let log = RefusalLog::new();
    assert!(log.note(ip(1), "expired at 1700000000", || ()));
    assert!(!log.note(ip(1), "expired at 1700000042", || ()));
}

#[test]
fn the_refusal_log_stays_bounded() {
    let log = RefusalLog::new();
    let mut recorded = 0;
    for i in 0..u32::try_from(MAX_TRACKED_REFUSALS).unwrap() + 500 {
        if log.note(IpAddr::from(i.to_be_bytes()), "refused", || ()) {
            recorded += 1;
        }
    }
    assert!(log.len() <= MAX_TRACKED_REFUSALS + 1, "{}", log.len());
    // One at once per tracked source plus one for all the others together.
    assert_eq!(recorded, MAX_TRACKED_REFUSALS + 1);
    let others = log.drain();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].source, None);
    assert_eq!(others[0].count, 499);
}

#[test]
fn a_bucket_is_full_again_after_its_owner_was_idle() {
    let start = std::time::Instant::now();
    let mut bucket = TokenBucket::new();
    assert!(bucket.is_full(start, 2.0, 4.0), "new buckets are full");
    bucket.take(start, 2.0, 4.0).unwrap();
    assert!(!bucket.is_full(start, 2.0, 4.0));
    assert!(!bucket.is_full(start + Duration::from_millis(400), 2.0, 4.0));
    assert!(bucket.is_full(start + Duration::from_millis(500), 2.0, 4.0));
}

#[test]
fn connections_per_address_are_counted_and_released() {
    let clients = PerSourceLimit::new();
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let a = clients.admit(ip, 2).unwrap();
    let _b = clients.admit(ip, 2).unwrap();
    assert!(clients.admit(ip, 2).is_none());
    assert!(clients.admit("192.0.2.2".parse().unwrap(), 2).is_some());
    drop(a);
    assert!(clients.admit(ip, 2).is_some());
}

#[test]
fn a_connection_is_admitted_per_source_then_before_authentication() {
    let per_source = PerSourceLimit::new();
    let budget = PreAuthBudget::new(8, 1);
    let first = admit_connection(&per_source, 2, &budget, ip(1)).unwrap();
    // The source's one unauthenticated slot is taken: refused, and its per-source place is
    // given back, so that only open connections count.
    let refusal = admit_connection(&per_source, 2, &budget, ip(1)).unwrap_err();
    assert_eq!(
        refusal,
        ConnectionRefusal::PreAuth(PreAuthRefusal::PerSource { limit: 1 })
    );
    drop(first.preauth);
    let _second = admit_connection(&per_source, 2, &budget, ip(1)).unwrap();
    let refusal = admit_connection(&per_source, 2, &budget, ip(1)).unwrap_err();
    assert_eq!(refusal, ConnectionRefusal::PerSource { limit: 2 });
    assert_eq!(
        refusal.to_string(),
        "the limit of 2 connections per source address is reached (CR 7.1)"
    );
}
