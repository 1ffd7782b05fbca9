use super::*;

#[test]
fn a_bucket_allows_the_burst_then_the_rate() {
    let start = Instant::now();
    let mut bucket = TokenBucket::new();
    for _ in 0..5 {
        bucket.take(start, 10, 5).unwrap();
    }
    let wait = bucket.take(start, 10, 5).unwrap_err();
    assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
    bucket
        .take(start + Duration::from_millis(100), 10, 5)
        .unwrap();
    assert!(
        bucket
            .take(start + Duration::from_millis(100), 10, 5)
            .is_err()
    );
    // A long pause refills to the burst, not beyond.
    let later = start + Duration::from_mins(1);
    for _ in 0..5 {
        bucket.take(later, 10, 5).unwrap();
    }
    assert!(bucket.take(later, 10, 5).is_err());
}

#[test]
fn connections_of_one_client_share_its_bucket_and_id() {
    let clients = Clients::default();
    let limits = Limits {
        max_pdu_bytes: 253,
        requests_per_second: 1,
        burst: 2,
        on_deny: rampart_conduit::DenyAction::Exception,
    };
    let one = clients.join("cert:aa".into());
    let two = clients.join("cert:aa".into());
    let other = clients.join("cert:bb".into());
    assert_eq!(one.id, two.id);
    assert_ne!(one.id, other.id);
    one.take_token(&limits).unwrap();
    two.take_token(&limits).unwrap();
    assert!(one.take_token(&limits).is_err(), "the burst is shared");
    other.take_token(&limits).unwrap();
    drop(one);
    drop(two);
    let again = clients.join("cert:aa".into());
    again.take_token(&limits).unwrap();
    assert_ne!(again.id, other.id);
}
