use super::*;

const SOURCE: &str = r#"
[document]
id = "RAMPART-SA-2026-0001"
title = "Rampart gateway: policy bypass with an overlong MBAP length"
summary = "Versions before 1.2.0 accept a frame whose length field exceeds the PDU."
publisher = "Rampart developers"
namespace = "https://example.invalid/rampart"

[product]
vendor = "Rampart developers"
name = "Rampart gateway"
versions = ["1.0.0", "1.1.0", "1.2.0"]
purl = "pkg:generic/rampart"

[[vulnerability]]
cve = "CVE-2026-12345"
title = "Policy bypass"
description = "An overlong MBAP length lets a second PDU through unchecked."
cvss_v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N"
affected = ["1.0.0", "1.1.0"]
fixed = ["1.2.0"]
remediation = "Install update bundle 1.2.0 (security version 3)."
remediation_url = "https://updates.example.invalid/targets/rampart-1.2.0-x86_64-unknown-linux-gnu.bundle"
"#;

fn now() -> jiff::Timestamp {
    "2026-12-07T10:00:00Z".parse().unwrap()
}

#[test]
fn an_advisory_is_written_and_read_back_by_the_csaf_reader() {
    let source = read_source(SOURCE, "sa.toml").unwrap();
    let text = write_advisory(&source, now()).unwrap();
    let advisory = crate::csaf::read(&text, "written").unwrap();
    assert_eq!(advisory.id, "RAMPART-SA-2026-0001");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"],
        7.5
    );
    assert_eq!(
        doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseSeverity"],
        "HIGH"
    );
    assert_eq!(
        doc["vulnerabilities"][0]["product_status"]["fixed"][0],
        "CSAFPID-0003"
    );
    assert_eq!(
        doc["product_tree"]["branches"][0]["branches"][0]["branches"][0]["product"]["product_identification_helper"]
            ["purl"],
        "pkg:generic/rampart@1.0.0"
    );
}

#[test]
fn sources_that_contradict_themselves_are_refused_at_the_key() {
    let cases = [
        (
            "1.1.0\", \"1.2.0\"]\nfixed = [\"1.2.0\"]",
            "both affected and fixed",
        ),
        ("9.9.9\"]\nfixed = [\"1.2.0\"]", "not in product.versions"),
    ];
    for (replacement, expect) in cases {
        let text = SOURCE.replace("1.1.0\"]\nfixed = [\"1.2.0\"]", replacement);
        let err = read_source(&text, "sa.toml").unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
    }
    let err = read_source(&SOURCE.replace("CVSS:3.1/AV:N", "CVSS:9/AV:N"), "sa.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("cvss_v3"), "{err}");
    let err = read_source(&SOURCE.replace("CVE-2026-12345", "CVE-26-1"), "sa.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("CVE-YYYY-NNNN"), "{err}");
    let err = read_source(
        &SOURCE.replace("https://example", "http://example"),
        "sa.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("https://"), "{err}");
}

#[test]
fn the_provider_directory_has_metadata_feed_index_changes_and_hashes() {
    let source = read_source(SOURCE, "sa.toml").unwrap();
    let text = write_advisory(&source, now()).unwrap();
    let published = Published::from_document(&text, "sa").unwrap();
    let provider = Provider {
        base_url: "https://example.invalid".into(),
        publisher: "Rampart developers".into(),
        namespace: "https://example.invalid/rampart".into(),
    };
    let files: BTreeMap<String, Vec<u8>> = provider_files(&provider, &[published], now())
        .into_iter()
        .collect();
    let doc = ".well-known/csaf/white/2026/rampart-sa-2026-0001.json";
    assert_eq!(files[doc], text.as_bytes());
    let sha512 = String::from_utf8(files[&format!("{doc}.sha512")].clone()).unwrap();
    assert!(
        sha512.ends_with("  rampart-sa-2026-0001.json\n"),
        "{sha512}"
    );
    assert_eq!(sha512.split_whitespace().next().unwrap().len(), 128);
    assert_eq!(
        String::from_utf8(files[".well-known/csaf/white/index.txt"].clone()).unwrap(),
        "2026/rampart-sa-2026-0001.json\n"
    );
    let metadata: Value =
        serde_json::from_slice(&files[".well-known/csaf/provider-metadata.json"]).unwrap();
    assert_eq!(metadata["role"], "csaf_provider");
    assert_eq!(
        metadata["distributions"][0]["rolie"]["feeds"][0]["url"],
        "https://example.invalid/.well-known/csaf/white/white-feed.json"
    );
    let feed: Value =
        serde_json::from_slice(&files[".well-known/csaf/white/white-feed.json"]).unwrap();
    assert_eq!(
        feed["feed"]["entry"][0]["content"]["src"],
        "https://example.invalid/.well-known/csaf/white/2026/rampart-sa-2026-0001.json"
    );
}

#[test]
fn file_names_follow_the_csaf_rule() {
    assert_eq!(
        file_name("RAMPART-SA-2026-0001"),
        "rampart-sa-2026-0001.json"
    );
    assert_eq!(file_name("Vendor SA:2026/01"), "vendor_sa_2026_01.json");
}

#[test]
fn with_a_key_the_directory_is_a_trusted_providers_with_signatures_and_the_key() {
    use crate::openpgp::{self, PublicKey};
    let source = read_source(SOURCE, "sa.toml").unwrap();
    let text = write_advisory(&source, now()).unwrap();
    let published = Published::from_document(&text, "sa").unwrap();
    let provider = Provider {
        base_url: "https://example.invalid/".into(),
        publisher: "Rampart developers".into(),
        namespace: "https://example.invalid/rampart".into(),
    };
    let key = rampart_vault::DeviceKey::danger_insecure_from_seed(&[3; 32]);
    let certificate =
        openpgp::certificate(&key, "Rampart PSIRT <psirt@example.invalid>", 1_780_000_000).unwrap();
    let public = PublicKey::from_armored(&certificate).unwrap();
    let signer = Signer {
        key: &key,
        certificate: &certificate,
        public: &public,
    };
    let files: BTreeMap<String, Vec<u8>> = trusted_provider_files(
        &provider,
        std::slice::from_ref(&published),
        now(),
        Some(&signer),
    )
    .unwrap()
    .into_iter()
    .collect();
    let doc = ".well-known/csaf/white/2026/rampart-sa-2026-0001.json";
    let signature = String::from_utf8(files[&format!("{doc}.asc")].clone()).unwrap();
    let when = u64::try_from(now().as_second()).unwrap();
    openpgp::verify_detached(
        std::slice::from_ref(&public),
        text.as_bytes(),
        &signature,
        when,
    )
    .unwrap();
    let fingerprint = public.fingerprint();
    let key_file = format!(".well-known/csaf/openpgp/{fingerprint}.asc");
    assert_eq!(files[&key_file], certificate.as_bytes());
    let metadata_bytes = &files[".well-known/csaf/provider-metadata.json"];
    let metadata_signature =
        String::from_utf8(files[".well-known/csaf/provider-metadata.json.asc"].clone()).unwrap();
    openpgp::verify_detached(
        std::slice::from_ref(&public),
        metadata_bytes,
        &metadata_signature,
        when,
    )
    .unwrap();
    let metadata: Value = serde_json::from_slice(metadata_bytes).unwrap();
    assert_eq!(metadata["role"], "csaf_trusted_provider");
    assert_eq!(
        metadata["public_openpgp_keys"],
        serde_json::json!([{
            "fingerprint": fingerprint,
            "url": format!("https://example.invalid/{key_file}"),
        }])
    );
    let feed: Value =
        serde_json::from_slice(&files[".well-known/csaf/white/white-feed.json"]).unwrap();
    assert_eq!(
        feed["feed"]["entry"][0]["link"][3],
        serde_json::json!({
            "rel": "signature",
            "href": "https://example.invalid/.well-known/csaf/white/2026/rampart-sa-2026-0001.json.asc"
        })
    );

    // A private key that is not the certificate's.
    let other = rampart_vault::DeviceKey::danger_insecure_from_seed(&[4; 32]);
    let wrong = Signer {
        key: &other,
        certificate: &certificate,
        public: signer.public,
    };
    let e = trusted_provider_files(&provider, &[published], now(), Some(&wrong)).unwrap_err();
    assert!(
        e.to_string().contains("not the key of the public key"),
        "{e}"
    );
}
