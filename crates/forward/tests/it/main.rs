//! Integration tests of forwarding: to an in-process TLS collector (plain `cargo test`) and to
//! a real rsyslog (ignored unless run by `scripts/test`, which installs it).

mod rsyslog_interop;
mod tls_collector;
mod util;
