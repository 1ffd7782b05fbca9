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
