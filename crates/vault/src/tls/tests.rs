use std::io;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};

use super::*;
use crate::DataDir;
use crate::pki::ClientSpec;

fn init() -> (tempfile::TempDir, Pki) {
    let temp = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
    let (pki, _) = crate::pki::Pki::open_or_init(&data).unwrap();
    (temp, pki)
}

/// Runs a handshake in memory; the error is the first side's failure.
fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> Result<(ServerConnection, ClientConnection), rustls::Error> {
    let mut server = ServerConnection::new(server)?;
    let mut client = ClientConnection::new(client, ServerName::try_from("localhost").unwrap())?;
    for _ in 0..20 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok((server, client));
        }
        let mut buf = Vec::new();
        client.write_tls(&mut buf).unwrap();
        server.read_tls(&mut io::Cursor::new(&buf)).unwrap();
        server.process_new_packets()?;
        let mut buf = Vec::new();
        server.write_tls(&mut buf).unwrap();
        client.read_tls(&mut io::Cursor::new(&buf)).unwrap();
        client.process_new_packets()?;
    }
    panic!("handshake did not finish");
}

fn server(pki: &Pki) -> Arc<ServerConfig> {
    server_config(&ServerSources::from_pki(pki)).unwrap()
}

fn client(pki: &Pki, name: &str) -> Arc<ClientConfig> {
    client_config(
        &pki.ca_cert_path(),
        Some((
            &pki.client_cert_path(name).unwrap(),
            &pki.client_key_path(name).unwrap(),
        )),
    )
    .unwrap()
}

#[test]
fn the_provider_offers_only_the_modbus_security_suites() {
    let names: Vec<String> = provider()
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    assert_eq!(
        names,
        [
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ]
    );
    assert!(!describe().contains("CHACHA"));
    assert!(!describe().contains("CBC"));
    assert_eq!(provider().kx_groups.len(), 3);
}

#[test]
fn demo_clients_complete_the_handshake_with_tls13_and_tls12() {
    let (_temp, pki) = init();
    let (server_conn, _) = handshake(server(&pki), client(&pki, "viewer")).unwrap();
    assert_eq!(
        server_conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(server_conn.peer_certificates().unwrap().len(), 1);
    let tls12 = client_config_with_versions(
        &pki.ca_cert_path(),
        Some((
            &pki.client_cert_path("operator").unwrap(),
            &pki.client_key_path("operator").unwrap(),
        )),
        &[&rustls::version::TLS12],
    )
    .unwrap();
    let (server_conn, _) = handshake(server(&pki), tls12).unwrap();
    assert_eq!(
        server_conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
}

#[test]
fn a_client_without_a_certificate_is_refused() {
    let (_temp, pki) = init();
    let anonymous = client_config(&pki.ca_cert_path(), None).unwrap();
    let err = handshake(server(&pki), anonymous).unwrap_err();
    assert!(
        matches!(err, rustls::Error::NoCertificatesPresented),
        "{err:?}"
    );
}

#[test]
fn revoked_expired_and_foreign_certificates_are_refused() {
    let (_temp, pki) = init();
    let lost = pki
        .issue_client(&ClientSpec::new("lost").role("viewer"))
        .unwrap();
    pki.revoke_file(&lost.cert_path).unwrap();
    let err = handshake(server(&pki), client(&pki, "lost")).unwrap_err();
    assert!(format!("{err:?}").contains("Revoked"), "{err:?}");

    let long_ago = rampart_clock::Clock::read(&rampart_clock::SystemClock::new())
        .at
        .to_system_time()
        - Duration::from_hours(10 * 24);
    pki.issue_client(
        &ClientSpec::new("old")
            .role("viewer")
            .validity(long_ago, long_ago + Duration::from_hours(24)),
    )
    .unwrap();
    let err = handshake(server(&pki), client(&pki, "old")).unwrap_err();
    assert!(format!("{err:?}").contains("Expired"), "{err:?}");

    let (_other_temp, other) = init();
    let foreign = client_config(
        &pki.ca_cert_path(),
        Some((
            &other.client_cert_path("viewer").unwrap(),
            &other.client_key_path("viewer").unwrap(),
        )),
    )
    .unwrap();
    let err = handshake(server(&pki), foreign).unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_temp, pki) = init();
    std::fs::set_permissions(
        pki.server_key_path(),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let err = server_config(&ServerSources::from_pki(&pki)).unwrap_err();
    assert!(
        matches!(err, TlsError::Vault(VaultError::Permissions { .. })),
        "{err}"
    );
}

#[test]
fn an_inspecting_client_sees_a_server_it_does_not_trust_one_suite_at_a_time() {
    let (_temp, pki) = init();
    let web = web_server_config(&pki.server_cert_path(), &pki.server_key_path()).unwrap();
    // Every suite the backend implements for TLS 1.2, offered alone: the server's policy
    // accepts exactly the ECDHE-ECDSA AES-GCM ones (its key is ECDSA P-256, no ChaCha20).
    let mut accepted = Vec::new();
    for suite in inspectable_cipher_suites(&rustls::version::TLS12) {
        let config =
            danger_inspecting_client_config(&[&rustls::version::TLS12], Some(&[suite]), &[])
                .unwrap();
        if let Ok((_, client)) = handshake(web.clone(), config) {
            assert_eq!(
                client.negotiated_cipher_suite().unwrap().suite(),
                suite,
                "the one suite offered"
            );
            assert!(client.peer_certificates().is_some_and(|c| !c.is_empty()));
            accepted.push(format!("{suite:?}"));
        }
    }
    assert_eq!(
        accepted,
        [
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        ]
    );
    assert!(
        inspectable_cipher_suites(&rustls::version::TLS13)
            .iter()
            .any(|s| format!("{s:?}").contains("CHACHA20")),
        "wider than the Modbus/TCP Security policy"
    );
    // No suite left to offer is a configuration error, not a silent default.
    assert!(matches!(
        danger_inspecting_client_config(
            &[&rustls::version::TLS12],
            Some(&[rustls::CipherSuite::TLS_RSA_WITH_AES_128_CBC_SHA]),
            &[]
        ),
        Err(TlsError::Config(_))
    ));
}

#[test]
fn an_inspecting_client_with_an_identity_passes_mutual_authentication() {
    let (_temp, pki) = init();
    let config = danger_inspecting_client_config_with_identity(
        &pki.client_cert_path("viewer").unwrap(),
        &pki.client_key_path("viewer").unwrap(),
    )
    .unwrap();
    let (server_conn, _) = handshake(server(&pki), config).unwrap();
    assert_eq!(server_conn.peer_certificates().unwrap().len(), 1);
    assert!(matches!(
        danger_inspecting_client_config_with_identity(
            &pki.client_cert_path("viewer").unwrap(),
            &pki.ca_cert_path(),
        ),
        Err(TlsError::File { .. } | TlsError::Vault(_))
    ));
}
