//! CR 1.2 / CR 1.8 / Modbus/TCP Security: mutual authentication is mandatory, and only
//! current certificates of the configured CA with at most one role get in.

use std::time::Duration;

use rampart_vault::DataDir;
use rampart_vault::pki::{ClientSpec, Pki};

use crate::util::{TestGateway, assert_refused, connect, connect_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_is_refused_at_the_handshake() {
    let gw = TestGateway::start().await;
    let config = rampart_vault::tls::client_config(&gw.pki().ca_cert_path(), None).unwrap();
    assert_refused(connect_with(gw.addr(), config).await).await;
    gw.wait_for_events("modbus.handshake", 1).await;
    assert_eq!(gw.gateway.status().counters.handshakes_failed, 1);
    assert_eq!(gw.gateway.status().counters.requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_not_yet_valid_certificates_are_refused() {
    let gw = TestGateway::start().await;
    let pki = gw.pki();
    let now = rampart_clock::Clock::read(&rampart_clock::SystemClock::new())
        .at
        .to_system_time();
    let day = Duration::from_hours(24);
    pki.issue_client(
        &ClientSpec::new("expired")
            .role("viewer")
            .validity(now - 10 * day, now - day),
    )
    .unwrap();
    pki.issue_client(
        &ClientSpec::new("future")
            .role("viewer")
            .validity(now + day, now + 10 * day),
    )
    .unwrap();
    for name in ["expired", "future"] {
        assert_refused(gw.client(name).await).await;
    }
    gw.wait_for_events("modbus.handshake", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused_without_a_restart() {
    let gw = TestGateway::start().await;
    let pki = gw.pki();
    pki.issue_client(&ClientSpec::new("lost").role("operator"))
        .unwrap();
    let mut before = gw.client("lost").await.unwrap();
    assert!(before.read_holding(0, 1).await.unwrap().is_ok());
    pki.revoke_file(&pki.client_cert_path("lost").unwrap())
        .unwrap();
    // The gateway notices the new CRL by itself; reloading now makes the test quick.
    gw.gateway.reload_tls().await.unwrap();
    assert_refused(gw.client("lost").await).await;
    // Others still get in.
    let mut viewer = gw.client("viewer").await.unwrap();
    assert!(viewer.read_holding(0, 1).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_watcher_applies_a_revocation_made_elsewhere() {
    let gw = TestGateway::start().await;
    // As `rampart pki revoke` would, from another process: only the CRL file changes.
    let pki = gw.pki();
    pki.revoke_file(&pki.client_cert_path("viewer").unwrap())
        .unwrap();
    gw.wait_for_events("tls.reload", 1).await;
    assert_refused(gw.client("viewer").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_ca_is_refused() {
    let gw = TestGateway::start().await;
    let other_temp = tempfile::tempdir().unwrap();
    let (other_data, _) = DataDir::open_or_init(&other_temp.path().join("data")).unwrap();
    let (other, _) = Pki::open_or_init(&other_data).unwrap();
    // The client trusts the gateway, but its certificate comes from the other CA.
    let config = rampart_vault::tls::client_config(
        &gw.pki().ca_cert_path(),
        Some((
            &other.client_cert_path("engineer").unwrap(),
            &other.client_key_path("engineer").unwrap(),
        )),
    )
    .unwrap();
    assert_refused(connect_with(gw.addr(), config).await).await;
    // And a client that trusts only the other CA does not accept the gateway either.
    assert!(connect(gw.addr(), &other, "engineer").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_with_two_roles_is_refused() {
    let gw = TestGateway::start().await;
    gw.pki()
        .issue_client(
            &ClientSpec::new("greedy")
                .role("viewer")
                .danger_extra_role("engineer"),
        )
        .unwrap();
    let client = gw.client("greedy").await;
    assert_refused(client).await;
    gw.wait_for_events("modbus.connect", 1).await;
    assert_eq!(gw.gateway.status().counters.requests, 0);
    assert_eq!(gw.gateway.status().counters.connections_refused, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_2_with_ecdhe_and_aes_gcm_works() {
    let gw = TestGateway::start().await;
    let pki = gw.pki();
    let config = rampart_vault::tls::client_config_with_versions(
        &pki.ca_cert_path(),
        Some((
            &pki.client_cert_path("viewer").unwrap(),
            &pki.client_key_path("viewer").unwrap(),
        )),
        &[&tokio_rustls::rustls::version::TLS12],
    )
    .unwrap();
    let mut client = connect_with(gw.addr(), config).await.unwrap();
    assert_eq!(client.read_holding(0, 1).await.unwrap(), Ok(vec![500]));
    let (_, connection) = client.stream.get_ref();
    assert_eq!(
        connection.protocol_version(),
        Some(tokio_rustls::rustls::ProtocolVersion::TLSv1_2)
    );
    let suite = format!(
        "{:?}",
        connection.negotiated_cipher_suite().unwrap().suite()
    );
    assert!(suite.starts_with("TLS_ECDHE_ECDSA_WITH_AES_"), "{suite}");
}
