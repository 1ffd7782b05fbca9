//! VEX: analyst decisions applied to matches, CycloneDX 1.6 VEX written, validated against
//! the official schema, and read back with the same effect.

use rampart_vuln::vex::{self, Statement};
use rampart_vuln::{Inventory, Match, Options, Status, load, match_inventory, report};

use crate::util::{data, repo};

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 12, 7)
}

fn plant() -> (Inventory, Vec<Match>) {
    let inventory = load::inventory(&data("sbom/plant.cdx.json")).unwrap();
    let advisories = load::csaf(&data("csaf")).unwrap();
    let matches = match_inventory(&inventory, &advisories, &Options::default());
    (inventory, matches)
}

fn open(matches: &[Match]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = matches
        .iter()
        .filter(|m| m.is_open())
        .map(|m| (m.component.clone(), m.cve.clone().unwrap_or_default()))
        .collect();
    out.sort();
    out
}

#[test]
fn decisions_cover_matches_expired_ones_do_not() {
    let (_, mut matches) = plant();
    assert_eq!(open(&matches).len(), 7);
    let statements = load::vex(&data("vex/plant-decisions.toml")).unwrap();
    assert_eq!(statements.len(), 3);
    let warnings = vex::apply(&mut matches, &statements, today());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("expired on 2020-01-01"),
        "{warnings:?}"
    );
    // The four Q100 CVEs are covered; the switch is affected with a plan; Omron's decision
    // expired.
    assert_eq!(
        open(&matches),
        [
            ("omron".to_owned(), "CVE-2019-6556".to_owned()),
            ("pcs7".to_owned(), "CVE-2023-25910".to_owned()),
            ("switch".to_owned(), "CVE-2019-9744".to_owned()),
        ]
    );
    let q100 = matches.iter().find(|m| m.component == "q100").unwrap();
    let note = q100.vex.as_ref().unwrap();
    assert_eq!(note.status, Status::KnownNotAffected);
    assert!(note.detail.contains("port 443"));
    let switch = matches.iter().find(|m| m.component == "switch").unwrap();
    assert_eq!(switch.vex.as_ref().unwrap().status, Status::KnownAffected);
}

#[test]
fn unjustified_not_affected_is_ignored() {
    let (_, mut matches) = plant();
    let statement = Statement {
        component: "pcs7".to_owned(),
        vulnerability: "CVE-2023-25910".to_owned(),
        status: Status::KnownNotAffected,
        justification: None,
        detail: " ".to_owned(),
        by: None,
        date: None,
        expires: None,
        origin: "t.toml".to_owned(),
    };
    let warnings = vex::apply(&mut matches, &[statement], today());
    assert!(warnings[0].contains("no justification"), "{warnings:?}");
    assert!(matches.iter().all(|m| m.vex.is_none()));
}

#[test]
fn cyclonedx_vex_validates_and_reads_back() {
    let (inventory, mut matches) = plant();
    let statements = load::vex(&data("vex/plant-decisions.toml")).unwrap();
    vex::apply(&mut matches, &statements, today());
    let text = report::cyclonedx_vex(&matches, &inventory);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors = cyclonedx_errors(&value);
    assert!(errors.is_empty(), "{errors:#?}");
    let q100 = value["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["affects"][0]["ref"] == "q100" && v["id"] == "CVE-2022-43398")
        .unwrap();
    assert_eq!(q100["analysis"]["state"], "not_affected");
    assert_eq!(q100["analysis"]["justification"], "requires_environment");
    assert_eq!(q100["ratings"][0]["method"], "CVSSv31");

    // Read back, applied to fresh matches: the same matches are open.
    let (_, mut fresh) = plant();
    let back = vex::read(&text, "vex.cdx.json").unwrap();
    vex::apply(&mut fresh, &back, today());
    assert_eq!(open(&fresh), open(&matches));
}

#[test]
fn bad_decisions_name_the_place() {
    let cases = [
        ("format = 2\n", "format 2 is not supported"),
        (
            "format = 1\n[[decision]]\ncomponent = \"a\"\nvulnerability = \"b\"\nstatus = \"maybe\"\n",
            "unknown variant `maybe`",
        ),
        (
            "format = 1\n[[decision]]\ncomponent = \"a\"\nvulnerability = \"b\"\nstatus = \"known_not_affected\"\njustification = \"trust me\"\n",
            "decision[0].justification",
        ),
        (
            "format = 1\n[[decision]]\ncomponent = \"a\"\nvulnerability = \"b\"\nstatus = \"fixed\"\nexpires = \"soon\"\n",
            "expires",
        ),
        (
            r#"{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"X","analysis":{"state":"nope"}}]}"#,
            "/vulnerabilities/0/analysis/state",
        ),
    ];
    for (text, expected) in cases {
        let message = vex::read(text, "v").unwrap_err().to_string();
        assert!(message.contains(expected), "{text}: {message}");
    }
}

/// Errors of a document against the official CycloneDX 1.6 schema (schemas/cyclonedx-1.6).
fn cyclonedx_errors(document: &serde_json::Value) -> Vec<String> {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(repo(&format!("schemas/cyclonedx-1.6/{name}"))).unwrap(),
        )
        .unwrap()
    };
    let mut registry = jsonschema::Registry::new();
    for name in ["spdx.schema.json", "jsf-0.82.schema.json"] {
        let doc = read(name);
        let id = doc["$id"].as_str().unwrap().to_owned();
        registry = registry
            .add(id, jsonschema::Resource::from_contents(doc))
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    let validator = jsonschema::draft7::options()
        .with_registry(&registry)
        .build(&read("bom-1.6.schema.json"))
        .unwrap();
    validator
        .iter_errors(document)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn csaf_vex_text(matches: &[Match], inventory: &Inventory) -> String {
    let options = report::CsafVexOptions {
        tracking_id: "VEX-TANK-FARM-20261207".to_owned(),
        title: "VEX for the tank farm".to_owned(),
        publisher: "Example Integrator".to_owned(),
        namespace: "https://example.invalid".to_owned(),
        date: "2026-12-07T06:00:00Z".to_owned(),
        engine_version: "0.1.0".to_owned(),
    };
    report::csaf_vex(matches, inventory, &options).unwrap()
}

#[test]
fn csaf_vex_passes_the_csaf_checks_and_reads_back() {
    let (inventory, mut matches) = plant();
    let statements = load::vex(&data("vex/plant-decisions.toml")).unwrap();
    vex::apply(&mut matches, &statements, today());
    let text = csaf_vex_text(&matches, &inventory);
    // The document is an advisory Rampart reads, with the mandatory tests it checks.
    let advisory = rampart_vuln::csaf::read(&text, "vex.csaf.json").unwrap();
    assert_eq!(advisory.id, "VEX-TANK-FARM-20261207");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let q100 = value["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cve"] == "CVE-2022-43398")
        .unwrap();
    assert_eq!(
        q100["product_status"]["known_not_affected"],
        serde_json::json!(["q100"])
    );
    assert_eq!(
        q100["flags"][0]["label"],
        "vulnerable_code_cannot_be_controlled_by_adversary"
    );
    assert_eq!(q100["threats"][0]["category"], "impact");
    // Read back: the same matches are open.
    let (_, mut fresh) = plant();
    vex::apply(
        &mut fresh,
        &vex::read(&text, "vex.csaf.json").unwrap(),
        today(),
    );
    assert_eq!(open(&fresh), open(&matches));
    assert!(
        report::csaf_vex(
            &[],
            &inventory,
            &report::CsafVexOptions {
                tracking_id: String::new(),
                title: String::new(),
                publisher: String::new(),
                namespace: String::new(),
                date: String::new(),
                engine_version: String::new(),
            }
        )
        .is_none()
    );
}

/// Runs a program on a file written to a temporary directory; its output when it fails.
fn run_peer(program: &str, args: &[&str], file_name: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new(program)
        .args(args)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{program} {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "needs csaf (PyPI): run scripts/test"]
fn csaf_vex_passes_the_pypi_csaf_validator() {
    let (inventory, mut matches) = plant();
    let statements = load::vex(&data("vex/plant-decisions.toml")).unwrap();
    vex::apply(&mut matches, &statements, today());
    let text = csaf_vex_text(&matches, &inventory);
    run_peer(
        "csaf",
        &["validate", "--spec-version", "v20", "--no-network"],
        "vex.csaf.json",
        &text,
    );
}

#[test]
#[ignore = "needs cyclonedx-python-lib (PyPI): run scripts/test"]
fn cyclonedx_vex_is_read_by_cyclonedx_python_lib() {
    let (inventory, mut matches) = plant();
    let statements = load::vex(&data("vex/plant-decisions.toml")).unwrap();
    vex::apply(&mut matches, &statements, today());
    let text = report::cyclonedx_vex(&matches, &inventory);
    let script = "import json, sys\n\
        from cyclonedx.model.bom import Bom\n\
        bom = Bom.from_json(json.load(open(sys.argv[1])))\n\
        states = sorted(str(v.analysis.state) for v in bom.vulnerabilities)\n\
        assert len(states) == len(json.load(open(sys.argv[1]))['vulnerabilities']), states\n\
        print(states)\n";
    run_peer("python3", &["-c", script], "vex.cdx.json", &text);
}

#[test]
#[ignore = "needs csaf (PyPI): run scripts/test"]
fn a_makers_security_advisory_passes_the_pypi_csaf_validator() {
    let source = rampart_vuln::publish::read_source(
        &std::fs::read_to_string(data("advisory-source.toml")).unwrap(),
        "advisory-source.toml",
    )
    .unwrap();
    let text = rampart_vuln::publish::write_advisory(&source, today_timestamp()).unwrap();
    run_peer(
        "csaf",
        &["validate", "--spec-version", "v20", "--no-network"],
        "rampart-sa-2026-0001.json",
        &text,
    );
}

fn today_timestamp() -> jiff::Timestamp {
    "2026-12-07T10:00:00Z".parse().unwrap()
}
