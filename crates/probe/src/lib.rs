//! Active conformance probes: measure a live component over the network, requirement by
//! requirement of IEC 62443-4-2, and write the result as evidence `rampart assess` reads.
//!
//! A [`Target`] is what the user names — `modbus-tls://HOST:PORT`, `modbus://HOST:PORT`,
//! `https://HOST:PORT` or `tls://HOST:PORT` — and nothing else is ever contacted. The
//! [`checks::CHECKS`] registry lists every check with the schemes it applies to, the
//! requirements it bears on, its time bound and whether it is intrusive. [`Plan::new`]
//! selects the checks (refusing unknown names and intrusive checks without the caller's
//! explicit consent), [`Plan::run`] runs them and returns the [`Evidence`]:
//!
//! - **TLS** (`tls`): protocol versions accepted — SSL 3.0, TLS 1.0 and 1.1 through a
//!   hand-built `ClientHello` whose answer `tls-parser` reads (`legacy`), TLS 1.2 and 1.3
//!   through rustls —, cipher suites accepted, the certificate chain, and whether a client
//!   certificate is required.
//! - **Modbus/TCP** (`modbus`): clear-text Modbus reachable, public read functions answered
//!   without authentication, malformed frames answered deterministically; with consent, a
//!   write (of the value just read) without authentication or, over Modbus/TCP Security, with
//!   the role of a client certificate the user gives ([`ClientIdentity`]).
//! - **HTTPS management** (`https`): security headers, cookie attributes, anonymous access
//!   to API routes, the system use notification before login, authenticator feedback of a
//!   failed login, and, with consent and a throw-away account ([`LoginAccount`]), the
//!   lockout threshold.
//!
//! [`evidence`] defines the versioned evidence file (its JSON Schema is
//! `schemas/probe/evidence.schema.json`) and turns it into the assessment's live findings
//! ([`Evidence::live_evaluation`]), so that a probe decides requirements exactly as
//! `assess --live` does. [`report`] renders a table and SARIF 2.1.0.
//!
//! # Security
//! Probes are safe by default: read-only requests, at most one connection attempt per
//! [`MIN_CONNECTION_INTERVAL`] to a target, every network wait bounded, every check bounded
//! by its [`checks::CheckSpec::bound`], every answer read capped. A check that writes to the
//! target is marked intrusive and runs only when the plan was made with `intrusive = true`.
//! The TLS checks use the vault's *inspecting* client configuration, which trusts any
//! server certificate: they observe, they never exchange data that matters.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Tests may unwrap: clippy.toml allows it there, as in the other crates that read input.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod checks;
pub mod evidence;
mod https;
mod legacy;
mod modbus;
mod net;
pub mod report;
pub mod robustness;
mod run;
pub mod target;
mod tls;
mod tls_groups;
mod tls_renegotiation;
mod tls_resumption;

#[doc(hidden)]
pub mod fuzzing;

pub use checks::{CheckSpec, ClientIdentity, MAX_OPENAPI_BYTES, Plan, PlanError};
pub use evidence::{CheckResult, Evidence, EvidenceError, Outcome};
pub use https::login::{DEFAULT_LOCKOUT_MAX, LOCKOUT_CAP, LoginAccount};
pub use net::MIN_CONNECTION_INTERVAL;
pub use robustness::{EssentialFunction, RobustnessOptions, SpoofedSources};
pub use target::{Scheme, Target, TargetError};

#[cfg(test)]
mod tests;
