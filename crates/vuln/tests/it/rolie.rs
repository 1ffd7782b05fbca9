//! A CSAF provider's ROLIE feed read offline, with the documents it lists.

use rampart_vuln::load;

use crate::util::data;

fn feed(entries: &[&str]) -> String {
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|path| {
            serde_json::json!({
                "id": path,
                "title": path,
                "link": [
                    { "rel": "self", "href": format!("https://example.invalid/.well-known/csaf/{path}") },
                    { "rel": "hash", "href": format!("https://example.invalid/.well-known/csaf/{path}.sha512") },
                ],
                "published": "2024-10-24T00:00:00Z",
                "updated": "2024-10-24T00:00:00Z",
                "content": { "type": "application/json", "src": format!("https://example.invalid/.well-known/csaf/{path}") },
                "format": { "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json", "version": "2.0" },
            })
        })
        .collect();
    serde_json::json!({
        "feed": {
            "id": "example-csaf-feed-tlp-white",
            "title": "Example CSAF feed (TLP:WHITE)",
            "link": [{ "rel": "self", "href": "https://example.invalid/.well-known/csaf/white/example-feed-tlp-white.json" }],
            "category": [{ "scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf" }],
            "updated": "2024-10-24T00:00:00Z",
            "entry": entries,
        }
    })
    .to_string()
}

/// A mirror of a provider directory: white/<year>/<file>, and in white/ a feed that lists
/// `entries`; the directory and the feed's path.
fn mirror(entries: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (year, file) in [
        ("2023", "icsa-23-166-08.json"),
        ("2022", "icsa-22-314-11.json"),
    ] {
        let target = dir.path().join("white").join(year);
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(data(&format!("csaf/{file}")), target.join(file)).unwrap();
    }
    let feed_path = dir.path().join("white/example-feed-tlp-white.json");
    std::fs::write(&feed_path, feed(entries)).unwrap();
    (dir, feed_path)
}

#[test]
fn a_feed_brings_its_documents() {
    let (dir, feed_path) = mirror(&[
        "white/2023/icsa-23-166-08.json",
        "white/2022/icsa-22-314-11.json",
    ]);
    let advisories = load::csaf(&feed_path).unwrap();
    let ids: Vec<&str> = advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["ICSA-23-166-08", "ICSA-22-314-11"]);
    // The directory itself: the documents are read and the feed is skipped.
    assert_eq!(load::csaf(dir.path()).unwrap().len(), 2);
}

#[test]
fn a_document_missing_from_the_mirror_is_an_error() {
    let (_dir, feed_path) = mirror(&[
        "white/2023/icsa-23-166-08.json",
        "white/2024/icsa-24-999-99.json",
    ]);
    let message = load::csaf(&feed_path).unwrap_err().to_string();
    assert!(
        message.contains("/feed/entry/1") && message.contains("icsa-24-999-99.json"),
        "{message}"
    );
    // A path that climbs out of the mirror is never followed.
    std::fs::write(&feed_path, feed(&["../../etc/passwd"])).unwrap();
    assert!(load::csaf(&feed_path).is_err());
}
