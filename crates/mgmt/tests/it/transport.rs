//! The HTTPS listener: plain HTTP gets nothing, every answer carries the security headers,
//! bodies and request rates are bounded, errors share one envelope.

use hyper::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::{Harness, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_the_port_gets_nothing_useful() {
    let h = Harness::start().await;
    let mut tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    tcp.write_all(b"GET /api/v1/banner HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        tcp.read_to_end(&mut buf),
    )
    .await;
    // The TLS server answers a non-TLS record with at most an alert, never HTTP.
    assert!(read.is_ok(), "the connection must be closed");
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("HTTP/1.1"), "{text}");
    assert!(!text.contains("banner"), "{text}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let h = Harness::start().await;
    let anonymous = h.client();
    for path in ["/api/v1/banner", "/api/v1/users", "/no/such/route"] {
        let r = anonymous.get(path).await;
        let header = |name: &str| {
            r.headers
                .get(name)
                .unwrap_or_else(|| panic!("{path}: no {name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert!(header("strict-transport-security").contains("max-age=31536000"));
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("cache-control"), "no-store");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_share_one_envelope() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let cases = [
        (admin.get("/no/such/route").await, StatusCode::NOT_FOUND),
        (
            admin.send(Method::PATCH, "/api/v1/users", None).await,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            admin
                .raw(
                    Method::POST,
                    "/api/v1/users",
                    Some(b"{not json".to_vec()),
                    "application/json",
                )
                .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            admin
                .post(
                    "/api/v1/users",
                    json!({ "name": "x", "password": "p", "surprise": 1 }),
                )
                .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            admin.get("/api/v1/audit?limit=ten").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            admin.get("/api/v1/audit?category=nonsense").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            admin.get("/api/v1/users/NOT%20A%20NAME").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            admin.get("/api/v1/users/nobody").await,
            StatusCode::NOT_FOUND,
        ),
        (
            h.client().get("/api/v1/status").await,
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (answer, status) in cases {
        assert_eq!(answer.status, status, "{}", answer.text());
        let body = answer.json();
        assert_eq!(body["error"]["status"], status.as_u16());
        assert!(body["error"]["code"].is_string());
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_is_rate_limited() {
    let mut options = Options::default();
    options.management.requests_per_second = 1.0;
    options.management.burst = 5.0;
    let h = Harness::start_with(options).await;
    let client = h.client();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(client.get("/api/v1/health").await.status);
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 4, "{statuses:?}");
    assert_eq!(statuses[0], StatusCode::OK);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_outside_the_allow_list_is_closed_before_tls() {
    let mut options = Options::default();
    options.management.allow = rampart_gateway::config::AllowList::parse(&["10.0.0.0/8"]).unwrap();
    let h = Harness::start_with(options).await;
    let tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let config = rampart_vault::tls::client_config(&h.ca, None).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await;
    assert!(tls.is_err(), "the handshake must fail");
    h.stop().await;
}

/// Sends the headers of an authenticated POST declaring `length` body bytes, then `sent`
/// bytes of it, and returns the answer as far as it came within 15 s.
async fn partial_post(h: &Harness, length: usize, sent: usize) -> String {
    let admin = h.admin().await;
    let config = rampart_vault::tls::client_config(&h.ca, None).unwrap();
    let tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/policy/validate HTTP/1.1\r\nHost: localhost\r\nCookie: {}\r\n\
         X-CSRF-Token: {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        admin.cookie.as_deref().unwrap(),
        admin.csrf.as_deref().unwrap(),
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&vec![b' '; sent]).await.unwrap();
    let mut answer = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !String::from_utf8_lossy(&answer).contains("\"message\"") {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, tls.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_declared_too_large_is_refused_before_it_is_read() {
    let h = Harness::start().await;
    let answer = partial_post(&h, 2 * 1024 * 1024, 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_completes_times_out() {
    let mut options = Options::default();
    options.management.request_timeout = std::time::Duration::from_secs(1);
    let h = Harness::start_with(options).await;
    let started = std::time::Instant::now();
    let answer = partial_post(&h, 100, 10).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    h.stop().await;
}
