use super::*;

#[test]
fn timestamps_print_as_rfc3339_utc_with_six_fractional_digits() {
    let cases = [
        (0, "1970-01-01T00:00:00.000000Z"),
        (1, "1970-01-01T00:00:00.000001Z"),
        (1_700_000_000_123_456, "2023-11-14T22:13:20.123456Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (MAX_MICROS, "9999-12-30T22:00:00.000000Z"),
        (MIN_MICROS, "0001-01-01T00:00:00.000000Z"),
    ];
    for (micros, text) in cases {
        let ts = Timestamp::from_unix_micros(micros).unwrap();
        assert_eq!(ts.to_string(), text);
        assert_eq!(text.parse::<Timestamp>(), Ok(ts), "{text}");
    }
}

#[test]
fn parsing_accepts_offsets_and_truncates_below_microseconds() {
    let utc: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
    assert_eq!("2024-05-01T14:00:00+02:00".parse::<Timestamp>(), Ok(utc));
    let fine: Timestamp = "2024-05-01T12:00:00.123456789Z".parse().unwrap();
    assert_eq!(fine.unix_micros() - utc.unix_micros(), 123_456);
}

#[test]
fn out_of_range_or_malformed_timestamps_are_rejected_with_the_value() {
    assert!(Timestamp::from_unix_micros(MAX_MICROS + 1).is_err());
    assert!(Timestamp::from_unix_micros(MIN_MICROS - 1).is_err());
    let err = "yesterday".parse::<Timestamp>().unwrap_err();
    assert!(err.to_string().contains("'yesterday'"), "{err}");
}

#[test]
fn timestamps_serialize_as_text() {
    let ts = Timestamp::from_unix_micros(1).unwrap();
    let json = serde_json::to_string(&ts).unwrap();
    assert_eq!(json, "\"1970-01-01T00:00:00.000001Z\"");
    assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ts);
}

#[test]
fn arithmetic_saturates_instead_of_overflowing() {
    let end = Timestamp::from_unix_micros(MAX_MICROS).unwrap();
    assert_eq!(end.saturating_add(Duration::from_secs(10)), end);
    assert_eq!(Timestamp::UNIX_EPOCH.duration_since(end), Duration::ZERO);
    assert_eq!(
        end.duration_since(Timestamp::UNIX_EPOCH).as_micros(),
        u128::from(MAX_MICROS.unsigned_abs())
    );
}

#[test]
fn manual_clock_moves_only_when_told_and_clones_share_it() {
    let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
    let shared = clock.clone();
    assert_eq!(clock.read().at, Timestamp::UNIX_EPOCH);
    shared.advance(Duration::from_millis(1500));
    assert_eq!(clock.read().at.unix_micros(), 1_500_000);
    shared.set_sync(ClockSync::Unsynchronized);
    let reading = clock.read();
    assert_eq!(
        (reading.source, reading.sync),
        (TimeSource::Manual, ClockSync::Unsynchronized)
    );
}

#[test]
fn system_clock_reports_the_sync_status_it_was_given() {
    let clock = SystemClock::new();
    let first = clock.read();
    assert_eq!(
        (first.source, first.sync),
        (TimeSource::System, ClockSync::Unknown)
    );
    clock.clone().set_sync(ClockSync::Synchronized);
    let second = clock.read();
    assert_eq!(second.sync, ClockSync::Synchronized);
    // 2020-01-01: any machine running this test is past it.
    assert!(second.at.unix_micros() > 1_577_836_800_000_000);
}

#[test]
fn vocabulary_text_round_trips() {
    for sync in ClockSync::ALL {
        assert_eq!(sync.as_str().parse::<ClockSync>(), Ok(*sync));
        assert_eq!(ClockSync::from_code(sync.code()), *sync);
    }
    for source in TimeSource::ALL {
        assert_eq!(source.as_str().parse::<TimeSource>(), Ok(*source));
    }
    assert_eq!(
        "ntp".parse::<TimeSource>(),
        Err(ParseError::TimeSource("ntp".into()))
    );
}

#[test]
fn a_set_clock_is_reported_once() {
    let clock = ManualClock::new("2023-11-14T22:13:20Z".parse::<Timestamp>().unwrap());
    let mut watch = ClockWatch::new(&clock);
    assert_eq!(
        watch.check(&clock, Duration::from_secs(1)),
        None,
        "no step yet"
    );
    clock.advance(Duration::from_hours(1));
    let jump = watch.check(&clock, Duration::from_secs(1)).unwrap();
    assert!(jump.step_micros() > 3_599_000_000, "{jump:?}");
    assert_eq!(
        watch.check(&clock, Duration::from_secs(1)),
        None,
        "reported once"
    );
    clock.set("2020-09-13T12:26:40Z".parse::<Timestamp>().unwrap());
    assert!(
        watch
            .check(&clock, Duration::from_secs(1))
            .unwrap()
            .step_micros()
            < 0
    );
}

/// Moved from the identity crate's former clock: the calendar view of the same clock.
#[test]
fn manual_clock_moves_only_when_told() {
    use jiff::SignedDuration;
    let start = jiff::Timestamp::from_second(1_000_000).unwrap();
    let clock = ManualClock::new(start);
    assert_eq!(clock.now(), start);
    clock.advance(SignedDuration::from_secs(30));
    assert_eq!(clock.now().as_second(), 1_000_030);
    clock.set(start);
    assert_eq!(clock.now(), start);
}
