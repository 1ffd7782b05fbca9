//! Integration tests of the management plane against a running gateway on loopback.

mod harness;

mod access_requests;
mod assess_live;
mod assess_live_tpm;
mod auth_flow;
mod backups;
mod documents;
mod erase;
mod policy_flow;
mod preauth_slow_header_flood;
mod privilege_escalation_via_another_account;
mod refusals_audited;
mod routes_by_role;
mod sbom;
mod schemathesis;
mod sslyze;
mod status;
mod transport;
mod ui;
mod ui_browser;
mod update;
mod vulnerabilities;
mod weak_backup_passphrase;
