//! The JSON report validates against its own schema, and the committed profiles and waivers
//! against theirs.

use rampart_assess::report::json;

use crate::util::{PROFILES, assessments, errors, repo_file, validator};

#[test]
fn json_reports_validate_against_the_report_schema() {
    let schema = validator("schemas/assess/report.schema.json");
    for (name, a) in assessments() {
        let value: serde_json::Value = serde_json::from_str(&json(&a)).unwrap();
        let problems = errors(&schema, &value);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
        // The documented minimum: SL-T and SL-C keyed FR1..FR7, gaps with FR and level.
        assert!(value["sl_t"]["FR1"].is_u64() && value["sl_c"]["FR7"].is_u64());
        for gap in value["gaps"].as_array().unwrap() {
            assert!(gap["id"].is_string() && gap["fr"].is_string() && gap["level"].is_u64());
        }
    }
}

#[test]
fn the_report_schema_check_can_fail() {
    let schema = validator("schemas/assess/report.schema.json");
    let (_, a) = assessments().remove(0);
    let mut value: serde_json::Value = serde_json::from_str(&json(&a)).unwrap();
    value["sl_c"]["FR1"] = 5.into();
    assert!(!schema.is_valid(&value));
}

#[test]
fn json_reports_read_back_to_the_same_assessment() {
    for (name, a) in assessments() {
        let back = rampart_assess::report::diff::parse_report(&json(&a), "r.json").unwrap();
        assert_eq!(back, a, "{name}");
    }
}

fn toml_as_json(relative: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo_file(relative)).unwrap();
    convert(toml::from_str(&text).unwrap())
}

/// TOML as the JSON data model the schemas describe; dates become strings.
fn convert(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => J::from(f),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(convert).collect()),
        toml::Value::Table(t) => J::Object(t.into_iter().map(|(k, v)| (k, convert(v))).collect()),
    }
}

#[test]
fn committed_profiles_and_waivers_validate_against_their_schemas() {
    let profile_schema = validator("schemas/assess/profile.schema.json");
    for p in PROFILES {
        let problems = errors(&profile_schema, &toml_as_json(p));
        assert!(problems.is_empty(), "{p}: {problems:#?}");
    }
    let waiver_schema = validator("schemas/assess/waivers.schema.json");
    let problems = errors(
        &waiver_schema,
        &toml_as_json("examples/sar-hmi-studio.waivers.toml"),
    );
    assert!(problems.is_empty(), "{problems:#?}");
    let mut bad = toml_as_json(PROFILES[0]);
    bad["requirement"]["CR 2.2"]["justification"] = "".into();
    assert!(
        !profile_schema.is_valid(&bad),
        "an empty justification must be rejected"
    );
}
