//! `rampart vuln`: exit codes, the table sorted by severity, the JSON contract, and bad input.

use crate::util::{assert_bad_input, ok, rampart, stderr, stdout};

/// `vuln match` of the plant SBOM against ICSA-22-314-11 with the analyst decisions, writing
/// `format` (and `extra` options) into `dir`: the file written and the command's output.
fn write_q100_vex(
    dir: &std::path::Path,
    format: &str,
    extra: &[&str],
) -> (String, std::process::Output) {
    let file = dir
        .join(format!("q100.{format}.json"))
        .to_str()
        .unwrap()
        .to_owned();
    let (sbom, csaf, decisions) = (
        data("sbom/plant.cdx.json"),
        data("csaf/icsa-22-314-11.json"),
        data("vex/plant-decisions.toml"),
    );
    let mut args = vec![
        "vuln", "match", "--sbom", &sbom, "--csaf", &csaf, "--vex", &decisions, "--format", format,
        "-o", &file,
    ];
    args.extend_from_slice(extra);
    let output = rampart(&args);
    (file, output)
}

fn data(relative: &str) -> String {
    format!(
        "{}/../vuln/tests/data/{relative}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn affected_components_exit_1_with_the_table_sorted_by_severity() {
    let sbom = data("sbom/plant.cdx.json");
    let csaf = data("csaf");
    let output = rampart(&["vuln", "match", "--sbom", &sbom, "--csaf", &csaf]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let rows: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("9 components"))
        .collect();
    assert!(
        rows[0].starts_with("9.9 critical  known_affected"),
        "{text}"
    );
    assert!(
        text.contains("vendor_fix: Update to V2.50 or later version"),
        "{text}"
    );
    assert!(
        text.contains("under_investigation  Common Components 2018.12"),
        "{text}"
    );
    assert!(
        text.contains(
            "9 components, 21 advisories: 6 known_affected, 1 under_investigation, 2 fixed"
        ),
        "{text}"
    );
    // The ranges Rampart cannot compare are named on stderr.
    assert!(
        stderr(&output).contains("\"<= January 2019\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn json_report_follows_the_contract() {
    let sbom = data("sbom/plant.cdx.json");
    let csaf = data("csaf/icsa-22-314-11.json");
    let output = rampart(&[
        "vuln", "match", "--sbom", &sbom, "--csaf", &csaf, "--format", "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let first = &report["matches"][0];
    assert_eq!(first["component"], "q100");
    assert_eq!(first["advisory"], "ICSA-22-314-11");
    assert_eq!(first["cve"], "CVE-2022-43398");
    assert_eq!(first["status"], "known_affected");
    assert_eq!(first["rule"], "model-number");
    assert_eq!(first["confidence"], 0.95);
    assert_eq!(first["cvss"], 7.5);
    assert_eq!(first["remediations"][0]["category"], "vendor_fix");
}

#[test]
fn nothing_affected_exits_0() {
    let sbom = data("sbom/plant.spdx.json");
    let csaf = data("csaf/icsa-24-011-05.json");
    let output = rampart(&["vuln", "match", "--sbom", &sbom, "--csaf", &csaf]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        "3 components, 1 advisories: 0 known_affected, 0 under_investigation, 0 fixed, \
         0 known_not_affected; 0 covered by VEX\n"
    );
}

#[test]
fn this_build_is_clean_against_the_rustsec_data() {
    let rustsec = data("rustsec");
    let output = rampart(&["vuln", "self", "--rustsec", &rustsec, "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["matches"], serde_json::json!([]));
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let sbom = data("sbom/plant.cdx.json");
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["vuln", "match", "--sbom", &sbom], "give advisories"),
        (
            vec![
                "vuln",
                "match",
                "--sbom",
                "/nonexistent.json",
                "--csaf",
                &sbom,
            ],
            "/nonexistent.json: cannot read",
        ),
        (
            vec!["vuln", "match", "--sbom", &sbom, "--csaf", &sbom],
            "plant.cdx.json: CSAF 2.0 JSON schema: /: \"document\" is a required property",
        ),
        (
            vec!["vuln", "match", "--sbom", &sbom, "--osv", "/no/such/dir"],
            "/no/such/dir: no such file",
        ),
    ];
    for (args, expected) in cases {
        assert_bad_input(&args, expected);
    }
}

#[test]
fn vex_decisions_cover_findings_and_round_trip_as_cyclonedx_vex() {
    let sbom = data("sbom/plant.cdx.json");
    let csaf = data("csaf/icsa-22-314-11.json");
    let decisions = data("vex/plant-decisions.toml");
    // Without VEX the four Q100 findings fail the check.
    let output = rampart(&["vuln", "match", "--sbom", &sbom, "--csaf", &csaf]);
    assert_eq!(output.status.code(), Some(1));
    // The analyst's justified not_affected covers them: shown with the reason, exit 0.
    let output = rampart(&[
        "vuln", "match", "--sbom", &sbom, "--csaf", &csaf, "--vex", &decisions,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("known_affected (VEX: known_not_affected)"),
        "{text}"
    );
    assert!(
        text.contains("VEX vulnerable_code_cannot_be_controlled_by_adversary: The web server"),
        "{text}"
    );
    assert!(text.contains("4 covered by VEX"), "{text}");
    assert!(
        stderr(&output).contains("expired on 2020-01-01"),
        "{}",
        stderr(&output)
    );
    // Written as CycloneDX VEX and read back, the same.
    let dir = tempfile::tempdir().unwrap();
    let (vex, output) = write_q100_vex(dir.path(), "cyclonedx-vex", &[]);
    let vex = vex.as_str();
    assert_eq!(output.status.code(), Some(0));
    let output = rampart(&[
        "vuln", "match", "--sbom", &sbom, "--csaf", &csaf, "--vex", vex, "--format", "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    for m in report["matches"].as_array().unwrap() {
        assert_eq!(m["vex"]["status"], "known_not_affected");
        assert_eq!(m["vex"]["justification"], "requires_environment");
        assert_eq!(m["open"], false);
    }
}

#[test]
fn csaf_vex_names_the_publisher_and_reads_back() {
    let sbom = data("sbom/plant.cdx.json");
    let csaf = data("csaf/icsa-22-314-11.json");
    let dir = tempfile::tempdir().unwrap();
    let (vex, output) = write_q100_vex(
        dir.path(),
        "csaf-vex",
        &[
            "--publisher",
            "Example Integrator",
            "--namespace",
            "https://integrator.example",
            "--tracking-id",
            "EI-VEX-2026-001",
        ],
    );
    let vex = vex.as_str();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vex).unwrap()).unwrap();
    assert_eq!(document["document"]["category"], "csaf_vex");
    assert_eq!(
        document["document"]["publisher"]["name"],
        "Example Integrator"
    );
    assert_eq!(document["document"]["tracking"]["id"], "EI-VEX-2026-001");
    let output = rampart(&[
        "vuln", "match", "--sbom", &sbom, "--csaf", &csaf, "--vex", vex,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    // Nothing to state: no document.
    let spdx = data("sbom/plant.spdx.json");
    let other = data("csaf/icsa-24-011-05.json");
    let output = rampart(&[
        "vuln", "match", "--sbom", &spdx, "--csaf", &other, "--format", "csaf-vex",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no match"), "{}", stderr(&output));
}

#[test]
fn a_maker_writes_checks_and_publishes_a_csaf_advisory() {
    let dir = tempfile::tempdir().unwrap();
    let source = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vuln/tests/data/advisory-source.toml"
    );
    let out = dir.path().join("sa.json");
    let out_arg = out.to_str().unwrap();
    let text = ok(&[
        "vuln", "advisory", "new", "--source", source, "--out", out_arg,
    ]);
    assert!(text.contains("RAMPART-SA-2026-0001"), "{text}");
    let text = ok(&["vuln", "advisory", "check", out_arg]);
    assert!(text.starts_with("ok "), "{text}");
    // A broken document fails the check with exit 1.
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&out).unwrap().replace(
            "\"product_id\": \"CSAFPID-0003\"",
            "\"product_id\": \"CSAFPID-9999\"",
        ),
    )
    .unwrap();
    let output = rampart(&["vuln", "advisory", "check", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("FAIL"), "{}", stdout(&output));
    let web = dir.path().join("web");
    ok(&[
        "vuln",
        "advisory",
        "publish",
        "--dir",
        web.to_str().unwrap(),
        "--base-url",
        "https://example.invalid",
        "--publisher",
        "Rampart developers",
        "--namespace",
        "https://example.invalid/rampart",
        out_arg,
    ]);
    let csaf = web.join(".well-known/csaf");
    for file in [
        "provider-metadata.json",
        "white/index.txt",
        "white/changes.csv",
        "white/white-feed.json",
        "white/2026/rampart-sa-2026-0001.json",
        "white/2026/rampart-sa-2026-0001.json.sha256",
        "white/2026/rampart-sa-2026-0001.json.sha512",
    ] {
        assert!(csaf.join(file).is_file(), "{file} missing");
    }
    // Bad input: a source that is not valid, a non-https base URL.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[document]\nid = 1\n").unwrap();
    assert_bad_input(
        &[
            "vuln",
            "advisory",
            "new",
            "--source",
            bad.to_str().unwrap(),
            "--out",
            out_arg,
        ],
        "not a valid advisory source",
    );
    assert_bad_input(
        &[
            "vuln",
            "advisory",
            "publish",
            "--dir",
            web.to_str().unwrap(),
            "--base-url",
            "http://example.invalid",
            "--publisher",
            "x",
            "--namespace",
            "https://x",
            out_arg,
        ],
        "https://",
    );
}

#[test]
fn a_trusted_provider_signs_with_its_openpgp_key_and_readers_check_the_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let source = data("advisory-source.toml");
    let (keys, sa, web) = (path("keys"), path("sa.json"), path("web"));
    let text = ok(&[
        "vuln",
        "advisory",
        "keygen",
        "--out",
        &keys,
        "--uid",
        "Rampart PSIRT <psirt@example.invalid>",
    ]);
    let secret = dir.path().join("keys/openpgp-signing-key.pem");
    let public = dir.path().join("keys/openpgp-public-key.asc");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let fingerprint = text
        .split_whitespace()
        .find(|w| w.len() == 40 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no fingerprint in {text}"))
        .to_owned();
    // keygen never replaces a key.
    assert_bad_input(
        &[
            "vuln", "advisory", "keygen", "--out", &keys, "--uid", "x <x@x>",
        ],
        "exists",
    );
    ok(&["vuln", "advisory", "new", "--source", &source, "--out", &sa]);
    let (secret, public) = (secret.to_str().unwrap(), public.to_str().unwrap());
    let publish = |key: &str, public: &str| {
        vec![
            "vuln".to_owned(),
            "advisory".into(),
            "publish".into(),
            "--dir".into(),
            web.clone(),
            "--base-url".into(),
            "https://example.invalid".into(),
            "--publisher".into(),
            "Rampart developers".into(),
            "--namespace".into(),
            "https://example.invalid/rampart".into(),
            "--openpgp-key".into(),
            key.into(),
            "--openpgp-public".into(),
            public.into(),
            sa.clone(),
        ]
    };
    let args = publish(secret, public);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = ok(&args);
    assert!(text.contains("csaf_trusted_provider"), "{text}");
    let csaf = std::path::Path::new(&web).join(".well-known/csaf");
    let metadata: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(csaf.join("provider-metadata.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(metadata["role"], "csaf_trusted_provider");
    assert_eq!(
        metadata["public_openpgp_keys"][0]["fingerprint"],
        fingerprint.as_str()
    );
    assert!(csaf.join(format!("openpgp/{fingerprint}.asc")).is_file());
    let doc = csaf.join("white/2026/rampart-sa-2026-0001.json");
    assert!(doc.with_extension("json.asc").is_file());

    // Bad key files: exit 2 naming the file.
    let args = publish(public, public);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_bad_input(&args, "openpgp-public-key.asc");
    let args = publish(secret, &sa);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_bad_input(&args, "not a usable OpenPGP public key");

    // Reading: an SBOM with the affected version, against the feed, with the trusted key.
    let sbom = path("sbom.cdx.json");
    std::fs::write(
        &sbom,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"bom-ref":"gw",
            "name":"Rampart gateway","version":"1.1.0","purl":"pkg:generic/rampart@1.1.0",
            "manufacturer":{"name":"Rampart developers"}}]}"#,
    )
    .unwrap();
    let feed = csaf.join("white/white-feed.json");
    let feed = feed.to_str().unwrap();
    let matched = rampart(&[
        "vuln",
        "match",
        "--sbom",
        &sbom,
        "--csaf",
        feed,
        "--openpgp-key",
        public,
        "--format",
        "json",
    ]);
    assert_eq!(matched.status.code(), Some(1), "{}", stderr(&matched));
    assert!(
        stdout(&matched).contains("RAMPART-SA-2026-0001"),
        "{}",
        stdout(&matched)
    );
    let text = ok(&[
        "vuln",
        "advisory",
        "check",
        "--openpgp-key",
        public,
        doc.to_str().unwrap(),
    ]);
    assert!(text.contains("(signed)"), "{text}");

    // Another trusted key: the document is refused, named, exit 2.
    let other = path("other");
    ok(&[
        "vuln",
        "advisory",
        "keygen",
        "--out",
        &other,
        "--uid",
        "Other <o@example.invalid>",
    ]);
    let other_public = format!("{other}/openpgp-public-key.asc");
    assert_bad_input(
        &[
            "vuln",
            "match",
            "--sbom",
            &sbom,
            "--csaf",
            feed,
            "--openpgp-key",
            &other_public,
        ],
        "rampart-sa-2026-0001.json",
    );
    // A missing signature: refused with the key, read as before without it.
    std::fs::remove_file(doc.with_extension("json.asc")).unwrap();
    assert_bad_input(
        &[
            "vuln",
            "match",
            "--sbom",
            &sbom,
            "--csaf",
            feed,
            "--openpgp-key",
            public,
        ],
        "no OpenPGP signature",
    );
    let unsigned = rampart(&["vuln", "match", "--sbom", &sbom, "--csaf", feed]);
    assert_eq!(unsigned.status.code(), Some(1), "{}", stderr(&unsigned));
}
