//! Starting, running, changing and stopping the gateway.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rampart_audit::{AuditStore, Category, Outcome, Severity};
use rampart_conduit::{Alert, CompiledPolicy, DEFAULT_POLICY, Ids, IdsConfig, Policy, PolicyError};
use rampart_vault::pki::{InitReport, Pki, PkiError};
use rampart_vault::tls::{self, ServerSources, TlsError};
use rampart_vault::{DataDir, VaultError};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::audit::{AuditFailure, AuditSink, GatewayEvent, Who};
use crate::config::{ConfigError, ConfigProblem, GatewayConfig, PolicySource, UpstreamTarget};
use crate::listener::{self, Kind};
use crate::sim::SimulatedPlc;
use crate::state::{ActivePolicy, Shared, SharedParts};
use crate::upstream::{Pool, UpstreamStatus};

/// The island-mode file, relative to the data directory.
const ISLAND_FILE: rampart_vault::Entry = rampart_vault::Entry::Island;
/// The default policy file, relative to the data directory.
const POLICY_FILE: rampart_vault::Entry = rampart_vault::Entry::Policy;
/// How often the island file and the TLS files are checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// Errors of starting and running the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The configuration file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    ConfigProblem(#[from] ConfigProblem),
    /// The policy cannot be loaded; when reloading, the old one stays in force.
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    /// The PKI cannot be created or read.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The TLS configuration cannot be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The data directory failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A listener cannot bind its address.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The simulated PLC cannot start.
    #[error("cannot start the simulated PLC: {0}")]
    Simulator(std::io::Error),
    /// The audit trail cannot be opened or refused a required event.
    #[error("audit trail: {0}")]
    Audit(String),
    /// An IDS baseline operation failed; the text says why.
    #[error("IDS: {0}")]
    Ids(String),
    /// The island state cannot be read or written.
    #[error("{path}: {reason}")]
    Island {
        /// The island file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl From<AuditFailure> for GatewayError {
    fn from(failure: AuditFailure) -> GatewayError {
        GatewayError::Audit(failure.to_string())
    }
}

/// Whether traffic crosses the conduit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// Requests are checked and forwarded.
    Open,
    /// Island mode (NDR 5.2 RE 2): no traffic, by an operator's decision; survives restarts.
    Island,
    /// Fail close (NDR 5.2 RE 3): no traffic, because something the gateway needs failed.
    Halted {
        /// Why.
        reason: String,
        /// Whether island mode is on as well.
        island: bool,
    },
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Client connections that were admitted (handshake completed).
    pub connections_accepted: u64,
    /// Connections refused before or after the handshake (allow-list, limits, role).
    pub connections_refused: u64,
    /// TLS handshakes that failed (no, expired, revoked or unknown certificate; timeout).
    pub handshakes_failed: u64,
    /// Requests framed.
    pub requests: u64,
    /// Requests the policy allowed.
    pub allowed: u64,
    /// Requests the policy denied.
    pub denied: u64,
    /// Requests that were not valid Modbus.
    pub malformed: u64,
    /// Times a client was slowed down by its request rate limit.
    pub throttled: u64,
    /// Allowed requests that got no valid answer from the PLC.
    pub upstream_failures: u64,
    /// IDS alerts raised.
    pub alerts: u64,
}

/// The policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// Where it came from.
    pub origin: String,
    /// SHA-256 of its text, hex.
    pub sha256: String,
    /// Its roles, in file order.
    pub roles: Vec<String>,
}

/// What [`RunningGateway::status`] reports.
#[derive(Debug, Clone)]
pub struct Status {
    /// Whether traffic crosses.
    pub traffic: Traffic,
    /// The Modbus/TCP Security listener's address.
    pub secure_addr: SocketAddr,
    /// The plain listener's address, if it is on.
    pub plain_addr: Option<SocketAddr>,
    /// The management plane's configured address (served elsewhere).
    pub management_addr: SocketAddr,
    /// The policy in force.
    pub policy: PolicyInfo,
    /// The upstream pool.
    pub upstream: UpstreamStatus,
    /// Client connections open now.
    pub connections: usize,
    /// Each open client connection: who, with which role, and its traffic.
    pub clients: Vec<ClientConnection>,
    /// Counters since start.
    pub counters: Counters,
    /// The most recent IDS alerts, oldest first.
    pub recent_alerts: Vec<Alert>,
    /// Where the IDS stands with its baseline (none, learning until…, detecting).
    pub ids: rampart_conduit::LearningState,
    /// Time since start.
    pub uptime: Duration,
}

/// One open client connection, as [`Status::clients`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConnection {
    /// The client's address.
    pub peer: SocketAddr,
    /// The certificate subject (Modbus/TCP Security) or the address (plain listener).
    pub client: String,
    /// The role the policy applies (`None`: the NULL role).
    pub role: Option<String>,
    /// `modbus-tls` or `modbus-plain`.
    pub interface: &'static str,
    /// When the connection was admitted.
    pub connected_at: std::time::SystemTime,
    /// Requests on this connection.
    pub requests: u64,
    /// Of them, denied by the policy.
    pub denied: u64,
}

/// A policy change made by [`RunningGateway::reload_policy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    /// SHA-256 of the policy replaced.
    pub old_sha256: String,
    /// SHA-256 of the policy now in force.
    pub new_sha256: String,
    /// Where the new policy came from.
    pub origin: String,
}

/// Where a reloaded policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyUpdate {
    /// The configured policy file, read again.
    Configured,
    /// Another file.
    File(PathBuf),
    /// Policy text, e.g. uploaded through the management plane; `origin` names it.
    Text {
        /// The TOML text.
        text: String,
        /// A label for messages and the audit trail.
        origin: String,
    },
}

/// The gateway's entry point.
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// Starts the gateway with the audit trail in `DATA/audit` (signed with the device key).
    ///
    /// On first start this creates, in `data`: the PKI (`pki/`), the default policy
    /// (`policy.toml`, unless the configuration names a policy file) and the audit store. It
    /// then binds the listeners (port 0 picks a free port; see [`RunningGateway::status`]),
    /// starts the simulated PLC when it is the upstream, and records `gateway.started`.
    ///
    /// # Errors
    /// [`GatewayError`] for an inconsistent configuration, an invalid policy, PKI, TLS or
    /// data directory problems, an address already in use, or an audit trail that does not
    /// record the start.
    pub async fn start(
        config: GatewayConfig,
        data: &DataDir,
    ) -> Result<RunningGateway, GatewayError> {
        // The trail as every part of Rampart opens it (the component layer).
        let root = data.root().to_owned();
        let (component, _) =
            tokio::task::spawn_blocking(move || crate::component::Component::open(&root))
                .await
                .map_err(|e| GatewayError::Audit(e.to_string()))?
                .map_err(|e| GatewayError::Audit(e.to_string()))?;
        let store = component.audit;
        let sink: Arc<dyn AuditSink> = Arc::clone(&store) as Arc<dyn AuditSink>;
        let mut running = Gateway::start_with_audit(config, data, sink).await?;
        running.owned_store = Some(store);
        Ok(running)
    }

    /// Like [`Gateway::start`], recording events in `audit` (for a store shared with the
    /// management plane, or a test sink).
    ///
    /// # Errors
    /// As [`Gateway::start`].
    pub async fn start_with_audit(
        config: GatewayConfig,
        data: &DataDir,
        audit: Arc<dyn AuditSink>,
    ) -> Result<RunningGateway, GatewayError> {
        config.validate()?;
        let (pki, pki_report) = Pki::open_or_init_with(data, config.vault.tls_key)?;
        let tls_key_held = pki.server_key_held()?;
        let tls_key = tls_key_held.map(rampart_vault::pki::ServerKeyStore::as_str);
        let device_key = data.device_key_held()?.map(rampart_vault::KeyStore::as_str);
        let (policy_path, policy_created) = policy_file(&config, data)?;
        let (policy, text) = read_policy_file(&policy_path)?;
        let active = ActivePolicy {
            sha256: policy.sha256_hex(),
            origin: policy_path.display().to_string(),
            compiled: CompiledPolicy::compile(policy),
            text: text.into(),
        };
        let watched = TlsFiles::before_loading(tls_sources(&config, &pki));
        let tls_config = tls::server_config(&watched.sources)?;
        let island = island_persisted(data)?;

        let secure_listener = TcpListener::bind(config.secure.listen)
            .await
            .map_err(|source| GatewayError::Bind {
                what: "Modbus/TCP Security",
                addr: config.secure.listen,
                source,
            })?;
        let secure_addr = local_addr(&secure_listener, "Modbus/TCP Security")?;
        let plain_listener = if config.plain.enabled {
            let listener = TcpListener::bind(config.plain.listen)
                .await
                .map_err(|source| GatewayError::Bind {
                    what: "plain Modbus/TCP",
                    addr: config.plain.listen,
                    source,
                })?;
            Some(listener)
        } else {
            None
        };
        let plain_addr = match &plain_listener {
            Some(l) => Some(local_addr(l, "plain Modbus/TCP")?),
            None => None,
        };

        let (simulator, address, label) = match &config.upstream.target {
            UpstreamTarget::Simulator => {
                let sim = SimulatedPlc::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .await
                    .map_err(GatewayError::Simulator)?;
                let addr = sim.local_addr();
                (
                    Some(sim),
                    addr.to_string(),
                    format!("simulated PLC at {addr}"),
                )
            }
            UpstreamTarget::Remote(address) => (None, address.clone(), address.clone()),
        };
        let pool = Pool::new(address, label, config.upstream.clone());
        let (stop_tx, stop) = watch::channel(false);
        let shared = Shared::new(SharedParts {
            config: config.clone(),
            data_root: data.root().to_owned(),
            audit,
            policy: active,
            tls: tls_config,
            island,
            ids: Ids::new(IdsConfig::default()),
            pool: Arc::clone(&pool),
            stop: stop.clone(),
        });

        let started = GatewayEvent::new(Category::AuditLog, "gateway.started", gateway_actor())
            .severity(Severity::Notice)
            .essential()
            .details(json!({
                "secure_listener": secure_addr.to_string(),
                "plain_listener": plain_addr.map(|a| a.to_string()),
                "upstream": shared.pool.status().target,
                "policy": shared.policy().origin,
                "policy_sha256": shared.policy().sha256,
                "island": island,
                "pki_created": pki_report.created.len(),
                "tls_key": tls_key,
                "device_key": device_key,
                "tls_key_moved_to": pki_report
                    .server_key_moved_to
                    .map(rampart_vault::pki::ServerKeyStore::as_str),
            }));
        let event = started.build()?;
        shared.audit.record(event).await?;
        match crate::monitoring::load_baseline(data) {
            Ok(Some(baseline)) => {
                tracing::info!(clients = baseline.clients.len(), "IDS baseline loaded");
                shared.with_ids(|ids| ids.use_baseline(baseline));
            }
            Ok(None) => {}
            Err(problem) => {
                // Monitoring degrades to the fixed thresholds; the trail says why.
                tracing::error!(%problem, "the IDS baseline is unusable; fixed thresholds only");
                let event = GatewayEvent::new(
                    Category::ConfigurationChange,
                    "ids.baseline_invalid",
                    gateway_actor(),
                )
                .severity(Severity::Warning)
                .outcome(rampart_audit::Outcome::Failure)
                .details(json!({ "reason": problem }));
                shared.record(event).await;
            }
        }

        let mut tasks: Vec<JoinHandle<()>> = pool
            .tasks(&shared.open_watch(), &stop)
            .into_iter()
            .map(|task| shared.supervise("upstream pool", task))
            .collect();
        let listen_span =
            tracing::info_span!("listener", listen = %secure_addr, kind = "modbus-tls");
        tasks.push(
            shared.supervise(
                "Modbus/TCP Security listener",
                listener::accept_loop(
                    Arc::clone(&shared),
                    secure_listener,
                    Kind::Secure,
                    config.secure.allow.clone(),
                )
                .instrument(listen_span),
            ),
        );
        if let (Some(listener), Some(addr)) = (plain_listener, plain_addr) {
            let role = config.plain.role.clone().unwrap_or_default();
            let span = tracing::info_span!("listener", listen = %addr, kind = "modbus-plain");
            tasks.push(
                shared.supervise(
                    "plain Modbus/TCP listener",
                    listener::accept_loop(
                        Arc::clone(&shared),
                        listener,
                        Kind::Plain { role },
                        config.plain.allow.clone(),
                    )
                    .instrument(span),
                ),
            );
        }
        tasks.push(shared.supervise(
            "file watcher",
            watch_files(Arc::clone(&shared), watched, stop.clone()),
        ));
        tasks.push(shared.supervise(
            "refusal summaries",
            refusal_summaries(Arc::clone(&shared), stop.clone()),
        ));
        tasks.push(shared.supervise(
            "IDS baseline",
            crate::monitoring::watch(Arc::clone(&shared), stop.clone()),
        ));
        tracing::info!(secure = %secure_addr, island, "gateway started");
        Ok(RunningGateway {
            shared,
            stop_tx,
            tasks,
            simulator,
            owned_store: None,
            secure_addr,
            plain_addr,
            pki,
            pki_report,
            tls_key_held,
            policy_created,
            reload_lock: tokio::sync::Mutex::new(()),
        })
    }
}

fn local_addr(listener: &TcpListener, what: &'static str) -> Result<SocketAddr, GatewayError> {
    listener.local_addr().map_err(|source| GatewayError::Bind {
        what,
        addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        source,
    })
}

fn gateway_actor() -> Who {
    Who::Gateway("rampart-gateway".into())
}

/// The policy file, written from the embedded default when it is the data directory's and
/// missing; returns whether it was written.
fn policy_file(config: &GatewayConfig, data: &DataDir) -> Result<(PathBuf, bool), GatewayError> {
    match &config.policy {
        PolicySource::File(path) => Ok((path.clone(), false)),
        PolicySource::DataDir => {
            let path = data.file(POLICY_FILE);
            if path.exists() {
                Ok((path, false))
            } else {
                rampart_vault::write_atomic(&path, DEFAULT_POLICY.as_bytes(), 0o600)?;
                Ok((path, true))
            }
        }
    }
}

fn tls_sources(config: &GatewayConfig, pki: &Pki) -> ServerSources {
    let mut sources = ServerSources::from_pki(pki);
    if let Some(cert) = &config.secure.cert {
        sources.cert_chain.clone_from(cert);
    }
    if let Some(key) = &config.secure.key {
        sources.key.clone_from(key);
    }
    if !config.secure.trust_anchors.is_empty() {
        sources
            .trust_anchors
            .clone_from(&config.secure.trust_anchors);
    }
    if !config.secure.crls.is_empty() {
        sources.crls.clone_from(&config.secure.crls);
    }
    sources
}

/// The file the configured policy is read from: the configured file, or `policy.toml` in the
/// data directory `data_root` (which the gateway creates from the default on first start).
pub fn configured_policy_path(config: &GatewayConfig, data_root: &std::path::Path) -> PathBuf {
    match &config.policy {
        crate::config::PolicySource::File(path) => path.clone(),
        crate::config::PolicySource::DataDir => data_root.join(POLICY_FILE.relative_path()),
    }
}

/// Whether island mode is persisted as on in `data` (NDR 5.2 RE 2). A file that says
/// anything but `on` or `off` counts as on: when in doubt, isolate.
///
/// # Errors
/// [`GatewayError::Island`] when the file exists but cannot be read.
pub fn island_persisted(data: &DataDir) -> Result<bool, GatewayError> {
    read_island(&data.file(ISLAND_FILE))
}

fn read_island(path: &Path) -> Result<bool, GatewayError> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(GatewayError::Island {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        Ok(text) => Ok(text.trim() != "off"),
    }
}

/// Persists island mode in `data`, for the next start and for a running gateway on this
/// data directory, which applies it within a quarter second (the `rampart island` command).
///
/// # Errors
/// [`GatewayError::Vault`] when the file cannot be written.
pub fn persist_island(data: &DataDir, on: bool) -> Result<(), GatewayError> {
    data.dir(rampart_vault::Entry::Gateway)?;
    let text = if on { "on\n" } else { "off\n" };
    rampart_vault::write_atomic(&data.file(ISLAND_FILE), text.as_bytes(), 0o600)?;
    Ok(())
}

/// The TLS files and their modification times when they were loaded.
struct TlsFiles {
    sources: ServerSources,
    files: Vec<PathBuf>,
    stamps: Vec<Option<SystemTime>>,
}

impl TlsFiles {
    /// Takes the modification times now, before the files are loaded, so that a change
    /// made while loading is seen.
    fn before_loading(sources: ServerSources) -> TlsFiles {
        let files: Vec<PathBuf> = std::iter::once(sources.cert_chain.clone())
            .chain(std::iter::once(sources.key.clone()))
            .chain(sources.trust_anchors.iter().cloned())
            .chain(sources.crls.iter().cloned())
            .collect();
        let stamps = stamps(&files);
        TlsFiles {
            sources,
            files,
            stamps,
        }
    }
}

fn stamps(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files
        .iter()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

/// Records the summaries of refusals before authentication once per
/// `audit.refusal_interval`, and a last time at the stop, so that every refusal counted is
/// accounted for in the trail.
async fn refusal_summaries(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let interval = shared.config.audit.refusal_interval;
    loop {
        tokio::select! {
            _ = stop.changed() => {
                shared.record_refusal_summaries().await;
                return;
            }
            () = tokio::time::sleep(interval) => {
                shared.record_refusal_summaries().await;
            }
        }
    }
}

/// Applies island-file changes made by another process, and rebuilds the TLS configuration
/// when a certificate, key or CRL file changes (a revocation by `rampart pki revoke`).
async fn watch_files(shared: Arc<Shared>, watched: TlsFiles, mut stop: watch::Receiver<bool>) {
    let island_path = shared.data_root.join(ISLAND_FILE.relative_path());
    let TlsFiles {
        sources,
        files: tls_files,
        stamps: mut seen,
    } = watched;
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        if let Ok(on) = read_island(&island_path)
            && on != shared.traffic().island
        {
            let _guard = shared.island_lock.lock().await;
            // Read again under the lock: the API may have just made this change itself.
            if let Ok(on) = read_island(&island_path)
                && on != shared.traffic().island
            {
                apply_island(&shared, on, "the island file (rampart island)").await;
            }
        }
        let now = stamps(&tls_files);
        if now != seen {
            seen = now;
            // Files may be mid-update; a failed rebuild is retried at the next change.
            if let Err(error) = reload_tls(&shared, &sources).await {
                tracing::warn!(%error, "TLS files changed but cannot be loaded; the old configuration stays");
            }
        }
    }
}

async fn reload_tls(shared: &Shared, sources: &ServerSources) -> Result<(), GatewayError> {
    let config = tls::server_config(sources)?;
    let event = GatewayEvent::new(Category::ConfigurationChange, "tls.reload", gateway_actor())
        .details(json!({
            "cert": sources.cert_chain.display().to_string(),
            "trust_anchors": sources.trust_anchors.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "crls": sources.crls.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        }));
    if !shared.record(event).await {
        return Err(GatewayError::Audit(
            "the TLS reload was not recorded".into(),
        ));
    }
    shared.replace_tls(config);
    tracing::info!("TLS configuration reloaded");
    Ok(())
}

/// Turns island mode on or off in the running gateway and records it. On: traffic stops
/// first, then the event is recorded. Off: the event is recorded first, and traffic resumes
/// only if it was.
async fn apply_island(shared: &Shared, on: bool, by: &str) -> bool {
    let event = GatewayEvent::new(
        Category::ConfigurationChange,
        if on {
            "gateway.island_on"
        } else {
            "gateway.island_off"
        },
        Who::Gateway(by.to_owned()),
    )
    .severity(if on {
        Severity::Warning
    } else {
        Severity::Notice
    })
    .essential()
    .details(json!({ "island": on, "by": by }));
    if on {
        shared.set_island(true);
        tracing::warn!(by, "island mode on: no traffic crosses the conduit");
        shared.record(event).await
    } else {
        if !shared.record(event).await {
            return false;
        }
        shared.set_island(false);
        tracing::warn!(by, "island mode off");
        true
    }
}

/// A running gateway. Dropping it stops every task; [`RunningGateway::shutdown`] stops
/// cleanly and records it.
pub struct RunningGateway {
    pub(crate) shared: Arc<Shared>,
    stop_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    simulator: Option<SimulatedPlc>,
    owned_store: Option<Arc<AuditStore>>,
    secure_addr: SocketAddr,
    plain_addr: Option<SocketAddr>,
    pki: Pki,
    pki_report: InitReport,
    /// Where the TLS server key is held, read once at start (reading it again would unseal
    /// the key file).
    tls_key_held: Option<rampart_vault::pki::ServerKeyStore>,
    policy_created: bool,
    reload_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RunningGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningGateway")
            .field("secure_addr", &self.secure_addr)
            .field("plain_addr", &self.plain_addr)
            .finish_non_exhaustive()
    }
}

impl RunningGateway {
    /// Where the TLS server key of both listeners is held (`[vault] tls_key`, as found at
    /// start); `None` only if the directory holds none.
    pub fn tls_key_held(&self) -> Option<rampart_vault::pki::ServerKeyStore> {
        self.tls_key_held
    }

    /// The Modbus/TCP Security listener's bound address.
    pub fn secure_addr(&self) -> SocketAddr {
        self.secure_addr
    }

    /// The plain listener's bound address, if it is on.
    pub fn plain_addr(&self) -> Option<SocketAddr> {
        self.plain_addr
    }

    /// The simulated PLC's address, when it is the upstream.
    pub fn simulator_addr(&self) -> Option<SocketAddr> {
        self.simulator.as_ref().map(SimulatedPlc::local_addr)
    }

    /// The configuration the gateway runs with (for the management plane's configuration
    /// report, CR 7.6 RE 1).
    pub fn config(&self) -> &GatewayConfig {
        &self.shared.config
    }

    /// The per-client request rate of the policy in force (requests per second).
    pub fn requests_per_second(&self) -> u32 {
        self.shared
            .policy()
            .compiled
            .policy()
            .limits
            .requests_per_second
    }

    /// The policy in force, as text, and where it came from.
    pub fn policy_text(&self) -> (String, String) {
        let policy = self.shared.policy();
        (policy.text.to_string(), policy.origin.clone())
    }

    /// The file the configured policy is read from (`DATA/policy.toml` or the configured
    /// file): where an applied policy is written so that it survives a restart.
    pub fn policy_path(&self) -> PathBuf {
        configured_policy_path(&self.shared.config, &self.shared.data_root)
    }

    /// The local PKI (to issue or revoke client certificates).
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The state of the gateway now.
    pub fn status(&self) -> Status {
        let shared = &self.shared;
        let traffic = shared.traffic();
        let traffic = match traffic.halted {
            Some(reason) => Traffic::Halted {
                reason,
                island: traffic.island,
            },
            None if traffic.island => Traffic::Island,
            None => Traffic::Open,
        };
        let policy = shared.policy();
        let stats = &shared.stats;
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        Status {
            traffic,
            secure_addr: self.secure_addr,
            plain_addr: self.plain_addr,
            management_addr: shared.config.management.listen,
            policy: PolicyInfo {
                origin: policy.origin.clone(),
                sha256: policy.sha256.clone(),
                roles: policy
                    .compiled
                    .policy()
                    .roles
                    .iter()
                    .map(|r| r.name.clone())
                    .collect(),
            },
            upstream: shared.pool.status(),
            connections: shared.config.limits.max_connections
                - shared.connections.available_permits()
                + shared.unauthenticated.len(),
            clients: shared
                .open_connections
                .snapshot()
                .iter()
                .map(|c| ClientConnection {
                    peer: c.peer,
                    client: c.client.clone(),
                    role: c.role.clone(),
                    interface: c.interface,
                    connected_at: c.connected_at,
                    requests: load(&c.requests),
                    denied: load(&c.denied),
                })
                .collect(),
            counters: Counters {
                connections_accepted: load(&stats.connections_accepted),
                connections_refused: load(&stats.connections_refused),
                handshakes_failed: load(&stats.handshakes_failed),
                requests: load(&stats.requests),
                allowed: load(&stats.allowed),
                denied: load(&stats.denied),
                malformed: load(&stats.malformed),
                throttled: load(&stats.throttled),
                upstream_failures: load(&stats.upstream_failures),
                alerts: load(&stats.alerts),
            },
            recent_alerts: shared.recent_alerts(),
            ids: shared.with_ids(|ids| ids.learning_state()),
            uptime: shared.started.elapsed(),
        }
    }

    /// Loads a policy and puts it in force without dropping connections: each connection
    /// resolves its role against the new policy before its next request. The change is
    /// recorded with the old and new SHA-256 before it takes effect.
    ///
    /// # Errors
    /// [`GatewayError::Policy`] for a policy that does not load (recorded; the old policy
    /// stays in force); [`GatewayError::Audit`] when the change cannot be recorded (then
    /// the old policy stays and traffic stops: fail close).
    pub async fn reload_policy(&self, update: PolicyUpdate) -> Result<PolicyChange, GatewayError> {
        let _guard = self.reload_lock.lock().await;
        let shared = &self.shared;
        let loaded = match &update {
            PolicyUpdate::Configured => {
                let (path, _) = policy_file(&shared.config, &DataDir::open(&shared.data_root)?)?;
                read_policy_file(&path).map(|(p, t)| (p, path.display().to_string(), t))
            }
            PolicyUpdate::File(path) => {
                read_policy_file(path).map(|(p, t)| (p, path.display().to_string(), t))
            }
            PolicyUpdate::Text { text, origin } => {
                Policy::parse(text, origin).map(|p| (p, origin.clone(), text.clone()))
            }
        };
        let old = shared.policy();
        let (policy, origin, text) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::warn!(%error, "policy reload failed; the old policy stays in force");
                let event = GatewayEvent::new(
                    Category::ConfigurationChange,
                    "policy.reload",
                    gateway_actor(),
                )
                .outcome(Outcome::Failure)
                .details(json!({
                    "error": error.to_string(),
                    "policy_sha256": old.sha256,
                }));
                shared.record(event).await;
                return Err(error.into());
            }
        };
        let new_sha256 = policy.sha256_hex();
        let event = GatewayEvent::new(
            Category::ConfigurationChange,
            "policy.reload",
            gateway_actor(),
        )
        .severity(Severity::Notice)
        .target(&origin)
        .details(json!({
            "old_sha256": old.sha256,
            "new_sha256": new_sha256,
            "old_origin": old.origin,
            "origin": origin,
        }));
        if !shared.record(event).await {
            return Err(GatewayError::Audit(
                "the policy change was not recorded; the old policy stays in force".into(),
            ));
        }
        let replaced = shared.replace_policy(ActivePolicy {
            compiled: CompiledPolicy::compile(policy),
            origin: origin.clone(),
            sha256: new_sha256.clone(),
            text: text.into(),
        });
        tracing::info!(old = %replaced.sha256, new = %new_sha256, %origin, "policy reloaded");
        Ok(PolicyChange {
            old_sha256: replaced.sha256.clone(),
            new_sha256,
            origin,
        })
    }

    /// Turns island mode on or off (NDR 5.2 RE 2): on stops every connection and refuses new
    /// ones at once. The state is persisted in the data directory first, so it survives a
    /// restart, and the change is recorded; `by` names who asked (an account, `api`).
    ///
    /// # Errors
    /// [`GatewayError::Vault`] when the state cannot be persisted (nothing changes);
    /// [`GatewayError::Audit`] when the change cannot be recorded (traffic stops: fail
    /// close).
    pub async fn set_island(&self, on: bool, by: &str) -> Result<(), GatewayError> {
        let _guard = self.shared.island_lock.lock().await;
        let data = DataDir::open(&self.shared.data_root)?;
        persist_island(&data, on)?;
        if apply_island(&self.shared, on, by).await {
            Ok(())
        } else {
            Err(GatewayError::Audit(format!(
                "island mode {} was not recorded; traffic is stopped",
                if on { "on" } else { "off" }
            )))
        }
    }

    /// Starts learning an IDS baseline for `duration` (recorded in the audit trail first): no
    /// alert is raised until it ends; then the baseline is saved in the data directory and
    /// the anomaly detectors run on it (docs/ids.md).
    ///
    /// # Errors
    /// [`GatewayError::Ids`] for a duration out of range or when the start cannot be
    /// recorded (then nothing changes).
    pub async fn start_learning(
        &self,
        duration: std::time::Duration,
        adaptation: rampart_conduit::Adaptation,
        by: &str,
    ) -> Result<rampart_conduit::LearningState, GatewayError> {
        crate::monitoring::start_learning(&self.shared, duration, adaptation, by)
            .await
            .map_err(GatewayError::Ids)
    }

    /// Drops the IDS baseline and its file (recorded first).
    ///
    /// # Errors
    /// [`GatewayError::Ids`] when it cannot be recorded or the file cannot be removed.
    pub async fn clear_baseline(&self, by: &str) -> Result<(), GatewayError> {
        crate::monitoring::clear_baseline(&self.shared, by)
            .await
            .map_err(GatewayError::Ids)
    }

    /// The IDS baseline being learned or in force.
    pub fn ids_baseline(&self) -> Option<rampart_conduit::Baseline> {
        self.shared.with_ids(|ids| ids.baseline().cloned())
    }

    /// Clears a fail-close halt after its cause is fixed: records `gateway.resumed` and, if
    /// that works, lets traffic cross again (unless island mode is on).
    ///
    /// # Errors
    /// [`GatewayError::Audit`] when the audit trail still fails (traffic stays stopped).
    pub async fn resume(&self, by: &str) -> Result<(), GatewayError> {
        let Some(reason) = self.shared.traffic().halted else {
            return Ok(());
        };
        let event = GatewayEvent::new(
            Category::AuditLog,
            "gateway.resumed",
            Who::Gateway(by.to_owned()),
        )
        .severity(Severity::Notice)
        .essential()
        .details(json!({ "halted_because": reason }))
        .build()?;
        self.shared.audit.record(event).await?;
        self.shared.resume();
        tracing::warn!(by, "traffic resumed after fail close");
        Ok(())
    }

    /// Rebuilds the TLS configuration from its files now (new connections use it; the file
    /// watcher does the same within a quarter second of a change).
    ///
    /// # Errors
    /// [`GatewayError::Tls`] when the files cannot be used (the old configuration stays).
    pub async fn reload_tls(&self) -> Result<(), GatewayError> {
        reload_tls(&self.shared, &tls_sources(&self.shared.config, &self.pki)).await
    }

    /// A description of what listens where, which policy is in force and where the data
    /// lives, for start-up output.
    pub fn start_summary(&self) -> String {
        let status = self.status();
        let config = &self.shared.config;
        let mut out = String::new();
        let _ = writeln!(out, "Rampart gateway");
        let _ = writeln!(
            out,
            "  Modbus/TCP Security  {}  (mutual TLS; allow {})",
            status.secure_addr, config.secure.allow
        );
        let _ = writeln!(out, "                       {}", tls::describe());
        match status.plain_addr {
            Some(addr) => {
                let _ = writeln!(
                    out,
                    "  plain Modbus/TCP     {addr}  (NOT authenticated; every client gets role '{}'; allow {})",
                    config.plain.role.as_deref().unwrap_or_default(),
                    config.plain.allow
                );
            }
            None => {
                let _ = writeln!(out, "  plain Modbus/TCP     off");
            }
        }
        let _ = writeln!(
            out,
            "  upstream             {} ({} connection(s), {} request(s) each in flight)",
            status.upstream.target, config.upstream.connections, config.upstream.pipeline
        );
        let _ = writeln!(
            out,
            "  policy               {}{} (sha256 {}); roles: {}",
            status.policy.origin,
            if self.policy_created {
                " (created from the default)"
            } else {
                ""
            },
            &status.policy.sha256[..16.min(status.policy.sha256.len())],
            status.policy.roles.join(", ")
        );
        let root = self.shared.data_root.display();
        let trail = if self.owned_store.is_some() {
            format!("audit trail in {root}/audit")
        } else {
            "audit trail supplied by the caller".to_owned()
        };
        let _ = writeln!(out, "  data                 {root}  ({trail})");
        let pki = self.pki.dir().display();
        let _ = writeln!(
            out,
            "  PKI                  CA {pki}/ca.crt, CRL {pki}/ca.crl{}",
            if self.pki_report.created.is_empty() {
                ""
            } else {
                " (created now)"
            }
        );
        let _ = writeln!(
            out,
            "  demo client certs    {pki}/clients/{{operator,engineer,viewer}}.{{crt,key}}"
        );
        let traffic = match &status.traffic {
            Traffic::Open => "open".to_owned(),
            Traffic::Island => {
                "ISLAND MODE: no traffic crosses the conduit (rampart island off)".to_owned()
            }
            Traffic::Halted { reason, .. } => format!("HALTED: {reason}"),
        };
        let _ = writeln!(out, "  traffic              {traffic}");
        for warning in config.warnings() {
            let _ = writeln!(out, "  warning: {warning}");
        }
        out
    }

    /// Stops accepting, closes every connection, stops the upstream pool and the simulated
    /// PLC, records `gateway.stopped` and closes the audit store if the gateway opened it.
    ///
    /// # Errors
    /// [`GatewayError::Audit`] when the stop cannot be recorded or the store not closed.
    pub async fn shutdown(mut self) -> Result<(), GatewayError> {
        let _ = self.stop_tx.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        // Connections see the stop and close; give them a moment to go.
        let all = u32::try_from(self.shared.config.limits.max_connections).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            let _ = self.shared.connections.acquire_many(all).await;
            while !self.shared.unauthenticated.is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        if let Some(sim) = self.simulator.take() {
            sim.shutdown().await;
        }
        let counters = self.status().counters;
        let event = GatewayEvent::new(Category::AuditLog, "gateway.stopped", gateway_actor())
            .severity(Severity::Notice)
            .essential()
            .details(json!({
                "requests": counters.requests,
                "denied": counters.denied,
                "connections": counters.connections_accepted,
            }))
            .build()?;
        let recorded = self.shared.audit.record(event).await;
        if let Some(store) = self.owned_store.take() {
            tokio::task::spawn_blocking(move || store.close())
                .await
                .map_err(|e| GatewayError::Audit(e.to_string()))?
                .map_err(|e| GatewayError::Audit(e.to_string()))?;
        }
        recorded?;
        tracing::info!("gateway stopped");
        Ok(())
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        let _ = self.stop_tx.send(true);
    }
}

/// Reads and validates the policy file at `path` — at most [`rampart_conduit::MAX_POLICY_BYTES`]
/// of it — returning the text that was validated too, so that what is shown and hashed is
/// exactly what is in force.
///
/// # Errors
/// [`PolicyError`] with the file, line and column, for unreadable, oversized or non-UTF-8
/// files and everything [`Policy::parse`] refuses.
pub fn read_policy_file(path: &std::path::Path) -> Result<(Policy, String), PolicyError> {
    let origin = path.display().to_string();
    let text = rampart_vault::read_capped_text(path, rampart_conduit::MAX_POLICY_BYTES as u64)
        .map_err(|e| PolicyError {
            origin: origin.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read the policy file: {e}"),
        })?;
    Policy::parse(&text, &origin).map(|policy| (policy, text))
}
