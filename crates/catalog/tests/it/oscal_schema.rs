//! The OSCAL export validates against the official OSCAL 1.2.1 catalog schema.

use rampart_catalog::{Catalog, oscal};

use crate::util::repo_file;

fn catalog_schema() -> jsonschema::Validator {
    let path = repo_file("schemas/oscal-1.2.1/oscal_catalog_schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

#[test]
fn oscal_catalog_validates_against_the_official_schema() {
    let document = oscal::catalog_document(Catalog::builtin());
    let validator = catalog_schema();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(document["catalog"]["metadata"]["oscal-version"], "1.2.1");
}

#[test]
fn the_schema_check_can_fail() {
    let mut document = oscal::catalog_document(Catalog::builtin());
    document["catalog"]["groups"][1]["controls"][0]["id"] = "CR 1.1".into();
    assert!(
        !catalog_schema().is_valid(&document),
        "an id with a space must be rejected"
    );
}

#[test]
fn oscal_structure_nests_enhancements_under_their_requirement() {
    /// How many controls, at any depth.
    fn count(controls: &serde_json::Value) -> usize {
        controls
            .as_array()
            .map_or(0, |cs| cs.iter().map(|c| 1 + count(&c["controls"])).sum())
    }
    let document = oscal::catalog_document(Catalog::builtin());
    let groups = document["catalog"]["groups"].as_array().unwrap();
    let ids: Vec<&str> = groups.iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "ccsc", "fr-1", "fr-2", "fr-3", "fr-4", "fr-5", "fr-6", "fr-7"
        ]
    );
    let fr1 = groups[1]["controls"].as_array().unwrap();
    let cr11 = &fr1[0];
    assert_eq!(cr11["id"], "cr-1.1");
    let res: Vec<&str> = cr11["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(res, ["cr-1.1-re-1", "cr-1.1-re-2"]);
    // Every requirement appears exactly once, at any depth.
    let total: usize = groups.iter().map(|g| count(&g["controls"])).sum();
    assert_eq!(total, 126);
    // The same data gives the same document.
    assert_eq!(document, oscal::catalog_document(Catalog::builtin()));
}

#[test]
fn filtered_oscal_catalogs_validate_and_hold_the_selection() {
    use rampart_catalog::{ComponentType, Fr, SecurityLevel, Selection};
    let validator = catalog_schema();
    let selections = [
        Selection {
            component_type: Some(ComponentType::Ndr),
            level: SecurityLevel::new(2),
            fr: None,
        },
        Selection {
            component_type: Some(ComponentType::Sar),
            level: SecurityLevel::new(1),
            fr: Some(Fr::Rdf),
        },
        Selection {
            component_type: None,
            level: None,
            fr: Some(Fr::Dc),
        },
    ];
    for selection in selections {
        let document = oscal::catalog_document_for(Catalog::builtin(), &selection);
        assert!(validator.is_valid(&document), "{selection:?}");
        let text = document.to_string();
        let selected = Catalog::builtin().select(&selection);
        for r in Catalog::builtin().requirements() {
            let needle = format!("\"id\":\"{}\"", r.id().oscal_id());
            assert_eq!(
                text.contains(&needle),
                selected.contains(&r),
                "{} in {selection:?}",
                r.id()
            );
        }
    }
}
