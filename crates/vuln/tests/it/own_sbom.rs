//! Rampart applies vulnerability management to itself: its committed SBOM against the
//! RustSec advisories of the crates it contains (tests/data/rustsec).

use rampart_vuln::{Options, Rule, Status, load, match_inventory};

use crate::util::{data, repo};

#[test]
fn rampart_sbom_against_rustsec() {
    let inventory = load::inventory(&repo("crates/mgmt/sbom/rampart.cdx.json")).unwrap();
    assert!(inventory.components.len() > 100);
    let advisories = load::rustsec(&data("rustsec")).unwrap();
    // 74 files; withdrawn and informational (unmaintained, notice) ones are skipped.
    assert!(advisories.len() > 40, "{}", advisories.len());
    let matches = match_inventory(&inventory, &advisories, &Options::default());
    // Every match is by purl, decided by semver: nothing is left to investigate.
    for m in &matches {
        assert_eq!(m.rule, Rule::Purl, "{m:?}");
        assert_ne!(m.status, Status::UnderInvestigation, "{m:?}");
    }
    let affected: Vec<String> = matches
        .iter()
        .filter(|m| m.status == Status::KnownAffected)
        .map(|m| {
            format!(
                "{} {}: {}",
                m.component_name,
                m.component_version.as_deref().unwrap_or(""),
                m.advisory
            )
        })
        .collect();
    // The build is clean: no crate in Cargo.lock is in an affected range of these advisories.
    // (cargo-deny checks the same with the full database in scripts/deny.)
    assert!(affected.is_empty(), "{affected:#?}");
}

#[test]
fn an_old_tokio_is_found() {
    let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
        {"bom-ref":"pkg:cargo/tokio@1.38.1","name":"tokio","version":"1.38.1","purl":"pkg:cargo/tokio@1.38.1"},
        {"bom-ref":"pkg:cargo/tokio@1.38.2","name":"tokio","version":"1.38.2","purl":"pkg:cargo/tokio@1.38.2"},
        {"bom-ref":"pkg:cargo/spin@0.5.0","name":"spin","version":"0.5.0","purl":"pkg:cargo/spin@0.5.0"}]}"#;
    let inventory = rampart_vuln::Inventory::from_json(sbom, "t").unwrap();
    let advisories = load::rustsec(&data("rustsec")).unwrap();
    let matches = match_inventory(&inventory, &advisories, &Options::default());
    let found: Vec<(&str, &str, Status)> = matches
        .iter()
        .map(|m| (m.component.as_str(), m.advisory.as_str(), m.status))
        .collect();
    assert!(
        found.contains(&(
            "pkg:cargo/tokio@1.38.1",
            "RUSTSEC-2025-0023",
            Status::KnownAffected
        )),
        "{found:?}"
    );
    assert!(
        !found
            .iter()
            .any(|(c, a, _)| *c == "pkg:cargo/tokio@1.38.2" && *a == "RUSTSEC-2025-0023")
    );
    // RUSTSEC-2019-0013 (spin, CVE-2019-16137) has a CVSS vector: scored through the cvss crate.
    let spin = matches
        .iter()
        .find(|m| m.advisory == "RUSTSEC-2019-0013")
        .unwrap();
    assert_eq!(spin.cve.as_deref(), Some("CVE-2019-16137"));
    assert_eq!(spin.cvss, Some(7.5));
    assert_eq!(spin.remediations[0].category, "vendor_fix");
}

#[test]
fn osv_record_matches_like_its_rustsec_twin() {
    let inventory = load::inventory(&data("sbom/plant.cdx.json")).unwrap();
    let advisories = load::osv(&data("osv")).unwrap();
    let matches = match_inventory(&inventory, &advisories, &Options::default());
    assert_eq!(matches.len(), 1, "{matches:?}");
    let m = &matches[0];
    assert_eq!(
        (m.component.as_str(), m.status, m.rule),
        ("tokio", Status::KnownAffected, Rule::Purl)
    );
    assert_eq!(m.advisory, "GHSA-rr8g-9fpq-6wmg");
    assert!(m.ids.contains(&"RUSTSEC-2025-0023".to_owned()));
    assert!(m.cvss.is_some());
}
