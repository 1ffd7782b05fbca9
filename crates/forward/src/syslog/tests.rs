use rampart_audit::testing::{insecure_signing_key, sample_event};
use rampart_audit::{Actor, Category, NewEvent, Outcome, Severity};
use rampart_vault::{DevicePublicKey, Signature};
use serde_json::json;

use super::*;
use crate::fixture::Trail;
use crate::testing::{parse_message, split_frames};

fn format() -> SyslogFormat {
    SyslogFormat::new(Facility::Local(0), Hostname::new("plc-gw-1").unwrap())
}

/// Formats `event` (appended to a fresh trail as event 1) and parses the result strictly.
fn check(event: NewEvent, resent: bool) -> (AuditEvent, Vec<u8>, crate::testing::Message) {
    let trail = Trail::with_checkpoints(1000);
    let stored = trail.append(event);
    let bytes = format().event(&stored, resent);
    let parsed = parse_message(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    (stored, bytes, parsed)
}

#[test]
fn sd_param_values_escape_quote_backslash_and_bracket() {
    for (input, expected) in [
        ("plain", "plain"),
        (r#"say "hi""#, r#"say \"hi\""#),
        (r"C:\path", r"C:\\path"),
        ("a]b", r"a\]b"),
        (r#"\"]"#, r#"\\\"\]"#),
        ("[open", "[open"),
        ("ünïcødé", "ünïcødé"),
        ("", ""),
    ] {
        let mut out = String::new();
        escape_param_value(input, &mut out);
        assert_eq!(out, expected, "escaping {input:?}");
    }
}

#[test]
fn frames_use_octet_counting() {
    let mut out = Vec::new();
    frame(b"<134>1 - - - - - -", &mut out);
    frame("ü".as_bytes(), &mut out);
    assert_eq!(out, "18 <134>1 - - - - - -2 ü".as_bytes());
    let frames = split_frames(&out).unwrap();
    assert_eq!(frames, vec![&b"<134>1 - - - - - -"[..], "ü".as_bytes()]);
}

#[test]
fn facilities_parse_by_name_and_number() {
    for (text, code) in [
        ("local0", 16),
        ("LOCAL7", 23),
        ("authpriv", 10),
        ("auth", 4),
        ("security", 4),
        ("kern", 0),
        ("logaudit", 13),
        ("10", 10),
        ("23", 23),
    ] {
        let facility: Facility = text.parse().unwrap();
        assert_eq!(facility.code(), code, "{text}");
        assert_eq!(Facility::from_code(code), Some(facility));
        assert_eq!(facility.to_string().parse::<Facility>().unwrap(), facility);
    }
    for bad in ["local8", "24", "", "mail2", "-1"] {
        assert!(
            matches!(bad.parse::<Facility>(), Err(ConfigError::Facility(_))),
            "{bad}"
        );
    }
    assert_eq!(Facility::Authpriv.pri(Severity::Warning), 84);
    assert_eq!(Facility::Local(0).pri(Severity::Informational), 134);
    assert_eq!(Facility::default(), Facility::Local(0));
}

#[test]
fn hostnames_are_printable_ascii() {
    for good in [
        "plc-gw-1",
        "gw.example.org",
        "192.0.2.7",
        "2001:db8::1",
        "-",
    ] {
        assert_eq!(Hostname::new(good).unwrap().as_str(), good);
    }
    for bad in ["", "has space", "tab\t", "ünï", &"a".repeat(256)] {
        assert!(
            matches!(Hostname::new(bad), Err(ConfigError::Hostname { .. })),
            "{bad:?}"
        );
    }
    assert!(Hostname::new("a".repeat(255)).is_ok());
    assert_eq!(Hostname::nil().as_str(), "-");
}

#[test]
fn event_message_carries_every_field() {
    let event = NewEvent::builder(
        Category::AccessControl,
        "login",
        Actor::user("alice").unwrap(),
    )
    .source_address("192.0.2.7:41000")
    .interface("management")
    .target("alice")
    .outcome(Outcome::Denied)
    .details(json!({ "reason": "bad password", "attempt": 3 }))
    .build()
    .unwrap();
    let (stored, bytes, m) = check(event, false);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with("<132>1 2024-01-01T00:00:00.001000Z plc-gw-1 rampart - login [rampart@32473 seq=\"1\" category="),
        "{text}"
    );
    assert_eq!(m.pri, 16 * 8 + 4, "local0.warning");
    assert_eq!(m.timestamp, "2024-01-01T00:00:00.001000Z");
    assert_eq!(
        (m.hostname.as_str(), m.app_name.as_str()),
        ("plc-gw-1", "rampart")
    );
    assert_eq!((m.procid.as_str(), m.msgid.as_str()), ("-", "login"));
    let p = |name| m.param(EVENT_SD_ID, name);
    assert_eq!(p("seq"), Some("1"));
    assert_eq!(p("resent"), None);
    assert_eq!(p("category"), Some("access_control"));
    assert_eq!(p("action"), Some("login"));
    assert_eq!(p("actor_kind"), Some("user"));
    assert_eq!(p("actor"), Some("alice"));
    assert_eq!(p("outcome"), Some("denied"));
    assert_eq!(p("source"), Some("192.0.2.7:41000"));
    assert_eq!(p("interface"), Some("management"));
    assert_eq!(p("target"), Some("alice"));
    assert_eq!(p("time_source"), Some("manual"));
    assert_eq!(p("clock_sync"), Some("synchronized"));
    assert_eq!(p("hash"), Some(stored.hash().to_string().as_str()));
    let details: serde_json::Value = serde_json::from_str(p("details").unwrap()).unwrap();
    assert_eq!(details, json!({ "reason": "bad password", "attempt": 3 }));
    assert_eq!(
        m.msg.as_deref(),
        Some("denied: login by user:alice on alice from 192.0.2.7:41000")
    );
}

#[test]
fn resent_copies_are_marked_right_after_seq() {
    let (_, bytes, m) = check(sample_event(1), true);
    assert_eq!(m.param(EVENT_SD_ID, "resent"), Some("1"));
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("[rampart@32473 seq=\"1\" resent=\"1\" "),
        "{text}"
    );
}

#[test]
fn hostile_values_round_trip_through_escaping() {
    let nasty = r#"x"] [evil@1 a="b"] \"#;
    let event = NewEvent::builder(
        Category::RequestError,
        "modbus.write",
        Actor::certificate(format!("CN={nasty}")).unwrap(),
    )
    .target(nasty)
    .details(json!({ "note": nasty, "nested": { "q": "\"]" } }))
    .build()
    .unwrap();
    let (_, _, m) = check(event, false);
    assert_eq!(m.structured_data.len(), 1, "no injected element: {m:?}");
    assert_eq!(
        m.param(EVENT_SD_ID, "actor"),
        Some(format!("CN={nasty}").as_str())
    );
    assert_eq!(m.param(EVENT_SD_ID, "target"), Some(nasty));
    let details: serde_json::Value =
        serde_json::from_str(m.param(EVENT_SD_ID, "details").unwrap()).unwrap();
    assert_eq!(details["note"], nasty);
}

#[test]
fn msgid_is_printable_ascii_of_at_most_32() {
    for (action, msgid) in [
        ("login", "login"),
        ("ação.login", "a__o.login"),
        ("a b", "a_b"),
        (&"x".repeat(40), &"x".repeat(32)),
    ] {
        let event = NewEvent::builder(
            Category::ControlSystem,
            action,
            Actor::process("p").unwrap(),
        )
        .build()
        .unwrap();
        let (_, _, m) = check(event, false);
        assert_eq!(m.msgid, msgid, "{action}");
        assert_eq!(m.param(EVENT_SD_ID, "action"), Some(action));
    }
}

#[test]
fn non_ascii_msg_starts_with_a_bom() {
    let event = NewEvent::builder(
        Category::AccessControl,
        "login",
        Actor::user("jürgen").unwrap(),
    )
    .build()
    .unwrap();
    let (_, bytes, m) = check(event, false);
    let bom = "\u{FEFF}".as_bytes();
    assert!(bytes.windows(bom.len()).any(|w| w == bom), "BOM present");
    assert_eq!(m.msg.as_deref(), Some("success: login by user:jürgen"));
    let (_, bytes, _) = check(sample_event(2), false);
    assert!(
        !bytes.windows(bom.len()).any(|w| w == bom),
        "ASCII MSG has no BOM"
    );
}

#[test]
fn oversized_details_are_omitted_within_the_limit() {
    let big = "x".repeat(60_000);
    let event = NewEvent::builder(
        Category::ControlSystem,
        "upload",
        Actor::process("p").unwrap(),
    )
    .details(json!({ "blob": big }))
    .build()
    .unwrap();
    let (_, bytes, m) = check(event, false);
    assert!(bytes.len() <= DEFAULT_MESSAGE_LEN, "{} bytes", bytes.len());
    assert_eq!(m.param(EVENT_SD_ID, "details"), None);
    assert_eq!(m.param(EVENT_SD_ID, "details_omitted"), Some("60011"));
    assert_eq!(m.param(EVENT_SD_ID, "truncated"), None);
}

#[test]
fn worst_case_fields_are_truncated_within_the_smallest_limit() {
    let quotes = "\"".repeat(1024);
    let event = NewEvent::builder(
        Category::ControlSystem,
        "]".repeat(128),
        Actor::user(quotes.clone()).unwrap(),
    )
    .source_address("]".repeat(256))
    .interface("\\".repeat(64))
    .target(quotes)
    .build()
    .unwrap();
    let trail = Trail::with_checkpoints(1000);
    let stored = trail.append(event);
    let small = format().max_len(MIN_MESSAGE_LEN).unwrap();
    let bytes = small.event(&stored, true);
    assert!(bytes.len() <= MIN_MESSAGE_LEN, "{} bytes", bytes.len());
    let m = parse_message(&bytes).unwrap();
    assert_eq!(m.param(EVENT_SD_ID, "truncated"), Some("1"));
    assert_eq!(m.param(EVENT_SD_ID, "actor").unwrap().len(), 256);
    assert_eq!(m.param(EVENT_SD_ID, "resent"), Some("1"));
    assert_eq!(
        m.param(EVENT_SD_ID, "hash"),
        Some(stored.hash().to_string().as_str())
    );
}

#[test]
fn message_limits_are_checked() {
    for bad in [0, MIN_MESSAGE_LEN - 1, MAX_MESSAGE_LEN + 1] {
        assert!(
            matches!(format().max_len(bad), Err(ConfigError::Range { .. })),
            "{bad}"
        );
    }
}

#[test]
fn checkpoint_message_verifies_with_the_device_key() {
    let trail = Trail::with_checkpoints(3);
    trail.append_samples(1, 3);
    let reader = trail.store.reader().unwrap();
    let checkpoint = reader.latest_checkpoint().unwrap().unwrap();
    let key = reader.recorded_public_key().unwrap();
    let bytes = format().checkpoint(&checkpoint, key.as_deref(), false);
    let m = parse_message(&bytes).unwrap();
    assert_eq!(m.msgid, CHECKPOINT_MSGID);
    assert_eq!(m.pri, 16 * 8 + 5, "local0.notice");
    let p = |name| m.param(CHECKPOINT_SD_ID, name).unwrap();
    assert_eq!(p("seq"), "3");
    // What a SIEM does: rebuild the signed bytes and verify with its copy of the device key.
    let mut signed = b"rampart-audit/v1/checkpoint".to_vec();
    signed.extend_from_slice(&p("seq").parse::<u64>().unwrap().to_be_bytes());
    signed.extend_from_slice(&hex_decode(p("hash")));
    signed.extend_from_slice(&p("ts_us").parse::<i64>().unwrap().to_be_bytes());
    let signature = Signature::from_slice(&hex_decode(p("signature"))).unwrap();
    let trusted: DevicePublicKey = insecure_signing_key(1).public_key();
    assert!(trusted.verify_signature(&signed, &signature));
    assert_eq!(hex_decode(p("key")), trusted.to_bytes());
}

#[test]
fn gap_message_names_the_missing_range() {
    let at = Timestamp::from_unix_micros(crate::fixture::START).unwrap();
    let m = parse_message(&format().gap(4, 9, at, true)).unwrap();
    assert_eq!(m.msgid, GAP_MSGID);
    assert_eq!(m.pri, 16 * 8 + 4);
    assert_eq!(m.param(GAP_SD_ID, "first"), Some("4"));
    assert_eq!(m.param(GAP_SD_ID, "last"), Some("9"));
    assert_eq!(m.param(GAP_SD_ID, "resent"), Some("1"));
    assert_eq!(m.timestamp, "2024-01-01T00:00:00.000000Z");
}

#[test]
fn the_strict_reader_rejects_what_rfc_5424_forbids() {
    for bad in [
        &b"<192>1 - - - - - -"[..],
        b"<13>2 - - - - - -",
        b"<13>1 2024-01-01T00:00:00.0000001Z h a - m -",
        b"<13>1 - h a - m [id a=\"x]\"]",
        b"<13>1 - h a - m [id a=\"x\"",
        b"<13>1 - h a - m",
        b"<13>1 - h a - m -x",
    ] {
        assert!(
            parse_message(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    for bad in [&b"0 "[..], b"5 abc", b"3abc", b"x"] {
        assert!(
            split_frames(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
