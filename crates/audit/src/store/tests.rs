use std::task::Waker;

use super::*;

#[test]
fn capacity_settings_are_validated_with_the_values() {
    assert_eq!(
        Capacity::new(0).unwrap_err().to_string(),
        "invalid audit store configuration: capacity max_events must be at least 1"
    );
    let capacity = Capacity::new(1000).unwrap();
    assert_eq!(
        (
            capacity.reserve,
            capacity.prune_batch,
            capacity.warn_percent
        ),
        (16, 10, 80)
    );
    assert!(capacity.warn_at_percent(0).is_err());
    assert!(capacity.warn_at_percent(101).is_err());
    assert_eq!(capacity.warn_at_percent(100).unwrap().warn_percent, 100);
    let err = capacity.prune_batch(1001).unwrap_err();
    assert!(
        err.to_string().contains("1001 is not within 1..=1000"),
        "{err}"
    );
    assert_eq!(capacity.on_full(OnFull::Stop).policy(), OnFull::Stop);
}

#[test]
fn store_config_rejects_zero_values() {
    assert!(StoreConfig::default().checkpoint_every(0).is_err());
    assert!(
        StoreConfig::default()
            .checkpoint_interval(Duration::ZERO)
            .is_err()
    );
    assert!(StoreConfig::default().max_batch(0).is_err());
    let config = StoreConfig::default()
        .lifecycle_events(false)
        .on_alarm(Arc::new(|_| {}));
    assert!(format!("{config:?}").contains("alarm: true"));
}

#[test]
fn a_pending_append_is_a_future_that_wakes_when_completed() {
    let pending = Pending {
        slot: Arc::new(Slot::default()),
    };
    let slot = Arc::clone(&pending.slot);
    let mut pending = Box::pin(pending);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(pending.as_mut().poll(&mut cx).is_pending());
    assert!(slot.lock().waker.is_some());
    slot.complete(Err(StoreError::Closed));
    assert!(matches!(
        pending.as_mut().poll(&mut cx),
        Poll::Ready(Err(StoreError::Closed))
    ));
}

#[test]
fn a_pending_append_can_be_waited_for_from_another_thread() {
    let slot = Arc::new(Slot::default());
    let pending = Pending {
        slot: Arc::clone(&slot),
    };
    let waiter = std::thread::spawn(move || pending.wait());
    std::thread::sleep(Duration::from_millis(20));
    slot.complete(Err(StoreError::Full { stored: 2, max: 2 }));
    let result = waiter.join().unwrap();
    assert!(matches!(
        result,
        Err(StoreError::Full { stored: 2, max: 2 })
    ));
}
