//! Integration tests of the gateway on loopback, one module per threat or requirement.

mod audit_trail;
mod client_authentication;
mod fail_close;
mod ids_learning;
mod island_mode;
mod plain_listener;
mod policy_reload;
mod policy_staging;
mod preauth_connection_flood;
mod pymodbus_interop;
mod resource_exhaustion;
mod role_based_access;
mod secrets_migration;
mod stalled_modbus_frame;
mod untrusted_network;
mod upstream_integrity;
mod util;
