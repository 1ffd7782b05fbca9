//! The reference component's data plane: a secure Modbus/TCP gateway (IEC 62443-4-2 network
//! device) in front of PLCs that speak plain Modbus/TCP.
//!
//! ```text
//! client ─TLS (mutual X.509, role from the certificate)─▶ listener ─▶ frame ─▶ decode
//!   ─▶ decide (conduit policy for the role) ─▶ forward upstream (shared pool, remapped
//!   transaction ids) ─▶ validate the response ─▶ client
//!                                        └──▶ deny: exception 0x01 or reset, audit, IDS
//! ```
//!
//! # Key types
//! - [`GatewayConfig`] — the TOML configuration ([`config::DEFAULT_CONFIG`] documents every
//!   key), validated with errors naming file, line and key.
//! - [`Gateway::start`] → [`RunningGateway`]: bound addresses, [`RunningGateway::status`],
//!   [`RunningGateway::reload_policy`], [`RunningGateway::set_island`],
//!   [`RunningGateway::resume`], [`RunningGateway::start_summary`],
//!   [`RunningGateway::shutdown`]. [`persist_island`] switches island mode from another
//!   process.
//! - [`component::Component`] — a data directory opened with its audit trail and identity
//!   store, the one way the binary, the management plane and the tests assemble them.
//! - [`AuditSink`] — where events go: the hash-chained [`rampart_audit::AuditStore`] by
//!   default, [`MemoryAuditSink`] in tests.
//! - [`admission`] — the budget of unauthenticated connections, fair between sources, and
//!   the aggregation of refusals for the audit trail; the management plane uses them too.
//! - [`sim::SimulatedPlc`] — the built-in simulated PLC (a tank process); [`bank::RegisterBank`]
//!   — a fast register bank for benchmarks.
//!
//! # Security model
//! - **Authentication and roles** (CR 1.2, CR 2.1; Modbus/TCP Security): TLS 1.2/1.3 only,
//!   with the suites of `rampart_vault::tls`; a client without a certificate, or with an
//!   expired, revoked or foreign one, fails the handshake. The role is the certificate's
//!   role extension: none gives the NULL role, several refuse the connection, an unknown
//!   role is denied everything.
//! - **Deny by default** (NDR 5.2 RE 1): every request is framed (a framing error closes the
//!   connection), size-checked, decoded and decided by the conduit policy; a denial is
//!   answered with exception 0x01 (or a reset, per policy), audited and shown to the IDS.
//!   Responses are validated against their request before they go back.
//! - **Island mode** (NDR 5.2 RE 2) stops all traffic at once and survives restarts;
//!   **fail close** (NDR 5.2 RE 3): when the audit trail cannot record a required event, or
//!   an internal check fails, traffic stops and [`Status::traffic`] says why.
//! - **Resource availability** (CR 7.1, CR 7.2): limits on connections per source address,
//!   a separate budget for connections that have not authenticated (fair between sources)
//!   from the sessions reserved for authenticated clients, a token bucket per client
//!   identity (from the policy's limits), requests in flight per connection, handshake,
//!   frame and idle timeouts, and fair round-robin scheduling of the upstream connections
//!   between clients. Refusals are audited once per source, reason and interval, with
//!   counts.
//! - **Segmentation** (CR 5.1, NDR 1.13): each listener has its own address and
//!   source-address allow-list; the management plane's address must differ.
//! - **Least functionality** (CR 7.7): the plain Modbus/TCP listener is off by default.

#![forbid(unsafe_code)]
// Input from the network and from files never panics the component: errors are returned.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(missing_docs)]

pub mod acceptor;
pub mod admission;
mod audit;
pub mod bank;
pub mod component;
pub mod config;
mod gateway;
mod listener;
pub mod monitoring;
mod server;
mod session;
pub mod sim;
pub mod staging;
mod state;
pub mod tamper;
mod upstream;

pub use audit::{AuditFailure, AuditSink, IdentityAuditBridge, MemoryAuditSink};
pub use config::{ConfigError, GatewayConfig};
pub use gateway::{
    ClientConnection, Counters, Gateway, GatewayError, PolicyChange, PolicyInfo, PolicyUpdate,
    RunningGateway, Status, Traffic, configured_policy_path, island_persisted, persist_island,
    read_policy_file,
};
pub use server::ServerHandle;
pub use upstream::UpstreamStatus;
