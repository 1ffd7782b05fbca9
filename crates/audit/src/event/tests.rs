use serde_json::json;

use super::*;

fn actor() -> Actor {
    Actor::user("alice").unwrap()
}

#[test]
fn builder_defaults_and_severity_follows_outcome() {
    let ok = NewEvent::builder(Category::AccessControl, "login", actor())
        .build()
        .unwrap();
    assert_eq!(
        (ok.outcome, ok.severity, ok.details.as_str()),
        (Outcome::Success, Severity::Informational, "{}")
    );
    assert!(!ok.is_essential());
    let denied = NewEvent::builder(Category::AccessControl, "login", actor())
        .outcome(Outcome::Denied)
        .build()
        .unwrap();
    assert_eq!(denied.severity(), Severity::Warning);
    let explicit = NewEvent::builder(Category::AccessControl, "login", actor())
        .outcome(Outcome::Failure)
        .severity(Severity::Critical)
        .essential()
        .build()
        .unwrap();
    assert_eq!(explicit.severity(), Severity::Critical);
    assert!(explicit.is_essential());
}

#[test]
fn invalid_fields_are_rejected_with_field_and_values() {
    let cases: Vec<(EventBuilder, EventError)> = vec![
        (
            NewEvent::builder(Category::RequestError, "", actor()),
            EventError::Empty { field: "action" },
        ),
        (
            NewEvent::builder(Category::RequestError, "a".repeat(129), actor()),
            EventError::TooLong {
                field: "action",
                len: 129,
                max: 128,
            },
        ),
        (
            NewEvent::builder(Category::RequestError, "x", actor()).target("line\nforged"),
            EventError::ControlCharacter {
                field: "target",
                code: 0x0a,
                value: "line\\nforged".into(),
            },
        ),
        (
            NewEvent::builder(Category::RequestError, "x", actor()).interface("i".repeat(65)),
            EventError::TooLong {
                field: "interface",
                len: 65,
                max: 64,
            },
        ),
        (
            NewEvent::builder(Category::RequestError, "x", actor()).source_address(""),
            EventError::Empty {
                field: "source_address",
            },
        ),
        (
            NewEvent::builder(Category::RequestError, "x", actor()).details(json!([1])),
            EventError::DetailsNotObject { found: "an array" },
        ),
        (
            NewEvent::builder(Category::RequestError, "x", actor())
                .details(json!({ "blob": "z".repeat(70_000) })),
            EventError::DetailsTooLarge {
                len: 70_011,
                max: 65_536,
            },
        ),
    ];
    for (builder, expected) in cases {
        assert_eq!(builder.build().unwrap_err(), expected);
    }
    assert_eq!(
        Actor::user("").unwrap_err(),
        EventError::Empty { field: "actor" }
    );
    assert!(Actor::certificate("CN=x\u{7f}").is_err());
}

#[test]
fn error_messages_carry_the_values() {
    let err = EventError::TooLong {
        field: "action",
        len: 129,
        max: 128,
    };
    assert_eq!(
        err.to_string(),
        "event field 'action' is 129 bytes long (limit 128)"
    );
}

#[test]
fn body_encoding_is_the_canonical_encoding_of_the_columns() {
    let event = NewEvent::builder(Category::ControlSystem, "modbus.write", actor())
        .target("hr 10")
        .details(json!({ "b": 1, "a": 2 }))
        .build()
        .unwrap();
    let mut expected = Encoder::default();
    for text in ["user", "alice"] {
        expected.text(text);
    }
    expected.null();
    expected.null();
    expected.text("control_system");
    expected.text("modbus.write");
    expected.text("hr 10");
    expected.text("success");
    expected.int(6);
    expected.text(r#"{"a":2,"b":1}"#);
    assert_eq!(event.body, expected.into_bytes());
}

#[test]
fn vocabularies_round_trip_through_text_and_serde() {
    for category in Category::ALL {
        assert_eq!(category.as_str().parse::<Category>(), Ok(*category));
        let json = serde_json::to_string(category).unwrap();
        assert_eq!(serde_json::from_str::<Category>(&json).unwrap(), *category);
    }
    for outcome in Outcome::ALL {
        assert_eq!(outcome.to_string().parse::<Outcome>(), Ok(*outcome));
    }
    for kind in ActorKind::ALL {
        assert_eq!(kind.to_string().parse::<ActorKind>(), Ok(*kind));
    }
    assert_eq!(Category::ALL.len(), 7, "the seven CR 2.8 categories");
    let err = "login".parse::<Category>().unwrap_err();
    assert!(err.to_string().contains("'login'") && err.to_string().contains("audit_log"));
}

#[test]
fn severities_parse_from_names_aliases_and_numbers() {
    for severity in Severity::ALL {
        assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
        assert_eq!(
            severity.code().to_string().parse::<Severity>(),
            Ok(severity)
        );
        assert_eq!(Severity::from_code(severity.code()), Some(severity));
    }
    assert_eq!("ERR".parse::<Severity>(), Ok(Severity::Error));
    assert_eq!("info".parse::<Severity>(), Ok(Severity::Informational));
    assert_eq!(
        "8".parse::<Severity>(),
        Err(ParseError::Severity("8".into()))
    );
    assert!(Severity::Error.is_at_least(Severity::Warning));
    assert!(!Severity::Notice.is_at_least(Severity::Warning));
}

#[test]
fn stored_events_serialize_to_the_export_shape() {
    let event = AuditEvent {
        seq: 7,
        timestamp: Timestamp::from_unix_micros(1_700_000_000_000_001).unwrap(),
        time_source: TimeSource::System,
        clock_sync: ClockSync::Synchronized,
        actor: Actor::certificate("CN=hmi-1").unwrap(),
        source_address: Some("192.0.2.7:50211".into()),
        interface: None,
        category: Category::ControlSystem,
        action: "modbus.write".into(),
        target: None,
        outcome: Outcome::Denied,
        severity: Severity::Warning,
        details: json!({ "fc": 16 }).as_object().unwrap().clone(),
        hash: AuditEntryHash::genesis(),
    };
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({
            "seq": 7,
            "timestamp": "2023-11-14T22:13:20.000001Z",
            "time_source": "system",
            "clock_sync": "synchronized",
            "actor": { "kind": "certificate", "name": "CN=hmi-1" },
            "source_address": "192.0.2.7:50211",
            "interface": null,
            "category": "control_system",
            "action": "modbus.write",
            "target": null,
            "outcome": "denied",
            "severity": "warning",
            "details": { "fc": 16 },
            "hash": AuditEntryHash::genesis().to_string(),
        })
    );
}
