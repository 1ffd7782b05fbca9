//! Settings of the management plane, with safe defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rampart_gateway::GatewayConfig;
use rampart_gateway::config::{AllowList, UntrustedAccess};

/// Where and how the management plane listens.
#[derive(Debug, Clone)]
pub struct ManagementConfig {
    /// The HTTPS address (default 127.0.0.1:8443), separate from the data plane (CR 5.1).
    pub listen: SocketAddr,
    /// Source addresses allowed to connect (NDR 1.13); others are closed before TLS.
    pub allow: AllowList,
    /// The trusted networks (NDR 1.13 RE 1); default loopback only, the one network that is
    /// the device itself. Every other allowed source is untrusted.
    pub trusted: AllowList,
    /// What a login or authenticated request from an untrusted source gets: `Approve` (the
    /// default) holds it as an access request until a holder of `access.approve` approves it
    /// from a trusted network.
    pub untrusted_access: UntrustedAccess,
    /// How long an access request stays pending before it expires.
    pub access_request_ttl: Duration,
    /// How long an approval may be used: the requester's next login from the same address
    /// within it opens one session, which ends with it at the latest.
    pub access_approval_ttl: Duration,
    /// Pending access requests kept at once, all sources together …
    pub max_access_requests: usize,
    /// … and from one source address.
    pub max_access_requests_per_ip: usize,
    /// Server certificate chain (PEM); default: the data directory's `pki/server.crt`.
    pub cert: Option<PathBuf>,
    /// Server key (PEM, 0600); default: `pki/server.key`.
    pub key: Option<PathBuf>,
    /// Authenticated connections open at once, all sources together: a connection takes one
    /// of these slots when a request on it authenticates (API token, session cookie or a
    /// successful login), never before (CR 7.1).
    pub max_connections: usize,
    /// Connections open at once from one source address, authenticated or not.
    pub max_connections_per_ip: usize,
    /// Connections not authenticated yet (TLS handshake, anonymous requests), a separate and
    /// smaller budget, shared fairly between sources: when it is full, a newcomer from a
    /// source holding fewer of these slots takes the oldest of the source holding the most.
    pub max_unauthenticated: usize,
    /// … from one source address.
    pub max_unauthenticated_per_ip: usize,
    /// Time a connection may stay unauthenticated, handshake included: then it is closed.
    pub unauthenticated_timeout: Duration,
    /// Time allowed for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to receive a request's headers (also bounds idle keep-alive).
    pub header_timeout: Duration,
    /// Time allowed for one request, body and handler included.
    pub request_timeout: Duration,
    /// Largest request body accepted on ordinary routes.
    pub max_body_bytes: usize,
    /// Largest request body accepted for a backup upload (restore, verify).
    pub max_upload_bytes: usize,
    /// Requests per second one source address may make on average (token bucket).
    pub requests_per_second: f64,
    /// … and in a burst.
    pub burst: f64,
    /// Refusals before authentication (connections, handshakes, rate limits, cross-site
    /// logins), which anyone can cause at will, are audited once per source, reason and
    /// interval: the first at once, the rest counted in one summary event per interval.
    pub refusal_interval: Duration,
}

impl Default for ManagementConfig {
    fn default() -> ManagementConfig {
        ManagementConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            allow: AllowList::loopback(),
            trusted: AllowList::loopback(),
            untrusted_access: UntrustedAccess::Approve,
            access_request_ttl: Duration::from_mins(10),
            access_approval_ttl: Duration::from_hours(1),
            max_access_requests: 64,
            max_access_requests_per_ip: 4,
            cert: None,
            key: None,
            max_connections: 64,
            max_connections_per_ip: 16,
            max_unauthenticated: 16,
            max_unauthenticated_per_ip: 4,
            unauthenticated_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_mins(2),
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 256 * 1024 * 1024,
            requests_per_second: 20.0,
            burst: 100.0,
            refusal_interval: Duration::from_secs(10),
        }
    }
}

impl ManagementConfig {
    /// The defaults, with the address and allow-list of the gateway's `[management]` section.
    pub fn from_gateway(config: &GatewayConfig) -> ManagementConfig {
        ManagementConfig {
            listen: config.management.listen,
            allow: config.management.allow.clone(),
            trusted: config.management.trusted.clone(),
            untrusted_access: config.management.untrusted_access,
            access_request_ttl: config.management.access_request_ttl,
            access_approval_ttl: config.management.access_approval_ttl,
            refusal_interval: config.audit.refusal_interval,
            ..ManagementConfig::default()
        }
    }
}
