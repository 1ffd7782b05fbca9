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

#[test]
fn a_document_must_match_the_hash_files_its_provider_published() {
    let (dir, feed_path) = mirror(&["white/2023/icsa-23-166-08.json"]);
    let document = dir.path().join("white/2023/icsa-23-166-08.json");
    let bytes = std::fs::read(&document).unwrap();
    let sha256 = rampart_vault::crypto::sha256_hex(&bytes);
    let sha512 = rampart_vault::crypto::signature::sha512_hex(&bytes);
    let hash_file = |ext: &str| {
        dir.path()
            .join(format!("white/2023/icsa-23-166-08.json.{ext}"))
    };
    // As sha256sum/sha512sum write them: the digest, then the file name.
    std::fs::write(
        hash_file("sha256"),
        format!("{sha256}  icsa-23-166-08.json\n"),
    )
    .unwrap();
    std::fs::write(
        hash_file("sha512"),
        format!("{sha512}  icsa-23-166-08.json\n"),
    )
    .unwrap();
    let body = std::fs::read_to_string(&feed_path).unwrap();
    assert_eq!(load::rolie_feed(&feed_path, &body).unwrap().len(), 1);
    assert_eq!(load::csaf(&document).unwrap().len(), 1);

    // One byte changed in the mirror: refused, naming the hash and the file that states it.
    let mut tampered = bytes.clone();
    let at = tampered.iter().position(|b| *b == b'"').unwrap();
    tampered.insert(at, b' ');
    std::fs::write(&document, &tampered).unwrap();
    let error = load::rolie_feed(&feed_path, &body).unwrap_err().to_string();
    assert!(error.contains("icsa-23-166-08.json"), "{error}");
    assert!(
        error.contains("not the one its provider published"),
        "{error}"
    );
    assert!(load::csaf(&document).is_err());

    // A hash file without a digest is bad input, not a pass.
    std::fs::write(&document, &bytes).unwrap();
    std::fs::write(hash_file("sha512"), "see the website\n").unwrap();
    let error = load::csaf(&document).unwrap_err().to_string();
    assert!(error.contains("no sha512 digest"), "{error}");
}
