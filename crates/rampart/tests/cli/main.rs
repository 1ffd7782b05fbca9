//! End-to-end tests of the `rampart` command line: what a user types and what they get back.

mod assess;
mod audit_and_users;
mod audit_next_to_a_live_gateway;
mod backup;
mod catalog;
mod catalog_oscal_trestle;
mod docs_manual;
mod erase_api;
mod hardening_level;
mod ids_live;
mod integrity;
mod live_assess;
mod pki;
mod policy_and_inspect;
mod probe;
mod secrets_at_rest;
mod tamper;
#[cfg(feature = "tpm")]
mod tpm;
mod up;
mod update;
mod util;
mod vuln;
