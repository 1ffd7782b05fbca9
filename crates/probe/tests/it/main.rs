//! The probes against real peers on loopback, started by the tests: Rampart's gateway
//! (Modbus/TCP Security and its plain listener), a plain simulated PLC, silent and closed
//! ports, and (ignored unless `scripts/test` installed them) stunnel4 and `openssl s_server`
//! configured weakly and strictly, a Python HTTPS server without security headers, and
//! Python login pages that tell too much; Rampart's management plane for the login checks.

mod util;

mod bounds_and_unreachable_targets;
mod evidence_schema;
mod https_login;
mod https_login_peers;
mod legacy_plc_assessment;
mod plain_modbus_plc;
mod pymodbus_plc;
mod rampart_gateway;
mod sslyze_agreement;
mod tls_groups_and_resumption;
mod tls_renegotiation;
mod weak_tls_peers;
