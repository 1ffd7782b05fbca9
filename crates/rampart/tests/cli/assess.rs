//! `rampart assess`: exit codes, bad-input messages, every format from the command line, the
//! OSCAL documents in a real consumer (trestle) and the HTML report in a real browser.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use crate::util::{have, stderr, stdout, trestle};

/// A fixed time for reports (2026-11-28T07:00:00Z), so outputs compare byte for byte.
const EPOCH: &str = "1795849200";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `rampart` from the repository root, where profile paths are relative.
fn assess(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("assess")
        .args(args)
        .current_dir(repo())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("NO_COLOR")
        .output()
        .expect("the rampart binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

/// Asserts exit code 2 and that stderr contains every one of `needles`.
fn bad_input(args: &[&str], needles: &[&str]) {
    let output = assess(args);
    let message = stderr(&output);
    assert_eq!(code(&output), 2, "{args:?}: {message}");
    for needle in needles {
        assert!(
            message.contains(needle),
            "{args:?}: {message:?} lacks {needle:?}"
        );
    }
}

fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn exit_0_when_sl_c_reaches_sl_t() {
    let output = assess(&["examples/edr-rtu.toml"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let output = assess(&["examples/hdr-historian.toml", "--sl-t", "1"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("PASS: SL-C {2 2 1 2 4 4 4} reaches SL-T {1 1 1 1 1 1 1}"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour without a terminal");
}

#[test]
fn exit_1_with_the_gap_list_when_it_does_not() {
    let output = assess(&["profiles/rampart-gateway.toml"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("FR2 UC"), "{text}");
    assert!(text.contains("CR 2.11 RE 1"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("FAIL"), "{text}");
    // A mixed SL-T vector from the command line.
    let output = assess(&["profiles/rampart-gateway.toml", "--sl-t", "2,1,0,1,3,2,0"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn json_carries_the_vectors_and_the_gaps() {
    let output = assess(&["examples/hdr-historian.toml", "--format", "json"]);
    assert_eq!(code(&output), 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["generated_at"], "2026-11-28T07:00:00Z");
    for fr in 1..=7 {
        assert!(report["sl_t"][format!("FR{fr}")].is_u64());
        assert!(report["sl_c"][format!("FR{fr}")].is_u64());
    }
    let gaps = report["gaps"].as_array().unwrap();
    assert!(!gaps.is_empty());
    for gap in gaps {
        assert!(gap["id"].is_string() && gap["fr"].as_str().unwrap().starts_with("FR"));
        assert!((1..=4).contains(&gap["level"].as_u64().unwrap()));
    }
}

#[test]
fn bad_input_exits_2_naming_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    bad_input(
        &["no-such-profile.toml"],
        &["no-such-profile.toml", "cannot read"],
    );
    let profile = temp_file(
        &dir,
        "p.toml",
        "format = 1\n[component]\nvendor = \"V\"\nproduct = \"P\"\nversion = \"1\"\ntype = \"EDR\"\n[target]\nsl_t = 2\n\
         [requirement.\"CR 1.1 RE 1\"]\nstatus = \"met\"\n",
    );
    bad_input(
        &[&profile],
        &[
            "p.toml:9:14:",
            "\"CR 1.1 RE 1\" is claimed met but its base requirement \"CR 1.1\" is not in the profile",
        ],
    );
    let typo = temp_file(
        &dir,
        "typo.toml",
        &std::fs::read_to_string(&profile)
            .unwrap()
            .replace("CR 1.1 RE 1", "CR 1.1 RE 9"),
    );
    bad_input(
        &[&typo],
        &["typo.toml:9:14:", "unknown requirement id 'CR 1.1 RE 9'"],
    );
    let na = temp_file(
        &dir,
        "na.toml",
        &std::fs::read_to_string(&profile).unwrap().replace(
            "CR 1.1 RE 1\"]\nstatus = \"met\"",
            "CR 2.2\"]\nstatus = \"not-applicable\"",
        ),
    );
    bad_input(
        &[&na],
        &["na.toml:9:14:", "not-applicable without a justification"],
    );
    let syntax = temp_file(&dir, "syntax.toml", "format = 1\n[component\n");
    bad_input(&[&syntax], &["syntax.toml:2:"]);
    bad_input(
        &["examples/edr-rtu.toml", "--sl-t", "5"],
        &["--sl-t", "'5' is not an SL vector"],
    );
    bad_input(
        &["examples/edr-rtu.toml", "--sl-t", "1,2,3"],
        &["'1,2,3' is not an SL vector"],
    );
    let waivers = temp_file(
        &dir,
        "w.toml",
        "format = 1\n[waiver.\"CR 7.3\"]\nexpires = 2027-01-01\n",
    );
    bad_input(
        &["examples/edr-rtu.toml", "--waivers", &waivers],
        &["w.toml:2:1:", "missing field `justification`"],
    );
    bad_input(&["examples/edr-rtu.toml", "--format", "oscal"], &["-o DIR"]);
    bad_input(
        &[
            "examples/edr-rtu.toml",
            "--live-report",
            "crates/assess/tests/fixtures/config-report.json",
        ],
        &["reports type NDR but the profile describes a EDR"],
    );
    bad_input(
        &[
            "examples/edr-rtu.toml",
            "--live",
            "http://127.0.0.1:8443",
            "--token",
            "t",
            "--ca",
            &profile,
        ],
        &["--live 'http://127.0.0.1:8443'"],
    );
    bad_input(&["examples/edr-rtu.toml", "--format", "yaml"], &["yaml"]);
}

#[test]
fn live_evidence_from_a_saved_config_report() {
    let output = assess(&[
        "profiles/rampart-gateway.toml",
        "--live-report",
        "crates/assess/tests/fixtures/config-report.json",
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("warning"),
        "the profile agrees with the live checks: {}",
        stderr(&output)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let findings = report["live"]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "mfa-for-all" && f["outcome"] == "fail")
    );
}

#[test]
fn waived_gaps_are_reported_as_waived() {
    let plain = assess(&["examples/sar-hmi-studio.toml", "--format", "json"]);
    let waived = assess(&[
        "examples/sar-hmi-studio.toml",
        "--waivers",
        "examples/sar-hmi-studio.waivers.toml",
        "--format",
        "json",
    ]);
    let plain: serde_json::Value = serde_json::from_str(&stdout(&plain)).unwrap();
    let waived: serde_json::Value = serde_json::from_str(&stdout(&waived)).unwrap();
    assert_eq!(waived["waived"][0]["id"], "CR 4.2");
    assert_eq!(
        waived["waived"][0]["status"], "compensated",
        "waived, not met"
    );
    assert_eq!(
        plain["sl_c"], waived["sl_c"],
        "a waiver does not raise SL-C"
    );
    assert_eq!(
        waived["gaps"].as_array().unwrap().len() + 1,
        plain["gaps"].as_array().unwrap().len()
    );
}

#[test]
fn every_format_is_written_to_a_file_and_oscal_to_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    for (format, starts) in [
        ("table", "Tidewater"),
        ("markdown", "# IEC 62443-4-2 assessment"),
        ("json", "{"),
        ("html", "<!DOCTYPE html>"),
        ("oscal-component", "{"),
        ("oscal-ar", "{"),
        ("oscal-poam", "{"),
        ("sarif", "{"),
        ("junit", "<?xml"),
    ] {
        let out = dir.path().join(format);
        let output = assess(&[
            "examples/sar-hmi-studio.toml",
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code(&output), 1, "{format}: {}", stderr(&output));
        assert!(
            stdout(&output).is_empty(),
            "{format}: -o writes nothing to stdout"
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.starts_with(starts),
            "{format}: {}",
            &text[..80.min(text.len())]
        );
    }
    let oscal = dir.path().join("oscal");
    let output = assess(&[
        "examples/sar-hmi-studio.toml",
        "--format",
        "oscal",
        "-o",
        oscal.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    for name in [
        "component-definition.json",
        "assessment-results.json",
        "poam.json",
    ] {
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(oscal.join(name)).unwrap()).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 1, "{name}");
    }
}

#[test]
fn diff_exits_1_on_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let mut all = args.to_vec();
        all.extend(["--format", "json", "-o", path.to_str().unwrap()]);
        assess(&all);
        path.to_str().unwrap().to_owned()
    };
    let plain = write("plain.json", &["examples/sar-hmi-studio.toml"]);
    let waived = write(
        "waived.json",
        &[
            "examples/sar-hmi-studio.toml",
            "--waivers",
            "examples/sar-hmi-studio.waivers.toml",
        ],
    );
    let same = assess(&["diff", &plain, &plain]);
    assert_eq!(code(&same), 0);
    assert!(stdout(&same).starts_with("no change"));
    let better = assess(&["diff", &plain, &waived]);
    assert_eq!(code(&better), 0, "{}", stdout(&better));
    assert!(
        stdout(&better).contains("improved:  gap closed CR 4.2"),
        "{}",
        stdout(&better)
    );
    let worse = assess(&["diff", &waived, &plain]);
    assert_eq!(code(&worse), 1, "{}", stdout(&worse));
    assert!(
        stdout(&worse).contains("regressed: new gap CR 4.2 (FR4 SL 2)"),
        "{}",
        stdout(&worse)
    );
    let broken = temp_file(
        &dir,
        "broken.json",
        "{\"schema_version\": 1,\n \"sl_c\": 3}",
    );
    bad_input(
        &["diff", &plain, &broken],
        &["broken.json:", "not a rampart assess JSON report"],
    );
}

#[test]
#[ignore = "needs compliance-trestle: run scripts/test"]
fn trestle_validates_the_oscal_documents() {
    assert!(
        have("trestle"),
        "trestle is not installed: run scripts/test"
    );
    let workspace = tempfile::tempdir().unwrap();
    // trestle refuses to import a file from inside its own workspace.
    let exports = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| trestle(workspace.path(), args);
    run(&["init"]);
    for (profile, name) in [
        ("profiles/rampart-gateway.toml", "rampart"),
        ("examples/sar-hmi-studio.toml", "sar"),
    ] {
        let dir = exports.path().join(name);
        let output = assess(&[profile, "--format", "oscal", "-o", dir.to_str().unwrap()]);
        assert_ne!(code(&output), 2, "{}", stderr(&output));
        for (file, folder, model) in [
            (
                "component-definition.json",
                "component-definitions",
                "component-definition",
            ),
            (
                "assessment-results.json",
                "assessment-results",
                "assessment-results",
            ),
            (
                "poam.json",
                "plan-of-action-and-milestones",
                "plan-of-action-and-milestones",
            ),
        ] {
            let imported = format!("{name}-{model}");
            run(&[
                "import",
                "-f",
                dir.join(file).to_str().unwrap(),
                "-o",
                &imported,
            ]);
            run(&[
                "validate",
                "-f",
                &format!("{folder}/{imported}/{model}.json"),
            ]);
        }
    }
}

#[test]
#[ignore = "needs chromium: run scripts/test"]
fn chromium_renders_the_html_report() {
    let out_dir = repo().join("target/test-output/assess");
    std::fs::create_dir_all(&out_dir).unwrap();
    let html = out_dir.join("rampart-gateway.html");
    let output = assess(&[
        "profiles/rampart-gateway.toml",
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let bytes = crate::util::chromium_screenshot(&html, &out_dir.join("rampart-gateway.png"));
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 1280);
}

/// A stand-in for the gateway's management API: HTTPS with the local PKI's server
/// certificate, answering `GET /api/v1/config-report` with the fixture when the bearer token
/// is right and 401 otherwise. Serves `connections` connections, then stops.
fn serve_config_report(pki: &rampart_vault::pki::Pki, connections: usize) -> u16 {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.server_cert_path())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // Test only: the server key is read here to stand in for the gateway, which gets it from
    // the vault.
    let key = PrivateKeyDer::from_pem_slice(
        &rampart_vault::at_rest::read_secret(&pki.server_key_path()).unwrap(),
    )
    .unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rampart_vault::tls::provider()))
            .with_protocol_versions(rampart_vault::tls::PROTOCOL_VERSIONS)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    let config = Arc::new(config);
    let body =
        std::fs::read_to_string(repo().join("crates/assess/tests/fixtures/config-report.json"))
            .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let connection = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, stream.unwrap());
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && tls.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let request = String::from_utf8_lossy(&request);
            // Header names are case-insensitive (hyper sends them in lower case).
            let authorised = request.starts_with("GET /api/v1/config-report HTTP/1.1\r\n")
                && request
                    .to_ascii_lowercase()
                    .contains("\r\nauthorization: bearer s3cret\r\n");
            // Chunked, as hyper sends bodies of unknown length.
            let response = if authorised {
                let (a, b) = body.split_at(body.len() / 2);
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_owned()
            };
            let _ = tls.write_all(response.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    port
}

#[test]
fn live_reads_the_config_report_over_https_with_the_gateway_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = rampart_vault::DataDir::open_or_init(&dir.path().join("data")).unwrap();
    let (pki, _) = rampart_vault::pki::Pki::open_or_init(&data).unwrap();
    let port = serve_config_report(&pki, 2);
    let url = format!("https://127.0.0.1:{port}");
    let ca = pki.ca_cert_path();
    let output = assess(&[
        "profiles/rampart-gateway.toml",
        "--live",
        &url,
        "--token",
        "s3cret",
        "--ca",
        ca.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["live"]["source"], url.as_str());
    assert_eq!(report["live"]["component"]["product"], "Rampart gateway");
    bad_input(
        &[
            "profiles/rampart-gateway.toml",
            "--live",
            &url,
            "--token",
            "wrong",
            "--ca",
            ca.to_str().unwrap(),
        ],
        &["refused the token (HTTP 401)"],
    );
    // Another CA's certificate is refused at the handshake: exit 1, not a report.
    let other = tempfile::tempdir().unwrap();
    let (other_data, _) = rampart_vault::DataDir::open_or_init(&other.path().join("data")).unwrap();
    let (other_pki, _) = rampart_vault::pki::Pki::open_or_init(&other_data).unwrap();
    let port = serve_config_report(&pki, 1);
    let output = assess(&[
        "profiles/rampart-gateway.toml",
        "--live",
        &format!("https://127.0.0.1:{port}"),
        "--token",
        "s3cret",
        "--ca",
        other_pki.ca_cert_path().to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    assert!(
        stderr(&output).contains("certificate"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn test_results_make_unproven_met_claims_unverified_and_bad_reports_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // Only CR 1.11's module ran and passed; one test of CR 1.7's module failed.
    let junit = temp_file(
        &dir,
        "junit.xml",
        "<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"rampart-identity::it\">\n\
         <testcase classname=\"rampart-identity::it\" name=\"cr_1_11_lockout::locks\"/>\n\
         <testcase classname=\"rampart-identity::it\" name=\"cr_1_7_password_strength::short\">\
         <failure message=\"boom\"/></testcase>\n</testsuite>\n</testsuites>\n",
    );
    let output = assess(&["profiles/rampart-gateway.toml", "--test-results", &junit]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("test results from "), "{text}");
    assert!(text.contains("Unverified met claims"), "{text}");
    assert!(
        text.contains("failed: rampart-identity::it::cr_1_7_password_strength::short"),
        "{text}"
    );
    let output = assess(&[
        "profiles/rampart-gateway.toml",
        "--test-results",
        &junit,
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let verified = report["test_results"]["verified"].as_array().unwrap();
    assert_eq!(verified, &[serde_json::json!("CR 1.11")], "{report:#}");
    let cr_1_7 = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CR 1.7")
        .unwrap();
    assert_eq!(cr_1_7["status"], "unverified");
    assert_eq!(cr_1_7["counts"], false);

    let broken = temp_file(&dir, "broken.xml", "<testsuites>\n<testcase name=\"a\">\n");
    bad_input(
        &["profiles/rampart-gateway.toml", "--test-results", &broken],
        &["broken.xml:", "not well-formed XML"],
    );
    let nameless = temp_file(
        &dir,
        "nameless.xml",
        "<testsuites>\n  <testcase/>\n</testsuites>",
    );
    bad_input(
        &["profiles/rampart-gateway.toml", "--test-results", &nameless],
        &["nameless.xml:2:", "without a name"],
    );
}
