//! The three OSCAL documents validate against the official OSCAL 1.2.1 schemas.

use rampart_assess::report::oscal::{Document, document};

use crate::util::{assessments, errors, validator};

#[test]
fn oscal_documents_validate_against_the_official_schemas() {
    for which in Document::ALL {
        let schema = validator(&format!("schemas/oscal-1.2.1/{}", which.schema_file()));
        for (name, a) in assessments() {
            let doc = document(&a, which);
            let problems = errors(&schema, &doc);
            assert!(problems.is_empty(), "{name} {which:?}: {problems:#?}");
        }
    }
}

#[test]
fn the_oscal_schema_check_can_fail() {
    let (_, a) = assessments().remove(0);
    let schema = validator("schemas/oscal-1.2.1/oscal_component_schema.json");
    let mut doc = document(&a, Document::ComponentDefinition);
    doc["component-definition"]["components"][0]["control-implementations"][0]["implemented-requirements"]
        [0]["control-id"] = "CR 1.1".into();
    assert!(
        !schema.is_valid(&doc),
        "a control id with a space must be rejected"
    );
}

#[test]
fn oscal_uuids_are_stable_and_unique() {
    let first = assessments();
    let second = assessments();
    for ((name, a), (_, b)) in first.iter().zip(&second) {
        for which in Document::ALL {
            let (x, y) = (document(a, which), document(b, which));
            assert_eq!(x, y, "{name} {which:?} differs between runs");
            let text = x.to_string();
            let mut uuids: Vec<&str> = text
                .match_indices("\"uuid\":\"")
                .map(|(i, m)| &text[i + m.len()..i + m.len() + 36])
                .collect();
            let n = uuids.len();
            uuids.sort_unstable();
            uuids.dedup();
            assert_eq!(uuids.len(), n, "{name} {which:?}: duplicate uuid");
        }
    }
}

#[test]
fn the_poam_has_one_item_per_gap_and_the_results_one_finding_per_requirement() {
    for (name, a) in assessments() {
        let poam = document(&a, Document::Poam);
        let items = poam["plan-of-action-and-milestones"]["poam-items"]
            .as_array()
            .unwrap();
        assert_eq!(
            items.len(),
            (a.gaps.len() + a.waived.len()).max(1),
            "{name}"
        );
        let ar = document(&a, Document::AssessmentResults);
        let findings = ar["assessment-results"]["results"][0]["findings"]
            .as_array()
            .unwrap();
        assert_eq!(
            findings.len(),
            a.requirements.len() + a.constraints.len(),
            "{name}"
        );
        let unsatisfied = findings
            .iter()
            .filter(|f| f["target"]["status"]["state"] == "not-satisfied")
            .count();
        let not_counting = a
            .requirements
            .iter()
            .chain(&a.constraints)
            .filter(|r| !r.counts)
            .count();
        assert_eq!(unsatisfied, not_counting, "{name}");
    }
}
