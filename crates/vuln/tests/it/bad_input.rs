//! Bad input is an error naming the file and the place, never a panic.

use rampart_vuln::{InputError, Inventory, csaf, osv, rustsec};

fn message(result: Result<impl std::fmt::Debug, InputError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn inventories() {
    let m = message(Inventory::from_json("{", "a.json"));
    assert!(m.starts_with("a.json: EOF while parsing"), "{m}");
    let m = message(Inventory::from_json(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.2"}"#,
        "a.json",
    ));
    assert!(m.contains("/specVersion") && m.contains("1.2"), "{m}");
    let m = message(Inventory::from_json(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"bom-ref":"x"}]}"#,
        "a.json",
    ));
    assert_eq!(m, "a.json: /components/0/name: a component needs a name");
    let m = message(Inventory::from_json(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"x","purl":"nope"}]}"#,
        "a.json",
    ));
    assert!(m.contains("/components/0/purl"), "{m}");
    let m = message(Inventory::from_json(r#"{"hello":1}"#, "a.json"));
    assert!(m.contains("neither a CycloneDX"), "{m}");
    let deep = format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{}{}]}}"#,
        r#"{"name":"n","components":["#.repeat(40),
        "]}".repeat(40)
    );
    assert!(message(Inventory::from_json(&deep, "deep.json")).contains("deeper"));
}

#[test]
fn advisories() {
    let m = message(csaf::read(r#"{"document":{}}"#, "c.json"));
    assert!(
        m.starts_with("c.json: CSAF 2.0 JSON schema: /document: "),
        "{m}"
    );
    assert!(m.contains("\"category\" is a required property"), "{m}");
    let m = message(csaf::read(r#"{"document":"#, "c.json"));
    assert!(m.starts_with("c.json: EOF while parsing"), "{m}");
    // A real advisory with one field the schema does not allow: refused at that field, before
    // any of it is used.
    let text = std::fs::read_to_string(crate::util::data("csaf/icsa-23-082-05.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["document"]["tracking"]["status"] = "published".into();
    doc["product_tree"]["branches"][0]["category"] = "manufacturer".into();
    let m = message(csaf::read(&doc.to_string(), "c.json"));
    assert!(
        m.starts_with("c.json: CSAF 2.0 JSON schema: /document/tracking/status: "),
        "{m}"
    );
    assert!(m.contains("/product_tree/branches/0/category"), "{m}");
    assert!(m.contains("2 violations in all"), "{m}");
    let m = message(csaf::read(
        r#"{"document":{"category":"csaf_base","csaf_version":"2.1","title":"t","tracking":{"id":"x"}}}"#,
        "c.json",
    ));
    assert!(m.contains("/document/csaf_version"), "{m}");
    let m = message(osv::read(r#"{"id":"X","affected":"no"}"#, "o.json"));
    assert!(m.starts_with("o.json: invalid type"), "{m}");
    let m = message(rustsec::read("# no front matter", "r.md"));
    assert!(m.contains("no ```toml block"), "{m}");
    let m = message(rustsec::read(
        "```toml\n[advisory]\nid = \"R\"\npackage = \"p\"\n[versions]\npatched = [\"not semver\"]\n```\n",
        "r.md",
    ));
    assert!(m.contains("versions.patched[0]"), "{m}");
    let m = message(rampart_vuln::load::csaf(std::path::Path::new(
        "/nonexistent/x.json",
    )));
    assert!(m.starts_with("/nonexistent/x.json: cannot read"), "{m}");
}

#[test]
fn fuzzing_entry_points_take_the_seeds_and_garbage() {
    for entry in std::fs::read_dir(crate::util::data("csaf")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        rampart_vuln::fuzzing::csaf(&bytes);
        rampart_vuln::fuzzing::csaf(&bytes[..bytes.len() / 2]);
    }
    rampart_vuln::fuzzing::osv(
        &std::fs::read(crate::util::data("osv/GHSA-rr8g-9fpq-6wmg.json")).unwrap(),
    );
    for garbage in [
        &b"\xff\xfe"[..],
        b"[]",
        b"{}",
        b"null",
        b"<= 1.0\n1.0\nV1 SP\n\n",
    ] {
        rampart_vuln::fuzzing::csaf(garbage);
        rampart_vuln::fuzzing::osv(garbage);
        rampart_vuln::fuzzing::version_range(garbage);
    }
}
