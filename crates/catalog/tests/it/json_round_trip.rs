//! The documented JSON form of requirements reads back into the same typed values.

use rampart_catalog::{Catalog, Requirement};

#[test]
fn json_round_trips_through_the_typed_api() {
    let catalog = Catalog::builtin();
    let json = serde_json::to_string(catalog.requirements()).unwrap();
    let back: Vec<Requirement> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.as_slice(), catalog.requirements());
}

#[test]
fn json_carries_the_documented_fields() {
    let catalog = Catalog::builtin();
    let value = serde_json::to_value(catalog.find("NDR 5.2 RE 1").unwrap()).unwrap();
    assert_eq!(value["id"], "NDR 5.2 RE 1");
    assert_eq!(value["kind"], "RE");
    assert_eq!(value["fr"], "FR5");
    assert_eq!(value["parent"], "NDR 5.2");
    assert_eq!(value["component_types"], serde_json::json!(["NDR"]));
    assert_eq!(value["title"], "Deny all, permit by exception");
    assert_eq!(value["sl"], serde_json::json!([2, 3, 4]));
    assert!(value["summary"].as_str().is_some_and(|s| !s.is_empty()));

    let common = serde_json::to_value(catalog.find("CR 1.1").unwrap()).unwrap();
    assert_eq!(common["parent"], serde_json::Value::Null);
    assert_eq!(
        common["component_types"],
        serde_json::json!(["SAR", "EDR", "HDR", "NDR"])
    );
    let ccsc = serde_json::to_value(catalog.find("CCSC 1").unwrap()).unwrap();
    assert_eq!(
        (&ccsc["kind"], &ccsc["fr"]),
        (&serde_json::json!("CCSC"), &serde_json::Value::Null)
    );
}

#[test]
fn tampered_json_is_rejected_on_read() {
    let catalog = Catalog::builtin();
    let mut value = serde_json::to_value(catalog.find("CR 1.1 RE 1").unwrap()).unwrap();
    value["fr"] = "FR2".into();
    let err = serde_json::from_value::<Requirement>(value)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fr is FR2 but the id says FR1"), "{err}");
}
