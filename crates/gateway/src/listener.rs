//! The accept loops: allow-lists, connection limits, the TLS handshake and the role.

use std::net::SocketAddr;
use std::sync::Arc;

use rampart_audit::{Category, Outcome};
use rampart_identity::x509::CertificateIdentity;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument as _;

use crate::audit::{GatewayEvent, PLAIN_INTERFACE, SECURE_INTERFACE, Who};
use crate::config::AllowList;
use crate::session::{self, Peer};
use crate::state::{Shared, Stats};

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
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if !shared.is_open() {
            // Island mode or fail close: nothing crosses, not even a handshake.
            Stats::add(&shared.stats.connections_refused);
            drop(stream);
            continue;
        }
        let refuse = |reason: &'static str| {
            Stats::add(&shared.stats.connections_refused);
            tracing::info!(%peer, reason, "connection refused");
            let shared = Arc::clone(&shared);
            let event = GatewayEvent::new(
                Category::AccessControl,
                "modbus.connection_refused",
                Who::Address(peer.to_string()),
            )
            .source(peer)
            .interface(kind.interface())
            .outcome(Outcome::Denied)
            .details(json!({ "reason": reason }));
            tokio::spawn(async move {
                shared.record_noisy(event).await;
            });
        };
        if !allow.allows(peer.ip()) {
            refuse("the source address is not in the listener's allow-list (NDR 1.13)");
            continue;
        }
        let Ok(permit) = Arc::clone(&shared.connections).try_acquire_owned() else {
            refuse("the gateway's connection limit is reached (CR 7.1)");
            continue;
        };
        let max_per_ip = shared.config.limits.max_connections_per_ip;
        let Some(slot) = shared.clients.admit_ip(peer.ip(), max_per_ip) else {
            refuse("the connection limit per source address is reached (CR 7.1)");
            continue;
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
                let _permit = permit;
                let _slot = slot;
                let _ = stream.set_nodelay(true);
                match kind {
                    Kind::Secure => secure(shared, stream, peer).await,
                    Kind::Plain { role } => plain(shared, stream, peer, role).await,
                }
            }
            .instrument(span),
        );
    }
}

async fn plain(shared: Arc<Shared>, stream: TcpStream, addr: SocketAddr, role: String) {
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
    session::run(shared, stream, peer).await;
}

async fn secure(shared: Arc<Shared>, stream: TcpStream, addr: SocketAddr) {
    let acceptor = TlsAcceptor::from(shared.tls());
    let timeout = shared.config.secure.handshake_timeout;
    let failed = |reason: String| {
        Stats::add(&shared.stats.handshakes_failed);
        tracing::info!(%reason, "TLS handshake failed");
        GatewayEvent::new(
            Category::AccessControl,
            "modbus.handshake",
            Who::Address(addr.to_string()),
        )
        .source(addr)
        .interface(SECURE_INTERFACE)
        .outcome(Outcome::Failure)
        .details(json!({ "reason": reason }))
    };
    let tls = match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Err(_) => {
            let event = failed(format!(
                "no complete handshake within {} ms",
                timeout.as_millis()
            ));
            shared.record_noisy(event).await;
            return;
        }
        Ok(Err(error)) => {
            shared.record_noisy(failed(error.to_string())).await;
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
        shared
            .record_noisy(failed("no client certificate after the handshake".into()))
            .await;
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
