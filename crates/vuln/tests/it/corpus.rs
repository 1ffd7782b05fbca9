//! Parse speed and robustness on a corpus of 2,100 CSAF documents made by varying the 21 real
//! ones: tracking ids, vendor and product names, version strings, and truncations.

use std::time::{Duration, Instant};

use rampart_vuln::{Options, csaf, load, match_inventory};

use crate::util::data;

/// The documents: each real one, then variants of it.
fn corpus(per_document: usize) -> Vec<String> {
    let mut originals: Vec<(String, String)> = std::fs::read_dir(data("csaf"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    originals.sort();
    let mut out = Vec::new();
    for (_, text) in &originals {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        for i in 0..per_document {
            let mut v = value.clone();
            let id = v["document"]["tracking"]["id"].as_str().unwrap().to_owned();
            v["document"]["tracking"]["id"] = format!("{id}-V{i}").into();
            if let Some(branches) = v.pointer_mut("/product_tree/branches") {
                vary_branches(branches, i);
            }
            out.push(serde_json::to_string(&v).unwrap());
        }
    }
    out
}

/// Renames vendors and products and rewrites versions in a way that depends on `i`.
fn vary_branches(branches: &mut serde_json::Value, i: usize) {
    let Some(list) = branches.as_array_mut() else {
        return;
    };
    for b in list {
        let category = b["category"].as_str().unwrap_or("").to_owned();
        let name = b["name"].as_str().unwrap_or("").to_owned();
        let varied = match (category.as_str(), i % 5) {
            ("vendor", 1) => format!("{name}, Inc."),
            ("vendor", 2) => format!("{} GmbH", name.to_uppercase()),
            ("product_name", 3) => format!("{name} {i}"),
            ("product_version_range", 1) => format!("All versions prior to V{}.{i}", i % 7),
            ("product_version_range", 2) => format!("vers:generic/>={i}.0|<{}.0", i + 1),
            ("product_version_range", 4) => format!("{name} SP{i} Update {}", i % 3),
            ("product_version", 4) => format!("V{i}.{} SP1", i % 9),
            _ => name,
        };
        b["name"] = varied.into();
        if let Some(children) = b.get_mut("branches") {
            vary_branches(children, i);
        }
    }
}

#[test]
fn two_thousand_documents_parse_and_match_quickly() {
    let documents = corpus(100);
    assert_eq!(documents.len(), 2_100);
    let inventory = load::inventory(&data("sbom/plant.cdx.json")).unwrap();
    let started = Instant::now();
    let mut advisories = Vec::with_capacity(documents.len());
    for (i, text) in documents.iter().enumerate() {
        advisories.push(csaf::read(text, &format!("variant {i}")).unwrap());
    }
    let parsed = started.elapsed();
    let matches = match_inventory(&inventory, &advisories, &Options::default());
    let total = started.elapsed();
    eprintln!(
        "2,100 CSAF documents: parsed in {parsed:?}, matched ({} matches) in {total:?}",
        matches.len()
    );
    // The issue asks for < 10 s; an unoptimised test build takes about 1 s.
    let limit = Duration::from_secs(10);
    assert!(total < limit, "{total:?}");
}

#[test]
fn truncated_and_mangled_documents_are_errors_not_panics() {
    for text in corpus(2) {
        for cut in [1, 7, 100, text.len() / 3, text.len() / 2, text.len() - 1] {
            let _ = csaf::read(&text[..text.floor_char_boundary(cut)], "cut");
        }
        let _ = csaf::read(&text.replace("product_id", "product_idx"), "renamed");
        let _ = csaf::read(
            &text.replace("\"CSAFPID-0001\"", "\"CSAFPID-X\""),
            "dangling",
        );
    }
}

#[test]
fn a_large_product_tree_costs_linear_time() {
    // 20,000 products and 5,000 relationships against Rampart's 250 components: quadratic
    // lookups made this take 90 s; it takes about 3 s in the test build.
    let products: Vec<serde_json::Value> = (0..20_000)
        .map(|i| {
            serde_json::json!({"category": "product_name", "name": format!("Product {i}"), "branches": [
                {"category": "product_version_range", "name": format!("<= {i}.0"),
                 "product": {"product_id": format!("P{i}"), "name": format!("Vendor Product {i}")}}]})
        })
        .collect();
    let relationships: Vec<serde_json::Value> = (0..5_000)
        .map(|i| {
            serde_json::json!({"category": "installed_on", "product_reference": format!("P{i}"),
                "relates_to_product_reference": format!("P{}", i + 1),
                "full_product_name": {"product_id": format!("R{i}"), "name": "r"}})
        })
        .collect();
    let affected: Vec<String> = (0..20_000).map(|i| format!("P{i}")).collect();
    let doc = serde_json::json!({
        "document": {"category": "csaf_base", "csaf_version": "2.0", "title": "big",
            "publisher": {"category": "vendor", "name": "Vendor", "namespace": "https://vendor.example"},
            "tracking": {"id": "BIG-1", "status": "final", "version": "1",
                "initial_release_date": "2024-01-01T00:00:00Z", "current_release_date": "2024-01-01T00:00:00Z",
                "revision_history": [{"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "Initial."}]}},
        "product_tree": {"branches": [{"category": "vendor", "name": "Vendor", "branches": products}],
                         "relationships": relationships},
        "vulnerabilities": [{"cve": "CVE-2024-0001", "product_status": {"known_affected": affected}}],
    })
    .to_string();
    let inventory =
        load::inventory(&crate::util::repo("crates/mgmt/sbom/rampart.cdx.json")).unwrap();
    let started = Instant::now();
    let advisory = csaf::read(&doc, "big").unwrap();
    let matches = match_inventory(&inventory, &[advisory], &Options::default());
    assert!(matches.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn byte_mutations_of_real_documents_never_panic() {
    // Deterministic mutations (flip, insert and delete bytes; swap digits and operators) of
    // the real documents, read and matched: a cheap stand-in for the `vuln_csaf` fuzz target.
    const NOISE: &[&[u8]] = &[
        b"<",
        b"|",
        b"\"",
        b"{",
        b"]",
        b"vers:",
        b"SP",
        b"9999999999999999999999",
        b"\\u0000",
        b".x",
    ];
    let inventory = load::inventory(&data("sbom/plant.cdx.json")).unwrap();
    let originals = corpus(1);
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: usize| -> usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % 1_000_003).unwrap_or(0) % n.max(1)
    };
    for round in 0..3_000 {
        let mut bytes = originals[round % originals.len()].clone().into_bytes();
        for _ in 0..=next(4) {
            let at = next(bytes.len());
            match next(3) {
                0 => bytes[at] = bytes[at].wrapping_add(u8::try_from(next(255)).unwrap_or(1)),
                1 => {
                    let piece = NOISE[next(NOISE.len())];
                    bytes.splice(at..at, piece.iter().copied());
                }
                _ => {
                    let end = (at + next(16)).min(bytes.len());
                    bytes.drain(at..end);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(advisory) = csaf::read(&text, "mutant") {
            let _ = match_inventory(&inventory, &[advisory], &Options::default());
        }
    }
}
