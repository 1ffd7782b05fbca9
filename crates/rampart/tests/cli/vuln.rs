//! `rampart vuln`: exit codes, the table sorted by severity, the JSON contract, and bad input.

use crate::util::{assert_bad_input, rampart, stderr, stdout};

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
            "missing field `document`",
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
