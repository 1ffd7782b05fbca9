//! What inspection finds in the reference captures: totals, policy decisions and alerts.

use rampart_conduit::{CompiledPolicy, Detector, Policy};
use rampart_inspect::{Inspector, Options};

use crate::util::{ALL, inspect, pcap};

fn default_policy() -> CompiledPolicy {
    CompiledPolicy::compile(Policy::parse(rampart_conduit::DEFAULT_POLICY, "default").unwrap())
}

#[test]
fn clean_polling_traffic_decodes_completely() {
    let report = inspect("zeek_modbusSmall.pcap", Options::default());
    let t = report.totals;
    assert_eq!(
        (t.flows, t.requests, t.responses, t.malformed, t.gaps),
        (16, 16, 16, 0, 0)
    );
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
    let big = inspect("zeek_modbusBig.pcap", Options::default()).totals;
    assert_eq!((big.malformed, big.gaps), (0, 0));
    assert!(big.requests > 2_700 && big.responses > 2_700, "{big:?}");
}

#[test]
fn non_modbus_bytes_on_port_502_are_malformed() {
    let report = inspect("zeek_modbus-and-non-modbus-p502.pcap", Options::default());
    assert!(report.totals.malformed >= 7, "{:?}", report.totals);
    assert!(
        report
            .alerts
            .iter()
            .any(|a| a.detector == Detector::MalformedFrame)
    );
}

#[test]
fn vendor_function_90_is_denied_even_to_the_engineer() {
    // The capture talks to unit 0; this engineer may use every public function on every unit.
    let policy = CompiledPolicy::compile(
        Policy::parse(
            "version = 1\n[[role]]\nname = \"engineer\"\n[[role.rule]]\nunits = \"*\"\nfunctions = \"all\"\nread = \"*\"\nwrite = \"*\"\n",
            "engineer",
        )
        .unwrap(),
    );
    let options = Options {
        role: Some("engineer".into()),
        collect_frames: true,
        ..Options::default()
    };
    let mut inspector = Inspector::new(options, Some(policy));
    inspector
        .inspect_file(&pcap("iti_modicon_test_umas_fc90.pcap"), |_| {})
        .unwrap();
    let (report, _) = inspector.finish();
    assert!(report.totals.requests > 80);
    assert_eq!(
        report.totals.denied, report.totals.requests,
        "every UMAS request is denied"
    );
    let denied = report
        .frames
        .iter()
        .find(|f| f.decision == Some("deny"))
        .unwrap();
    assert!(
        denied
            .reason
            .as_deref()
            .unwrap()
            .contains("vendor function FC 90 (Schneider UMAS)")
    );
    assert!(
        report
            .alerts
            .iter()
            .any(|a| a.detector == Detector::PolicyViolation && a.technique.id == "T0855")
    );
}

#[test]
fn the_function_code_sweep_is_denied_beyond_the_viewers_reads() {
    let options = Options {
        role: Some("viewer".into()),
        collect_frames: true,
        ..Options::default()
    };
    let mut inspector = Inspector::new(options, Some(default_policy()));
    inspector
        .inspect_file(&pcap("digitalbond_modbus_test_data_part2.pcap"), |_| {})
        .unwrap();
    let (report, _) = inspector.finish();
    // The sweep on unit 1 tries every function code; the viewer may only read (FC 1..=4).
    let requests = report.frames.iter().filter(|f| f.decision.is_some());
    let mut allowed = 0;
    for frame in requests {
        let function = frame.function_code.unwrap();
        if frame.decision == Some("allow") {
            allowed += 1;
            assert!(
                (1..=4).contains(&function),
                "FC {function} allowed to the viewer"
            );
        } else {
            assert!(
                !(1..=4).contains(&function) || frame.unit_id != Some(1),
                "{frame:?}"
            );
        }
    }
    assert!(
        allowed > 0 && report.totals.denied > 100,
        "{:?}",
        report.totals
    );
    assert!(
        report.totals.exceptions > 100,
        "the PLC rejected most of the sweep"
    );
}

#[test]
fn clients_without_a_role_are_denied_everything_under_a_policy() {
    let mut inspector = Inspector::new(Options::default(), Some(default_policy()));
    inspector
        .inspect_file(&pcap("iti_modbus_test.pcap"), |_| {})
        .unwrap();
    let (report, _) = inspector.finish();
    assert_eq!(report.totals.denied, report.totals.requests);
}

#[test]
fn a_learned_policy_allows_the_traffic_it_was_learned_from() {
    let mut learning = Inspector::new(Options::default(), None);
    learning.learn();
    learning
        .inspect_file(&pcap("iti_modbus_test.pcap"), |_| {})
        .unwrap();
    let learned = learning.finish().1.unwrap().policy_toml();
    let policy = CompiledPolicy::compile(Policy::parse(&learned, "learned").unwrap());
    let mut inspector = Inspector::new(Options::default(), Some(policy));
    inspector
        .inspect_file(&pcap("iti_modbus_test.pcap"), |_| {})
        .unwrap();
    let (report, _) = inspector.finish();
    assert!(report.totals.requests > 1_000);
    assert_eq!(
        report.totals.denied, 0,
        "learned roles map back to their client addresses"
    );
}

#[test]
fn every_reference_capture_is_inspected_without_error() {
    for name in ALL {
        let report = inspect(
            name,
            Options {
                collect_frames: true,
                ..Options::default()
            },
        );
        assert!(report.totals.packets > 0, "{name}");
        assert!(
            report.totals.requests + report.totals.responses + report.totals.malformed > 0,
            "{name}"
        );
    }
}

#[test]
fn unreadable_captures_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("rampart-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        ("empty.pcap", &b""[..]),
        ("text.pcap", &b"hello, this is not a capture at all"[..]),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut inspector = Inspector::new(Options::default(), None);
        let err = inspector
            .inspect_file(&path, |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(name) && err.contains("not a readable pcap"),
            "{err}"
        );
    }
    let mut inspector = Inspector::new(Options::default(), None);
    let err = inspector
        .inspect_file(&dir.join("missing.pcap"), |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pcap"), "{err}");
    // A capture cut off in the middle of a packet is reported, not a panic.
    let full = std::fs::read(pcap("zeek_modbusSmall.pcap")).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &full[..full.len() / 2 + 7]).unwrap();
    let mut inspector = Inspector::new(Options::default(), None);
    let result = inspector.inspect_file(&cut, |_| {});
    assert!(result.is_ok() || result.unwrap_err().to_string().contains("cut.pcap"));
    std::fs::remove_dir_all(&dir).unwrap();
}
