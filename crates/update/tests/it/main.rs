//! Integration tests of `rampart-update`.

mod anti_rollback_tpm;
mod conformance_client;
mod repo;
mod tuf_https;
mod tuf_python;
mod tuf_repo;
mod tuf_threats;
