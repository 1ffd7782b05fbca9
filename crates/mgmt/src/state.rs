//! What every handler can reach: the component's services and the plane's own state.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use rampart_audit::AuditStore;
use rampart_gateway::RunningGateway;
use rampart_gateway::admission::TokenBucket;
use rampart_identity::{Identity, Origin};
use rampart_vault::DataDir;
use zeroize::Zeroizing;

use crate::config::ManagementConfig;

/// The component services the management plane operates on.
#[derive(Clone)]
pub struct Services {
    /// Accounts, roles, sessions, tokens, authorisation.
    pub identity: Arc<Identity>,
    /// The audit trail (the same store the gateway and identity record into).
    pub audit: Arc<AuditStore>,
    /// The running data plane.
    pub gateway: Arc<RunningGateway>,
    /// The data directory.
    pub data: DataDir,
    /// The slot `rampart launch` verified and started this process from (`RAMPART_SLOT`), if
    /// it was started that way.
    pub launched_slot: Option<rampart_update::slots::SlotName>,
}

/// The peer of a connection, attached to each request by the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// Shared state of the management plane.
pub(crate) struct AppState {
    pub(crate) services: Services,
    pub(crate) config: ManagementConfig,
    /// Key of the CSRF tokens (HMAC of the session id); new at every start, so tokens are
    /// fetched again with `GET /api/v1/auth/whoami` after a restart.
    csrf_key: Zeroizing<[u8; 32]>,
    pub(crate) limiter: RateLimiter,
    pub(crate) counters: HttpCounters,
    /// Refusals before authentication, aggregated for the audit trail.
    pub(crate) refusals: crate::refusals::Refusals,
    /// The address actually bound (the configured one may have port 0).
    pub(crate) bound: std::sync::OnceLock<SocketAddr>,
    /// Raised when an operator asks for a restart (into a newly installed slot).
    pub(crate) restart: Arc<tokio::sync::Notify>,
    /// Access requests from untrusted networks (NDR 1.13 RE 1).
    pub(crate) access: crate::access::AccessRequests,
    /// Decommissioning through the API (`POST /api/v1/erase`).
    pub(crate) erase: Arc<crate::api::erase::EraseControl>,
}

impl AppState {
    pub(crate) fn new(
        services: Services,
        config: ManagementConfig,
    ) -> Result<AppState, rampart_vault::crypto::CryptoError> {
        // A fresh key from the vault's crypto seam; zeroized when the state is dropped.
        let key = rampart_vault::crypto::random_key()?;
        let limiter = RateLimiter::new(config.requests_per_second, config.burst);
        Ok(AppState {
            services,
            config,
            csrf_key: key,
            limiter,
            counters: HttpCounters::default(),
            refusals: crate::refusals::Refusals::new(),
            bound: std::sync::OnceLock::new(),
            restart: Arc::new(tokio::sync::Notify::new()),
            access: crate::access::AccessRequests::new(),
            erase: Arc::default(),
        })
    }

    /// The CSRF token bound to a session id: HMAC-SHA-256, hex.
    pub(crate) fn csrf_token(&self, session: &str) -> String {
        hex::encode(rampart_vault::crypto::hmac_sha256(
            self.csrf_key.as_ref(),
            session.as_bytes(),
        ))
    }

    /// Whether `presented` is the CSRF token of `session`, compared in constant time.
    pub(crate) fn csrf_valid(&self, session: &str, presented: &str) -> bool {
        let expected = self.csrf_token(session);
        rampart_vault::crypto::ct_eq(expected.as_bytes(), presented.as_bytes())
    }

    pub(crate) fn origin(peer: Peer) -> Origin {
        Origin::new("https-api").with_address(peer.0.ip())
    }
}

/// Counters of the plane itself, for `/metrics`.
#[derive(Default)]
pub(crate) struct HttpCounters {
    pub(crate) requests: AtomicU64,
    pub(crate) unauthenticated: AtomicU64,
    pub(crate) forbidden: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) handshakes_failed: AtomicU64,
}

impl HttpCounters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Token buckets per source address (CR 7.1), the gateway's [`TokenBucket`]. The table is
/// bounded: when it is full, the buckets that are full again (idle sources) are dropped, and
/// if none is, new sources share one overflow bucket, so a flood of spoofed addresses cannot
/// grow memory.
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

const MAX_TRACKED_SOURCES: usize = 4096;

impl RateLimiter {
    fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `source`; false when its bucket is empty.
    pub(crate) fn allow(&self, source: IpAddr) -> bool {
        let now = Instant::now();
        let (rate, burst) = (self.rate, self.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED_SOURCES && !buckets.contains_key(&source) {
            buckets.retain(|_, bucket| !bucket.is_full(now, rate, burst));
        }
        let key = if buckets.len() >= MAX_TRACKED_SOURCES && !buckets.contains_key(&source) {
            IpAddr::from([0u8; 16])
        } else {
            source
        };
        buckets
            .entry(key)
            .or_default()
            .take(now, rate, burst)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_is_refused() {
        let limiter = RateLimiter::new(0.001, 5.0);
        let a = IpAddr::from([127, 0, 0, 1]);
        let b = IpAddr::from([127, 0, 0, 2]);
        assert_eq!((0..10).filter(|_| limiter.allow(a)).count(), 5);
        assert!(limiter.allow(b), "another source has its own bucket");
    }

    #[test]
    fn the_table_of_sources_stays_bounded() {
        let limiter = RateLimiter::new(0.001, 2.0);
        for i in 0..(u32::try_from(MAX_TRACKED_SOURCES).unwrap() + 100) {
            limiter.allow(IpAddr::from(i.to_be_bytes()));
        }
        let len = limiter.buckets.lock().unwrap().len();
        assert!(len <= MAX_TRACKED_SOURCES + 1, "{len}");
    }
}
