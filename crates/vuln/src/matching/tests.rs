//! One test per matching rule, with the real strings of the CSAF advisories in
//! tests/data/csaf, including the components that must not match.

use super::*;
use crate::advisory::Status::{Fixed, KnownAffected, KnownNotAffected, UnderInvestigation};
use crate::csaf;

/// A component: vendor, name, version and model numbers.
struct C<'a> {
    vendor: Option<&'a str>,
    name: &'a str,
    version: &'a str,
    models: &'a [&'a str],
}

fn c<'a>(vendor: &'a str, name: &'a str, version: &'a str) -> C<'a> {
    C {
        vendor: Some(vendor),
        name,
        version,
        models: &[],
    }
}

fn advisory(file: &str) -> Advisory {
    let path = format!("{}/tests/data/csaf/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    csaf::read(&text, file).unwrap()
}

/// Matches one component against one advisory: (CVE, status, rule) per match.
fn run(file: &str, component: &C<'_>) -> Vec<(String, Status, Rule)> {
    let mut json = serde_json::json!({
        "bom-ref": "x", "name": component.name, "version": component.version,
        "properties": component.models.iter()
            .map(|m| serde_json::json!({"name": "rampart:model-number", "value": m}))
            .collect::<Vec<_>>(),
    });
    if let Some(v) = component.vendor {
        json["manufacturer"] = serde_json::json!({ "name": v });
    }
    let sbom =
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [json]});
    let inventory = Inventory::from_json(&sbom.to_string(), "test").unwrap();
    let mut out: Vec<_> = match_inventory(&inventory, &[advisory(file)], &Options::default())
        .into_iter()
        .map(|m| (m.cve.unwrap_or_default(), m.status, m.rule))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every match has `status` and `rule`; there is at least one.
fn check(file: &str, component: &C<'_>, status: Status, rule: Rule) {
    let found = run(file, component);
    assert!(
        !found.is_empty(),
        "{} {}: no match in {file}",
        component.name,
        component.version
    );
    for (cve, s, r) in &found {
        assert_eq!(
            (*s, *r),
            (status, rule),
            "{cve} of {file} for {} {}",
            component.name,
            component.version
        );
    }
}

/// Matches an inventory given as CycloneDX text against one advisory.
fn match_text(advisory: Advisory, sbom: &str) -> Vec<Match> {
    let inventory = Inventory::from_json(sbom, "t").unwrap();
    match_inventory(&inventory, &[advisory], &Options::default())
}

/// Component, status and rule of each match.
fn decided(matches: &[Match]) -> Vec<(&str, Status, Rule)> {
    matches
        .iter()
        .map(|m| (m.component.as_str(), m.status, m.rule))
        .collect()
}

fn check_none(file: &str, component: &C<'_>) {
    let found = run(file, component);
    assert!(
        found.is_empty(),
        "{} {} must not match {file}: {found:?}",
        component.name,
        component.version
    );
}

#[test]
fn every_reference_advisory_parses() {
    let dir = format!("{}/tests/data/csaf", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let advisory = csaf::read(&text, &path.display().to_string()).unwrap();
        assert!(!advisory.products.is_empty(), "{}", path.display());
        n += 1;
    }
    assert_eq!(n, 21);
}

#[test]
fn rule_vendor_product() {
    // ICSA-23-166-08: "Siemens" / "SIMATIC PCS 7" / vers:all/*; the SBOM says "Siemens AG"
    // and spells the product with other case and punctuation.
    check(
        "icsa-23-166-08.json",
        &c("Siemens AG", "SIMATIC PCS 7", "V9.1"),
        KnownAffected,
        Rule::VendorProduct,
    );
    check(
        "icsa-23-166-08.json",
        &c("SIEMENS", "Simatic PCS-7", "V9.1 SP1"),
        KnownAffected,
        Rule::VendorProduct,
    );
    // Must not match: STEP 7 V5 at V5.7 is outside vers:all/<V5.7.
    check_none(
        "icsa-23-166-08.json",
        &c("Siemens", "SIMATIC STEP 7 V5", "V5.7"),
    );
    check(
        "icsa-23-166-08.json",
        &c("Siemens", "SIMATIC STEP 7 V5", "V5.6 SP2"),
        KnownAffected,
        Rule::VendorProduct,
    );
    // ICSA-19-003-02 (Yokogawa): R-versions in an interval.
    check(
        "icsa-19-003-02.json",
        &c("Yokogawa Electric Corporation", "CENTUM VP", "R5.01.00"),
        KnownAffected,
        Rule::VendorProduct,
    );
    check_none(
        "icsa-19-003-02.json",
        &c("Yokogawa", "CENTUM VP", "R6.04.00"),
    );
}

#[test]
fn rule_vendor_product_normalises_legal_suffixes() {
    // ICSA-23-243-04: vendor "Digi International, Inc. " (trailing space), products named
    // with the vendor's word in front: "Digi RealPort for Windows".
    check(
        "icsa-23-243-04.json",
        &c(
            "Digi International Inc",
            "RealPort for Windows",
            "4.8.400.0",
        ),
        KnownAffected,
        Rule::VendorProduct,
    );
    check(
        "icsa-23-243-04.json",
        &c(
            "DIGI INTERNATIONAL INC.",
            "Digi RealPort for Linux",
            "1.9-39",
        ),
        KnownAffected,
        Rule::VendorProduct,
    );
    check_none(
        "icsa-23-243-04.json",
        &c("Digi International", "RealPort for Windows", "4.8.489.0"),
    );
    // Must not match: the same product name from another vendor.
    check_none(
        "icsa-23-243-04.json",
        &c("Lantronix", "RealPort for Windows", "4.8.400.0"),
    );
    // A vendor spelling with the full legal form of Phoenix Contact.
    check(
        "icsa-19-155-02.json",
        &C {
            vendor: Some("Phoenix Contact GmbH & Co. KG"),
            name: "FL NAT SMCS 8TX",
            version: "1.0",
            models: &["2989378"],
        },
        KnownAffected,
        Rule::ModelNumber,
    );
}

#[test]
fn rule_vendor_aliases() {
    // ICSA-23-131-15: Rockwell Automation; the SBOM names the brand Allen-Bradley.
    check(
        "icsa-23-131-15.json",
        &c("Allen-Bradley", "ThinManager", "13.0"),
        KnownAffected,
        Rule::VendorProduct,
    );
    check_none(
        "icsa-23-131-15.json",
        &c("Allen-Bradley", "ThinManager", "13.0.1"),
    );
    // ICSA-22-277-02: Hitachi Energy, formerly ABB Power Grids.
    check(
        "icsa-22-277-02.json",
        &c("ABB Power Grids", "MSM", "2.1"),
        KnownAffected,
        Rule::VendorProduct,
    );
    // Must not match: Honeywell's WIN-PAK under another vendor.
    check_none("icsa-20-056-05.json", &c("Siemens", "WIN-PAK", "4.7.0"));
}

#[test]
fn rule_model_number() {
    // ICSA-22-314-11: model_numbers ["7KG9501-0AA31-2AA1"], range "< V2.50".
    let q100 = |version, models| C {
        vendor: Some("Siemens"),
        name: "SICAM Q100",
        version,
        models,
    };
    check(
        "icsa-22-314-11.json",
        &q100("V2.40", &["7KG9501-0AA31-2AA1"]),
        KnownAffected,
        Rule::ModelNumber,
    );
    check(
        "icsa-22-314-11.json",
        &q100("V2.40", &["7kg9501-0aa01-2aa1"]),
        KnownAffected,
        Rule::ModelNumber,
    );
    // Must not match: fixed version, or a model number the advisory does not list.
    check_none(
        "icsa-22-314-11.json",
        &q100("V2.50", &["7KG9501-0AA31-2AA1"]),
    );
    check_none(
        "icsa-22-314-11.json",
        &q100("V2.40", &["7KG9502-0AA31-2AA1"]),
    );
    // ICSA-19-155-02: Phoenix Contact prints the article number as product_version.
    check(
        "icsa-19-155-02.json",
        &C {
            vendor: Some("Phoenix Contact"),
            name: "FL NAT SMN 8TX-M",
            version: "1.0",
            models: &["2702443"],
        },
        KnownAffected,
        Rule::ModelNumber,
    );
}

#[test]
fn rule_vendor_series() {
    // ICSA-20-056-03: "PT-7528 series" <= 4.0.
    check(
        "icsa-20-056-03.json",
        &c("Moxa Inc.", "PT-7528", "3.9"),
        KnownAffected,
        Rule::VendorSeries,
    );
    check_none("icsa-20-056-03.json", &c("Moxa", "PT-7528", "4.1"));
    // Must not match: PT-7828 is another series (and is listed separately with <= 3.9).
    check_none("icsa-20-056-03.json", &c("Moxa", "PT-7828", "4.0"));
}

#[test]
fn rule_partial_name_is_under_investigation() {
    // A variant of a series is probably, not certainly, the series.
    check(
        "icsa-20-056-03.json",
        &c("Moxa", "PT-7528-24TX-HV", "3.0"),
        UnderInvestigation,
        Rule::PartialName,
    );
    // ICSA-22-314-11: "POWER METER SICAM Q100 (7KG9501-0AA31-2AA1)" without a model number
    // in the SBOM.
    check(
        "icsa-22-314-11.json",
        &c("Siemens", "SICAM Q100", "V2.40"),
        UnderInvestigation,
        Rule::PartialName,
    );
}

#[test]
fn rule_product_name_without_vendor_is_under_investigation() {
    // ICSA-23-152-01: Advantech WebAccess/SCADA <= 9.1.3; the SBOM names no vendor.
    let component = C {
        vendor: None,
        name: "WebAccess/SCADA",
        version: "9.1.3",
        models: &[],
    };
    check(
        "icsa-23-152-01.json",
        &component,
        UnderInvestigation,
        Rule::ProductName,
    );
}

#[test]
fn undecidable_versions_are_under_investigation() {
    // ICSA-19-094-01: "<= January 2019" is not a range of versions.
    check(
        "icsa-19-094-01.json",
        &c("OMRON Corporation", "Common Components", "2018.12"),
        UnderInvestigation,
        Rule::VendorProduct,
    );
    // ICSA-23-082-05: a list of model names where the versions belong.
    check(
        "icsa-23-082-05.json",
        &c("ABB", "Infinity DC Power Plant", "1.0"),
        UnderInvestigation,
        Rule::VendorProduct,
    );
    // ICSMA-17-255-01: B.06.18 against a version of another scheme.
    check(
        "icsma-17-255-01.json",
        &c(
            "Philips",
            "IntelliVue MX40 Patient Worn Monitor (WLAN only)",
            "A.07.00",
        ),
        UnderInvestigation,
        Rule::VendorProduct,
    );
    check_none(
        "icsma-17-255-01.json",
        &c("Philips", "IntelliVue MX40 Patient Worn Monitor", "B.06.18"),
    );
}

#[test]
fn fixed_and_not_affected_only_when_nothing_says_affected() {
    // ICSA-24-289-02: Data Center Expert <= 8.1.1.3 affected, 8.2 fixed.
    check(
        "icsa-24-289-02.json",
        &c("Schneider Electric SE", "Data Center Expert", "8.2"),
        Fixed,
        Rule::VendorProduct,
    );
    check(
        "icsa-24-289-02.json",
        &c("Schneider Electric", "Data Center Expert", "8.1.1.3"),
        KnownAffected,
        Rule::VendorProduct,
    );
    // VA-24-201-01 (csaf_vex): AdminerEvo 4.8.4 fixed for two CVEs, not named for the third.
    let found = run("va-24-201-01.json", &c("AdminerEvo", "AdminerEvo", "4.8.4"));
    assert_eq!(
        found,
        [
            ("CVE-2023-45195".to_owned(), Fixed, Rule::VendorProduct),
            ("CVE-2023-45196".to_owned(), Fixed, Rule::VendorProduct),
        ]
    );
    check(
        "va-24-201-01.json",
        &c("AdminerEvo", "AdminerEvo", "4.8.2"),
        KnownAffected,
        Rule::VendorProduct,
    );
    // ICSA-23-243-04: Digi 6350-SR known_not_affected (vers:all/*).
    check(
        "icsa-23-243-04.json",
        &c("Digi International", "6350-SR", "1.0"),
        KnownNotAffected,
        Rule::VendorProduct,
    );
    // ICSA-19-211-01: "VxWorks Cert" is not affected.
    check(
        "icsa-19-211-01.json",
        &c("Wind River", "VxWorks Cert", "6.6"),
        KnownNotAffected,
        Rule::VendorProduct,
    );
}

#[test]
fn a_possible_affected_product_outranks_not_affected() {
    // ICSA-19-211-01: VxWorks 6.3 is in "VxWorks >=5.3|<=6.4" (known_not_affected), but
    // "VxWorks Vx7" at SR540 (known_affected) might be the same product in a version scheme
    // that cannot be compared: under_investigation, never known_not_affected.
    let found = run(
        "icsa-19-211-01.json",
        &c("Wind River Systems", "VxWorks", "6.3"),
    );
    assert_eq!(found.len(), 11);
    assert!(
        found.iter().all(|(_, s, _)| *s == UnderInvestigation),
        "{found:?}"
    );
    // VxWorks 6.9.4.11 is listed exactly.
    check(
        "icsa-19-211-01.json",
        &c("Wind River", "VxWorks", "6.9.4.11"),
        KnownAffected,
        Rule::VendorProduct,
    );
}

#[test]
fn threshold_decides_between_affected_and_under_investigation() {
    let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
        {"bom-ref":"m","name":"PT-7528","version":"3.9","manufacturer":{"name":"Moxa"}}]}"#;
    let inventory = Inventory::from_json(sbom, "t").unwrap();
    let strict = Options { threshold: 0.9 };
    let matches = match_inventory(&inventory, &[advisory("icsa-20-056-03.json")], &strict);
    assert!(
        matches
            .iter()
            .all(|m| m.status == UnderInvestigation && m.confidence < 0.9)
    );
    let m = &matches[0];
    assert!(m.reason.contains("below the threshold"), "{}", m.reason);
    assert!(m.cvss.is_some());
    assert!(!m.remediations.is_empty());
}

#[test]
fn purl_and_cpe_rules() {
    let doc = csaf::testing::document(
        "T-1",
        r#"{"full_product_names":[
          {"product_id":"P1","name":"libfoo 1.2.3","product_identification_helper":{"purl":"pkg:generic/acme/libfoo@1.2.3"}},
          {"product_id":"P2","name":"Gizmo OS","product_identification_helper":{"cpe":"cpe:2.3:o:acme:gizmo_os:-:*:*:*:*:*:*:*"}}]}"#,
        r#"[{"cve":"CVE-2024-0001","product_status":{"known_affected":["P1","P2"]}}]"#,
    );
    let advisory = csaf::read(&doc, "t").unwrap();
    let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
        {"bom-ref":"a","name":"libfoo","version":"1.2.3","purl":"pkg:generic/acme/libfoo@1.2.3"},
        {"bom-ref":"b","name":"libfoo","version":"1.2.4","purl":"pkg:generic/acme/libfoo@1.2.4"},
        {"bom-ref":"c","name":"libfoo","version":"1.2.3","purl":"pkg:generic/other/libfoo@1.2.3"},
        {"bom-ref":"d","name":"gizmo","version":"7","cpe":"cpe:2.3:o:acme:gizmo_os:7:*:*:*:*:*:*:*"}]}"#;
    let matches = match_text(advisory, sbom);
    assert_eq!(
        decided(&matches),
        [
            ("a", KnownAffected, Rule::Purl),
            ("d", KnownAffected, Rule::Cpe)
        ]
    );
}

#[test]
fn mandatory_tests_reject_inconsistent_documents() {
    let base = |tree: &str, vulns: &str| csaf::testing::document("T-2", tree, vulns);
    let tree =
        r#"{"full_product_names":[{"product_id":"A","name":"a"},{"product_id":"B","name":"b"}]}"#;
    let cases = [
        (
            base(tree, r#"[{"product_status":{"known_affected":["C"]}}]"#),
            "6.1.1",
        ),
        (
            base(
                r#"{"full_product_names":[{"product_id":"A","name":"a"},{"product_id":"A","name":"b"}]}"#,
                "[]",
            ),
            "6.1.2",
        ),
        (
            base(
                r#"{"full_product_names":[{"product_id":"A","name":"a"},{"product_id":"B","name":"b"}],
                 "relationships":[{"category":"installed_on","product_reference":"A","relates_to_product_reference":"B",
                 "full_product_name":{"product_id":"A","name":"a on b"}}]}"#,
                "[]",
            ),
            "6.1.3",
        ),
        (
            base(
                tree,
                r#"[{"remediations":[{"category":"vendor_fix","details":"d","group_ids":["G"]}]}]"#,
            ),
            "6.1.4",
        ),
        (
            base(
                r#"{"full_product_names":[{"product_id":"A","name":"a"},{"product_id":"B","name":"b"}],
                 "product_groups":[{"group_id":"G","product_ids":["A","B"]},{"group_id":"G","product_ids":["A","B"]}]}"#,
                "[]",
            ),
            "6.1.5",
        ),
        (
            base(
                tree,
                r#"[{"product_status":{"known_affected":["A"],"fixed":["A"]}}]"#,
            ),
            "6.1.6",
        ),
        (
            base(
                r#"{"full_product_names":[{"product_id":"A","name":"a","product_identification_helper":{"purl":"pkg:generic/@1.0"}}]}"#,
                "[]",
            ),
            "6.1.13",
        ),
        (
            base(
                tree,
                r#"[{"remediations":[{"category":"vendor_fix","details":"d"}]}]"#,
            ),
            "6.1.29",
        ),
    ];
    for (doc, expected) in cases {
        match csaf::read(&doc, "t") {
            Err(crate::InputError::CsafMandatory { test, .. }) => {
                assert_eq!(test, expected, "{doc}");
            }
            other => panic!("{expected}: {other:?}"),
        }
    }
    // 6.1.31 is a warning: a product_version holding a range is read as the range.
    let doc = base(
        r#"{"branches":[{"category":"vendor","name":"V","branches":[{"category":"product_name","name":"P",
          "branches":[{"category":"product_version","name":"vers:all/*","product":{"product_id":"A","name":"V P"}}]}]}]}"#,
        r#"[{"product_status":{"known_affected":["A"]}}]"#,
    );
    let advisory = csaf::read(&doc, "t").unwrap();
    assert!(
        advisory.warnings[0].contains("6.1.31"),
        "{:?}",
        advisory.warnings
    );
    assert!(advisory.products[0].range.is_all());
}

#[test]
fn vendor_alias_data_is_valid() {
    assert!(crate::names::alias_data_parses().unwrap() > 5);
    assert_eq!(
        vendor_key("Johnson Controls, Inc."),
        vendor_key("Johnson Controls Inc")
    );
    assert_eq!(vendor_key("Siemens AG"), "siemens");
    assert_eq!(
        vendor_key("Phoenix Contact GmbH & Co. KG"),
        "phoenix contact"
    );
    assert_eq!(vendor_key("Schneider Electric S.A."), "schneider electric");
    assert_eq!(vendor_key("Elber S.r.l."), "elber");
    assert_eq!(vendor_key("WTI"), vendor_key("Western Telematic Inc"));
    assert_eq!(vendor_key("Allen-Bradley"), "rockwell automation");
    assert_eq!(
        vendor_key("Digi International, Inc. "),
        "digi international"
    );
}

#[test]
fn rule_platform_of_a_relationship() {
    // A vulnerable library installed on a server product: the library matches by its own
    // names; the server, which contains it, is under investigation (rule platform).
    let doc = csaf::testing::document(
        "T-3",
        r#"{"branches":[{"category":"vendor","name":"Acme Corp.","branches":[
            {"category":"product_name","name":"libgizmo","branches":[{"category":"product_version","name":"1.2",
              "product":{"product_id":"LIB","name":"Acme libgizmo 1.2"}}]},
            {"category":"product_name","name":"Gizmo Server","branches":[{"category":"product_version_range","name":"vers:all/*",
              "product":{"product_id":"SRV","name":"Acme Gizmo Server"}}]}]}],
          "relationships":[{"category":"installed_on","product_reference":"LIB","relates_to_product_reference":"SRV",
            "full_product_name":{"product_id":"LIB-ON-SRV","name":"libgizmo 1.2 on Gizmo Server"}}]}"#,
        r#"[{"cve":"CVE-2024-0002","product_status":{"known_affected":["LIB-ON-SRV"]},
          "remediations":[{"category":"vendor_fix","details":"Update libgizmo to 1.3.","product_ids":["LIB-ON-SRV"]}]}]"#,
    );
    let advisory = csaf::read(&doc, "t").unwrap();
    assert_eq!(
        advisory.product("LIB-ON-SRV").unwrap().platform.as_deref(),
        Some("SRV")
    );
    let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
        {"bom-ref":"srv","name":"Gizmo Server","version":"7.0","manufacturer":{"name":"ACME Corporation"}},
        {"bom-ref":"lib","name":"libgizmo","version":"1.2","manufacturer":{"name":"Acme"}},
        {"bom-ref":"lib13","name":"libgizmo","version":"1.3","manufacturer":{"name":"Acme"}}]}"#;
    let matches = match_text(advisory, sbom);
    assert_eq!(
        decided(&matches),
        [
            ("srv", UnderInvestigation, Rule::Platform),
            ("lib", KnownAffected, Rule::VendorProduct)
        ]
    );
    assert_eq!(
        matches[1].remediations[0].details,
        "Update libgizmo to 1.3."
    );
}

#[test]
fn versions_from_purl_and_cpe_helpers() {
    let doc = csaf::testing::document(
        "T-4",
        r#"{"full_product_names":[
          {"product_id":"C","name":"Gizmo OS 7.1","product_identification_helper":{"cpe":"cpe:2.3:o:acme:gizmo_os:7.1:*:*:*:*:*:*:*"}}]}"#,
        r#"[{"cve":"CVE-2024-0003","product_status":{"known_affected":["C"]}}]"#,
    );
    let advisory = csaf::read(&doc, "t").unwrap();
    // The component states its version only in its CPE.
    let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[
        {"bom-ref":"a","name":"gizmo","cpe":"cpe:2.3:o:acme:gizmo_os:7.1:*:*:*:*:*:*:*"},
        {"bom-ref":"b","name":"gizmo","cpe":"cpe:2.3:o:acme:gizmo_os:7.2:*:*:*:*:*:*:*"}]}"#;
    assert_eq!(
        Inventory::from_json(sbom, "t").unwrap().components[0]
            .version
            .as_deref(),
        Some("7.1")
    );
    let matches = match_text(advisory, sbom);
    let got: Vec<(&str, Status)> = matches
        .iter()
        .map(|m| (m.component.as_str(), m.status))
        .collect();
    assert_eq!(got, [("a", KnownAffected)]);
}

#[test]
fn rule_partial_name_by_parentheses_and_shared_words() {
    // ICSA-25-035-01 (unseen while the rules were written): "Network Power Switch (NPS
    // Series)" by "Western Telematic Inc"; the asset list says WTI NPS-16HV.
    let doc = csaf::testing::document(
        "T-5",
        r#"{"branches":[{"category":"vendor","name":"Western Telematic Inc","branches":[
          {"category":"product_name","name":"Network Power Switch (NPS Series)","branches":[
            {"category":"product_version_range","name":"<=Firmware_6.62","product":{"product_id":"A","name":"NPS"}}]},
          {"category":"product_name","name":"Signum DVB-S/S2 IRD","branches":[
            {"category":"product_version_range","name":"<=1.999","product":{"product_id":"B","name":"Signum"}}]}]}]}"#,
        r#"[{"cve":"CVE-2025-0630","product_status":{"known_affected":["A","B"]}}]"#,
    );
    let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
        {"bom-ref":"nps","name":"NPS-16HV","version":"6.58","manufacturer":{"name":"WTI"}},
        {"bom-ref":"nps-new","name":"NPS-16HV","version":"6.63","manufacturer":{"name":"WTI"}},
        {"bom-ref":"signum","name":"Signum DVB-S2 IRD","version":"1.2","manufacturer":{"name":"Western Telematic"}},
        {"bom-ref":"other","name":"Power Distribution Unit","version":"1.0","manufacturer":{"name":"WTI"}}]}"#;
    let matches = match_text(csaf::read(&doc, "t").unwrap(), sbom);
    assert_eq!(
        decided(&matches),
        [
            ("nps", UnderInvestigation, Rule::PartialName),
            ("signum", UnderInvestigation, Rule::PartialName),
        ]
    );
    assert!(
        matches[0].reason.contains("(NPS Series)"),
        "{}",
        matches[0].reason
    );
}

/// The product tree of ICSA-25-035-02 for `GuardLogix 5580`: one range per release line.
const GUARDLOGIX_LINES: &str = r#"{"branches":[{"category":"vendor","name":"Rockwell Automation","branches":[
    {"category":"product_name","name":"GuardLogix 5580 (SIL 3 with the safety partner 3)","branches":[
      {"category":"product_version_range","name":"<V33.017","product":{"product_id":"L33","name":"GuardLogix 5580 <V33.017"}},
      {"category":"product_version_range","name":"<V34.014","product":{"product_id":"L34","name":"GuardLogix 5580 <V34.014"}},
      {"category":"product_version_range","name":"<V35.013","product":{"product_id":"L35","name":"GuardLogix 5580 <V35.013"}},
      {"category":"product_version_range","name":"<V36.011","product":{"product_id":"L36","name":"GuardLogix 5580 <V36.011"}}]}]}]}"#;

/// `GuardLogix` controllers at versions of each kind: fixed in its line, affected in its line,
/// older than every line, between lines, newer than every line.
const GUARDLOGIX_FLEET: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
    {"bom-ref":"line33-old","name":"GuardLogix 5580","version":"33.015","manufacturer":{"name":"Rockwell Automation"}},
    {"bom-ref":"line34-fixed","name":"GuardLogix 5580","version":"34.015","manufacturer":{"name":"Rockwell Automation"}},
    {"bom-ref":"line36-old","name":"GuardLogix 5580","version":"V36.010","manufacturer":{"name":"Rockwell Automation"}},
    {"bom-ref":"line36-fixed","name":"GuardLogix 5580","version":"36.011","manufacturer":{"name":"Rockwell Automation"}},
    {"bom-ref":"older","name":"GuardLogix 5580","version":"32.011","manufacturer":{"name":"Rockwell Automation"}},
    {"bom-ref":"newer","name":"GuardLogix 5580","version":"37.001","manufacturer":{"name":"Rockwell Automation"}}]}"#;

#[test]
fn one_range_per_release_line_is_read_line_by_line() {
    let doc = csaf::testing::document(
        "ICSA-25-035-02",
        GUARDLOGIX_LINES,
        r#"[{"cve":"CVE-2025-24478","product_status":{"known_affected":["L33","L34","L35","L36"]}}]"#,
    );
    let matches = match_text(csaf::read(&doc, "t").unwrap(), GUARDLOGIX_FLEET);
    let got: Vec<(&str, Status)> = matches
        .iter()
        .map(|m| (m.component.as_str(), m.status))
        .collect();
    // 34.015 and 36.011 are fixed in their own lines; 32.011 is older than every line and
    // stays affected, as every bound says.
    assert_eq!(
        got,
        [
            ("line33-old", KnownAffected),
            ("line36-old", KnownAffected),
            ("older", KnownAffected)
        ]
    );
    assert!(
        matches[0].reason.contains("release line 33.x"),
        "{}",
        matches[0].reason
    );
}

#[test]
fn release_lines_that_vulnerabilities_name_apart_are_read_range_by_range() {
    // Fail-closed: the second vulnerability names only the 35 and 36 lines, so nothing says
    // that the 34 line's fix covers it; 34.015 < V35.013 stays affected by it.
    let doc = csaf::testing::document(
        "T-6",
        GUARDLOGIX_LINES,
        r#"[{"cve":"CVE-2025-0001","product_status":{"known_affected":["L33","L34"]}},
            {"cve":"CVE-2025-0002","product_status":{"known_affected":["L35","L36"]}}]"#,
    );
    let matches = match_text(csaf::read(&doc, "t").unwrap(), GUARDLOGIX_FLEET);
    let got: Vec<(&str, &str)> = matches
        .iter()
        .map(|m| (m.component.as_str(), m.cve.as_deref().unwrap_or("")))
        .collect();
    assert!(got.contains(&("line34-fixed", "CVE-2025-0002")), "{got:?}");
    assert!(!got.contains(&("newer", "CVE-2025-0002")), "{got:?}");
}
