//! The measurement on advisories the matcher was not written against (tests/data/csaf-2025,
//! ICSA-25-035-01 … -04), with an inventory that names the products as an integrator would
//! and carries the true status of each component (property `x-truth`).

use std::collections::BTreeMap;

use rampart_vuln::{Options, Status, load, match_inventory};

use crate::util::data;

#[test]
fn no_affected_component_is_missed() {
    let inventory = load::inventory(&data("sbom/plant-2025.cdx.json")).unwrap();
    let advisories = load::csaf(&data("csaf-2025")).unwrap();
    assert_eq!(advisories.len(), 4);
    let matches = match_inventory(&inventory, &advisories, &Options::default());
    let found: BTreeMap<&str, Status> = matches
        .iter()
        .map(|m| (m.component.as_str(), m.status))
        .collect();
    let truth: BTreeMap<String, String> = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(data("sbom/plant-2025.cdx.json")).unwrap(),
    )
    .unwrap()["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let truth = c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "x-truth")
                .unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned();
            (c["bom-ref"].as_str().unwrap().to_owned(), truth)
        })
        .collect();
    for (component, truth) in &truth {
        let got = found.get(component.as_str()).copied();
        if truth == "affected" {
            // Fail-closed: every affected component is reported, affected or to investigate.
            assert!(
                matches!(
                    got,
                    Some(Status::KnownAffected | Status::UnderInvestigation)
                ),
                "{component}: {got:?}"
            );
        }
        if truth.starts_with("fixed") {
            assert_eq!(got, Some(Status::Fixed), "{component}");
        }
    }
    // What the matcher decides today, component by component (docs/vulnerabilities.md).
    let expected = [
        ("evlink", Status::KnownAffected),
        ("guard-old", Status::KnownAffected),
        // Not "guard-patched" (34.015): the advisory gives one range per release line
        // (<V33.017, <V34.014, …), and its own line's fix is V34.014. Read range by range,
        // 34.015 < V36.011 made it a false positive until release lines were read as such.
        ("m580", Status::KnownAffected),
        ("m580-new", Status::Fixed),
        ("m580s", Status::KnownAffected),
        ("nor", Status::Fixed),
        ("signum", Status::UnderInvestigation),
        ("wti-nps", Status::UnderInvestigation),
    ];
    assert_eq!(found.into_iter().collect::<Vec<_>>(), expected);
}
