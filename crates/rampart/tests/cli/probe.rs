//! `rampart probe` from the command line: bad input is exit 2, intrusive checks are refused
//! without `--intrusive`, and a probe of `rampart up` — its Modbus/TCP Security port, its
//! management plane and its (unauthenticated, by configuration) plain listener — yields the
//! findings it should, whose evidence `rampart assess --evidence` then uses; with a throw-away
//! account, the intrusive login checks lock it.

use crate::util::{address, rampart, stderr, stdout, up_lines};

#[test]
fn bad_targets_unknown_checks_and_unconsented_intrusive_checks_are_bad_input() {
    for (args, says) in [
        (vec!["probe", "ftp://127.0.0.1:21"], "unknown scheme"),
        (vec!["probe", "tls://127.0.0.1"], "tls:// needs a port"),
        (vec!["probe", "modbus://127.0.0.1:99999"], "not 1-65535"),
        (
            vec!["probe", "modbus://127.0.0.1:1", "--checks", "tls-version"],
            "did you mean 'tls-versions'",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--checks",
                "modbus-unauthenticated-write",
            ],
            "runs only with --intrusive",
        ),
        (
            vec!["probe", "modbus://127.0.0.1:1", "--checks", "tls-versions"],
            "none of the selected checks",
        ),
        (vec!["probe"], "TARGET"),
        (
            vec![
                "probe",
                "modbus-tls://127.0.0.1:1",
                "--client-cert",
                "/nonexistent.crt",
                "--client-key",
                "/nonexistent.key",
            ],
            "client certificate: /nonexistent",
        ),
        (
            vec![
                "probe",
                "modbus-tls://127.0.0.1:1",
                "--client-cert",
                "c.crt",
            ],
            "--client-key",
        ),
        (
            vec![
                "probe",
                "https://127.0.0.1:1",
                "--intrusive",
                "--checks",
                "https-lockout",
            ],
            "--login-account NAME",
        ),
        (
            vec!["probe", "https://127.0.0.1:1", "--login-account", "op"],
            "--intrusive",
        ),
        (
            vec![
                "probe",
                "https://127.0.0.1:1",
                "--intrusive",
                "--login-account",
                "op",
                "--lockout-max",
                "0",
            ],
            "lockout maximum must be 1 to 20",
        ),
        (
            vec![
                "probe",
                "https://127.0.0.1:1",
                "--intrusive",
                "--checks",
                "storm-connections",
            ],
            "an essential function is watched, and there is none",
        ),
        (
            vec![
                "probe",
                "https://127.0.0.1:1",
                "--intrusive",
                "--monitor",
                "https://127.0.0.1:1",
            ],
            "is not a Modbus target",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--monitor-register",
                "1/70000",
            ],
            "'70000' is not a register address",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--profile",
                "/nonexistent.toml",
            ],
            "/nonexistent.toml",
        ),
        (
            vec!["probe", "modbus://127.0.0.1:1", "--storm-duration", "5"],
            "--intrusive",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--intrusive",
                "--storm-duration",
                "61",
            ],
            "--storm-duration: 61 s: a storm lasts 1 to 60 s",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--intrusive",
                "--storm-rate",
                "storm-connections=1001",
            ],
            "--storm-rate: storm-connections=1001: N counts connection attempts a second, from 1 \
             to 1000 (default 100)",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--intrusive",
                "--storm-rate",
                "tls-versions=5",
            ],
            "\"tls-versions\" is not a storm check (storm-connections, ",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--intrusive",
                "--storm-rate",
                "storm-syn-flood",
            ],
            "expected CHECK=N",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--storm-spoof",
                "198.18.0.0/15",
            ],
            "--intrusive",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--intrusive",
                "--storm-spoof",
                "198.18.0.1/15",
            ],
            "host bits are set (the network is 198.18.0.0/15)",
        ),
        (
            vec![
                "probe",
                "modbus://127.0.0.1:1",
                "--intrusive",
                "--checks",
                "storm-connections",
                "--storm-spoof",
                "198.18.0.0/15",
            ],
            "--storm-spoof spoofs the sources of storm-syn-flood, which is not selected",
        ),
    ] {
        let out = rampart(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    // An OpenAPI document that is missing or is none.
    let dir = tempfile::tempdir().unwrap();
    let swagger = dir.path().join("swagger.json");
    std::fs::write(&swagger, r#"{"swagger": "2.0", "paths": {}}"#).unwrap();
    let swagger = swagger.display().to_string();
    for (file, says) in [
        ("/nonexistent.json", "--openapi: /nonexistent.json: "),
        (
            swagger.as_str(),
            "--openapi: not an OpenAPI 3 document in JSON",
        ),
    ] {
        let out = rampart(&["probe", "https://127.0.0.1:1", "--openapi", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
    }
}

#[test]
fn a_closed_port_is_probed_within_bounds_and_passes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = rampart(&[
        "probe",
        &format!("modbus://127.0.0.1:{port}"),
        "--checks",
        "modbus-plaintext",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("met") && stdout(&out).contains("CR 3.1, CR 4.1"),
        "{}",
        stdout(&out)
    );
    let out = rampart(&[
        "probe",
        &format!("modbus://127.0.0.1:{port}"),
        "--checks",
        "modbus-plaintext,modbus-unauthenticated-access",
        "--format",
        "junit",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let xml = stdout(&out);
    assert!(xml.contains("tests=\"2\" failures=\"0\""), "{xml}");
    assert!(
        xml.contains("name=\"modbus-unauthenticated-access [CR 1.2, CR 2.1]\""),
        "{xml}"
    );
    // A storm says beforehand how long and how hard this run loads the target, after
    // --storm-duration and --storm-rate (its summary gives the defaults).
    let out = rampart(&[
        "probe",
        &format!("modbus://127.0.0.1:{port}"),
        "--intrusive",
        "--checks",
        "storm-connections",
        "--storm-duration",
        "1",
        "--storm-rate",
        "storm-connections=5",
    ]);
    assert!(
        stderr(&out).contains("This run: 1 s, 5 connection attempts a second."),
        "{}",
        stderr(&out)
    );
}

#[test]
fn probing_rampart_up_finds_its_plain_listener_and_assess_uses_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "{}[plain]\nenabled = true\nlisten = \"127.0.0.1:0\"\nrole = \"viewer\"\n",
            crate::util::FREE_PORTS
        ),
    )
    .unwrap();
    let (_up, lines) = up_lines(&data, &config);
    let secure = address(&lines, "Modbus/TCP Security").expect("secure address");
    let plain = address(&lines, "plain Modbus/TCP").expect("plain address");
    let management = address(&lines, "management (HTTPS)").expect("management address");
    let evidence_file = dir.path().join("evidence.json");
    let targets = [
        format!("modbus-tls://{secure}"),
        format!("https://{management}"),
        format!("modbus://{plain}"),
    ];
    let out = rampart(&[
        "probe",
        &targets[0],
        &targets[1],
        &targets[2],
        "--out",
        evidence_file.to_str().unwrap(),
        "--format",
        "sarif",
    ]);
    // The plain listener serves reads in clear text to anyone: exit 1.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let evidence: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&evidence_file).unwrap()).unwrap();
    assert_eq!(evidence["format"], "rampart-probe-evidence");
    let outcome = |id: &str, target: &str| -> String {
        evidence["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id && c["target"] == target)
            .unwrap_or_else(|| panic!("{id} {target}"))["outcome"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for id in [
        "tls-versions",
        "tls-cipher-suites",
        "tls-compression-renegotiation",
        "tls-certificate",
        "tls-client-certificate",
        "modbus-plaintext",
    ] {
        assert_eq!(outcome(id, &targets[0]), "met", "{id}: {evidence:#}");
    }
    for id in [
        "tls-versions",
        "tls-cipher-suites",
        "tls-compression-renegotiation",
        "tls-certificate",
        "https-security-headers",
        "https-anonymous-api",
        "https-use-notification",
        "https-authenticator-feedback",
    ] {
        assert_eq!(outcome(id, &targets[1]), "met", "{id}: {evidence:#}");
    }
    // Key-exchange groups: the vault's three on both TLS ports. Resumption after a fatal
    // alert, on the management plane (no client certificate needed there): Rampart resumes
    // no session at all (docs/probe.md, "TLS findings").
    assert_eq!(outcome("tls-groups", &targets[0]), "met", "{evidence:#}");
    assert_eq!(outcome("tls-groups", &targets[1]), "met", "{evidence:#}");
    assert_eq!(
        outcome("tls-resumption-after-alert", &targets[1]),
        "met",
        "{evidence:#}"
    );
    // Nor does it renegotiate a session a client asks to.
    assert_eq!(
        outcome("tls-client-renegotiation", &targets[1]),
        "met",
        "{evidence:#}"
    );
    // The login page sets no cookie before a login: nothing to judge read-only.
    assert_eq!(
        outcome("https-cookie-attributes", &targets[1]),
        "not_tested"
    );
    assert_eq!(outcome("modbus-plaintext", &targets[2]), "not_met");
    assert_eq!(
        outcome("modbus-unauthenticated-access", &targets[2]),
        "not_met"
    );
    assert_eq!(outcome("modbus-malformed-frames", &targets[2]), "met");

    // The evidence decides requirements in the assessment, as --live does.
    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/rampart-gateway.toml"
    );
    let out = rampart(&[
        "assess",
        profile,
        "--evidence",
        evidence_file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report["live"]["findings"]
        .as_array()
        .expect("live findings");
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "probe:tls-versions" && f["outcome"] == "pass")
    );
    let failing: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["check"] == "probe:modbus-plaintext" && f["outcome"] == "fail")
        .collect();
    assert_eq!(failing.len(), 2, "CR 3.1 and CR 4.1: {failing:?}");
    // The profile claims CR 3.1 met; the probe of the plain listener contradicts it.
    assert!(stderr(&out).contains("CR 3.1"), "{}", stderr(&out));
    let bad = rampart(&["assess", profile, "--evidence", config.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));

    // --profile: the legacy PLC's claims assessed with what the probe just measured.
    let legacy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/legacy-plc.toml"
    );
    let out = rampart(&["probe", &targets[2], "--profile", legacy]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("modbus-plaintext"), "{text}");
    assert!(text.contains("SL-C {1 0 0 0"), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        stderr(&out).contains("warning: the profile claims CR 3.1 met"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_intrusive_login_checks_lock_a_throw_away_account_of_rampart_up() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, crate::util::FREE_PORTS).unwrap();
    let (_up, url) = crate::util::up(&data, &config);
    let data_arg = data.to_str().unwrap();
    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "user",
            "add",
            "throwaway",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .args(["--data", data_arg])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple xyz\n")
        .unwrap();
    let added = add.wait_with_output().unwrap();
    assert!(added.status.success(), "{}", stderr(&added));
    let out = rampart(&[
        "probe",
        &url,
        "--intrusive",
        "--login-account",
        "throwaway",
        "--checks",
        "https-use-notification,https-authenticator-feedback,https-lockout",
        "--format",
        "json",
    ]);
    // Nothing not met: Rampart's lockout cannot be seen from outside (not tested).
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let evidence: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let outcome = |id: &str| {
        evidence["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {evidence:#}"))["outcome"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(outcome("https-use-notification"), "met", "{evidence:#}");
    assert_eq!(
        outcome("https-authenticator-feedback"),
        "met",
        "{evidence:#}"
    );
    assert_eq!(outcome("https-lockout"), "not_tested", "{evidence:#}");
    // The account is locked, as the summary warns; the documented way out unlocks it.
    let accounts: serde_json::Value = serde_json::from_str(&crate::util::ok(&[
        "user", "list", "--data", data_arg, "--format", "json",
    ]))
    .unwrap();
    let throwaway = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "throwaway")
        .unwrap();
    assert_eq!(throwaway["locked"], true, "{accounts:#}");
    let unlocked = crate::util::ok(&["user", "unlock", "throwaway", "--data", data_arg]);
    assert!(unlocked.contains("unlocked throwaway"), "{unlocked}");
}

/// The SYN flood from spoofed sources, inside a network namespace of the test's own
/// (`unshare -rn`: its own loopback and links, no privilege needed outside it): `rampart up`
/// on its defaults there; the spoofed network routed out of a veth link to a neighbour that
/// does not exist (a static entry, so the gateway's SYN-ACKs leave and nothing ever answers
/// or resets them — a blackhole route would keep the kernel from even queueing the
/// connection); reverse-path filtering off, so the kernel takes segments arriving on loopback
/// from addresses routed elsewhere, and `route_localnet` on, so it answers them from the
/// gateway's 127.0.0.1 out of that link. The kernel's own
/// counters show the SYN backlog overflowing into SYN cookies; the essential function (the
/// operator's reads of holding register 0) misses no poll.
const SPOOFED_SYN_FLOOD: &str = r#"
set -eu
rampart=$1 data=$2 out=$3
ip link set lo up
ip link add answers type veth peer name nobody
ip link set answers up
ip link set nobody up
ip addr add 10.255.0.1/30 dev answers
ip neigh add 10.255.0.2 lladdr 02:00:00:00:00:01 dev answers nud permanent
ip route add 198.18.0.0/15 via 10.255.0.2 dev answers
sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.lo.rp_filter=0 \
  net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.answers.route_localnet=1
"$rampart" up --data "$data" > "$data.log" 2>&1 &
up=$!
for _ in $(seq 1 600); do
  grep -q "SIGTERM stops the gateway" "$data.log" && break
  kill -0 "$up"
  sleep 0.1
done
grep -q "SIGTERM stops the gateway" "$data.log"
status=0
"$rampart" probe modbus-tls://127.0.0.1:8020 --intrusive --checks storm-syn-flood \
  --storm-spoof 198.18.0.0/15 --storm-duration 5 \
  --client-cert "$data/pki/clients/operator.crt" --client-key "$data/pki/clients/operator.key" \
  --format json > "$out" || status=$?
awk '/^TcpExt:/ { n++; if (n == 1) split($0, k); else { split($0, v); for (i in k) print k[i], v[i] } }' \
  /proc/net/netstat > "$out.netstat"
kill -TERM "$up"
wait "$up" || true
exit "$status"
"#;

#[test]
#[ignore = "needs unshare (user and network namespaces) and iproute2: run scripts/test"]
fn a_syn_flood_from_spoofed_sources_overflows_the_backlog_and_the_essential_function_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("evidence.json");
    let run = std::process::Command::new("unshare")
        .args(["-rn", "sh", "-c", SPOOFED_SYN_FLOOD, "sh"])
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .arg(&data)
        .arg(&out)
        .output()
        .expect("unshare runs");
    let log = std::fs::read_to_string(dir.path().join("data.log")).unwrap_or_default();
    assert!(
        run.status.success(),
        "{}\n{}\nrampart up:\n{log}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let evidence: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let flood = &evidence["checks"][0];
    assert_eq!(flood["id"], "storm-syn-flood");
    assert_eq!(flood["outcome"], "met", "{flood:#}");
    let details = &flood["details"];
    assert_eq!(
        details["storm"]["source"], "198.18.0.0/15 (spoofed)",
        "{flood:#}"
    );
    assert!(
        details["storm"]["sent"].as_u64().unwrap() >= 5_000,
        "{flood:#}"
    );
    assert_eq!(details["missed_polls"], 0, "{flood:#}");
    assert!(
        flood["observation"]
            .as_str()
            .unwrap()
            .contains("from random addresses of 198.18.0.0/15 (spoofed)"),
        "{flood:#}"
    );
    // Nothing answered the SYN-ACKs: the backlog overflowed and the kernel fell back to
    // SYN cookies, so half-open connections really piled up.
    let netstat = std::fs::read_to_string(dir.path().join("evidence.json.netstat")).unwrap();
    let counter = |name: &str| {
        netstat
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} in {netstat}"))
    };
    assert!(counter("SyncookiesSent") > 0, "{netstat}");
}
