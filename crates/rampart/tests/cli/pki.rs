//! `rampart pki` next to a running gateway: a client certificate issued with a role of the
//! policy opens a Modbus/TCP Security session; revoked, the gateway refuses it within a
//! moment (alert `certificate_revoked`), and its run-time integrity check takes the new CRL
//! as the one the revocation recorded — re-sealed, no alert. A revocation while the gateway
//! is stopped is re-sealed at the next start. Bad input is exit 2.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{FREE_PORTS, address, ok, rampart, stderr, up_lines};

fn actions(data: &Path) -> Vec<Value> {
    serde_json::from_str(&ok(&[
        "audit",
        "query",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap()
}

/// `modbus-malformed-frames` through the gateway with the client `name`'s certificate: its
/// first step is a valid read, so the outcome says whether the session opened.
fn session(data: &Path, secure: &str, name: &str) -> Value {
    let clients = data.join("pki/clients");
    let out = rampart(&[
        "probe",
        &format!("modbus-tls://{secure}"),
        "--client-cert",
        clients.join(format!("{name}.crt")).to_str().unwrap(),
        "--client-key",
        clients.join(format!("{name}.key")).to_str().unwrap(),
        "--checks",
        "modbus-malformed-frames",
        "--format",
        "json",
    ]);
    let evidence: Value = serde_json::from_slice(&out.stdout).unwrap();
    evidence["checks"][0].clone()
}

#[test]
fn a_certificate_issued_opens_a_session_and_revoked_is_refused_without_an_integrity_alert() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(
        &config,
        format!("{FREE_PORTS}[integrity]\nrecheck_interval_s = 1\n"),
    )
    .unwrap();
    let (up, lines) = up_lines(&data, &config);
    let secure = address(&lines, "Modbus/TCP Security").unwrap();
    let d = data.to_str().unwrap();

    let issued = ok(&[
        "pki", "issue", "hmi-1", "--role", "operator", "--days", "30", "--data", d,
    ]);
    assert!(issued.contains("issued hmi-1 (role operator"), "{issued}");
    let listed: Value =
        serde_json::from_str(&ok(&["pki", "list", "--format", "json", "--data", d])).unwrap();
    let hmi = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hmi-1")
        .expect("hmi-1 listed");
    assert_eq!(
        (&hmi["role"], &hmi["revoked"]),
        (&Value::from("operator"), &Value::from(false))
    );
    let open = session(&data, &secure, "hmi-1");
    assert_eq!(open["outcome"], "met", "{open:#}");

    let revoked = ok(&["pki", "revoke", "hmi-1", "--data", d]);
    assert!(revoked.contains("CRL number 2"), "{revoked}");
    // The gateway applies the CRL within a quarter second of the change.
    std::thread::sleep(Duration::from_millis(800));
    let refused = session(&data, &secure, "hmi-1");
    assert_eq!(refused["outcome"], "not_tested", "{refused:#}");
    assert!(
        refused["observation"]
            .as_str()
            .unwrap()
            .contains("certificate_revoked"),
        "{refused:#}"
    );
    // Others are untouched.
    assert_eq!(session(&data, &secure, "operator")["outcome"], "met");
    // The run-time check re-seals the recorded CRL instead of raising an alert.
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let events = actions(&data);
        if events.iter().any(|e| {
            e["action"] == "integrity.sealed" && e["details"]["reason"] == "crl-revocation"
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the revocation was not re-sealed"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let events = actions(&data);
    assert!(
        !events.iter().any(|e| e["action"] == "integrity.changed"),
        "{events:#?}"
    );
    let recorded: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "pki.issued" || e["action"] == "pki.revoked")
        .collect();
    assert_eq!(recorded.len(), 2, "{recorded:#?}");
    assert_eq!(recorded[1]["details"]["crl_number"], 2);
    drop(up);

    // Stopped: a revocation is re-sealed at the next start, which then starts.
    ok(&["pki", "issue", "hmi-2", "--role", "viewer", "--data", d]);
    ok(&["pki", "revoke", "hmi-2", "--data", d]);
    let (up, lines) = up_lines(&data, &config);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("the CRL is the one `rampart pki revoke` recorded (CRL number 3)")),
        "{lines:#?}"
    );
    assert!(
        address(&lines, "Modbus/TCP Security").is_some(),
        "{lines:#?}"
    );
    drop(up);
}

#[test]
fn an_older_crl_put_back_is_still_an_integrity_finding() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    let (up, _) = up_lines(&data, &config);
    drop(up);
    let d = data.to_str().unwrap();
    let crl = data.join("pki/ca.crl");
    ok(&["pki", "issue", "lost", "--role", "viewer", "--data", d]);
    ok(&["pki", "revoke", "lost", "--data", d]);
    let revoked_crl = std::fs::read(&crl).unwrap();
    let (up, _) = up_lines(&data, &config);
    drop(up);
    // A second revocation, then the first CRL (without it) put back: un-revoking by rollback.
    ok(&["pki", "issue", "lost-too", "--role", "viewer", "--data", d]);
    ok(&["pki", "revoke", "lost-too", "--data", d]);
    std::fs::write(&crl, revoked_crl).unwrap();
    // The manifest still matches the CRL put back (it was sealed then); the CRL number, older
    // than the newest revocation recorded, gives it away: the start is refused.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["up", "--data", d, "--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rampart up started on a rolled-back CRL");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("CRL number 2 is older than the newest revocation recorded (CRL number 3"),
        "{err}"
    );
}

#[test]
fn bad_pki_input_is_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    drop(up_lines(&data, &config));
    let d = data.to_str().unwrap();
    ok(&["pki", "issue", "hmi", "--role", "viewer", "--data", d]);
    for (args, says) in [
        (
            vec!["pki", "issue", "x", "--role", "boss", "--data", d],
            "--role boss: not a role of the policy (its roles: viewer, operator, engineer)",
        ),
        (
            vec!["pki", "issue", "hmi", "--role", "viewer", "--data", d],
            "a client certificate named hmi exists",
        ),
        (
            vec!["pki", "issue", "../evil", "--role", "viewer", "--data", d],
            "../evil",
        ),
        (
            vec![
                "pki", "issue", "y", "--role", "viewer", "--days", "0", "--data", d,
            ],
            "--days 0: a client certificate is valid for 1 to 3650 days",
        ),
        (
            vec!["pki", "revoke", "nobody", "--data", d],
            "no certificate at",
        ),
        (vec!["pki", "revoke", "--data", d], "required"),
        (
            vec![
                "pki",
                "list",
                "--data",
                dir.path().join("none").to_str().unwrap(),
            ],
            "",
        ),
    ] {
        let out = rampart(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    // --replace issues anew (the old certificate stays valid until revoked).
    let again = ok(&[
        "pki",
        "issue",
        "hmi",
        "--role",
        "operator",
        "--replace",
        "--data",
        d,
    ]);
    assert!(again.contains("role operator"), "{again}");
}
