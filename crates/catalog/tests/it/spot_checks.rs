//! Spot checks of single rows against the reference data, chosen where 4-2 differs from 3-3 or
//! where the sources disagreed (SOURCES.md, "Disagreements" and "Points where 4-2 is graded
//! differently").

use rampart_catalog::{Catalog, ComponentType, Confidence, Fr, Kind, RequirementId};

fn check(id: &str, fr: Option<u8>, parent: Option<&str>, title: &str, levels: &[u8]) {
    let r = Catalog::builtin()
        .find(id)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.fr().map(Fr::number), fr, "{id} fr");
    assert_eq!(
        r.parent().map(|p| p.to_string()).as_deref(),
        parent,
        "{id} parent"
    );
    assert_eq!(r.title(), title, "{id} title");
    let got: Vec<u8> = r
        .sl()
        .levels()
        .map(rampart_catalog::SecurityLevel::get)
        .collect();
    assert_eq!(got, levels, "{id} SL marks");
    assert!(!r.summary().is_empty(), "{id} summary");
}

#[test]
fn spot_checks_against_the_reference_data() {
    check(
        "CR 1.1",
        Some(1),
        None,
        "Human user identification and authentication",
        &[1, 2, 3, 4],
    );
    check(
        "CR 1.1 RE 2",
        Some(1),
        Some("CR 1.1"),
        "Multifactor authentication for all interfaces",
        &[3, 4],
    );
    check(
        "CR 1.7 RE 2",
        Some(1),
        Some("CR 1.7"),
        "Password lifetime restrictions for all users (human, software process, or device)",
        &[4],
    );
    check(
        "NDR 1.13 RE 1",
        Some(1),
        Some("NDR 1.13"),
        "Explicit access request approval",
        &[3, 4],
    );
    check(
        "CR 2.11 RE 1",
        Some(2),
        Some("CR 2.11"),
        "Time synchronization",
        &[2, 3, 4],
    );
    check("CR 2.12", Some(2), None, "Non-repudiation", &[1, 2, 3, 4]);
    check(
        "CR 2.12 RE 1",
        Some(2),
        Some("CR 2.12"),
        "Non-repudiation for all users",
        &[4],
    );
    check(
        "CR 3.1 RE 1",
        Some(3),
        Some("CR 3.1"),
        "Communication authentication",
        &[2, 3, 4],
    );
    check(
        "CR 3.3 RE 1",
        Some(3),
        Some("CR 3.3"),
        "Security functionality verification during normal operation",
        &[4],
    );
    check(
        "CR 3.4 RE 2",
        Some(3),
        Some("CR 3.4"),
        "Automated notification of integrity violations",
        &[3, 4],
    );
    check(
        "HDR 3.2 RE 1",
        Some(3),
        Some("HDR 3.2"),
        "Report version of code protection",
        &[2, 3, 4],
    );
    check(
        "EDR 3.14 RE 1",
        Some(3),
        Some("EDR 3.14"),
        "Authenticity of the boot process",
        &[2, 3, 4],
    );
    check(
        "CR 4.2 RE 1",
        Some(4),
        Some("CR 4.2"),
        "Erase of shared memory resources",
        &[3, 4],
    );
    check(
        "NDR 5.2 RE 2",
        Some(5),
        Some("NDR 5.2"),
        "Island mode",
        &[3, 4],
    );
    check(
        "CR 6.1 RE 1",
        Some(6),
        Some("CR 6.1"),
        "Programmatic access to audit logs",
        &[3, 4],
    );
    check("CR 6.2", Some(6), None, "Continuous monitoring", &[2, 3, 4]);
    check(
        "CR 7.8",
        Some(7),
        None,
        "Control system component inventory",
        &[2, 3, 4],
    );
    check("CCSC 3", None, None, "Least privilege", &[1, 2, 3, 4]);
}

#[test]
fn requirements_the_standard_keeps_only_for_traceability_are_absent() {
    let catalog = Catalog::builtin();
    for id in [
        "CR 2.3",
        "CR 5.4",
        "CR 7.5",
        "CR 1.6",
        "CR 5.2",
        "SAR 3.12",
        "CR 4.1 RE 1",
    ] {
        assert!(
            catalog.find(id).is_err(),
            "{id} should not be in the catalog"
        );
    }
}

#[test]
fn medium_confidence_rows_record_their_decision() {
    let medium: Vec<String> = Catalog::builtin()
        .requirements()
        .iter()
        .filter(|r| r.confidence() == Confidence::Medium)
        .inspect(|r| assert!(r.decision().is_some_and(|d| d.len() > 20), "{}", r.id()))
        .map(|r| r.id().to_string())
        .collect();
    assert_eq!(medium, ["EDR 3.2", "HDR 3.2 RE 1", "CR 3.7"]);
}

#[test]
fn component_specific_rows_apply_to_their_type_only() {
    let catalog = Catalog::builtin();
    let ndr_52: RequirementId = "NDR 5.2".parse().unwrap();
    let r = catalog.get(ndr_52).unwrap();
    assert_eq!(r.kind(), Kind::Cr);
    assert!(r.applies_to(ComponentType::Ndr));
    assert!(!r.applies_to(ComponentType::Edr));
    assert_eq!(catalog.enhancements(ndr_52).count(), 3);
    let common = catalog.find("CR 7.1").unwrap();
    assert!(ComponentType::ALL.iter().all(|t| common.applies_to(*t)));
    assert_eq!(
        catalog
            .enhancements(catalog.find("CR 4.1").unwrap().id())
            .count(),
        0
    );
}
