//! A gateway with its management plane on loopback, in a temporary data directory, and a
//! small HTTPS client that keeps a session cookie and CSRF token like a browser script would.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rampart_audit::AuditStore;
use rampart_gateway::component::Component;
use rampart_gateway::{AuditSink, Gateway, GatewayConfig, RunningGateway};
use rampart_identity::{AccountName, HashParams, Identity, IdentityConfig};
use rampart_mgmt::{ManagementConfig, RunningManagement, Services};
use rampart_vault::DataDir;
use serde_json::Value;
use tokio_rustls::TlsConnector;

pub(crate) struct Harness {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) data: DataDir,
    pub(crate) addr: SocketAddr,
    pub(crate) ca: PathBuf,
    pub(crate) identity: Arc<Identity>,
    pub(crate) audit: Arc<AuditStore>,
    pub(crate) gateway: Arc<RunningGateway>,
    pub(crate) mgmt: Option<RunningManagement>,
    pub(crate) admin_password: String,
}

pub(crate) struct Options {
    pub(crate) identity: IdentityConfig,
    pub(crate) management: ManagementConfig,
    /// The KEK provider of the data directory (`[vault]`); the recorded one, a file, by default.
    pub(crate) kek: rampart_vault::at_rest::KekConfig,
    /// Where the TLS server key lives (`[vault] tls_key`); what the directory holds by default.
    pub(crate) tls_key: rampart_vault::pki::ServerKeyStore,
    /// Where a new device key is made (`[vault] device_key`).
    pub(crate) device_key: rampart_vault::KeyStore,
}

impl Default for Options {
    fn default() -> Options {
        let identity = IdentityConfig {
            hashing: HashParams::danger_insecure_fast(),
            ..IdentityConfig::default()
        };
        let mut management = ManagementConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..ManagementConfig::default()
        };
        // Tests make many requests quickly; the rate-limit test sets its own.
        management.requests_per_second = 10_000.0;
        management.burst = 10_000.0;
        Options {
            identity,
            management,
            kek: rampart_vault::at_rest::KekConfig::Recorded,
            device_key: rampart_vault::KeyStore::Recorded,
            tls_key: rampart_vault::pki::ServerKeyStore::Recorded,
        }
    }
}

/// Provisions the data directory as a deployed device is: the supplier's TUF root and release
/// keys pinned, and a first bundle installed and committed in slot A — what the launcher
/// verified before starting the gateway from it.
fn provision_updates(
    data: &rampart_vault::DataDir,
    scratch: &std::path::Path,
) -> rampart_update::slots::SlotName {
    use rampart_update::bundle::{BundleFile, FileRole, Release, write_bundle};
    use rampart_update::repo::{InitOptions, MakerRepo};
    let now = rampart_audit::Clock::now(&rampart_audit::SystemClock::new());
    let maker = MakerRepo::new(scratch.join("maker-repo"), scratch.join("maker-keys"));
    maker.init(&InitOptions::new(now)).unwrap();
    let update = data.dir(rampart_vault::Entry::Update).unwrap();
    std::fs::create_dir_all(update.join("trust")).unwrap();
    for file in ["root.json", "release-keys.json"] {
        std::fs::copy(
            scratch.join("maker-repo/trust").join(file),
            update.join("trust").join(file),
        )
        .unwrap();
    }
    let mut bundle = Vec::new();
    write_bundle(
        &mut bundle,
        &Release {
            version: "1.0.0".parse().unwrap(),
            security_version: 1,
            target: "x86_64-unknown-linux-gnu".into(),
            created: now,
        },
        &[BundleFile {
            name: "rampart".into(),
            role: FileRole::Binary,
            open: Box::new(|| Ok(Box::new(&b"the gateway binary"[..]) as _)),
        }],
        &maker.release_key().unwrap(),
    )
    .unwrap();
    let installed = rampart_update::slots::Slots::new(&update)
        .install(
            &mut std::io::Cursor::new(bundle),
            &maker.release_keys().unwrap(),
            &rampart_update::slots::InstallOptions {
                allow_downgrade: false,
                commit: true,
                max_attempts: 3,
                device_target: None,
                now,
            },
        )
        .unwrap();
    installed.slot
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Harness::start_with(Options::default()).await
    }

    pub(crate) async fn start_with(options: Options) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        // The component as `rampart up` opens it: data directory, trail, identity.
        let (component, _) =
            Component::open_with_keys(&dir.path().join("data"), &options.kek, options.device_key)
                .unwrap();
        let identity = Arc::new(component.identity(options.identity).unwrap());
        let Component { data, audit, .. } = component;
        let admin_password = identity
            .bootstrap_admin(&AccountName::parse("admin").unwrap())
            .unwrap()
            .unwrap()
            .expose_secret()
            .to_owned();
        let mut config = GatewayConfig::default();
        config.secure.listen = "127.0.0.1:0".parse().unwrap();
        config.management.listen = "127.0.0.1:0".parse().unwrap();
        config.vault.tls_key = options.tls_key;
        let gateway = Arc::new(
            Gateway::start_with_audit(config, &data, Arc::clone(&audit) as Arc<dyn AuditSink>)
                .await
                .unwrap(),
        );
        let mgmt = rampart_mgmt::start(
            options.management,
            Services {
                identity: Arc::clone(&identity),
                audit: Arc::clone(&audit),
                gateway: Arc::clone(&gateway),
                data: data.clone(),
                launched_slot: Some(provision_updates(&data, dir.path())),
            },
        )
        .await
        .unwrap();
        let ca = data.file(rampart_vault::Entry::Pki).join("ca.crt");
        Harness {
            addr: mgmt.local_addr(),
            dir,
            data,
            ca,
            identity,
            audit,
            gateway,
            mgmt: Some(mgmt),
            admin_password,
        }
    }

    pub(crate) fn client(&self) -> Client {
        Client::new(self.addr, &self.ca)
    }

    /// A client logged in as `admin` whose initial password was changed to `new`.
    pub(crate) async fn admin(&self) -> Client {
        let mut client = self.client();
        let r = client.login("admin", &self.admin_password, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let r = client
            .post(
                "/api/v1/auth/password",
                serde_json::json!({ "current": self.admin_password, "new": ADMIN_PASSWORD }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        client.adopt_rotated_session(&r);
        client
    }

    /// Creates a user with `role` and a password that need not be changed, and returns a
    /// client logged in as that user.
    pub(crate) async fn user(&self, admin: &Client, name: &str, role: &str) -> Client {
        let r = admin
            .post(
                "/api/v1/users",
                serde_json::json!({
                    "name": name, "roles": [role], "password": USER_PASSWORD,
                    "must_change_password": false
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let mut client = self.client();
        let r = client.login(name, USER_PASSWORD, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        client
    }

    /// Stops everything as `rampart up` does at SIGTERM (management plane, gateway, audit
    /// trail closed with a final checkpoint) and hands back the directory, for tests of what
    /// the next start finds.
    pub(crate) async fn shut_down(mut self) -> (tempfile::TempDir, std::path::PathBuf) {
        if let Some(mgmt) = self.mgmt.take() {
            mgmt.shutdown().await;
        }
        let root = self.data.root().to_owned();
        let Harness {
            dir,
            gateway,
            identity,
            audit,
            ..
        } = self;
        drop(identity);
        let Ok(gateway) = Arc::try_unwrap(gateway) else {
            panic!("the gateway is still shared")
        };
        gateway.shutdown().await.unwrap();
        audit.close().unwrap();
        drop(audit);
        (dir, root)
    }

    pub(crate) async fn stop(mut self) {
        if let Some(mgmt) = self.mgmt.take() {
            mgmt.shutdown().await;
        }
    }
}

pub(crate) const ADMIN_PASSWORD: &str = "correct horse battery staple 42";
pub(crate) const USER_PASSWORD: &str = "another long passphrase for tests";

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone)]
pub(crate) struct Client {
    addr: SocketAddr,
    /// The loopback address connections come from; the system's choice when `None`.
    pub(crate) source: Option<std::net::IpAddr>,
    connector: TlsConnector,
    pub(crate) cookie: Option<String>,
    pub(crate) csrf: Option<String>,
    pub(crate) bearer: Option<String>,
    pub(crate) approval: Option<i64>,
}

impl Client {
    pub(crate) fn new(addr: SocketAddr, ca: &std::path::Path) -> Client {
        let config = rampart_vault::tls::client_config(ca, None).unwrap();
        Client {
            addr,
            source: None,
            connector: TlsConnector::from(config),
            cookie: None,
            csrf: None,
            bearer: None,
            approval: None,
        }
    }

    /// Takes up a session the server rotated (a new id in `Set-Cookie`, its CSRF token in
    /// `X-CSRF-Token`), as a browser does after a password change or MFA enrolment.
    pub(crate) fn adopt_rotated_session(&mut self, answer: &Answer) {
        if let Some(cookie) = answer
            .headers
            .get(hyper::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
        {
            self.cookie = Some(cookie.to_owned());
        }
        if let Some(csrf) = answer
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
        {
            self.csrf = Some(csrf.to_owned());
        }
    }

    pub(crate) async fn login(&mut self, user: &str, password: &str, totp: Option<&str>) -> Answer {
        let r = self
            .post(
                "/api/v1/auth/login",
                serde_json::json!({ "username": user, "password": password, "totp": totp }),
            )
            .await;
        if r.status == StatusCode::OK {
            let cookie = r
                .headers
                .get(hyper::header::SET_COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(str::to_owned);
            self.cookie = cookie;
            self.csrf = r.json()["csrf_token"].as_str().map(str::to_owned);
        }
        r
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Asks for a second administrator's approval of `permission` (the request must be
    /// created) and returns its id.
    pub(crate) async fn ask_approval(&self, permission: &str, reason: &str) -> i64 {
        let asked = self
            .post(
                "/api/v1/approvals",
                serde_json::json!({ "permission": permission, "reason": reason }),
            )
            .await;
        assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
        asked.json()["id"].as_i64().unwrap()
    }

    /// The access-control events of the audit trail (the newest 1,000) whose action is
    /// `action`, as this client may read them.
    pub(crate) async fn access_control_events(&self, action: &str) -> Vec<Value> {
        let page = self
            .get("/api/v1/audit?category=access_control&limit=1000")
            .await
            .json();
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect()
    }

    /// Approves the request `id` with `note`: the answer, for the caller to check.
    pub(crate) async fn approve(&self, id: i64, note: &str) -> Answer {
        self.post(
            &format!("/api/v1/approvals/{id}/approve"),
            serde_json::json!({ "note": note }),
        )
        .await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    pub(crate) async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(method, path, bytes, "application/json").await
    }

    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Answer {
        self.raw_with(method, path, body, content_type, &[]).await
    }

    pub(crate) async fn raw_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
        extra: &[(&str, String)],
    ) -> Answer {
        self.try_raw_with(method, path, body, content_type, extra)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// As [`Client::raw_with`], saying what failed instead of panicking (each step within
    /// 30 s).
    pub(crate) async fn try_raw_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
        extra: &[(&str, String)],
    ) -> Result<Answer, String> {
        let wait = std::time::Duration::from_secs(30);
        let connect = async {
            match self.source {
                Some(source) => {
                    let socket = tokio::net::TcpSocket::new_v4()?;
                    socket.bind(SocketAddr::new(source, 0))?;
                    socket.connect(self.addr).await
                }
                None => tokio::net::TcpStream::connect(self.addr).await,
            }
        };
        let tcp = tokio::time::timeout(wait, connect)
            .await
            .map_err(|_| "no TCP connection within 30 s".to_owned())?
            .map_err(|e| format!("TCP connect: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = tokio::time::timeout(wait, self.connector.connect(name, tcp))
            .await
            .map_err(|_| "no TLS handshake within 30 s".to_owned())?
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "localhost");
        if let Some(cookie) = &self.cookie {
            request = request.header(hyper::header::COOKIE, cookie);
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(id) = self.approval {
            request = request.header("x-rampart-approval", id.to_string());
        }
        for (name, value) in extra {
            request = request.header(*name, value);
        }
        let has_body = body.is_some();
        if has_body {
            request = request.header(hyper::header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let response = tokio::time::timeout(wait, sender.send_request(request))
            .await
            .map_err(|_| "no answer within 30 s".to_owned())?
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(wait, response.into_body().collect())
            .await
            .map_err(|_| "no complete body within 30 s".to_owned())?
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}
