use super::*;

#[test]
fn backoff_doubles_up_to_its_cap() {
    let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(8));
    for (failures, millis) in [
        (0, 0),
        (1, 500),
        (2, 1000),
        (3, 2000),
        (4, 4000),
        (5, 8000),
        (6, 8000),
        (40, 8000),
        (u32::MAX, 8000),
    ] {
        assert_eq!(
            backoff.delay(failures),
            Duration::from_millis(millis),
            "after {failures} failures"
        );
    }
    let odd = Backoff::new(Duration::from_secs(5), Duration::from_secs(1));
    assert_eq!(
        odd.max(),
        Duration::from_secs(5),
        "the cap is at least the start"
    );
    assert_eq!(Backoff::default().delay(20), Duration::from_mins(1));
}

#[test]
fn a_manual_timer_moves_only_when_told() {
    let timer = ManualTimer::new();
    assert_eq!(timer.now(), Duration::ZERO);
    timer.sleep(Duration::from_secs(3), &Stop::new());
    timer.advance(Duration::from_millis(250));
    assert_eq!(timer.now(), Duration::from_millis(3250));
    assert_eq!(timer.sleeps(), [Duration::from_secs(3)]);
}

#[test]
fn a_raised_stop_cuts_a_real_sleep_short() {
    let timer = SystemTimer::new();
    let stop = Stop::new();
    let raiser = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            stop.raise();
        })
    };
    let before = timer.now();
    timer.sleep(Duration::from_secs(30), &stop);
    raiser.join().unwrap();
    assert!(stop.is_raised());
    assert!(timer.now().saturating_sub(before) < Duration::from_secs(5));
}
