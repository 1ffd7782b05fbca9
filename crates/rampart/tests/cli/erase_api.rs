//! Erase through the API of a running gateway (CR 4.2, CR 2.1 RE 4): one administrator alone
//! is refused (audited, nothing erased); the requester cannot approve its own request; with a
//! second administrator's approval `POST /api/v1/erase` answers 202, the `vault.erase` event
//! reaches the SIEM, then `rampart up` erases its data directory (KEK first), prints the report
//! and exits with code 3.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use serde_json::{Value, json};

use crate::secrets_at_rest::collector;
use crate::util::{FREE_PORTS, ok, process_token, up};

/// One HTTPS request to the management plane (loopback, verified against the gateway's CA):
/// the status and the JSON answer.
fn call(
    addr: &str,
    ca: &Path,
    token: &str,
    approval: Option<i64>,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rampart_vault::tls::provider()))
            .with_protocol_versions(rampart_vault::tls::PROTOCOL_VERSIONS)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let server = ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), server).unwrap();
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let body = serde_json::to_vec(body).unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(id) = approval {
        request = format!("{request}X-Rampart-Approval: {id}\r\n");
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    tls.write_all(&body).unwrap();
    tls.flush().unwrap();
    let mut answer = Vec::new();
    // The gateway may close without close_notify once it stops: keep what came.
    let _ = tls.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn audit_actions(data: &str) -> Vec<Value> {
    serde_json::from_str(&ok(&["audit", "query", "--data", data, "--format", "json"])).unwrap()
}

#[test]
fn an_erase_through_the_api_needs_a_second_administrator_then_destroys_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_owned();
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    {
        let _up = up(&data, &config);
    }
    let first = process_token(&data_s, "decom-a", "admin", "erase");
    let second = process_token(&data_s, "decom-b", "admin", "erase");
    let operator = process_token(&data_s, "decom-op", "operator", "erase");
    let ca = dir.path().join("ca.crt");
    std::fs::copy(data.join("pki/ca.crt"), &ca).unwrap();
    let (port, received) = collector(&data);

    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "up",
            "--data",
            &data_s,
            "--config",
            config.to_str().unwrap(),
        ])
        .args(["--erase-forward-to", &format!("127.0.0.1:{port}")])
        .args(["--erase-forward-ca", ca.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (sender, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_mins(1);
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("rampart up starts");
        printed.push(line.clone());
        if let Some(rest) = line.trim().strip_prefix("management (HTTPS)") {
            let url = rest.split_whitespace().next().unwrap();
            break url
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_owned();
        }
    };
    let confirm = json!({ "confirm": "data" });

    // One administrator alone: refused, audited, nothing erased.
    let (status, answer) = call(&addr, &ca, &first, None, "/api/v1/erase", &confirm);
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"]["code"], "approval-required", "{answer}");
    assert!(data.join("keys/kek").exists());
    // An operator can neither erase nor ask.
    let (status, _) = call(&addr, &ca, &operator, None, "/api/v1/erase", &confirm);
    assert_eq!(status, 403);
    let ask = json!({ "permission": "vault.erase", "reason": "decommissioning" });
    let (status, _) = call(&addr, &ca, &operator, None, "/api/v1/approvals", &ask);
    assert_eq!(status, 403);
    // The requester cannot approve its own request; the second administrator can.
    let (status, asked) = call(&addr, &ca, &first, None, "/api/v1/approvals", &ask);
    assert_eq!(status, 201, "{asked}");
    let id = asked["id"].as_i64().unwrap();
    let approve = format!("/api/v1/approvals/{id}/approve");
    let note = json!({ "note": "" });
    let (status, answer) = call(&addr, &ca, &first, None, &approve, &note);
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = call(&addr, &ca, &operator, None, &approve, &note);
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = call(&addr, &ca, &second, None, &approve, &note);
    assert_eq!(status, 200, "{answer}");
    assert!(data.join("keys/kek").exists(), "nothing erased yet");

    // The requester erases with the approval.
    let (status, accepted) = call(&addr, &ca, &first, Some(id), "/api/v1/erase", &confirm);
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(
        accepted["forwarded_to"],
        format!("127.0.0.1:{port}"),
        "{accepted}"
    );

    // The process stops, erases, reports and exits with code 3.
    let mut code = None;
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            code = status.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(code, Some(3), "the gateway did not exit after the erase");
    printed.extend(lines.try_iter());
    let report = printed.join("\n");
    assert!(
        report.contains("Erased") && report.contains("nothing remains"),
        "{report}"
    );
    assert!(report.contains("KEK:           destroyed"), "{report}");
    assert!(!data.exists(), "the data directory is gone");
    assert!(!data.join("keys/kek").exists(), "the KEK file is destroyed");

    // The SIEM had the erase event first, naming who asked and through which interface.
    let stream = received.recv_timeout(Duration::from_secs(30)).unwrap();
    let frames = rampart_forward::testing::split_frames(&stream).unwrap();
    let messages: Vec<_> = frames
        .iter()
        .map(|f| rampart_forward::testing::parse_message(f).unwrap())
        .collect();
    let erase = messages
        .iter()
        .find(|m| m.msgid == "vault.erase")
        .unwrap_or_else(|| panic!("no vault.erase among {} messages", messages.len()));
    let param = |name: &str| erase.param("rampart@32473", name).map(str::to_owned);
    assert_eq!(param("outcome").as_deref(), Some("success"));
    assert_eq!(param("interface").as_deref(), Some("https-api"));
    assert!(
        messages.iter().any(|m| m.msgid == "authorize"),
        "the lone administrator's refusal reached the SIEM too"
    );
}

#[test]
fn an_erase_through_the_api_is_refused_when_the_siem_cannot_take_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_owned();
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, FREE_PORTS).unwrap();
    {
        let _up = up(&data, &config);
    }
    let first = process_token(&data_s, "decom-a", "admin", "erase");
    let second = process_token(&data_s, "decom-b", "admin", "erase");
    let ca = dir.path().join("ca.crt");
    std::fs::copy(data.join("pki/ca.crt"), &ca).unwrap();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut gateway = crate::util::Up(
        Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args([
                "up",
                "--data",
                &data_s,
                "--config",
                config.to_str().unwrap(),
            ])
            .args(["--erase-forward-to", &format!("127.0.0.1:{port}")])
            .args(["--erase-forward-ca", ca.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = gateway.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("rampart up starts").unwrap();
        if let Some(rest) = line.trim().strip_prefix("management (HTTPS)") {
            let url = rest.split_whitespace().next().unwrap();
            break url
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    let ask = json!({ "permission": "vault.erase", "reason": "decommissioning" });
    let (_, asked) = call(&addr, &ca, &first, None, "/api/v1/approvals", &ask);
    let id = asked["id"].as_i64().unwrap();
    let approve = format!("/api/v1/approvals/{id}/approve");
    let (status, _) = call(&addr, &ca, &second, None, &approve, &json!({ "note": "" }));
    assert_eq!(status, 200);
    let (status, answer) = call(
        &addr,
        &ca,
        &first,
        Some(id),
        "/api/v1/erase",
        &json!({ "confirm": "data" }),
    );
    assert_eq!(status, 503, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("nothing was erased"), "{message}");
    assert!(gateway.0.try_wait().unwrap().is_none(), "still running");
    assert!(data.join("keys/kek").exists());
    drop(gateway);
    let events = audit_actions(&data_s);
    let outcomes: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "vault.erase")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "failure"], "{events:?}");
}

#[test]
fn up_checks_the_erase_siem_files_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let missing = dir.path().join("missing-ca.pem");
    crate::util::assert_bad_input(
        &[
            "up",
            "--data",
            data.to_str().unwrap(),
            "--erase-forward-to",
            "127.0.0.1:6514",
            "--erase-forward-ca",
            missing.to_str().unwrap(),
        ],
        "--erase-forward-",
    );
    assert!(!data.exists(), "nothing started");
    crate::util::assert_bad_input(
        &[
            "up",
            "--data",
            data.to_str().unwrap(),
            "--erase-forward-to",
            "not an address",
            "--erase-forward-ca",
            missing.to_str().unwrap(),
        ],
        "--erase-forward-to",
    );
}
