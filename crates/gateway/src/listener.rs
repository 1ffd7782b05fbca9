//! The accept loops: allow-lists, connection limits, the TLS handshake and the role.
//!
//! A connection is admitted in two steps (CR 7.1, CR 7.2). At accept it needs a place in the
//! per-address limit and in the budget of unauthenticated connections
//! ([`crate::admission::PreAuthBudget`], fair between sources); when its handshake completes
//! it moves to the budget of authenticated sessions (`limits.max_connections`), or is closed
//! if that is full. So connections that never authenticate cannot take the slots reserved
//! for clients that do. Plain-listener connections never authenticate: they stay in the
//! unauthenticated budget for as long as they are open.

use std::net::SocketAddr;
use std::sync::Arc;

use rampart_audit::{Category, Outcome};
use rampart_identity::x509::CertificateIdentity;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument as _;

use crate::acceptor::{Acceptor, AdmissionLimits};
use crate::admission::PreAuthSlot;
use crate::audit::{GatewayEvent, PLAIN_INTERFACE, SECURE_INTERFACE, Who};
use crate::config::AllowList;
use crate::session::{self, Peer};
use crate::state::{Refusal, Shared, Stats};

/// Which listener.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Modbus/TCP Security.
    Secure,
    /// Plain Modbus/TCP, every client with `role`.
    Plain {
        /// The role.
        role: String,
    },
}

impl Kind {
    fn interface(&self) -> &'static str {
        match self {
            Kind::Secure => SECURE_INTERFACE,
            Kind::Plain { .. } => PLAIN_INTERFACE,
        }
    }
}

/// Accepts connections until the gateway stops.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    kind: Kind,
    allow: AllowList,
) {
    let mut stop = shared.stop.clone();
    let acceptor = Acceptor::new(listener, allow, "listener's");
    loop {
        let limits = AdmissionLimits {
            per_source: shared.clients.per_source(),
            max_per_source: shared.config.limits.max_connections_per_ip,
            unauthenticated: &shared.unauthenticated,
        };
        let arrival = tokio::select! {
            _ = stop.changed() => return,
            arrival = acceptor.next(limits) => arrival,
        };
        if !shared.is_open() {
            // Island mode or fail close: nothing crosses, not even a handshake (the places
            // just taken are released with the arrival).
            Stats::add(&shared.stats.connections_refused);
            continue;
        }
        let (stream, peer, slot, preauth) = match arrival.into_admitted() {
            Ok(admitted) => admitted,
            Err((peer, reason)) => {
                Stats::add(&shared.stats.connections_refused);
                // Aggregated: the first per source and reason now, the rest in a summary.
                if let Some(event) =
                    shared.refusal_event(peer, &Refusal::connection(kind.interface(), reason))
                {
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        shared.record(event).await;
                    });
                }
                continue;
            }
        };
        let span = tracing::info_span!(
            "connection",
            peer = %peer,
            listener = kind.interface(),
            role = tracing::field::Empty,
        );
        let shared = Arc::clone(&shared);
        let kind = kind.clone();
        Arc::clone(&shared).supervise(
            "connection handler",
            async move {
                let _slot = slot;
                let _ = stream.set_nodelay(true);
                match kind {
                    Kind::Secure => secure(shared, stream, peer, preauth).await,
                    Kind::Plain { role } => plain(shared, stream, peer, role, preauth).await,
                }
            }
            .instrument(span),
        );
    }
}

/// Why an unauthenticated connection was closed to make room (see
/// [`crate::admission::PreAuthBudget`]).
fn evicted_reason(shared: &Shared) -> String {
    format!(
        "closed to make room: all {} slots for unauthenticated connections were taken and \
         this source held the most (CR 7.1)",
        shared.unauthenticated.limit()
    )
}

/// A plain-listener connection: never authenticated, so it keeps its place in the
/// unauthenticated budget (and can be evicted from it) for as long as it is open.
async fn plain(
    shared: Arc<Shared>,
    stream: TcpStream,
    addr: SocketAddr,
    role: String,
    mut preauth: PreAuthSlot,
) {
    tracing::Span::current().record("role", role.as_str());
    Stats::add(&shared.stats.connections_accepted);
    let peer = Peer {
        addr,
        who: Who::Address(addr.to_string()),
        role: Some(role.clone()),
        interface: PLAIN_INTERFACE,
        client_key: format!("ip:{}", addr.ip()),
        ids_name: addr.ip().to_string(),
    };
    let event = GatewayEvent::new(Category::AccessControl, "modbus.connect", peer.who.clone())
        .source(addr)
        .interface(PLAIN_INTERFACE)
        .details(json!({ "role": role, "authenticated": false }));
    if !shared.record(event).await {
        return;
    }
    tracing::info!("plain client connected");
    tokio::select! {
        () = session::run(Arc::clone(&shared), stream, peer) => {}
        () = preauth.evicted() => {
            Stats::add(&shared.stats.connections_refused);
            let refusal = Refusal::connection(PLAIN_INTERFACE, evicted_reason(&shared));
            shared.record_refusal(addr, refusal).await;
        }
    }
}

async fn secure(
    shared: Arc<Shared>,
    stream: TcpStream,
    addr: SocketAddr,
    mut preauth: PreAuthSlot,
) {
    let acceptor = TlsAcceptor::from(shared.tls());
    let timeout = shared.config.secure.handshake_timeout;
    let failed = |reason: String| {
        Stats::add(&shared.stats.handshakes_failed);
        tracing::debug!(%reason, "TLS handshake failed");
        Refusal::handshake(SECURE_INTERFACE, reason)
    };
    let mut stop = shared.stop.clone();
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(timeout, acceptor.accept(stream)) => handshake,
        () = preauth.evicted() => {
            shared.record_refusal(addr, failed(evicted_reason(&shared))).await;
            return;
        }
        _ = stop.changed() => return,
    };
    let tls = match handshake {
        Err(_) => {
            let reason = format!("no complete handshake within {} ms", timeout.as_millis());
            shared.record_refusal(addr, failed(reason)).await;
            return;
        }
        Ok(Err(error)) => {
            shared.record_refusal(addr, failed(error.to_string())).await;
            return;
        }
        Ok(Ok(tls)) => tls,
    };
    let (_, connection) = tls.get_ref();
    let version = connection
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let suite = connection
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    // Client authentication is mandatory, so a completed handshake has a certificate.
    let Some(leaf) = connection.peer_certificates().and_then(|c| c.first()) else {
        let refusal = failed("no client certificate after the handshake".into());
        shared.record_refusal(addr, refusal).await;
        return;
    };
    let identity = match CertificateIdentity::from_der(leaf) {
        Ok(identity) => identity,
        Err(error) => {
            // Valid chain, unusable role (several role extensions, not a UTF8String): the
            // client is known, so this is always recorded.
            Stats::add(&shared.stats.connections_refused);
            tracing::info!(%error, "client certificate refused");
            let event = GatewayEvent::new(
                Category::AccessControl,
                "modbus.connect",
                Who::Address(addr.to_string()),
            )
            .source(addr)
            .interface(SECURE_INTERFACE)
            .outcome(Outcome::Denied)
            .details(json!({ "reason": error.to_string() }));
            shared.record(event).await;
            return;
        }
    };
    // Authenticated: from the unauthenticated budget to one of the sessions reserved for
    // authenticated clients, or closed if they are all taken.
    let Ok(_permit) = Arc::clone(&shared.connections).try_acquire_owned() else {
        Stats::add(&shared.stats.connections_refused);
        let reason = format!(
            "the limit of {} authenticated sessions is reached (CR 7.1); client {}",
            shared.config.limits.max_connections,
            identity.subject()
        );
        shared
            .record_refusal(addr, Refusal::connection(SECURE_INTERFACE, reason))
            .await;
        return;
    };
    drop(preauth);
    let role = identity.role().map(|r| r.as_str().to_owned());
    tracing::Span::current().record("role", role.as_deref().unwrap_or("(NULL)"));
    Stats::add(&shared.stats.connections_accepted);
    let peer = Peer {
        addr,
        who: Who::Certificate(identity.subject().to_owned()),
        role: role.clone(),
        interface: SECURE_INTERFACE,
        client_key: format!("cert:{}", identity.fingerprint_hex()),
        ids_name: format!("{}@{}", identity.subject(), addr.ip()),
    };
    let policy = shared.policy();
    let event = GatewayEvent::new(Category::AccessControl, "modbus.connect", peer.who.clone())
        .source(addr)
        .interface(SECURE_INTERFACE)
        .details(json!({
            "role": role,
            "role_in_policy": policy.compiled.role_label(policy.compiled.resolve(role.as_deref())).to_string(),
            "certificate_sha256": identity.fingerprint_hex(),
            "tls_version": version,
            "cipher_suite": suite,
        }));
    if !shared.record(event).await {
        return;
    }
    tracing::info!(tls = %version, "client connected");
    session::run(shared, tls, peer).await;
}
