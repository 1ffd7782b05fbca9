//! The HTTPS listener: allow-list, connection budgets, handshake and header timeouts, then
//! HTTP/1.1 over TLS into the router.
//!
//! A connection is admitted as the data plane admits one, by the same [`admit_connection`]
//! (CR 7.1, CR 7.2): at accept it needs a place in the per-address limit
//! ([`PerSourceLimit`]) and in the budget of unauthenticated connections ([`PreAuthBudget`],
//! fair between sources); when a request on it authenticates it moves to
//! the budget of authenticated connections (`max_connections`). Before that it must
//! authenticate within `unauthenticated_timeout`, handshake included, and may be closed to
//! make room for another source. So slow handshakes and trickled headers, which cost an
//! attacker nothing, cannot take the slots of the operators who log in. Every refusal is
//! audited, aggregated per source and interval ([`crate::refusals`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::response::IntoResponse as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rampart_gateway::acceptor::{Acceptor, AdmissionLimits};
use rampart_gateway::admission::{PerSourceLimit, PreAuthBudget, PreAuthRelease, PreAuthSlot};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::error::ApiError;
use crate::refusals::Refusal;
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
    /// The accept loop, and the task recording refusal summaries (a last one at the stop).
    tasks: Vec<JoinHandle<()>>,
    restart: Arc<tokio::sync::Notify>,
    erase: Arc<crate::api::erase::EraseControl>,
}

impl RunningManagement {
    /// Lets `POST /api/v1/erase` erase the data directory: `hook` records the erase (and
    /// delivers the trail) before the plane answers; then [`Self::erase_requested`] resolves.
    /// Without it the route answers 503. Set once; false if it was already set.
    pub fn set_decommission(&self, hook: Arc<dyn crate::api::erase::Decommission>) -> bool {
        self.erase.set(hook)
    }

    /// Resolves when an erase through the API was accepted and recorded: the caller stops the
    /// plane and the gateway, erases the data directory and exits
    /// ([`crate::api::erase::ERASED_EXIT_CODE`]).
    pub async fn erase_requested(&self) {
        self.erase.ordered.notified().await;
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resolves when an operator asks for a restart through the API (after installing an
    /// update): the caller shuts down cleanly so that the launcher starts the new slot.
    pub async fn restart_requested(&self) {
        self.restart.notified().await;
    }

    /// Stops accepting, closes connections, and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Tells the connection a request came on that the request authenticated: the connection
/// leaves the budget of unauthenticated connections and takes a slot of the authenticated
/// budget, at once and in the request's task, so that the slot is free before the answer
/// lets the client open its next connection. The guard calls it as soon as it knows the
/// caller, before the handler reads a body.
#[derive(Clone)]
pub(crate) struct ConnectionAuth(Arc<ConnectionAdmission>);

struct ConnectionAdmission {
    phase: Mutex<Phase>,
    preauth: PreAuthRelease,
    authenticated: Arc<Semaphore>,
    /// Wakes the connection's task when the phase changed.
    changed: watch::Sender<()>,
}

/// Where a connection stands in the budgets.
enum Phase {
    Unauthenticated,
    /// Holds a slot of the authenticated budget for as long as the connection is open.
    Authenticated(#[expect(dead_code, reason = "held for its drop")] OwnedSemaphorePermit),
    /// Authenticated while the authenticated budget was full: closed after the answer.
    OverLimit,
}

impl ConnectionAuth {
    pub(crate) fn authenticated(&self) {
        let admission = &self.0;
        let mut phase = admission
            .phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !matches!(*phase, Phase::Unauthenticated) {
            return;
        }
        admission.preauth.release();
        *phase = match Arc::clone(&admission.authenticated).try_acquire_owned() {
            Ok(permit) => Phase::Authenticated(permit),
            Err(_) => Phase::OverLimit,
        };
        admission.changed.send_replace(());
    }

    fn is_unauthenticated(&self) -> bool {
        matches!(
            *self.0.phase.lock().unwrap_or_else(PoisonError::into_inner),
            Phase::Unauthenticated
        )
    }

    fn is_over_limit(&self) -> bool {
        matches!(
            *self.0.phase.lock().unwrap_or_else(PoisonError::into_inner),
            Phase::OverLimit
        )
    }
}

/// Put in a response's extensions by a handler that authenticated the caller without the
/// guard (a successful login): the connection counts as authenticated from then on.
#[derive(Clone, Copy)]
pub(crate) struct Authenticated;

/// The connection budgets of the plane (CR 7.1, CR 7.2): connections enter
/// `unauthenticated` at accept and move to `authenticated` when a request on them
/// authenticates; `per_source` bounds both together per address.
struct Budgets {
    authenticated: Arc<Semaphore>,
    unauthenticated: PreAuthBudget,
    per_source: PerSourceLimit,
}

pub(crate) async fn start(
    state: Arc<AppState>,
    router: Router,
) -> Result<RunningManagement, StartError> {
    let restart = Arc::clone(&state.restart);
    let erase = Arc::clone(&state.erase);
    let pki_dir = state.services.data.file(rampart_vault::Entry::Pki);
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
    let summaries = tokio::spawn(crate::refusals::summaries(
        Arc::clone(&state),
        stopped.clone(),
    ));
    let accept = tokio::spawn(accept_loop(
        listener,
        TlsAcceptor::from(tls),
        state,
        router,
        stopped,
    ));
    tracing::info!(%addr, "management plane listening (HTTPS)");
    Ok(RunningManagement {
        addr,
        stop,
        tasks: vec![accept, summaries],
        restart,
        erase,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let budgets = Arc::new(Budgets {
        authenticated: Arc::new(Semaphore::new(state.config.max_connections)),
        unauthenticated: PreAuthBudget::new(
            state.config.max_unauthenticated,
            state.config.max_unauthenticated_per_ip,
        ),
        per_source: PerSourceLimit::new(),
    });
    let mut connections = tokio::task::JoinSet::new();
    let arrivals = Acceptor::new(listener, state.config.allow.clone(), "management");
    loop {
        let limits = AdmissionLimits {
            per_source: &budgets.per_source,
            max_per_source: state.config.max_connections_per_ip,
            unauthenticated: &budgets.unauthenticated,
        };
        let arrival = tokio::select! {
            _ = stopped.changed() => break,
            arrival = arrivals.next(limits) => arrival,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer, slot, preauth) = match arrival.into_admitted() {
            Ok(admitted) => admitted,
            Err((peer, reason)) => {
                HttpCounters::add(&state.counters.connections_refused);
                state.refused(peer, &Refusal::connection(reason));
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        let router = router.clone();
        let budgets = Arc::clone(&budgets);
        let mut stop = stopped.clone();
        connections.spawn(async move {
            let _slot = slot;
            tokio::select! {
                () = serve_connection(stream, peer, acceptor, &state, router, preauth, &budgets) => {}
                _ = stop.changed() => {}
            }
        });
    }
    connections.shutdown().await;
}

/// Resolves when the unauthenticated connection holding `slot` must close to make room;
/// never once it has authenticated.
async fn evicted(slot: &mut Option<PreAuthSlot>) {
    match slot {
        Some(slot) => slot.evicted().await,
        None => std::future::pending().await,
    }
}

/// One connection: the TLS handshake and then HTTP/1.1, all of it before authentication
/// within `unauthenticated_timeout` and liable to be closed to make room for another
/// source's connection; from the first authenticated request on, in the authenticated
/// budget, or closed after that request if it is full.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    state: &Arc<AppState>,
    router: Router,
    preauth: PreAuthSlot,
    budgets: &Budgets,
) {
    let _ = stream.set_nodelay(true);
    let release = preauth.releaser();
    let mut preauth = Some(preauth);
    let deadline = tokio::time::sleep(state.config.unauthenticated_timeout);
    tokio::pin!(deadline);
    let evicted_reason = || {
        HttpCounters::add(&state.counters.connections_refused);
        Refusal::connection(format!(
            "closed to make room: all {} slots for unauthenticated connections were taken \
             and this source held the most (CR 7.1)",
            budgets.unauthenticated.limit()
        ))
    };
    let handshake_timeout = state.config.handshake_timeout;
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)) => handshake,
        () = evicted(&mut preauth) => {
            state.refused(peer, &evicted_reason());
            return;
        }
    };
    let tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            // Plain HTTP, scanners, old protocol versions, weak suites: nothing useful.
            HttpCounters::add(&state.counters.handshakes_failed);
            state.refused(peer, &Refusal::handshake(e.to_string()));
            return;
        }
        Err(_) => {
            HttpCounters::add(&state.counters.handshakes_failed);
            let reason = format!(
                "no complete handshake within {} ms",
                handshake_timeout.as_millis()
            );
            state.refused(peer, &Refusal::handshake(reason));
            return;
        }
    };
    let (changed, mut phase_changed) = watch::channel(());
    let connection_auth = ConnectionAuth(Arc::new(ConnectionAdmission {
        phase: Mutex::new(Phase::Unauthenticated),
        preauth: release,
        authenticated: Arc::clone(&budgets.authenticated),
        changed,
    }));
    let served = Arc::new(AtomicU64::new(0));
    // Every request, body and handler included, within the request timeout: a client that
    // trickles its body cannot hold a connection (and its slot) forever.
    let timeout = state.config.request_timeout;
    let served_by_service = Arc::clone(&served);
    let auth_for_service = connection_auth.clone();
    let service = tower::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        request.extensions_mut().insert(auth_for_service.clone());
        let router = router.clone();
        let connection_auth = auth_for_service.clone();
        let served = Arc::clone(&served_by_service);
        async move {
            let answer = match tokio::time::timeout(timeout, router.oneshot(request)).await {
                Ok(answer) => answer,
                Err(_) => Ok(ApiError::new(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    format!("the request took longer than {} s", timeout.as_secs()),
                )
                .into_response()),
            };
            if let Ok(response) = &answer
                && response.extensions().get::<Authenticated>().is_some()
            {
                connection_auth.authenticated();
            }
            served.fetch_add(1, Ordering::Relaxed);
            answer
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout)
        .max_buf_size(64 * 1024);
    let connection = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
    tokio::pin!(connection);
    let mut unauthenticated = true;
    loop {
        tokio::select! {
            // Authentication first: a connection that has just authenticated is not evicted.
            biased;
            _ = phase_changed.changed(), if unauthenticated => {
                unauthenticated = false;
                preauth = None;
                if connection_auth.is_over_limit() {
                    // The request that authenticated is answered; then the connection closes.
                    HttpCounters::add(&state.counters.connections_refused);
                    let reason = format!(
                        "the limit of {} authenticated connections is reached (CR 7.1)",
                        state.config.max_connections
                    );
                    state.refused(peer, &Refusal::connection(reason));
                    connection.as_mut().graceful_shutdown();
                }
            }
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "management connection ended with an error");
                }
                break;
            }
            () = evicted(&mut preauth) => {
                if connection_auth.is_unauthenticated() {
                    state.refused(peer, &evicted_reason());
                    break;
                }
                // Not an eviction: the slot was given back by the request that authenticated;
                // the phase change is handled in the next round.
                preauth = None;
            }
            () = &mut deadline, if unauthenticated && connection_auth.is_unauthenticated() => {
                // A connection that made requests without credentials (the login page, the
                // banner) and then went idle is only closed; one that never completed a
                // request was holding a slot for nothing, which is audited.
                if served.load(Ordering::Relaxed) == 0 {
                    HttpCounters::add(&state.counters.connections_refused);
                    let reason = format!(
                        "closed: no request completed within {} s of connecting, before \
                         authentication (CR 7.1)",
                        state.config.unauthenticated_timeout.as_secs()
                    );
                    state.refused(peer, &Refusal::connection(reason));
                } else {
                    tracing::debug!(%peer, "unauthenticated connection closed after its deadline");
                }
                break;
            }
        }
    }
}
