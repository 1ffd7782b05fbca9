//! The status shows who is connected to the data plane, with which role, in the API and on
//! the dashboard.

use hyper::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::Harness;

/// A Modbus/TCP Security client with the `viewer` demo certificate that reads one holding
/// register and stays connected.
async fn viewer(h: &Harness) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let pki = h.data.file(rampart_vault::Entry::Pki);
    let config = rampart_vault::tls::client_config(
        &pki.join("ca.crt"),
        Some((
            &pki.join("clients/viewer.crt"),
            &pki.join("clients/viewer.key"),
        )),
    )
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(h.gateway.secure_addr())
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap();
    // Transaction 1, protocol 0, length 6, unit 1, FC 3, address 0, quantity 1.
    tls.write_all(&[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1])
        .await
        .unwrap();
    let mut answer = [0u8; 11];
    tls.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer[7], 3, "a read holding registers answer");
    tls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_clients_are_listed_with_their_roles() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let _connection = viewer(&h).await;
    let status = admin.get("/api/v1/status").await.json();
    let clients = status["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{status}");
    assert_eq!(clients[0]["role"], "viewer");
    assert_eq!(clients[0]["requests"], 1);
    assert_eq!(clients[0]["interface"], "modbus-tls");
    let page = admin.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Connected clients"), "{html}");
    assert!(html.contains("<td>viewer</td>"), "{html}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ids_baseline_is_learned_from_the_api_by_who_may_apply_policy_and_audited() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let status = admin.get("/api/v1/status").await.json();
    assert_eq!(status["ids"]["state"], "none", "{status}");
    // An operator sees the state but may not silence the IDS.
    let operator = h.user(&admin, "op", "operator").await;
    assert_eq!(operator.get("/api/v1/ids").await.json()["state"], "none");
    let refused = operator
        .post(
            "/api/v1/ids/learning",
            serde_json::json!({ "duration_s": 60 }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    // Out of range: a 400 that names the field; nothing starts.
    let bad = admin
        .post(
            "/api/v1/ids/learning",
            serde_json::json!({ "duration_s": 0 }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
    assert!(bad.text().contains("duration_s"), "{}", bad.text());
    let unknown = admin
        .post(
            "/api/v1/ids/learning",
            serde_json::json!({ "duration_s": 5, "silence": true }),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unknown.text()
    );
    assert_eq!(admin.get("/api/v1/ids").await.json()["state"], "none");
    // Started: learning until a time; the dashboard says so; the trail records who.
    let started = admin
        .post(
            "/api/v1/ids/learning",
            serde_json::json!({ "duration_s": 3600, "adaptive": true }),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    assert_eq!(started.json()["state"], "learning");
    assert!(started.json()["learning_until"].is_string());
    let _connection = viewer(&h).await;
    let page = admin.get("/dashboard").await.text();
    assert!(page.contains("learning a baseline"), "{page}");
    let ids_page = admin.get("/ids").await;
    assert_eq!(ids_page.status, StatusCode::OK);
    assert!(ids_page.text().contains("Start learning"));
    let baseline = admin.get("/api/v1/ids/baseline").await;
    assert_eq!(baseline.status, StatusCode::OK, "{}", baseline.text());
    assert_eq!(baseline.json()["format"], "rampart-ids-baseline");
    // The viewer's read, learned: a policy proposed for review that parses and names it.
    let proposed = admin.get("/api/v1/ids/baseline/policy").await;
    assert_eq!(proposed.status, StatusCode::OK, "{}", proposed.text());
    let policy = rampart_conduit::Policy::parse(&proposed.text(), "proposed").unwrap();
    assert_eq!(policy.roles.len(), 1, "{}", proposed.text());
    let events = admin.get("/api/v1/audit?limit=1000").await.json();
    let started_by: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "ids.learning_started")
        .map(|e| e["details"]["by"].clone())
        .collect();
    assert_eq!(started_by, [serde_json::json!("admin")], "{events}");
    // Cleared: back to fixed thresholds; no baseline to download.
    let cleared = admin.delete("/api/v1/ids/baseline").await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text());
    assert_eq!(cleared.json()["state"], "none");
    assert_eq!(
        admin.get("/api/v1/ids/baseline").await.status,
        StatusCode::NOT_FOUND
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_alerts_of_the_audit_trail_are_listed_with_the_ids_alerts() {
    use rampart_audit::{Actor, Category, NewEvent, Outcome, Severity};
    let h = Harness::start().await;
    let admin = h.admin().await;
    // What `rampart up` records when a tamper sensor opens (severity alert), and an event
    // that is only a warning, which is no alert.
    for (action, severity) in [
        ("tamper.detected", Severity::Alert),
        ("clock-stepped", Severity::Warning),
    ] {
        h.audit
            .append(
                NewEvent::builder(
                    Category::AccessControl,
                    action,
                    Actor::process("rampart-gateway").unwrap(),
                )
                .target("/sys/class/hwmon/hwmon2/intrusion0_alarm")
                .outcome(Outcome::Failure)
                .severity(severity)
                .details(serde_json::json!({ "reading": "TAMPERED (reads \"1\")" }))
                .build()
                .unwrap(),
            )
            .unwrap();
    }
    let alerts = admin.get("/api/v1/alerts").await.json();
    let system: Vec<&serde_json::Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == "audit")
        .collect();
    assert_eq!(system.len(), 1, "{alerts:#}");
    assert_eq!(system[0]["detector"], "tamper.detected");
    assert_eq!(system[0]["severity"], "alert");
    assert_eq!(
        system[0]["explanation"],
        "/sys/class/hwmon/hwmon2/intrusion0_alarm: TAMPERED (reads \"1\")"
    );
    // The web UI's alerts page shows it too.
    let page = admin.get("/alerts").await.text();
    assert!(page.contains("tamper.detected"), "{page}");
    h.stop().await;
}
