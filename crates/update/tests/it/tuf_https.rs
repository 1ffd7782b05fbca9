//! The HTTP fetcher over TLS: a loopback HTTPS server with a certificate of the vault's PKI;
//! the fetcher trusts that CA through `rampart_vault::tls::client_config`.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;

use rampart_update::fetch::{Fetcher as _, HttpFetcher};
use rampart_vault::DataDir;
use rampart_vault::pki::Pki;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Serves `connections` HTTPS connections on loopback, answering each with `body`.
fn serve(config: Arc<rustls::ServerConfig>, body: &'static [u8], connections: usize) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            for _ in 0..connections {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut request = [0u8; 2048];
                let _ = tls.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
            }
        });
    });
    port
}

#[test]
fn https_fetches_trust_only_the_given_ca() {
    let temp = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
    let (pki, _) = Pki::open_or_init(&data).unwrap();
    let server =
        rampart_vault::tls::web_server_config(&pki.server_cert_path(), &pki.server_key_path())
            .unwrap();
    let port = serve(server, b"{\"signed\": {}}", 2);
    let url = format!("https://localhost:{port}/metadata/timestamp.json");

    let trusting = HttpFetcher::with_tls(
        rampart_vault::tls::client_config(&pki.ca_cert_path(), None).unwrap(),
    );
    assert_eq!(
        trusting.fetch_bytes(&url, 100).unwrap(),
        b"{\"signed\": {}}"
    );

    // Another CA: the handshake fails, nothing is read.
    let other = tempfile::tempdir().unwrap();
    let (other_data, _) = DataDir::open_or_init(&other.path().join("data")).unwrap();
    let (other_pki, _) = Pki::open_or_init(&other_data).unwrap();
    let distrusting = HttpFetcher::with_tls(
        rampart_vault::tls::client_config(&other_pki.ca_cert_path(), None).unwrap(),
    );
    let error = distrusting.fetch_bytes(&url, 100).unwrap_err();
    assert!(error.to_string().contains("TLS handshake"), "{error}");

    // No TLS configuration: https is refused before any connection is used.
    let error = HttpFetcher::plain().fetch_bytes(&url, 100).unwrap_err();
    assert!(
        error.to_string().contains("needs a TLS configuration"),
        "{error}"
    );
}
