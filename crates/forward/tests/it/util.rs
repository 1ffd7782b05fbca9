//! Shared pieces: a throwaway PKI, an audit trail, an in-process TLS collector, and the check
//! that a collector's messages meet the delivery guarantee.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rampart_audit::testing::{insecure_signing_key, sample_event};
use rampart_audit::{AuditStore, StoreConfig, SystemClock};
use rampart_forward::testing::{Message, parse_message, split_frames};
use rampart_forward::{
    CollectorAddress, EVENT_SD_ID, Facility, ForwardConfig, Forwarder, Hostname, Notice,
    SyslogFormat, TlsCollector,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tempfile::TempDir;

/// PEM files of a test CA, a server certificate for `localhost` and `127.0.0.1`, a client
/// certificate, and an unrelated CA.
pub(crate) struct Pki {
    pub(crate) dir: PathBuf,
    _temp: Option<TempDir>,
}

impl Pki {
    pub(crate) fn generate() -> Pki {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let ca = issuer("Rampart test CA");
        write(&dir.join("ca.pem"), &ca.pem(), 0o644);
        let other = issuer("Some other CA");
        write(&dir.join("other-ca.pem"), &other.pem(), 0o644);
        leaf(
            &ca,
            dir,
            "server",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        leaf(&ca, dir, "client", &[], ExtendedKeyUsagePurpose::ClientAuth);
        Pki {
            dir: dir.to_owned(),
            _temp: Some(temp),
        }
    }

    /// The PKI another process generated in `dir`.
    pub(crate) fn at(dir: &Path) -> Pki {
        Pki {
            dir: dir.to_owned(),
            _temp: None,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A TLS server configuration for the in-process collector, optionally requiring a client
    /// certificate from the test CA.
    pub(crate) fn server_config(&self, client_auth: bool) -> Arc<ServerConfig> {
        if client_auth {
            return rampart_vault::tls::server_config(&rampart_vault::tls::ServerSources {
                cert_chain: self.path("server.pem"),
                key: self.path("server.key"),
                trust_anchors: vec![self.path("ca.pem")],
                crls: Vec::new(),
            })
            .unwrap();
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(self.path("server.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(self.path("server.key")).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(rampart_vault::tls::provider()))
            .with_protocol_versions(rampart_vault::tls::PROTOCOL_VERSIONS)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }

    /// The collector at `address`, trusting `ca`, with the client certificate if `mutual`.
    pub(crate) fn collector(&self, address: SocketAddr, ca: &str, mutual: bool) -> TlsCollector {
        let address: CollectorAddress = address.to_string().parse().unwrap();
        let (cert, key) = (self.path("client.pem"), self.path("client.key"));
        let identity = mutual.then_some((cert.as_path(), key.as_path()));
        TlsCollector::from_files(address, &self.path(ca), identity).unwrap()
    }
}

fn issuer(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    dir: &Path,
    name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("rampart test {name}"));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    write(&dir.join(format!("{name}.pem")), &cert.pem(), 0o644);
    write(
        &dir.join(format!("{name}.key")),
        &key.serialize_pem(),
        0o600,
    );
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// An audit trail in a temporary data directory, appended to with the system clock; a
/// checkpoint every `checkpoint_every` events. Event `n` is sample `n`.
pub(crate) struct Trail {
    pub(crate) dir: PathBuf,
    pub(crate) store: Option<AuditStore>,
    _temp: Option<TempDir>,
}

impl Trail {
    pub(crate) fn new(checkpoint_every: u64) -> Trail {
        let temp = tempfile::tempdir().unwrap();
        let store = AuditStore::open(
            &temp.path().join("audit"),
            StoreConfig::default()
                .lifecycle_events(false)
                .checkpoint_every(checkpoint_every)
                .unwrap(),
            Arc::new(SystemClock::new()),
            Arc::new(insecure_signing_key(7)),
        )
        .unwrap();
        Trail {
            dir: temp.path().to_owned(),
            store: Some(store),
            _temp: Some(temp),
        }
    }

    /// The trail another process appends to in `dir`, for reading.
    pub(crate) fn at(dir: &Path) -> Trail {
        Trail {
            dir: dir.to_owned(),
            store: None,
            _temp: None,
        }
    }

    pub(crate) fn append(&self, from: u64, to: u64) {
        let store = self.store.as_ref().unwrap();
        for i in from..=to {
            assert_eq!(store.append(sample_event(i)).unwrap().seq(), i);
        }
    }

    pub(crate) fn audit_dir(&self) -> PathBuf {
        self.dir.join("audit")
    }

    pub(crate) fn cursor(&self) -> PathBuf {
        rampart_forward::cursor_path(&self.dir.join("forward"), "collector:6514")
    }

    /// A forwarder to `collector` with test timings: settle 500 ms, quick backoff.
    pub(crate) fn forwarder(&self, collector: TlsCollector, config: ForwardConfig) -> Forwarder {
        std::fs::create_dir_all(self.dir.join("forward")).unwrap();
        Forwarder::open(
            &self.audit_dir(),
            &self.cursor(),
            Box::new(collector),
            config,
        )
        .unwrap()
    }
}

/// Test timings: settle 500 ms, backoff 50 ms doubling to 400 ms, give up after 5 s, notices
/// on stderr.
pub(crate) fn config() -> ForwardConfig {
    let mut config = ForwardConfig::new(SyslogFormat::new(
        Facility::Local(0),
        Hostname::new("gw-test").unwrap(),
    ));
    config.batch_size = 50;
    config.settle = Duration::from_millis(500);
    config.backoff =
        rampart_forward::Backoff::new(Duration::from_millis(50), Duration::from_millis(400));
    config.poll_interval = Duration::from_millis(20);
    config.close_timeout = Duration::from_secs(3);
    config.retry_for = Duration::from_secs(5);
    config.observer = Some(Arc::new(|n: &Notice| eprintln!("forwarder: {n}")));
    config
}

/// An in-process TLS syslog collector on a loopback port: keeps every byte of every
/// connection, closes cleanly after the client's close, and can cut the first connection
/// after a number of bytes (an outage).
pub(crate) struct TestCollector {
    pub(crate) address: SocketAddr,
    connections: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestCollector {
    pub(crate) fn start(
        config: Arc<ServerConfig>,
        cut_first_after: Option<usize>,
    ) -> TestCollector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let connections = Arc::clone(&connections);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_mins(1);
                let mut cut = cut_first_after;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((sock, _)) => {
                            let bytes = serve(sock, &config, cut.take());
                            connections.lock().unwrap().push(bytes);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        TestCollector {
            address,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    /// The plaintext of each finished connection.
    pub(crate) fn connections(&self) -> Vec<Vec<u8>> {
        self.connections.lock().unwrap().clone()
    }

    /// Every message of every finished connection, parsed (a frame cut by an outage is
    /// dropped, as a collector would; every whole frame must parse).
    pub(crate) fn messages(&self) -> Vec<Message> {
        let mut messages = Vec::new();
        for bytes in self.connections() {
            let whole = whole_frames(&bytes);
            let frames = split_frames(&bytes[..whole]).unwrap();
            messages.extend(frames.into_iter().map(|f| parse_message(f).unwrap()));
        }
        messages
    }
}

/// The length of the longest prefix of `stream` made of whole octet-counted frames.
fn whole_frames(stream: &[u8]) -> usize {
    let mut at = 0;
    while at < stream.len() {
        let digits = stream[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let len: usize = std::str::from_utf8(&stream[at..at + digits])
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no MSG-LEN at byte {at}"));
        let end = at + digits + 1 + len;
        if end > stream.len() {
            break;
        }
        at = end;
    }
    at
}

impl Drop for TestCollector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One connection: TLS, read to the end (or to `cut` bytes, then drop the socket).
fn serve(sock: TcpStream, config: &Arc<ServerConfig>, cut: Option<usize>) -> Vec<u8> {
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else {
        return Vec::new();
    };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut received = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => {
                // The client's close_notify: answer it and close, which confirms delivery.
                tls.conn.send_close_notify();
                let _ = tls.conn.complete_io(&mut tls.sock);
                break;
            }
            Ok(n) => {
                received.extend_from_slice(&buf[..n]);
                if cut.is_some_and(|cut| received.len() >= cut) {
                    // An outage: the collector loses the connection without a word.
                    let _ = tls.sock.shutdown(std::net::Shutdown::Both);
                    break;
                }
            }
            Err(_) => break,
        }
    }
    received
}

/// For each event sequence number, whether each copy was marked `resent`, in arrival order.
pub(crate) fn copies(messages: &[Message]) -> BTreeMap<u64, Vec<bool>> {
    let mut copies: BTreeMap<u64, Vec<bool>> = BTreeMap::new();
    for m in messages {
        if let Some(seq) = m.param(EVENT_SD_ID, "seq") {
            copies
                .entry(seq.parse().unwrap())
                .or_default()
                .push(m.param(EVENT_SD_ID, "resent") == Some("1"));
        }
    }
    copies
}

/// The delivery guarantee: every event `1..=last` arrived, and every later copy is marked.
pub(crate) fn check_guarantee(messages: &[Message], last: u64) -> BTreeMap<u64, Vec<bool>> {
    let copies = copies(messages);
    let missing: Vec<u64> = (1..=last).filter(|s| !copies.contains_key(s)).collect();
    assert!(missing.is_empty(), "events never delivered: {missing:?}");
    assert_eq!(
        copies.keys().max().copied(),
        Some(last),
        "no events beyond {last}"
    );
    for (seq, marks) in &copies {
        assert!(
            marks[1..].iter().all(|m| *m),
            "event {seq} duplicated without the resent marker: {marks:?}"
        );
    }
    copies
}
