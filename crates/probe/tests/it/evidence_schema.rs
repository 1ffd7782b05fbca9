//! The evidence file validates against its committed JSON Schema, which is the one the
//! types generate; SARIF output validates against SARIF 2.1.0 with each result carrying its
//! requirement ids. `RAMPART_UPDATE_SCHEMAS=1` rewrites the committed schema.

use std::path::{Path, PathBuf};

use rampart_gateway::sim::SimulatedPlc;
use serde_json::Value;

use crate::util::{closed_port, probe};

const SCHEMA: &str = "schemas/probe/evidence.schema.json";

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn validator(relative: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo_file(relative)).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .take(20)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_the_one_the_types_generate() {
    let generated = rampart_probe::evidence::schema();
    let path = repo_file(SCHEMA);
    if std::env::var_os("RAMPART_UPDATE_SCHEMAS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{SCHEMA} is stale: regenerate it with RAMPART_UPDATE_SCHEMAS=1 cargo test -p \
         rampart-probe --test it schema"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn evidence_and_sarif_of_a_real_run_validate_against_their_schemas() {
    let plc = SimulatedPlc::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let targets = [
        format!("modbus://{}", plc.local_addr()),
        format!("tls://{}", closed_port()),
    ];
    let evidence = probe(&targets, &[], false).await;
    plc.shutdown().await;
    let value: Value = serde_json::from_str(&evidence.to_json()).unwrap();
    let schema = validator(SCHEMA);
    let problems = errors(&schema, &value);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(value["format"], "rampart-probe-evidence");
    assert_eq!(value["version"], 1);
    for check in value["checks"].as_array().unwrap() {
        assert!(["met", "not_met", "not_tested"].contains(&check["outcome"].as_str().unwrap()));
        assert!(!check["requirements"].as_array().unwrap().is_empty());
    }
    // The schema check can fail.
    let mut broken = value.clone();
    broken["checks"][0]["outcome"] = "maybe".into();
    assert!(!schema.is_valid(&broken));

    let sarif = rampart_probe::report::sarif(&evidence);
    let sarif_schema = validator("schemas/sarif-2.1.0/sarif-schema-2.1.0.json");
    let problems = errors(&sarif_schema, &sarif);
    assert!(problems.is_empty(), "{problems:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), evidence.checks.len());
    for result in results {
        let requirements = result["properties"]["requirements"].as_array().unwrap();
        assert!(!requirements.is_empty());
        let text = result["message"]["text"].as_str().unwrap();
        assert!(
            requirements
                .iter()
                .all(|r| text.contains(r.as_str().unwrap())),
            "{text}"
        );
        assert!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
}
