//! The one acceptor of both planes (CR 7.1, CR 7.2, NDR 1.13): accept, back off when
//! accepting fails (out of descriptors), check the listener's allow-list, then admit —
//! a place in the per-source limit and one in the budget of connections not authenticated
//! yet ([`admit_connection`]). Sources are counted by their canonical address, so an IPv4
//! client on a dual-stack socket is one source however it arrives.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::admission::{
    Admitted, PerSourceLimit, PreAuthBudget, PreAuthSlot, SourceSlot, admit_connection,
};
use crate::config::AllowList;

/// How long to wait after a failed accept before trying again, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The limits a connection is admitted against.
#[derive(Clone, Copy)]
pub struct AdmissionLimits<'a> {
    /// Connections open per source address.
    pub per_source: &'a PerSourceLimit,
    /// The most per source.
    pub max_per_source: usize,
    /// The budget of connections not authenticated yet.
    pub unauthenticated: &'a PreAuthBudget,
}

/// What arrived at a listener.
pub enum Arrival {
    /// A connection with its places held (released when `admitted` is dropped).
    Admitted {
        /// The connection.
        stream: TcpStream,
        /// Who it is from.
        peer: SocketAddr,
        /// Its places in the limits.
        admitted: Admitted,
    },
    /// A connection refused, already closed.
    Refused {
        /// Who it was from.
        peer: SocketAddr,
        /// Why, for the audit trail.
        reason: String,
    },
}

impl Arrival {
    /// The connection, its source and its places, or who was refused and why.
    ///
    /// # Errors
    /// The refused source and the reason.
    pub fn into_admitted(
        self,
    ) -> Result<(TcpStream, SocketAddr, SourceSlot, PreAuthSlot), (SocketAddr, String)> {
        match self {
            Arrival::Admitted {
                stream,
                peer,
                admitted: Admitted { source, preauth },
            } => Ok((stream, peer, source, preauth)),
            Arrival::Refused { peer, reason } => Err((peer, reason)),
        }
    }
}

/// A listener with its allow-list.
pub struct Acceptor {
    listener: TcpListener,
    allow: AllowList,
    /// Whose allow-list, in the refusal (`listener's`, `management`).
    what: &'static str,
}

impl Acceptor {
    /// An acceptor on `listener` that lets in the sources of `allow`; `what` says whose
    /// allow-list refused a source (`listener's`, `management`).
    pub fn new(listener: TcpListener, allow: AllowList, what: &'static str) -> Acceptor {
        Acceptor {
            listener,
            allow,
            what,
        }
    }

    /// The next connection, admitted or refused. Cancel-safe: a connection is taken from
    /// the listener only when this resolves.
    pub async fn next(&self, limits: AdmissionLimits<'_>) -> Arrival {
        let (stream, peer) = loop {
            match self.listener.accept().await {
                Ok(accepted) => break accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        };
        let source = peer.ip().to_canonical();
        if !self.allow.allows(source) {
            return Arrival::Refused {
                peer,
                reason: format!(
                    "the source address is not in the {} allow-list (NDR 1.13)",
                    self.what
                ),
            };
        }
        match admit_connection(
            limits.per_source,
            limits.max_per_source,
            limits.unauthenticated,
            source,
        ) {
            Ok(admitted) => Arrival::Admitted {
                stream,
                peer,
                admitted,
            },
            Err(refusal) => Arrival::Refused {
                peer,
                reason: refusal.to_string(),
            },
        }
    }
}
