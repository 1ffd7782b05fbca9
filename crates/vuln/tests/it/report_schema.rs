//! The JSON report validates against its committed JSON Schema, and the committed schema is
//! the one the types generate; the SARIF report validates against SARIF 2.1.0.

use rampart_vuln::{Match, Options, load, match_inventory, report};

use crate::util::{data, repo};

const SCHEMA: &str = "schemas/vuln/matches.schema.json";

/// A validator for a schema file of the repository.
fn validator(relative: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo(relative)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Validates `text` (JSON) and returns the value.
fn check(validator: &jsonschema::Validator, text: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    value
}

/// The plant inventory against every CSAF and OSV file of the test data.
fn plant_matches() -> Vec<Match> {
    let inventory = load::inventory(&data("sbom/plant.cdx.json")).unwrap();
    let mut advisories = load::csaf(&data("csaf")).unwrap();
    advisories.extend(load::osv(&data("osv")).unwrap());
    match_inventory(&inventory, &advisories, &Options::default())
}

#[test]
fn committed_schema_is_generated_from_the_types() {
    let generated = report::json_schema();
    let path = repo(SCHEMA);
    if std::env::var_os("RAMPART_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{SCHEMA} is stale: run RAMPART_UPDATE_SCHEMA=1 cargo test -p rampart-vuln --test it schema"
    );
}

#[test]
fn json_report_validates() {
    let validator = validator(SCHEMA);
    let value = check(&validator, &report::json(&plant_matches()));
    let first = &value["matches"][0];
    for key in [
        "component",
        "advisory",
        "cve",
        "status",
        "rule",
        "confidence",
        "cvss",
        "remediations",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    // An empty report is valid too.
    check(&validator, &report::json(&[]));
}

#[test]
fn sarif_report_validates() {
    let validator = validator("schemas/sarif-2.1.0/sarif-schema-2.1.0.json");
    let value = check(
        &validator,
        &report::sarif(&plant_matches(), "plant.cdx.json"),
    );
    assert!(!value["runs"][0]["results"].as_array().unwrap().is_empty());
}
