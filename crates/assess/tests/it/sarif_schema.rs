//! The SARIF log validates against the SARIF 2.1.0 schema, and every result is anchored at a
//! real line of the profile, as code-scanning consumers require.

use rampart_assess::report::sarif::sarif;

use crate::util::{assessments, errors, repo_file, validator};

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let schema = validator("schemas/sarif-2.1.0/sarif-schema-2.1.0.json");
    for (name, a) in assessments() {
        let log = sarif(&a);
        let problems = errors(&schema, &log);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}

#[test]
fn the_sarif_schema_check_can_fail() {
    let schema = validator("schemas/sarif-2.1.0/sarif-schema-2.1.0.json");
    let (_, a) = assessments().remove(0);
    let mut log = sarif(&a);
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!schema.is_valid(&log));
}

#[test]
fn every_result_points_at_the_requirement_entry_or_the_component_table() {
    for (name, a) in assessments() {
        let log = sarif(&a);
        let text = std::fs::read_to_string(repo_file(&a.profile.path)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(
            results
                .iter()
                .filter(|r| r.get("suppressions").is_none() && r["level"] == "error")
                .count(),
            a.gaps.len(),
            "{name}"
        );
        for result in results {
            let location = &result["locations"][0]["physicalLocation"];
            assert_eq!(location["artifactLocation"]["uri"], a.profile.path.as_str());
            let line = location["region"]["startLine"].as_u64().unwrap();
            let column = location["region"]["startColumn"].as_u64().unwrap();
            let at =
                &lines[usize::try_from(line).unwrap() - 1][usize::try_from(column).unwrap() - 1..];
            let id = result["ruleId"].as_str().unwrap();
            let canonical = a
                .requirements
                .iter()
                .chain(&a.constraints)
                .find(|r| r.id.oscal_id() == id)
                .unwrap();
            assert!(
                at.starts_with(&format!("\"{}\"", canonical.id))
                    || (canonical.declared.is_none() && at.starts_with("[component]")),
                "{name} {id}: line {line} column {column} is {at:?}"
            );
        }
    }
}
