//! The anomaly detectors of the IDS baseline, on captures made by the capture generator
//! (`rampart_inspect::synth`) and on the reference captures: each injected event is detected,
//! and the same capture without it raises nothing.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use rampart_conduit::{Adaptation, Alert, Baseline, Detector, LearningPeriod, Severity};
use rampart_inspect::synth::{Capture, Conversation};
use rampart_inspect::{Inspector, Options, Report};

use crate::util::{ALL, pcap};

const T0: u64 = 1_700_000_000_000_000;
const MS: u64 = 1_000;
const S: u64 = 1_000_000;
/// The synthetic plant runs this long; the baseline is learned over its first minute.
const DURATION: u64 = 120 * S;
const LEARN: u64 = 60 * S;
/// Injected events start here, well after learning.
const EVENT: u64 = 90 * S;

const PLC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);
const MASTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
const HMI: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 11);

fn master() -> Conversation {
    Conversation::new(MASTER, 40_001, PLC, 502)
}

fn hmi() -> Conversation {
    Conversation::new(HMI, 40_002, PLC, 502)
}

/// How the plant's routine departs from normal after [`EVENT`] for 20 s.
#[derive(Clone, Copy, Default)]
struct Deviation {
    /// The master writes coils every this many ms instead of every 40 ms.
    write_period_ms: Option<u64>,
    /// The PLC answers the HMI's reads after this many ms.
    hmi_latency_ms: Option<u64>,
    /// The PLC does not answer the HMI.
    hmi_unanswered: bool,
}

/// Deterministic jitter (a linear congruential generator).
struct Jitter(u64);

impl Jitter {
    fn next(&mut self, range: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % range
    }
}

fn read_response(quantity: u8) -> Vec<u8> {
    let mut pdu = vec![3, quantity * 2];
    pdu.extend(std::iter::repeat_n(0, usize::from(quantity) * 2));
    pdu
}

/// A plant's routine: a master that writes coils 0-7 of unit 1 25 times a second and reads
/// holding registers 0-19 after every fifth write, and an HMI that reads holding registers
/// 100-119 once a second; every 15 s an operator writes register 105 from the HMI.
fn plant(deviation: Deviation) -> Capture {
    let mut capture = Capture::new();
    let mut jitter = Jitter(7);
    capture.connect(T0, master());
    capture.connect(T0 + 200, hmi());
    let deviating = |t: u64| (EVENT..EVENT + 20 * S).contains(&t);
    // The master: writes every 40 ms (or faster while deviating), reads after every fifth.
    let mut t = MS;
    let mut coil = 0u8;
    while t < DURATION {
        let value = if coil.is_multiple_of(2) { 0xFF } else { 0x00 };
        let pdu = [5, 0, coil % 8, value, 0];
        capture.exchange(
            T0 + t,
            master(),
            1,
            &pdu,
            Some((1_500 + jitter.next(1_000), &pdu)),
        );
        coil = coil.wrapping_add(1);
        if coil.is_multiple_of(5) {
            let read = [3, 0, 0, 0, 20];
            capture.exchange(
                T0 + t + 13 * MS,
                master(),
                1,
                &read,
                Some((1_500 + jitter.next(1_000), &read_response(20))),
            );
        }
        t += match deviation.write_period_ms {
            Some(period) if deviating(t) => period * MS,
            _ => 40 * MS,
        };
    }
    // The HMI: a read every second, the operator's write every 15 s.
    let mut t = 500 * MS;
    while t < DURATION {
        let read = [3, 0, 100, 0, 20];
        let answer = read_response(20);
        let response = if deviation.hmi_unanswered && deviating(t) {
            None
        } else {
            let latency = match deviation.hmi_latency_ms {
                Some(ms) if deviating(t) => ms * MS + jitter.next(2_000),
                _ => 1_500 + jitter.next(1_000),
            };
            Some((latency, answer.as_slice()))
        };
        capture.exchange(T0 + t, hmi(), 1, &read, response);
        if (t / MS) % 15_000 == 7_500 {
            let write = [6, 0, 105, 0, 42];
            capture.exchange(T0 + t + 300 * MS, hmi(), 1, &write, Some((2 * MS, &write)));
        }
        t += S;
    }
    capture
}

fn inspect(capture: &Capture, learn: Option<u64>) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.pcap");
    std::fs::write(&path, capture.to_pcap()).unwrap();
    let mut inspector = Inspector::new(Options::default(), None);
    if let Some(micros) = learn {
        inspector.learn_baseline(LearningPeriod::For(micros), Adaptation::Frozen);
    }
    inspector.inspect_file(&path, |_| {}).unwrap();
    inspector.finish().0
}

/// The baseline learned over a whole capture, as `rampart ids learn` does.
fn learn_whole(capture: &Capture) -> Baseline {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clean.pcap");
    std::fs::write(&path, capture.to_pcap()).unwrap();
    let mut learner = Inspector::new(Options::default(), None);
    learner.learn_baseline(LearningPeriod::Open, Adaptation::Frozen);
    learner.inspect_file(&path, |_| {}).unwrap();
    learner.finish_baseline().unwrap()
}

fn of(report: &Report, detector: Detector) -> Vec<&Alert> {
    report
        .alerts
        .iter()
        .filter(|a| a.detector == detector)
        .collect()
}

fn describe(report: &Report) -> String {
    let mut text = String::new();
    for a in &report.alerts {
        let _ = writeln!(
            text,
            "{} {} {} ×{}: {}",
            a.client, a.severity, a.detector, a.count, a.explanation
        );
    }
    text
}

#[test]
fn the_plants_routine_raises_nothing_after_learning() {
    let report = inspect(&plant(Deviation::default()), Some(LEARN));
    assert!(report.totals.requests > 3_000, "{:?}", report.totals);
    assert!(report.alerts.is_empty(), "{}", describe(&report));
    // Without a baseline the fixed write-burst threshold cries wolf on the same routine:
    // what the baseline replaces.
    let fixed = inspect(&plant(Deviation::default()), None);
    assert!(!of(&fixed, Detector::WriteBurst).is_empty());
}

#[test]
fn the_plants_routine_raises_nothing_high_whatever_the_learning_period() {
    for seconds in [2, 5, 10, 30] {
        let report = inspect(&plant(Deviation::default()), Some(seconds * S));
        let high: Vec<_> = report
            .alerts
            .iter()
            .filter(|a| a.severity == Severity::High)
            .collect();
        assert!(
            high.is_empty(),
            "learning {seconds} s: {}",
            describe(&report)
        );
    }
}

#[test]
fn a_write_from_a_device_that_never_acted_as_a_master_is_high() {
    let mut capture = plant(Deviation::default());
    let intruder = Conversation::new(Ipv4Addr::new(10, 0, 0, 66), 40_100, PLC, 502);
    capture.connect(T0 + EVENT, intruder);
    capture.exchange(
        T0 + EVENT + MS,
        intruder,
        1,
        &[6, 0, 3, 0, 99],
        Some((2 * MS, &[6, 0, 3, 0, 99])),
    );
    let report = inspect(&capture, Some(LEARN));
    let alerts = of(&report, Detector::NewTalker);
    assert_eq!(alerts.len(), 1, "{}", describe(&report));
    assert_eq!(alerts[0].severity, Severity::High);
    assert_eq!(alerts[0].technique.id, "T0848");
    assert_eq!(alerts[0].client, "10.0.0.66");
    assert_eq!((alerts[0].unit, alerts[0].function), (Some(1), Some(6)));
    assert_eq!(
        alerts[0].addresses.as_deref(),
        Some("holding registers 3..=3")
    );
}

#[test]
fn a_server_that_starts_sending_requests_is_a_role_reversal() {
    let mut capture = plant(Deviation::default());
    let reversed = Conversation::new(PLC, 41_000, Ipv4Addr::new(10, 0, 0, 30), 502);
    capture.connect(T0 + EVENT, reversed);
    capture.exchange(
        T0 + EVENT + MS,
        reversed,
        1,
        &[3, 0, 0, 0, 4],
        Some((2 * MS, &read_response(4))),
    );
    let report = inspect(&capture, Some(LEARN));
    let alerts = of(&report, Detector::RoleReversal);
    assert_eq!(alerts.len(), 1, "{}", describe(&report));
    assert_eq!(alerts[0].severity, Severity::High);
    assert_eq!(alerts[0].client, "10.0.0.20");
    assert_eq!(alerts[0].server.as_deref(), Some("10.0.0.30"));
    assert!(
        of(&report, Detector::NewTalker).is_empty(),
        "{}",
        describe(&report)
    );
}

#[test]
fn a_new_function_code_unit_and_write_target_are_reported_with_graded_severity() {
    let mut capture = plant(Deviation::default());
    // The master writes several registers (FC 16, never used), a vendor function (FC 90),
    // coil 4000 (never written nor read), and the HMI reads unit 7.
    capture.exchange(
        T0 + EVENT + 5 * MS,
        master(),
        1,
        &[16, 0, 10, 0, 1, 2, 0, 7],
        Some((2 * MS, &[16, 0, 10, 0, 1])),
    );
    capture.exchange(
        T0 + EVENT + 9 * MS,
        master(),
        1,
        &[90, 0, 2],
        Some((2 * MS, &[90, 0, 0])),
    );
    capture.exchange(
        T0 + EVENT + 21 * MS,
        master(),
        1,
        &[5, 0x0F, 0xA0, 0xFF, 0],
        Some((2 * MS, &[5, 0x0F, 0xA0, 0xFF, 0])),
    );
    capture.exchange(
        T0 + EVENT + 400 * MS,
        hmi(),
        7,
        &[3, 0, 100, 0, 20],
        Some((2 * MS, &read_response(20))),
    );
    let report = inspect(&capture, Some(LEARN));
    let functions = of(&report, Detector::UnusualFunction);
    let severity_of = |code: u8| {
        functions
            .iter()
            .find(|a| a.function == Some(code))
            .map(|a| a.severity)
    };
    assert_eq!(
        severity_of(16),
        Some(Severity::Medium),
        "{}",
        describe(&report)
    );
    assert_eq!(
        severity_of(90),
        Some(Severity::High),
        "{}",
        describe(&report)
    );
    let targets = of(&report, Detector::NewWriteTarget);
    assert!(
        targets.iter().any(|a| a.severity == Severity::Medium
            && a.addresses.as_deref() == Some("coils 4000..=4000")),
        "{}",
        describe(&report)
    );
    let units = of(&report, Detector::NewUnit);
    assert_eq!(units.len(), 1, "{}", describe(&report));
    assert_eq!(
        (units[0].client.as_str(), units[0].unit),
        ("10.0.0.11", Some(7))
    );
}

#[test]
fn an_operators_rarer_command_near_what_it_reads_is_low_not_high() {
    let mut capture = plant(Deviation::default());
    // Register 110: never written, but inside the range the HMI reads every second.
    capture.exchange(
        T0 + EVENT + 300 * MS,
        hmi(),
        1,
        &[6, 0, 110, 0, 1],
        Some((2 * MS, &[6, 0, 110, 0, 1])),
    );
    let report = inspect(&capture, Some(LEARN));
    let targets = of(&report, Detector::NewWriteTarget);
    assert_eq!(targets.len(), 1, "{}", describe(&report));
    assert_eq!(targets[0].severity, Severity::Low);
    assert!(
        targets[0]
            .baseline
            .as_deref()
            .is_some_and(|b| b.contains("read 100..=119")),
        "{:?}",
        targets[0].baseline
    );
    assert!(
        report.alerts.iter().all(|a| a.severity == Severity::Low),
        "{}",
        describe(&report)
    );
}

#[test]
fn a_write_rate_far_outside_the_band_is_brute_force_io() {
    let report = inspect(
        &plant(Deviation {
            write_period_ms: Some(4),
            ..Deviation::default()
        }),
        Some(LEARN),
    );
    let rates = of(&report, Detector::RateAnomaly);
    assert!(
        rates.iter().any(|a| a.severity == Severity::High
            && a.technique.id == "T0806"
            && a.function == Some(5)),
        "{}",
        describe(&report)
    );
    assert!(
        of(&report, Detector::WriteBurst).is_empty(),
        "the band replaces the fixed threshold"
    );
}

#[test]
fn requests_left_unanswered_are_loss_of_availability() {
    let report = inspect(
        &plant(Deviation {
            hmi_unanswered: true,
            ..Deviation::default()
        }),
        Some(LEARN),
    );
    let alerts = of(&report, Detector::Unanswered);
    assert!(!alerts.is_empty(), "{}", describe(&report));
    assert_eq!(alerts[0].client, "10.0.0.11");
    assert_eq!(alerts[0].technique.id, "T0814");
    // Aggregated: far fewer alerts than unanswered requests (20).
    assert!(alerts.len() <= 4, "{}", describe(&report));
}

#[test]
fn response_times_far_above_the_learned_ones_are_drift() {
    let report = inspect(
        &plant(Deviation {
            hmi_latency_ms: Some(60),
            ..Deviation::default()
        }),
        Some(LEARN),
    );
    let alerts = of(&report, Detector::ResponseTimeDrift);
    assert!(!alerts.is_empty(), "{}", describe(&report));
    assert_eq!(alerts[0].technique.id, "T0826");
    assert!(
        alerts[0]
            .baseline
            .as_deref()
            .is_some_and(|b| b.contains("ms on average"))
    );
}

#[test]
fn exception_storms_and_address_sweeps_are_still_detected() {
    let mut capture = plant(Deviation::default());
    let scanner = Conversation::new(HMI, 40_003, PLC, 502);
    capture.connect(T0 + EVENT, scanner);
    for i in 0..80u16 {
        let address = 9_000 + i * 10;
        let [hi, lo] = address.to_be_bytes();
        capture.exchange(
            T0 + EVENT + u64::from(i) * 20 * MS + MS,
            scanner,
            1,
            &[3, hi, lo, 0, 1],
            Some((MS, &[0x83, 0x02])),
        );
    }
    let report = inspect(&capture, Some(LEARN));
    assert!(
        !of(&report, Detector::AddressScan).is_empty(),
        "{}",
        describe(&report)
    );
    assert!(
        !of(&report, Detector::ExceptionStorm).is_empty(),
        "{}",
        describe(&report)
    );
}

#[test]
fn a_saved_baseline_detects_the_same_as_one_learned_in_the_run() {
    // Learn over the clean routine, save, reload, detect on a capture with an intruder.
    let baseline = learn_whole(&plant(Deviation::default()));
    let text = baseline.to_json();
    let loaded = Baseline::from_json(&text).unwrap();
    assert_eq!(loaded.clients.len(), 2);
    let mut capture = plant(Deviation::default());
    let intruder = Conversation::new(Ipv4Addr::new(10, 0, 0, 66), 40_100, PLC, 502);
    capture.connect(T0 + 30 * S, intruder);
    capture.exchange(
        T0 + 30 * S + MS,
        intruder,
        1,
        &[5, 0, 1, 0xFF, 0],
        Some((MS, &[5, 0, 1, 0xFF, 0])),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attack.pcap");
    std::fs::write(&path, capture.to_pcap()).unwrap();
    let mut inspector = Inspector::new(Options::default(), None);
    inspector.use_baseline(loaded);
    inspector.inspect_file(&path, |_| {}).unwrap();
    let report = inspector.finish().0;
    assert_eq!(
        report
            .alerts
            .iter()
            .map(|a| (a.detector, a.severity))
            .collect::<Vec<_>>(),
        [(Detector::NewTalker, Severity::High)],
        "{}",
        describe(&report)
    );
}

/// A reference capture with generated packets appended after its last packet.
fn reference_with(name: &str, inject: impl FnOnce(u64, &mut Capture)) -> Capture {
    let bytes = std::fs::read(pcap(name)).unwrap();
    let mut last = 0;
    let mut offset = 24;
    while offset + 16 <= bytes.len() {
        let seconds = u64::from(u32::from_le_bytes(
            bytes[offset..offset + 4].try_into().unwrap(),
        ));
        let micros = u64::from(u32::from_le_bytes(
            bytes[offset + 4..offset + 8].try_into().unwrap(),
        ));
        let len = u32::from_le_bytes(bytes[offset + 8..offset + 12].try_into().unwrap()) as usize;
        last = last.max(seconds * S + micros);
        offset += 16 + len;
    }
    let mut capture = Capture::new();
    inject(last, &mut capture);
    capture
}

fn inspect_reference(name: &str, appended: Option<&Capture>, learn: u64) -> Report {
    let mut bytes = std::fs::read(pcap(name)).unwrap();
    if let Some(capture) = appended {
        bytes.extend(capture.to_records());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut inspector = Inspector::new(Options::default(), None);
    inspector.learn_baseline(LearningPeriod::For(learn), Adaptation::Frozen);
    inspector.inspect_file(&path, |_| {}).unwrap();
    inspector.finish().0
}

/// Appends an event to a capture that ends at the given time.
type Injection = fn(u64, &mut Capture);

/// `zeek_modbusBig`'s master and PLC.
const BIG_MASTER: Ipv4Addr = Ipv4Addr::new(10, 235, 149, 240);
const BIG_PLC: Ipv4Addr = Ipv4Addr::new(10, 235, 149, 243);

/// A new connection of `zeek_modbusBig`'s master, one second after the capture's end.
fn big_master(end: u64, capture: &mut Capture, port: u16) -> Conversation {
    let master = Conversation::new(BIG_MASTER, port, BIG_PLC, 502);
    capture.connect(end + S, master);
    master
}

/// `count` read-coils requests of `zeek_modbusBig`'s master from `start`, `period` apart,
/// answered after `latency` (or not at all).
fn big_reads(
    capture: &mut Capture,
    master: Conversation,
    start: u64,
    period: u64,
    count: u64,
    latency: Option<u64>,
) {
    for i in 0..count {
        let answer = [1u8, 1, 0];
        capture.exchange(
            start + i * period,
            master,
            255,
            &[1, 0, 0, 0, 8],
            latency.map(|l| (l, answer.as_slice())),
        );
    }
}

#[test]
fn every_detector_finds_its_event_injected_into_a_reference_capture() {
    // zeek_modbusBig: one master (10.235.149.240) reading and writing coils of unit 255 of
    // 10.235.149.243 about 24 times a second for 58 s: learn 30 s of it, then each event
    // is appended after its end by the capture generator.
    let name = "zeek_modbusBig.pcap";
    let clean = inspect_reference(name, None, 30 * S);
    let cases: [(Detector, Injection); 11] = [
        (Detector::NewTalker, |end, capture| {
            let intruder = Conversation::new(Ipv4Addr::new(10, 235, 149, 99), 40_000, BIG_PLC, 502);
            capture.connect(end + S, intruder);
            capture.exchange(
                end + S + MS,
                intruder,
                255,
                &[5, 0, 1, 0xFF, 0],
                Some((MS, &[5, 0, 1, 0xFF, 0])),
            );
        }),
        (Detector::RoleReversal, |end, capture| {
            let reversed = Conversation::new(BIG_PLC, 40_000, Ipv4Addr::new(10, 235, 149, 1), 502);
            capture.connect(end + S, reversed);
            capture.exchange(
                end + S + MS,
                reversed,
                1,
                &[1, 0, 0, 0, 8],
                Some((MS, &[1, 1, 0])),
            );
        }),
        (Detector::UnusualFunction, |end, capture| {
            let master = big_master(end, capture, 40_000);
            capture.exchange(
                end + S + MS,
                master,
                255,
                &[15, 0, 0, 0, 8, 1, 0xFF],
                Some((MS, &[15, 0, 0, 0, 8])),
            );
        }),
        (Detector::NewUnit, |end, capture| {
            let master = big_master(end, capture, 40_000);
            capture.exchange(
                end + S + MS,
                master,
                7,
                &[1, 0, 0, 0, 8],
                Some((MS, &[1, 1, 0])),
            );
        }),
        (Detector::NewWriteTarget, |end, capture| {
            let master = big_master(end, capture, 40_000);
            capture.exchange(
                end + S + MS,
                master,
                255,
                &[5, 0x13, 0x88, 0xFF, 0],
                Some((MS, &[5, 0x13, 0x88, 0xFF, 0])),
            );
        }),
        (Detector::RateAnomaly, |end, capture| {
            // Ten times the routine's rate for 10 s.
            let master = big_master(end, capture, 40_000);
            big_reads(capture, master, end + S + MS, 4 * MS, 2_500, Some(MS));
        }),
        (Detector::Unanswered, |end, capture| {
            let master = big_master(end, capture, 40_000);
            big_reads(capture, master, end + S + MS, S, 12, None);
        }),
        (Detector::ResponseTimeDrift, |end, capture| {
            // Answers half a second late, four a second for 12 s.
            let master = big_master(end, capture, 40_000);
            big_reads(capture, master, end + S + MS, 250 * MS, 48, Some(500 * MS));
        }),
        (Detector::ExceptionStorm, |end, capture| {
            let master = big_master(end, capture, 40_000);
            for i in 0..30 {
                capture.exchange(
                    end + S + i * 10 * MS,
                    master,
                    255,
                    &[1, 0, 0, 0, 8],
                    Some((MS, &[0x81, 0x04])),
                );
            }
        }),
        (Detector::AddressScan, |end, capture| {
            let master = big_master(end, capture, 40_000);
            for i in 0..80u16 {
                let [hi, lo] = (2_000 + i * 16).to_be_bytes();
                capture.exchange(
                    end + S + u64::from(i) * 10 * MS,
                    master,
                    255,
                    &[1, hi, lo, 0, 8],
                    Some((MS, &[0x81, 0x02])),
                );
            }
        }),
        (Detector::Reconnaissance, |end, capture| {
            let master = big_master(end, capture, 40_000);
            capture.exchange(
                end + S + MS,
                master,
                255,
                &[43, 14, 1, 0],
                Some((MS, &[0xAB, 0x01])),
            );
        }),
    ];
    for (detector, inject) in cases {
        assert!(
            of(&clean, detector).is_empty(),
            "{detector} on the clean capture: {}",
            describe(&clean)
        );
        let capture = reference_with(name, inject);
        let report = inspect_reference(name, Some(&capture), 30 * S);
        assert!(
            !of(&report, detector).is_empty(),
            "{detector} not detected: {}",
            describe(&report)
        );
    }
}

#[test]
fn benign_reference_captures_raise_no_high_alert_after_learning() {
    // The captures of normal operation: polling, a write-heavy control loop, short
    // sessions, an engineering tool's UMAS session and a device identification (no attack,
    // scan or fuzzing in them).
    for name in [
        "iti_modbus_test.pcap",
        "iti_modicon_test_umas_fc90.pcap",
        "zeek_modbus-eit.pcap",
        "zeek_modbusBig.pcap",
        "zeek_modbusSmall.pcap",
    ] {
        assert!(ALL.contains(&name));
        for seconds in [5, 20, 60] {
            let report = inspect_reference(name, None, seconds * S);
            let high: Vec<_> = report
                .alerts
                .iter()
                .filter(|a| a.severity == Severity::High)
                .collect();
            assert!(
                high.is_empty(),
                "{name}, learning {seconds} s: {}",
                describe(&report)
            );
        }
    }
}

#[test]
fn a_baseline_proposes_a_least_privilege_policy_that_allows_the_routine_only() {
    use rampart_conduit::{CompiledPolicy, Decision, Learner, Policy};
    let baseline = learn_whole(&plant(Deviation::default()));
    let text = Learner::from_baseline(&baseline).policy_toml();
    let policy = CompiledPolicy::compile(Policy::parse(&text, "proposed").unwrap());
    let decide = |role: &str, adu: &[u8]| {
        let request = rampart_modbus::decode_request(adu).unwrap();
        matches!(
            policy.decide(policy.resolve(Some(role)), &request),
            Decision::Allow(_)
        )
    };
    let master = "client-10-0-0-10";
    let hmi = "client-10-0-0-11";
    // The routine: the master writes coils 0-7 and reads registers 0-19; the HMI reads
    // registers 100-119 and writes register 105.
    assert!(
        decide(master, &[0, 1, 0, 0, 0, 6, 1, 5, 0, 3, 0xFF, 0]),
        "{text}"
    );
    assert!(
        decide(master, &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 20]),
        "{text}"
    );
    assert!(
        decide(hmi, &[0, 1, 0, 0, 0, 6, 1, 3, 0, 100, 0, 20]),
        "{text}"
    );
    assert!(
        decide(hmi, &[0, 1, 0, 0, 0, 6, 1, 6, 0, 105, 0, 1]),
        "{text}"
    );
    // Nothing else: coil 4000, a register the HMI only reads, the HMI writing coils, FC 16.
    assert!(!decide(
        master,
        &[0, 1, 0, 0, 0, 6, 1, 5, 0x0F, 0xA0, 0xFF, 0]
    ));
    assert!(!decide(hmi, &[0, 1, 0, 0, 0, 6, 1, 6, 0, 110, 0, 1]));
    assert!(!decide(hmi, &[0, 1, 0, 0, 0, 6, 1, 5, 0, 3, 0xFF, 0]));
    assert!(!decide(
        master,
        &[0, 1, 0, 0, 0, 9, 1, 16, 0, 10, 0, 1, 2, 0, 7]
    ));
    assert!(
        !decide(master, &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 21]),
        "quantity above the learned 20"
    );
}

#[test]
fn a_client_that_routinely_gets_exceptions_is_not_a_storm_once_learned() {
    // The HMI also polls register 9999, which the PLC lacks, every 300 ms (about 33
    // illegal-data-address exceptions per 10 s window).
    let mut capture = plant(Deviation::default());
    let poller = Conversation::new(HMI, 40_004, PLC, 502);
    capture.connect(T0 + 100 * MS, poller);
    let mut t = 300 * MS;
    while t < DURATION {
        capture.exchange(
            T0 + t,
            poller,
            1,
            &[3, 0x27, 0x0F, 0, 1],
            Some((MS, &[0x83, 0x02])),
        );
        t += 300 * MS;
    }
    let fixed = inspect(&capture, None);
    assert!(
        !of(&fixed, Detector::ExceptionStorm).is_empty(),
        "{}",
        describe(&fixed)
    );
    let learned = inspect(&capture, Some(LEARN));
    assert!(learned.alerts.is_empty(), "{}", describe(&learned));
}

#[test]
fn a_sweep_across_many_servers_is_a_host_scan_with_or_without_a_baseline() {
    let mut capture = plant(Deviation::default());
    for i in 0..12u8 {
        let target = Conversation::new(
            Ipv4Addr::new(10, 0, 0, 99),
            41_000 + u16::from(i),
            Ipv4Addr::new(10, 0, 1, 100 + i),
            502,
        );
        let t = T0 + EVENT + u64::from(i) * 100 * MS;
        capture.connect(t, target);
        capture.exchange(
            t + MS,
            target,
            1,
            &[43, 14, 1, 0],
            Some((MS, &[0xAB, 0x01])),
        );
    }
    for learn in [None, Some(LEARN)] {
        let report = inspect(&capture, learn);
        let scans = of(&report, Detector::HostScan);
        assert_eq!(scans.len(), 1, "{}", describe(&report));
        assert_eq!(scans[0].client, "10.0.0.99");
        assert_eq!(scans[0].technique.id, "T0846");
    }
    assert!(
        of(
            &inspect(&plant(Deviation::default()), None),
            Detector::HostScan
        )
        .is_empty()
    );
}
