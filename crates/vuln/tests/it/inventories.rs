//! CycloneDX and SPDX inventories against the CISA advisories, through the file layer.

use rampart_vuln::{InventoryFormat, Options, Rule, Status, load, match_inventory};

use crate::util::data;

fn decided(sbom: &str) -> Vec<(String, String, Status, Rule)> {
    let inventory = load::inventory(&data(sbom)).unwrap();
    let advisories = load::csaf(&data("csaf")).unwrap();
    assert_eq!(advisories.len(), 21);
    let mut out: Vec<_> = match_inventory(&inventory, &advisories, &Options::default())
        .into_iter()
        .map(|m| (m.component, m.cve.unwrap_or_default(), m.status, m.rule))
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out.dedup_by(|a, b| a.0 == b.0 && a.2 == b.2 && a.3 == b.3);
    out
}

#[test]
fn cyclonedx_plant() {
    let inventory = load::inventory(&data("sbom/plant.cdx.json")).unwrap();
    assert_eq!(inventory.format, InventoryFormat::CycloneDx(6));
    // The subject and the nested firmware component are read too.
    assert_eq!(inventory.components.len(), 9);
    assert_eq!(
        inventory.components[2].model_numbers,
        ["7KG9501-0AA31-2AA1"]
    );
    let found: Vec<(&str, Status, Rule)> = decided("sbom/plant.cdx.json")
        .iter()
        .map(|(c, _, s, r)| (leak(c), *s, *r))
        .collect();
    assert_eq!(
        found,
        [
            ("dce", Status::Fixed, Rule::VendorProduct),
            ("omron", Status::UnderInvestigation, Rule::VendorProduct),
            ("pcs7", Status::KnownAffected, Rule::VendorProduct),
            ("q100", Status::KnownAffected, Rule::ModelNumber),
            ("switch", Status::KnownAffected, Rule::ModelNumber),
        ]
    );
}

#[test]
fn spdx_plant() {
    let inventory = load::inventory(&data("sbom/plant.spdx.json")).unwrap();
    assert_eq!(inventory.format, InventoryFormat::Spdx);
    assert_eq!(
        inventory.components[0].vendor.as_deref(),
        Some("Rockwell Automation, Inc.")
    );
    assert_eq!(
        inventory.components[1].vendor.as_deref(),
        Some("Schneider Electric")
    );
    assert!(inventory.components[2].cpe.is_some());
    let found: Vec<(&str, Status, Rule)> = decided("sbom/plant.spdx.json")
        .iter()
        .map(|(c, _, s, r)| (leak(c), *s, *r))
        .collect();
    // Easergy Studio 9.3.5 is outside "<v9.3.5": not reported.
    assert_eq!(
        found,
        [(
            "SPDXRef-Package-thinmanager",
            Status::KnownAffected,
            Rule::VendorProduct
        )]
    );
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}
