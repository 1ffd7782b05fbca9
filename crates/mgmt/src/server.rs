//! The HTTPS listener: allow-list, connection limits, handshake and header timeouts, then
//! HTTP/1.1 over TLS into the router.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::response::IntoResponse as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::error::ApiError;
use crate::state::{AppState, HttpCounters, Peer};

/// Why the management plane could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The certificate or key cannot be used.
    #[error("management TLS: {0}")]
    Tls(#[from] rampart_vault::tls::TlsError),
    /// The address cannot be bound.
    #[error("management listener {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The random number generator failed.
    #[error("random number generator: {0}")]
    Random(String),
}

/// The running management plane.
pub struct RunningManagement {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningManagement {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes connections, and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Connections open per source address.
struct PerSource {
    open: Mutex<HashMap<IpAddr, usize>>,
    limit: usize,
}

impl PerSource {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<SourceSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            table: Arc::clone(self),
            ip,
        })
    }
}

struct SourceSlot {
    table: Arc<PerSource>,
    ip: IpAddr,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self
            .table
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

pub(crate) async fn start(
    state: Arc<AppState>,
    router: Router,
) -> Result<RunningManagement, StartError> {
    let pki_dir = state.services.data.file("pki");
    let cert = state
        .config
        .cert
        .clone()
        .unwrap_or_else(|| pki_dir.join("server.crt"));
    let key = state
        .config
        .key
        .clone()
        .unwrap_or_else(|| pki_dir.join("server.key"));
    let tls = rampart_vault::tls::web_server_config(&cert, &key)?;
    let listener = TcpListener::bind(state.config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: state.config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: state.config.listen,
        source,
    })?;
    let _ = state.bound.set(addr);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(
        listener,
        TlsAcceptor::from(tls),
        state,
        router,
        stopped,
    ));
    tracing::info!(%addr, "management plane listening (HTTPS)");
    Ok(RunningManagement { addr, stop, task })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let total = Arc::new(Semaphore::new(state.config.max_connections));
    let per_source = Arc::new(PerSource {
        open: Mutex::new(HashMap::new()),
        limit: state.config.max_connections_per_ip,
    });
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "management accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let refuse = |why: &str| {
            HttpCounters::add(&state.counters.connections_refused);
            tracing::info!(%peer, why, "management connection refused");
        };
        if !state.config.allow.allows(peer.ip()) {
            refuse("source not in the allow-list");
            continue;
        }
        let Ok(permit) = Arc::clone(&total).try_acquire_owned() else {
            refuse("connection limit");
            continue;
        };
        let Some(slot) = per_source.admit(peer.ip()) else {
            refuse("per-source connection limit");
            continue;
        };
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        let router = router.clone();
        let mut stop = stopped.clone();
        connections.spawn(async move {
            let _permit = permit;
            let _slot = slot;
            tokio::select! {
                () = serve_connection(stream, peer, acceptor, &state, router) => {}
                _ = stop.changed() => {}
            }
        });
    }
    connections.shutdown().await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    state: &AppState,
    router: Router,
) {
    let _ = stream.set_nodelay(true);
    let tls =
        match tokio::time::timeout(state.config.handshake_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                // Plain HTTP, scanners, old protocol versions, weak suites: nothing useful.
                HttpCounters::add(&state.counters.handshakes_failed);
                tracing::debug!(%peer, error = %e, "management TLS handshake failed");
                return;
            }
            Err(_) => {
                HttpCounters::add(&state.counters.handshakes_failed);
                tracing::debug!(%peer, "management TLS handshake timed out");
                return;
            }
        };
    // Every request, body and handler included, within the request timeout: a client that
    // trickles its body cannot hold a connection (and its slot) forever.
    let timeout = state.config.request_timeout;
    let service = tower::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        let router = router.clone();
        async move {
            match tokio::time::timeout(timeout, router.oneshot(request)).await {
                Ok(answer) => answer,
                Err(_) => Ok(ApiError::new(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    format!("the request took longer than {} s", timeout.as_secs()),
                )
                .into_response()),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout)
        .max_buf_size(64 * 1024);
    let connection = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
    if let Err(e) = connection.await {
        tracing::debug!(%peer, error = %e, "management connection ended with an error");
    }
}
