//! CR 7.8: the running gateway checks its own SBOM against the advisories kept in its data
//! directory, in the API, the web UI and the configuration report; VEX statements cover
//! what an analyst justified.

use hyper::StatusCode;

use crate::harness::Harness;

/// An OSV record that affects every tokio release up to 9 (this build links 1.x).
const TOKIO_ADVISORY: &str = r#"{
  "id": "RAMPART-TEST-0001",
  "modified": "2026-12-01T00:00:00Z",
  "summary": "A test advisory against tokio",
  "affected": [{
    "package": { "ecosystem": "crates.io", "name": "tokio", "purl": "pkg:cargo/tokio" },
    "ranges": [{ "type": "SEMVER", "events": [{ "introduced": "0.1.0" }, { "fixed": "9.0.0" }] }]
  }]
}"#;

fn setting(report: &serde_json::Value, id: &str) -> serde_json::Value {
    report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .map_or_else(
            || panic!("no setting {id}: {report}"),
            |s| s["value"].clone(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_reports_advisories_that_affect_this_build() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    // Nothing kept: nothing checked, nothing open.
    let answer = admin.get("/api/v1/vulnerabilities").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["advisories"], 0);
    assert_eq!(answer.json()["open"], 0);
    let report = admin.get("/api/v1/config-report").await.json();
    assert_eq!(setting(&report, "vulnerabilities.advisories"), 0);

    let root = h.data.file(rampart_vault::Entry::Advisories);
    std::fs::create_dir_all(root.join("osv")).unwrap();
    std::fs::write(root.join("osv/tokio.json"), TOKIO_ADVISORY).unwrap();
    let answer = admin.get("/api/v1/vulnerabilities").await.json();
    assert_eq!(answer["advisories"], 1, "{answer}");
    assert_eq!(answer["open"], 1, "{answer}");
    let affected = answer["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["advisory"] == "RAMPART-TEST-0001")
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(affected["status"], "known_affected");
    assert!(
        affected["component"]
            .as_str()
            .unwrap()
            .starts_with("pkg:cargo/tokio@"),
        "{affected}"
    );
    let report = admin.get("/api/v1/config-report").await.json();
    assert_eq!(setting(&report, "vulnerabilities.open"), 1);
    let page = admin.get("/vulnerabilities").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("RAMPART-TEST-0001"), "{}", page.text());

    // An analyst's justified decision covers it.
    std::fs::create_dir_all(root.join("vex")).unwrap();
    let component = affected["component"].as_str().unwrap();
    std::fs::write(
        root.join("vex/decisions.toml"),
        format!(
            "format = 1\n[[decision]]\ncomponent = \"{component}\"\nvulnerability = \"RAMPART-TEST-0001\"\n\
             status = \"known_not_affected\"\njustification = \"vulnerable_code_not_in_execute_path\"\n\
             impact = \"The broadcast channel is not used.\"\nby = \"analyst@example.invalid\"\n\
             date = 2026-12-01\nexpires = 2099-12-31\n"
        ),
    )
    .unwrap();
    let answer = admin.get("/api/v1/vulnerabilities").await.json();
    assert_eq!(answer["open"], 0, "{answer}");
    assert_eq!(answer["vex_statements"], 1, "{answer}");

    // A broken advisory file: the check fails loudly, naming the file, never "clean".
    std::fs::write(root.join("osv/broken.json"), "{\"id\": ").unwrap();
    let answer = admin.get("/api/v1/vulnerabilities").await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.text()
    );
    assert!(answer.text().contains("broken.json"), "{}", answer.text());
    let report = admin.get("/api/v1/config-report").await.json();
    assert!(setting(&report, "vulnerabilities.open").is_null());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_trusted_providers_key_kept_every_csaf_document_must_be_signed_by_it() {
    use rampart_vuln::openpgp;
    let h = Harness::start().await;
    let admin = h.admin().await;
    let root = h.data.file(rampart_vault::Entry::Advisories);
    std::fs::create_dir_all(root.join("csaf")).unwrap();
    std::fs::create_dir_all(root.join("openpgp")).unwrap();
    let document = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vuln/tests/data/csaf-2025/icsa-25-035-02.json"),
    )
    .unwrap();
    let doc_path = root.join("csaf/icsa-25-035-02.json");
    std::fs::write(&doc_path, &document).unwrap();
    // The provider's key, as `rampart vuln advisory keygen` makes it.
    let created = 1_767_225_600; // 2026-01-01
    let provider = rampart_vault::DeviceKey::generate().unwrap();
    let certificate =
        openpgp::certificate(&provider, "PSIRT <psirt@example.invalid>", created).unwrap();
    let public = openpgp::PublicKey::from_armored(&certificate).unwrap();
    // Unsigned and no key kept: read as before.
    let answer = admin.get("/api/v1/vulnerabilities").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["advisories"], 1);
    // A key kept: the unsigned document is refused, naming it; nothing is reported clean.
    std::fs::write(root.join("openpgp/psirt.asc"), &certificate).unwrap();
    let answer = admin.get("/api/v1/vulnerabilities").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        answer.text().contains("icsa-25-035-02.json"),
        "{}",
        answer.text()
    );
    let report = admin.get("/api/v1/config-report").await.json();
    assert_eq!(
        setting(&report, "vulnerabilities.advisories"),
        serde_json::Value::Null
    );
    // Signed by another key: refused too.
    let stranger = rampart_vault::DeviceKey::generate().unwrap();
    let stranger_public = openpgp::PublicKey::of(&stranger, created);
    let asc = doc_path.with_extension("json.asc");
    std::fs::write(
        &asc,
        openpgp::sign_detached(&stranger, &stranger_public, &document, created).unwrap(),
    )
    .unwrap();
    let answer = admin.get("/api/v1/vulnerabilities").await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.text()
    );
    // Signed by the provider: read.
    std::fs::write(
        &asc,
        openpgp::sign_detached(&provider, &public, &document, created).unwrap(),
    )
    .unwrap();
    let answer = admin.get("/api/v1/vulnerabilities").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["advisories"], 1);
    h.stop().await;
}
