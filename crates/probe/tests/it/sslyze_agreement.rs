//! Agreement with sslyze 6 on the same targets: protocol versions accepted, cipher suites
//! accepted per version (IANA names), key-exchange groups, and the leaf certificate's fields
//! (key type and size, signature algorithm, validity, SAN names). Every field must be equal;
//! a failure lists every difference. The probe offers every suite of the IANA registry, sslyze
//! those its OpenSSL build knows: suites the probe finds accepted that sslyze never offered
//! (anonymous Camellia-SHA256 on a weak OpenSSL server) are printed, not failed. The targets: stunnel4 configured weakly and strictly,
//! `openssl s_server -tls1`, Rampart's Modbus/TCP Security port (sslyze authenticates with
//! the gateway's `viewer` certificate, which that port requires), and a server with the
//! management plane's TLS configuration (`web_server_config`, as `rampart-mgmt` builds it).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use rampart_probe::Evidence;
use serde_json::Value;

use crate::util::{Peer, TestGateway, free_port, have, probe, result, wait_listening};
use crate::weak_tls_peers::{WEAK_TLS, certificate, stunnel_pair};

/// sslyze's scan of `host_port` (`--cert`/`--key` when the server requires a client
/// certificate): its `scan_result`.
fn sslyze(dir: &Path, host_port: &str, client: Option<(&Path, &Path)>) -> Value {
    let out = dir.join(format!("sslyze-{}.json", host_port.replace(':', "-")));
    let mut command = Command::new("python3");
    command.args(["-m", "sslyze", "--quiet", "--mozilla_config=disable"]);
    command.arg(format!("--json_out={}", out.display()));
    command.args([
        "--sslv3",
        "--tlsv1",
        "--tlsv1_1",
        "--tlsv1_2",
        "--tlsv1_3",
        "--certinfo",
        "--elliptic_curves",
    ]);
    if let Some((cert, key)) = client {
        command.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    let status = command
        .arg(host_port)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "sslyze failed on {host_port}");
    // RSA moduli are JSON numbers beyond 64 bits: made strings first.
    let text = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys\n\
             def big(o):\n\
             \x20   if isinstance(o, int) and not isinstance(o, bool) and abs(o) >= 2**63: return str(o)\n\
             \x20   if isinstance(o, list): return [big(v) for v in o]\n\
             \x20   if isinstance(o, dict): return {k: big(v) for k, v in o.items()}\n\
             \x20   return o\n\
             print(json.dumps(big(json.load(open(sys.argv[1])))))",
        )
        .arg(&out)
        .output()
        .expect("python3 runs");
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let report: Value = serde_json::from_slice(&text.stdout).unwrap();
    let scan = &report["server_scan_results"][0];
    assert_eq!(scan["scan_status"], "COMPLETED", "{scan:#}");
    scan["scan_result"].clone()
}

const VERSIONS: [(&str, &str); 5] = [
    ("ssl_3_0_cipher_suites", "SSL 3.0"),
    ("tls_1_0_cipher_suites", "TLS 1.0"),
    ("tls_1_1_cipher_suites", "TLS 1.1"),
    ("tls_1_2_cipher_suites", "TLS 1.2"),
    ("tls_1_3_cipher_suites", "TLS 1.3"),
];

fn set(values: &Value) -> BTreeSet<String> {
    values
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn differ(
    differences: &mut Vec<String>,
    what: &str,
    sslyze: &BTreeSet<String>,
    probe: &BTreeSet<String>,
) {
    if sslyze != probe {
        differences.push(format!(
            "{what}: sslyze only {:?}, probe only {:?}",
            sslyze.difference(probe).collect::<Vec<_>>(),
            probe.difference(sslyze).collect::<Vec<_>>()
        ));
    }
}

/// Every difference between sslyze's scan and the probe's evidence about `target`.
fn differences(scan: &Value, evidence: &Evidence, target: &str) -> Vec<String> {
    let mut differences = Vec::new();
    let versions = &result(evidence, "tls-versions", target).details;
    let suites = &result(evidence, "tls-cipher-suites", target).details["accepted_by_version"];
    let mut highest = None;
    for (key, version) in VERSIONS {
        let theirs = &scan[key]["result"];
        assert!(!theirs.is_null(), "sslyze has no {key}: {scan:#}");
        let supported = theirs["is_tls_version_supported"].as_bool().unwrap();
        let ours = versions[version]
            .as_str()
            .is_some_and(|s| s.starts_with("accepted"));
        if supported != ours {
            differences.push(format!(
                "{version} supported: sslyze {supported}, probe {ours} ({})",
                versions[version]
            ));
        }
        if supported {
            highest = Some(version);
        }
        let names = |key: &str| -> BTreeSet<String> {
            theirs[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["cipher_suite"]["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let accepted = names("accepted_cipher_suites");
        let mut tested = accepted.clone();
        tested.extend(names("rejected_cipher_suites"));
        // The probe offers every suite of the IANA registry; sslyze only those its OpenSSL
        // build knows. A suite sslyze never offered cannot disagree: it is shown, not failed.
        let (ours, beyond): (BTreeSet<String>, BTreeSet<String>) = set(&suites[version])
            .into_iter()
            .partition(|s| tested.contains(s));
        if !beyond.is_empty() {
            println!("{target} {version}: accepted, and not tested by sslyze: {beyond:?}");
        }
        differ(
            &mut differences,
            &format!("{version} suites"),
            &accepted,
            &ours,
        );
    }
    // Groups: the curves sslyze tests (it tests no finite-field or hybrid group), at the
    // highest version, names compared case-insensitively.
    let curves = &scan["elliptic_curves"]["result"];
    let tested: BTreeSet<String> = ["supported_curves", "rejected_curves"]
        .iter()
        .flat_map(|k| curves[k].as_array().cloned().unwrap_or_default())
        .map(|c| c["name"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let theirs: BTreeSet<String> = curves["supported_curves"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let groups = &result(evidence, "tls-groups", target).details;
    let at = if highest == Some("TLS 1.3") {
        "TLS 1.3"
    } else {
        "TLS 1.2"
    };
    let ours: BTreeSet<String> = set(&groups[at])
        .into_iter()
        .map(|g| g.to_ascii_lowercase())
        .filter(|g| tested.contains(g))
        .collect();
    differ(&mut differences, &format!("{at} curves"), &theirs, &ours);
    // The leaf certificate.
    let leaf = &scan["certificate_info"]["result"]["certificate_deployments"][0]["received_certificate_chain"]
        [0];
    let ours = &result(evidence, "tls-certificate", target).details["chain"][0];
    let key_type = match leaf["public_key"]["algorithm"].as_str().unwrap() {
        "RSAPublicKey" => "RSA",
        "EllipticCurvePublicKey" | "ECPublicKey" => "EC",
        "Ed25519PublicKey" => "Ed25519",
        other => other,
    };
    let pairs = [
        ("key type", Value::from(key_type), ours["key_type"].clone()),
        (
            "key size",
            leaf["public_key"]["key_size"].clone(),
            ours["key_bits"].clone(),
        ),
        (
            "signature algorithm",
            leaf["signature_algorithm_oid"]["name"].clone(),
            ours["signature_algorithm"].clone(),
        ),
        (
            "not before",
            leaf["not_valid_before"].clone(),
            ours["not_before"].clone(),
        ),
        (
            "not after",
            leaf["not_valid_after"].clone(),
            ours["not_after"].clone(),
        ),
    ];
    for (what, theirs, ours) in pairs {
        if theirs != ours {
            differences.push(format!("certificate {what}: sslyze {theirs}, probe {ours}"));
        }
    }
    let alt_names = &leaf["subject_alternative_name"];
    let mut names = set(&alt_names["dns_names"]);
    names.extend(set(&alt_names["ip_addresses"]));
    differ(
        &mut differences,
        "certificate SAN names",
        &names,
        &set(&ours["names"]),
    );
    differences
}

const CHECKS: &[&str] = &[
    "tls-versions",
    "tls-cipher-suites",
    "tls-groups",
    "tls-certificate",
];

fn need_peers() {
    assert!(
        have("stunnel4") && have("openssl") && have("python3"),
        "stunnel4, openssl or python3 missing: run scripts/test"
    );
    let sslyze = Command::new("python3")
        .args(["-m", "sslyze", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        sslyze.is_ok_and(|s| s.success()),
        "sslyze is not installed: run scripts/test"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sslyze, stunnel4, openssl: run scripts/test"]
async fn the_probe_and_sslyze_agree_on_weak_and_strict_stunnel_and_openssl_tls1() {
    need_peers();
    let pair = stunnel_pair(WEAK_TLS).await;
    let tls1_dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(tls1_dir.path());
    let tls1_port = free_port();
    let _tls1 = Peer(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-tls1", "-cipher", "ALL:@SECLEVEL=0"])
            .args([
                "-accept",
                &format!("127.0.0.1:{tls1_port}"),
                "-cert",
                &cert,
                "-key",
                &key,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut failures = Vec::new();
    wait_listening(format!("127.0.0.1:{tls1_port}").parse().unwrap()).await;
    for target in [
        pair.weak.clone(),
        pair.strict.clone(),
        format!("tls://127.0.0.1:{tls1_port}"),
    ] {
        let host_port = target.trim_start_matches("tls://").to_owned();
        let evidence = probe(std::slice::from_ref(&target), CHECKS, false).await;
        let scan = sslyze(tls1_dir.path(), &host_port, None);
        for difference in differences(&scan, &evidence, &target) {
            failures.push(format!("{target}: {difference}"));
        }
    }
    assert!(
        failures.is_empty(),
        "the probe and sslyze differ:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sslyze: run scripts/test"]
async fn the_probe_and_sslyze_agree_on_the_gateway_modbus_security_port() {
    need_peers();
    let gw = TestGateway::start().await;
    let secure = gw.secure();
    let host_port = secure.trim_start_matches("modbus-tls://").to_owned();
    let evidence = probe(std::slice::from_ref(&secure), CHECKS, false).await;
    let pki = rampart_vault::pki::Pki::open(&gw.data).unwrap();
    let (cert, key) = (
        pki.client_cert_path("viewer").unwrap(),
        pki.client_key_path("viewer").unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    // sslyze is a blocking process: run it off the runtime the gateway serves on.
    let scan = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || sslyze(&dir, &host_port, Some((&cert, &key)))
    })
    .await
    .unwrap();
    let failures = differences(&scan, &evidence, &secure);
    assert!(
        failures.is_empty(),
        "the probe and sslyze differ on {secure}:\n{}",
        failures.join("\n")
    );
    gw.gateway.shutdown().await.unwrap();
}

/// A TLS server with the management plane's configuration (`web_server_config` over the
/// data directory's server certificate, as `rampart-mgmt` builds it) that holds each
/// connection open, reading until the client or an error ends it.
async fn management_tls(gw: &TestGateway) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncReadExt as _;
    let pki = rampart_vault::pki::Pki::open(&gw.data).unwrap();
    let config =
        rampart_vault::tls::web_server_config(&pki.server_cert_path(), &pki.server_key_path())
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
                }
            });
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sslyze: run scripts/test"]
async fn the_probe_and_sslyze_agree_on_the_management_planes_tls() {
    need_peers();
    let gw = TestGateway::start().await;
    let (addr, server) = management_tls(&gw).await;
    let target = format!("tls://{addr}");
    let mut checks = CHECKS.to_vec();
    checks.push("tls-resumption-after-alert");
    let evidence = probe(std::slice::from_ref(&target), &checks, false).await;
    let dir = tempfile::tempdir().unwrap();
    let scan = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        let host_port = addr.to_string();
        move || sslyze(&dir, &host_port, None)
    })
    .await
    .unwrap();
    let failures = differences(&scan, &evidence, &target);
    assert!(
        failures.is_empty(),
        "the probe and sslyze differ on {target}:\n{}",
        failures.join("\n")
    );
    // The management plane resumes no session, so none ended by a fatal alert either.
    let refused = crate::util::expect(
        &evidence,
        "tls-resumption-after-alert",
        &target,
        rampart_probe::Outcome::Met,
    );
    assert!(refused.contains("resumption not supported"), "{refused}");
    server.abort();
    gw.gateway.shutdown().await.unwrap();
}
