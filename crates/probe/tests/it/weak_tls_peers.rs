//! Real TLS peers other than Rampart, configured weakly and strictly: stunnel4 allowing TLS
//! 1.0 and CBC suites, stunnel4 allowing only TLS 1.2+ with ECDHE and AES-GCM, `openssl
//! s_server -tls1`, and a Python `http.server` over TLS without security headers. Each
//! yields the findings it should. They need the peers `scripts/test` installs (stunnel4,
//! openssl, python3), so plain `cargo test` skips them.

use std::path::Path;
use std::process::{Command, Stdio};

use rampart_probe::Outcome;

use crate::util::{Peer, expect, free_port, have, probe, result, wait_listening};

/// An RSA 2048 certificate for 127.0.0.1 and localhost, made by openssl (the peer's own
/// material, outside Rampart's crypto seam).
pub(crate) fn certificate(dir: &Path) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (cert.display().to_string(), key.display().to_string())
}

/// stunnel4 in front of a backend that accepts and holds connections (so that stunnel does
/// not end the session right after the handshake for want of one).
pub(crate) fn stunnel(dir: &Path, name: &str, options: &str) -> (Peer, u16, std::net::TcpListener) {
    assert!(
        have("stunnel4"),
        "stunnel4 is not installed: run scripts/test"
    );
    let (cert, key) = certificate(dir);
    let port = free_port();
    let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend_port = backend.local_addr().unwrap().port();
    let config = dir.join(format!("{name}.conf"));
    std::fs::write(
        &config,
        format!(
            "foreground = yes\npid =\ndebug = 3\n[{name}]\naccept = 127.0.0.1:{port}\n\
             connect = 127.0.0.1:{backend_port}\ncert = {cert}\nkey = {key}\n{options}\n"
        ),
    )
    .unwrap();
    let child = Command::new("stunnel4")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Peer(child), port, backend)
}

/// The options of the weak stunnel most tests use: TLS 1.0 to 1.2, every OpenSSL suite.
pub(crate) const WEAK_TLS: &str =
    "sslVersionMin = TLSv1\nsslVersionMax = TLSv1.2\nciphers = ALL:@SECLEVEL=0";

/// A stunnel configured with `weak_options` and a strict one (TLS 1.2+, ECDHE-GCM), both
/// listening; dropped, both stop.
pub(crate) struct StunnelPair {
    /// `tls://` target of the weak one.
    pub(crate) weak: String,
    /// `tls://` target of the strict one.
    pub(crate) strict: String,
    _peers: [(Peer, std::net::TcpListener); 2],
    _dirs: [tempfile::TempDir; 2],
}

pub(crate) async fn stunnel_pair(weak_options: &str) -> StunnelPair {
    let weak_dir = tempfile::tempdir().unwrap();
    let (weak, weak_port, weak_backend) = stunnel(weak_dir.path(), "weak", weak_options);
    let strict_dir = tempfile::tempdir().unwrap();
    let (strict, strict_port, strict_backend) = stunnel(
        strict_dir.path(),
        "strict",
        "sslVersionMin = TLSv1.2\nciphers = ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
    );
    wait_listening(format!("127.0.0.1:{weak_port}").parse().unwrap()).await;
    wait_listening(format!("127.0.0.1:{strict_port}").parse().unwrap()).await;
    StunnelPair {
        weak: format!("tls://127.0.0.1:{weak_port}"),
        strict: format!("tls://127.0.0.1:{strict_port}"),
        _peers: [(weak, weak_backend), (strict, strict_backend)],
        _dirs: [weak_dir, strict_dir],
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs stunnel4: run scripts/test"]
async fn stunnel_with_tls_1_0_and_cbc_is_weak_and_strict_stunnel_is_not() {
    let pair = stunnel_pair(WEAK_TLS).await;
    let (weak, strict) = (pair.weak.clone(), pair.strict.clone());
    let evidence = probe(
        &[weak.clone(), strict.clone()],
        &[
            "tls-versions",
            "tls-cipher-suites",
            "tls-compression-renegotiation",
            "tls-certificate",
        ],
        false,
    )
    .await;

    let versions = expect(&evidence, "tls-versions", &weak, Outcome::NotMet);
    assert!(
        versions.contains("TLS 1.0") && versions.contains("TLS 1.1"),
        "{versions}"
    );
    let suites = expect(&evidence, "tls-cipher-suites", &weak, Outcome::NotMet);
    assert!(suites.contains("CBC"), "{suites}");
    assert!(
        result(&evidence, "tls-cipher-suites", &weak).details["weak_accepted"]
            .as_array()
            .unwrap()
            .len()
            >= 2,
        "{suites}"
    );
    // OpenSSL 3 compresses nothing and signals RFC 5746, however weak its suites.
    expect(
        &evidence,
        "tls-compression-renegotiation",
        &weak,
        Outcome::Met,
    );
    let cert = expect(&evidence, "tls-certificate", &weak, Outcome::Met);
    assert!(cert.contains("RSA 2048 bits"), "{cert}");

    let versions = expect(&evidence, "tls-versions", &strict, Outcome::Met);
    assert!(versions.contains("TLS 1.2"), "{versions}");
    let suites = expect(&evidence, "tls-cipher-suites", &strict, Outcome::Met);
    assert!(
        suites.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "{suites}"
    );
    assert!(!suites.contains("ECDSA"), "{suites}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs stunnel4: run scripts/test"]
async fn a_tls_1_2_server_requiring_client_certificates_still_shows_its_chain() {
    // Modbus/TCP Security v21 style: TLS 1.2 only, a client certificate required.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("cert.pem");
    let (_server, port, _backend) = stunnel(
        dir.path(),
        "mutual",
        &format!(
            "sslVersionMax = TLSv1.2\nverifyChain = yes\nrequireCert = yes\nCAfile = {}",
            ca.display()
        ),
    );
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
    let target = format!("modbus-tls://127.0.0.1:{port}");
    let evidence = probe(
        std::slice::from_ref(&target),
        &["tls-versions", "tls-certificate", "tls-client-certificate"],
        false,
    )
    .await;
    let versions = expect(&evidence, "tls-versions", &target, Outcome::Met);
    assert!(versions.contains("accepts TLS 1.2 only"), "{versions}");
    let cert = expect(&evidence, "tls-certificate", &target, Outcome::Met);
    assert!(cert.contains("RSA 2048 bits"), "{cert}");
    assert_eq!(
        result(&evidence, "tls-certificate", &target).details["read_from"],
        "the answer to a TLS 1.2 ClientHello"
    );
    expect(&evidence, "tls-client-certificate", &target, Outcome::Met);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs openssl: run scripts/test"]
async fn openssl_s_server_with_tls1_only_accepts_nothing_newer() {
    assert!(
        have("openssl"),
        "openssl is not installed: run scripts/test"
    );
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let port = free_port();
    let _server = Peer(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-tls1", "-cipher", "ALL:@SECLEVEL=0"])
            .args([
                "-accept",
                &format!("127.0.0.1:{port}"),
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
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
    let target = format!("tls://127.0.0.1:{port}");
    let evidence = probe(std::slice::from_ref(&target), &["tls-versions"], false).await;
    let versions = expect(&evidence, "tls-versions", &target, Outcome::NotMet);
    let details = &result(&evidence, "tls-versions", &target).details;
    assert!(
        details["TLS 1.0"].as_str().unwrap().starts_with("accepted"),
        "{details:?}"
    );
    for newer in ["TLS 1.1", "TLS 1.2", "TLS 1.3"] {
        assert!(
            details[newer].as_str().unwrap().starts_with("refused"),
            "{newer}: {details:?}"
        );
    }
    assert!(
        versions.contains("accepts TLS 1.0 (and none)"),
        "{versions}"
    );
}

const PYTHON_SERVER: &str = r#"
import http.server, ssl, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/login":
            self.send_response(200)
            self.send_header("Set-Cookie", "session=abc; Path=/")
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<form>login</form>")
        elif self.path == "/api/v1/openapi.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"openapi": "3.1.0", "paths": {"/api/v1/items": {"get": {}}, "/api/v1/health": {"get": {"security": []}}}}')
        elif self.path in ("/api/v1/status", "/api/v1/items", "/api/v1/health"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")
        else:
            self.send_response(404)
            self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and openssl: run scripts/test"]
async fn a_management_plane_without_headers_is_reported_header_by_header() {
    assert!(have("python3"), "python3 is not installed");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let port = free_port();
    let _server = Peer(
        Command::new("python3")
            .args(["-c", PYTHON_SERVER, &port.to_string(), &cert, &key])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
    let target = format!("https://127.0.0.1:{port}");
    let evidence = probe(
        std::slice::from_ref(&target),
        &[
            "https-security-headers",
            "https-cookie-attributes",
            "https-anonymous-api",
        ],
        false,
    )
    .await;
    let headers = expect(
        &evidence,
        "https-security-headers",
        &target,
        Outcome::NotMet,
    );
    for missing in [
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "nosniff",
        "Referrer-Policy",
    ] {
        assert!(headers.contains(missing), "{headers}");
    }
    let cookies = expect(
        &evidence,
        "https-cookie-attributes",
        &target,
        Outcome::NotMet,
    );
    assert!(
        cookies.contains("session")
            && cookies.contains("no Secure")
            && cookies.contains("no HttpOnly"),
        "{cookies}"
    );
    let api = expect(&evidence, "https-anonymous-api", &target, Outcome::NotMet);
    assert!(api.contains("/api/v1/status (200)"), "{api}");
    // Found through the OpenAPI document; the route it marks public is not asked for.
    assert!(api.contains("/api/v1/items (200)"), "{api}");
    assert!(!api.contains("/api/v1/health"), "{api}");
}
