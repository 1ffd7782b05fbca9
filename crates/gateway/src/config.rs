//! The gateway configuration: a TOML file, validated on load with errors that name the file,
//! line, column and key. Every key is optional; [`DEFAULT_CONFIG`] shows them all with their
//! defaults, and [`GatewayConfig::default`] is the same configuration.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// The largest configuration file read, in bytes.
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// The default configuration, every key with its default value: what `rampart up` runs
/// without `--config`. A good starting point for a configuration file.
pub const DEFAULT_CONFIG: &str = r#"# Rampart gateway configuration. Every key is optional; the values shown are the defaults.

# The Modbus/TCP Security listener: TLS 1.2/1.3, mutual X.509 authentication, the role
# from the client certificate. IANA assigns port 802; 8020 runs without privileges.
[secure]
listen = "127.0.0.1:8020"
# Source addresses allowed to connect (NDR 1.13): CIDR prefixes or single addresses.
allow = ["127.0.0.0/8", "::1/128"]
# A client has this long to complete the TLS handshake after connecting. A mutual-TLS
# handshake takes a few round trips and milliseconds of CPU; 3 s leaves room for a slow
# embedded client and a lost packet, and bounds what a connection that never authenticates
# costs (CR 7.1).
handshake_timeout_ms = 3000
# TLS material; by default the local PKI in DATA/pki (created on first start).
# cert = "DATA/pki/server.crt"
# key = "DATA/pki/server.key"
# trust_anchors = ["DATA/pki/ca.crt"]
# crls = ["DATA/pki/ca.crl"]

# Plain Modbus/TCP, without TLS or authentication: off by default (CR 7.7, least
# functionality). When enabled, every client of this listener gets `role`. Its connections
# never authenticate, so they count against limits.max_unauthenticated for as long as they
# are open, never against the sessions reserved for authenticated clients.
[plain]
enabled = false
listen = "127.0.0.1:5020"
# role = "viewer"
allow = ["127.0.0.0/8", "::1/128"]

# The conduit policy; by default DATA/policy.toml, written from the embedded default policy
# on first start.
[policy]
# file = "policy.toml"

# The PLC behind the gateway: "simulator" (the built-in simulated PLC, on an ephemeral
# loopback port) or "HOST:PORT" of a real Modbus/TCP device.
[upstream]
address = "simulator"
# Connections to the PLC shared by all clients (real PLCs accept few).
connections = 2
# Requests outstanding at once on one upstream connection; 1 suits every PLC.
pipeline = 1
connect_timeout_ms = 3000
response_timeout_ms = 2000
backoff_min_ms = 100
backoff_max_ms = 5000

# Resource availability (CR 7.1, CR 7.2). The request rate per client and the largest
# PDU are in the policy's [limits].
[limits]
# Authenticated sessions at once, all listeners together; connections still in the TLS
# handshake do not take these slots.
max_connections = 256
# Connections from one source address at once, authenticated or not.
max_connections_per_ip = 32
# Connections not authenticated yet (in the TLS handshake; every plain-listener connection),
# a separate and smaller budget (default: max_connections / 4). When it is full, a newcomer
# from a source holding fewer of these slots takes the slot of the oldest pending handshake
# of the source holding the most, so a flood from a few sources cannot lock others out.
max_unauthenticated = 64
# ... from one source address.
max_unauthenticated_per_ip = 8
max_in_flight_per_connection = 16
# A connection without traffic this long is closed.
idle_timeout_s = 300
# A Modbus frame, once its first byte is in, must be complete within this time; a client
# that stalls mid-frame or sends it byte by byte is disconnected (audited).
frame_timeout_ms = 5000

[audit]
# Record every allowed write (a control system event); denials are always recorded.
allowed_writes = true
# Refused connections and failed handshakes, which anyone can cause at will, are recorded
# once per source address, reason and interval: the first at once, the others counted in
# one summary event per interval.
refusal_interval_s = 10

# The management plane (HTTPS API and web UI), on its own address (CR 5.1). Reserved: the
# data plane does not serve it.
[management]
listen = "127.0.0.1:8443"
allow = ["127.0.0.0/8", "::1/128"]
# Trusted networks of the management plane (NDR 1.13 RE 1): from any other allowed source a
# login or API request is "approve" = held as an access request until a holder of
# access.approve approves it from a trusted network, "deny" = refused, "allow" = served as
# from a trusted network. Pending requests expire after access_request_ttl_s; an approval
# lets the account in from that address for one session within access_approval_ttl_s.
trusted = ["127.0.0.0/8", "::1/128"]
untrusted_access = "approve"
access_request_ttl_s = 600
access_approval_ttl_s = 3600

# Secrets at rest (docs/vault.md): every private key and TOTP seed the component stores is
# sealed with its own data key, wrapped by a key-encryption key (KEK). "file": a software
# KEK file, DATA/keys/kek unless kek_file keeps it elsewhere (a separate partition, a
# removable medium); software only, and reported as such (vault.kek_hardware = false).
# "tpm": sealed in a TPM 2.0 (a build with the cargo feature `tpm`; refused by one without),
# through tpm_tcti (default "device:/dev/tpmrm0"; "swtpm:host=127.0.0.1,port=2321" for a
# software TPM), bound to the PCRs tpm_pcrs (default [7]) by a policy a signed update can
# re-authorise. Without these keys, the provider recorded in the data directory at its first
# start is used.
[vault]
# kek_provider = "file"
# kek_file = "DATA/keys/kek"
# tpm_tcti = "device:/dev/tpmrm0"
# tpm_pcrs = [7]
# Where the TLS server key (both listeners) lives: "file", sealed under the KEK; or "tpm",
# generated in the TPM, never outside it, every handshake signed there (needs
# kek_provider = "tpm"). Changing it issues a new key and server certificate.
# tls_key = "file"
# Where the device key (the component's identity: it signs the audit trail, the integrity
# manifest and backups) is made: "file", an Ed25519 key sealed under the KEK; or "tpm", an
# ECDSA P-256 key generated in the TPM that never leaves it (needs kek_provider = "tpm").
# Chosen when the data directory is made; never moved (another value is refused at start).
# device_key = "file"

# One switch for the security defaults of accounts and approvals, by IEC 62443 security
# level (docs/gateway.md, "Hardening"): 1 — MFA per role, no dual approval, so that a single
# administrator can commission the gateway; 2 — MFA for every account holding an
# administrative permission, and dual approval for policy apply, user removal, restore and
# update install; 3 and 4 — MFA for every human account as well, and passwords that cannot
# be reused (the last 5) and must live at least a day and at most a year. The password keys
# override the level's values (CR 1.7 RE 1).
[hardening]
level = 1
# password_history = 5          # previous passwords that may not be reused, 0 to 24
# password_min_lifetime_h = 24  # hours before a password may be changed again
# password_max_lifetime_d = 365 # days after which a password must be changed

# Start-up and run-time integrity (docs/integrity.md, CR 3.4 RE 1 and RE 2): before any
# listener opens, the binary, this configuration, the policy and the PKI trust anchors are
# measured against DATA/integrity/manifest.json, signed with the device key. On a mismatch
# "refuse" does not start (exit code 1); "closed" starts in island mode, all traffic closed.
# While running, the same files are measured again every recheck_interval_s seconds and a
# change is an alert (integrity.changed).
[integrity]
startup_check = true
on_mismatch = "refuse"
recheck_interval_s = 300

# Physical tamper detection (docs/tamper.md, NDR 3.11): a sensor is a file that reads 0 while
# the enclosure is closed and anything else once it was opened — the chassis intrusion alarms
# of the host's hardware monitor (/sys/class/hwmon/hwmon*/intrusion*_alarm, found by "auto")
# or a GPIO input wired to a cabinet door switch (/sys/class/gpio/gpioN/value). Each is read
# every interval_s seconds; a tamper (or a sensor that cannot be read) is an alert
# (tamper.detected); with on_tamper = "closed" all traffic closes (island mode) until
# `rampart island off`.
[tamper]
sensors = ["auto"]
interval_s = 5
on_tamper = "alert"
"#;

/// A configuration that cannot be used, with the place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {key}: {message}")]
pub struct ConfigError {
    /// The file, or `<config>` for text without a file.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key, as `section.key`.
    pub key: String,
    /// What is wrong, with the value and the limit.
    pub message: String,
}

/// The gateway configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The Modbus/TCP Security listener.
    pub secure: SecureListener,
    /// The plain Modbus/TCP listener (off by default).
    pub plain: PlainListener,
    /// Where the conduit policy comes from.
    pub policy: PolicySource,
    /// The PLC behind the gateway.
    pub upstream: Upstream,
    /// Connection and request limits.
    pub limits: ResourceLimits,
    /// What is audited beyond the required events.
    pub audit: AuditOptions,
    /// The management plane's address, reserved here so that the two planes never share one.
    pub management: Management,
    /// The hardening level of accounts and approvals (`[hardening] level`).
    pub hardening: rampart_identity::HardeningLevel,
    /// Password reuse and lifetime (`[hardening] password_*`), over the level's defaults.
    pub passwords: PasswordOptions,
    /// Where the key-encryption key of the secrets at rest lives (`[vault]`).
    pub vault: VaultOptions,
    /// Start-up and run-time integrity (`[integrity]`).
    pub integrity: IntegrityOptions,
    /// Physical tamper detection (`[tamper]`).
    pub tamper: TamperOptions,
}

/// Physical tamper detection (`[tamper]`, docs/tamper.md, NDR 3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TamperOptions {
    /// The sensors read (empty: none).
    pub sensors: Vec<TamperSensor>,
    /// How often each sensor is read.
    pub interval: Duration,
    /// What a tamper does besides the alert.
    pub on_tamper: OnTamper,
}

impl Default for TamperOptions {
    fn default() -> TamperOptions {
        TamperOptions {
            sensors: vec![TamperSensor::Auto],
            interval: Duration::from_secs(5),
            on_tamper: OnTamper::Alert,
        }
    }
}

/// A tamper sensor of `[tamper] sensors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TamperSensor {
    /// Every chassis intrusion alarm of the host's hardware monitor
    /// (`/sys/class/hwmon/hwmon*/intrusion*_alarm`).
    Auto,
    /// A file that reads 0 while closed (a hwmon alarm, a GPIO `value`).
    File(PathBuf),
}

/// What a detected tamper does besides the alert (`[tamper] on_tamper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTamper {
    /// Alert only: audited, shouted, forwarded.
    Alert,
    /// Alert and close all traffic (island mode) until an operator reopens it.
    Closed,
}

impl OnTamper {
    /// `alert` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnTamper::Alert => "alert",
            OnTamper::Closed => "closed",
        }
    }
}

/// Start-up and run-time integrity (`[integrity]`, docs/integrity.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrityOptions {
    /// Verify the signed integrity manifest before any listener opens.
    pub startup_check: bool,
    /// What a mismatch at start does.
    pub on_mismatch: OnMismatch,
    /// How often the running gateway measures again.
    pub recheck_interval: Duration,
}

/// What a start-up integrity mismatch does (`[integrity] on_mismatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMismatch {
    /// Do not start (exit code 1).
    Refuse,
    /// Start in island mode: every listener up, all traffic across the conduit closed.
    Closed,
}

impl OnMismatch {
    /// `refuse` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnMismatch::Refuse => "refuse",
            OnMismatch::Closed => "closed",
        }
    }
}

impl Default for IntegrityOptions {
    fn default() -> IntegrityOptions {
        IntegrityOptions {
            startup_check: true,
            on_mismatch: OnMismatch::Refuse,
            recheck_interval: Duration::from_mins(5),
        }
    }
}

/// Password reuse and lifetime for human accounts (CR 1.7 RE 1): `None` keeps what the
/// hardening level sets (level 3 and above: history 5, 1 day, 365 days; below: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PasswordOptions {
    /// `password_history`: previous passwords that may not be reused (0 to 24).
    pub history: Option<u32>,
    /// `password_min_lifetime_h`: hours before a password may be changed again.
    pub min_lifetime: Option<Duration>,
    /// `password_max_lifetime_d`: days after which a password must be changed.
    pub max_lifetime: Option<Duration>,
}

/// Secrets at rest (`[vault]`): the KEK provider.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VaultOptions {
    /// `kek_provider` and `kek_file`; [`rampart_vault::at_rest::KekConfig::Recorded`] when
    /// neither is given.
    pub kek: rampart_vault::at_rest::KekConfig,
    /// `tls_key`: where the TLS server key lives (`file`, `tpm`); what the data directory
    /// holds when not given.
    pub tls_key: rampart_vault::pki::ServerKeyStore,
    /// `device_key`: where a new device key is made (`file`, `tpm`); what the data directory
    /// holds when not given.
    pub device_key: rampart_vault::KeyStore,
}

/// The Modbus/TCP Security listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecureListener {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Source addresses allowed to connect.
    pub allow: AllowList,
    /// How long a client may take to complete the TLS handshake (default 3 s).
    pub handshake_timeout: Duration,
    /// The server certificate chain; `None`: `DATA/pki/server.crt`.
    pub cert: Option<PathBuf>,
    /// The server key; `None`: `DATA/pki/server.key`.
    pub key: Option<PathBuf>,
    /// Trust anchors for client certificates; empty: `DATA/pki/ca.crt`.
    pub trust_anchors: Vec<PathBuf>,
    /// CRLs; empty: `DATA/pki/ca.crl`.
    pub crls: Vec<PathBuf>,
}

/// The plain Modbus/TCP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainListener {
    /// Whether it listens at all.
    pub enabled: bool,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The role every client of this listener gets; required when enabled.
    pub role: Option<String>,
    /// Source addresses allowed to connect.
    pub allow: AllowList,
}

/// Where the conduit policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// `DATA/policy.toml`, written from the embedded default policy if missing.
    DataDir,
    /// A policy file.
    File(PathBuf),
}

/// The PLC behind the gateway and how the gateway talks to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Which device.
    pub target: UpstreamTarget,
    /// Connections to it, shared by all clients (1-64).
    pub connections: usize,
    /// Requests outstanding at once per connection (1-64).
    pub pipeline: usize,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// How long a response may take; then the client gets exception 0x0B and the upstream
    /// connection is closed.
    pub response_timeout: Duration,
    /// First delay before reconnecting.
    pub backoff_min: Duration,
    /// Longest delay before reconnecting.
    pub backoff_max: Duration,
}

/// The upstream device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamTarget {
    /// The built-in simulated PLC, started in-process on an ephemeral loopback port.
    Simulator,
    /// A Modbus/TCP device at `HOST:PORT`.
    Remote(String),
}

impl fmt::Display for UpstreamTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamTarget::Simulator => f.write_str("simulator"),
            UpstreamTarget::Remote(address) => f.write_str(address),
        }
    }
}

impl FromStr for UpstreamTarget {
    type Err = String;

    /// `simulator`, or `HOST:PORT` with a port of 1-65535.
    fn from_str(text: &str) -> Result<UpstreamTarget, String> {
        if text == "simulator" {
            return Ok(UpstreamTarget::Simulator);
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(format!(
                "'{text}' is neither \"simulator\" nor HOST:PORT (e.g. \"192.0.2.10:502\")"
            ));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(format!("'{text}': the host is empty or holds spaces"));
        }
        match port.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("'{text}': the port must be 1-65535")),
            Ok(_) => Ok(UpstreamTarget::Remote(text.to_owned())),
        }
    }
}

/// Limits that keep the gateway available under load and attack (CR 7.1, CR 7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Authenticated sessions at once, all listeners together (connections in the TLS
    /// handshake are counted in [`ResourceLimits::max_unauthenticated`] instead).
    pub max_connections: usize,
    /// Client connections at once from one source address, authenticated or not.
    pub max_connections_per_ip: usize,
    /// Connections that have not authenticated at once: in the TLS handshake, or on the
    /// plain listener (which never authenticates). Default: a quarter of
    /// `max_connections`.
    pub max_unauthenticated: usize,
    /// … from one source address.
    pub max_unauthenticated_per_ip: usize,
    /// Requests one connection may have outstanding upstream; further requests wait in the
    /// client's TCP stream.
    pub max_in_flight_per_connection: usize,
    /// A connection idle this long is closed.
    pub idle_timeout: Duration,
    /// A started Modbus frame must be complete within this time, or the connection is
    /// closed (a stalled or byte-by-byte frame would otherwise hold it until the idle
    /// timeout, since every byte is activity).
    pub frame_timeout: Duration,
}

/// What is audited beyond the required events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOptions {
    /// Record every allowed write request (before it is forwarded).
    pub allowed_writes: bool,
    /// Refusals before authentication are recorded once per source, reason and this
    /// interval, the repeats counted in one summary event (CR 2.8 without a flood of events).
    pub refusal_interval: Duration,
}

/// The management plane's address (served by another component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Management {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Source addresses allowed to connect.
    pub allow: AllowList,
    /// The management plane's trusted networks (NDR 1.13 RE 1).
    pub trusted: AllowList,
    /// What a login or API request from outside the trusted networks gets.
    pub untrusted_access: UntrustedAccess,
    /// How long an access request from an untrusted network stays pending.
    pub access_request_ttl: Duration,
    /// How long an approved access request may be used (one session, then it is spent).
    pub access_approval_ttl: Duration,
}

/// What the management plane does with a login or API request from a source outside its
/// trusted networks (`[management] untrusted_access`, NDR 1.13 RE 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UntrustedAccess {
    /// Served as from a trusted network.
    Allow,
    /// Held as an access request until a holder of `access.approve` approves it from a
    /// trusted network.
    Approve,
    /// Refused.
    Deny,
}

impl UntrustedAccess {
    /// `allow`, `approve` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            UntrustedAccess::Allow => "allow",
            UntrustedAccess::Approve => "approve",
            UntrustedAccess::Deny => "deny",
        }
    }
}

impl<'de> Deserialize<'de> for UntrustedAccess {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UntrustedAccess, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "allow" => Ok(UntrustedAccess::Allow),
            "approve" => Ok(UntrustedAccess::Approve),
            "deny" => Ok(UntrustedAccess::Deny),
            other => Err(serde::de::Error::custom(format!(
                "'{other}' is not an access mode for untrusted networks: \"approve\" (held until approved), \"deny\" or \"allow\""
            ))),
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        let loopback = AllowList::loopback();
        GatewayConfig {
            secure: SecureListener {
                listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8020)),
                allow: loopback.clone(),
                handshake_timeout: Duration::from_secs(3),
                cert: None,
                key: None,
                trust_anchors: Vec::new(),
                crls: Vec::new(),
            },
            plain: PlainListener {
                enabled: false,
                listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 5020)),
                role: None,
                allow: loopback.clone(),
            },
            policy: PolicySource::DataDir,
            upstream: Upstream {
                target: UpstreamTarget::Simulator,
                connections: 2,
                pipeline: 1,
                connect_timeout: Duration::from_secs(3),
                response_timeout: Duration::from_secs(2),
                backoff_min: Duration::from_millis(100),
                backoff_max: Duration::from_secs(5),
            },
            limits: ResourceLimits {
                max_connections: 256,
                max_connections_per_ip: 32,
                max_unauthenticated: 64,
                max_unauthenticated_per_ip: 8,
                max_in_flight_per_connection: 16,
                idle_timeout: Duration::from_mins(5),
                frame_timeout: Duration::from_secs(5),
            },
            audit: AuditOptions {
                allowed_writes: true,
                refusal_interval: Duration::from_secs(10),
            },
            management: Management {
                listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8443)),
                allow: loopback.clone(),
                trusted: loopback,
                untrusted_access: UntrustedAccess::Approve,
                access_request_ttl: Duration::from_mins(10),
                access_approval_ttl: Duration::from_hours(1),
            },
            hardening: rampart_identity::HardeningLevel::SL1,
            passwords: PasswordOptions::default(),
            vault: VaultOptions::default(),
            integrity: IntegrityOptions::default(),
            tamper: TamperOptions::default(),
        }
    }
}

impl GatewayConfig {
    /// Reads and validates a configuration file. Relative paths in it are relative to the
    /// file's directory.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, line, column and key: unreadable or oversized files,
    /// TOML syntax, unknown keys, values out of range, and inconsistent settings.
    pub fn from_file(path: &Path) -> Result<GatewayConfig, ConfigError> {
        let origin = path.display().to_string();
        let whole_file = |message: String| ConfigError {
            origin: origin.clone(),
            line: 1,
            column: 1,
            key: "(file)".into(),
            message,
        };
        let text = rampart_vault::read_capped_text(path, MAX_CONFIG_BYTES)
            .map_err(|e| whole_file(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        GatewayConfig::parse(&text, &origin, base)
    }

    /// Parses and validates configuration text; `origin` names it in errors and relative
    /// paths are resolved against `base`.
    ///
    /// # Errors
    /// As [`GatewayConfig::from_file`].
    pub fn parse(text: &str, origin: &str, base: &Path) -> Result<GatewayConfig, ConfigError> {
        let at = |span: Range<usize>, key: &str, message: String| {
            let (line, column) = line_column(text, span.start);
            ConfigError {
                origin: origin.to_owned(),
                line,
                column,
                key: key.to_owned(),
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let key = key_at(text, span.start);
            at(span, &key, e.message().trim_end().replace('\n', "; "))
        })?;
        let defaults = GatewayConfig::default();
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let secure = raw.secure.unwrap_or_default();
        let plain = raw.plain.unwrap_or_default();
        let upstream = raw.upstream.unwrap_or_default();
        let limits = raw.limits.unwrap_or_default();
        let management = raw.management.unwrap_or_default();
        let audit = raw.audit.unwrap_or_default();
        let vault = raw.vault.unwrap_or_default();
        let tpm = rampart_vault::at_rest::TpmConfig {
            tcti: vault.tpm_tcti.clone(),
            pcrs: vault.tpm_pcrs.clone(),
        };
        let integrity = raw.integrity.unwrap_or_default();
        let tamper = raw.tamper.unwrap_or_default();
        let kek = match (&vault.kek_provider, &vault.kek_file) {
            (None, None) if tpm == rampart_vault::at_rest::TpmConfig::default() => {
                rampart_vault::at_rest::KekConfig::Recorded
            }
            (provider, file) => rampart_vault::at_rest::KekConfig::parse_with(
                provider.as_ref().map_or("file", |p| p.get_ref().as_str()),
                file.clone().map(resolve),
                tpm,
            )
            .map_err(|message| {
                let span = provider.as_ref().map_or(0..0, Spanned::span);
                at(span, "vault.kek_provider", message)
            })?,
        };
        let tls_key = key_store(vault.tls_key.as_ref(), "vault.tls_key", &kek, &at)?;
        let device_key = key_store(vault.device_key.as_ref(), "vault.device_key", &kek, &at)?;
        let hardening = raw.hardening.unwrap_or_default();
        let passwords = password_options(&hardening)
            .map_err(|(span, key, message)| at(span, &format!("hardening.{key}"), message))?;
        let max_connections = limits
            .max_connections
            .map_or(defaults.limits.max_connections, |c| c.0);
        let config = GatewayConfig {
            secure: SecureListener {
                listen: secure
                    .listen
                    .as_ref()
                    .map_or(defaults.secure.listen, |s| s.get_ref().0),
                allow: secure.allow.unwrap_or(defaults.secure.allow),
                handshake_timeout: secure
                    .handshake_timeout_ms
                    .map_or(defaults.secure.handshake_timeout, |m| m.0),
                cert: secure.cert.map(resolve),
                key: secure.key.map(resolve),
                trust_anchors: secure
                    .trust_anchors
                    .unwrap_or_default()
                    .into_iter()
                    .map(resolve)
                    .collect(),
                crls: secure
                    .crls
                    .unwrap_or_default()
                    .into_iter()
                    .map(resolve)
                    .collect(),
            },
            plain: PlainListener {
                enabled: plain.enabled.as_ref().is_some_and(|e| *e.get_ref()),
                listen: plain
                    .listen
                    .as_ref()
                    .map_or(defaults.plain.listen, |s| s.get_ref().0),
                role: plain.role.as_ref().map(|r| r.get_ref().0.clone()),
                allow: plain.allow.unwrap_or(defaults.plain.allow),
            },
            policy: raw
                .policy
                .and_then(|p| p.file)
                .map_or(PolicySource::DataDir, |f| PolicySource::File(resolve(f))),
            upstream: Upstream {
                target: upstream.address.map_or(defaults.upstream.target, |a| a.0),
                connections: upstream
                    .connections
                    .map_or(defaults.upstream.connections, |c| c.0),
                pipeline: upstream
                    .pipeline
                    .map_or(defaults.upstream.pipeline, |c| c.0),
                connect_timeout: upstream
                    .connect_timeout_ms
                    .map_or(defaults.upstream.connect_timeout, |m| m.0),
                response_timeout: upstream
                    .response_timeout_ms
                    .map_or(defaults.upstream.response_timeout, |m| m.0),
                backoff_min: upstream
                    .backoff_min_ms
                    .as_ref()
                    .map_or(defaults.upstream.backoff_min, |m| m.get_ref().0),
                backoff_max: upstream
                    .backoff_max_ms
                    .as_ref()
                    .map_or(defaults.upstream.backoff_max, |m| m.get_ref().0),
            },
            limits: ResourceLimits {
                max_connections,
                max_connections_per_ip: limits
                    .max_connections_per_ip
                    .map_or(defaults.limits.max_connections_per_ip, |c| c.0),
                max_unauthenticated: limits
                    .max_unauthenticated
                    .map_or((max_connections / 4).max(1), |c| c.0),
                max_unauthenticated_per_ip: limits
                    .max_unauthenticated_per_ip
                    .map_or(defaults.limits.max_unauthenticated_per_ip, |c| c.0),
                max_in_flight_per_connection: limits
                    .max_in_flight_per_connection
                    .map_or(defaults.limits.max_in_flight_per_connection, |c| c.0),
                idle_timeout: limits
                    .idle_timeout_s
                    .map_or(defaults.limits.idle_timeout, |s| s.0),
                frame_timeout: limits
                    .frame_timeout_ms
                    .map_or(defaults.limits.frame_timeout, |m| m.0),
            },
            audit: AuditOptions {
                allowed_writes: audit
                    .allowed_writes
                    .unwrap_or(defaults.audit.allowed_writes),
                refusal_interval: audit
                    .refusal_interval_s
                    .map_or(defaults.audit.refusal_interval, |s| s.0),
            },
            management: Management {
                listen: management
                    .listen
                    .as_ref()
                    .map_or(defaults.management.listen, |s| s.get_ref().0),
                allow: management.allow.unwrap_or(defaults.management.allow),
                trusted: management.trusted.unwrap_or(defaults.management.trusted),
                untrusted_access: management
                    .untrusted_access
                    .unwrap_or(defaults.management.untrusted_access),
                access_request_ttl: management
                    .access_request_ttl_s
                    .map_or(defaults.management.access_request_ttl, |s| s.0),
                access_approval_ttl: management
                    .access_approval_ttl_s
                    .map_or(defaults.management.access_approval_ttl, |s| s.0),
            },
            hardening: hardening.level.map_or(defaults.hardening, |l| l.0),
            passwords,
            vault: VaultOptions {
                kek,
                tls_key,
                device_key,
            },
            integrity: IntegrityOptions {
                startup_check: integrity
                    .startup_check
                    .unwrap_or(defaults.integrity.startup_check),
                on_mismatch: integrity
                    .on_mismatch
                    .map_or(defaults.integrity.on_mismatch, |m| m.0),
                recheck_interval: integrity
                    .recheck_interval_s
                    .map_or(defaults.integrity.recheck_interval, |s| s.0),
            },
            tamper: TamperOptions {
                sensors: tamper.sensors.map_or(defaults.tamper.sensors, |sensors| {
                    sensors
                        .into_iter()
                        .map(|s| match s {
                            SensorText::Auto => TamperSensor::Auto,
                            SensorText::File(path) => TamperSensor::File(resolve(path)),
                        })
                        .collect()
                }),
                interval: tamper.interval_s.map_or(defaults.tamper.interval, |s| s.0),
                on_tamper: tamper.on_tamper.map_or(defaults.tamper.on_tamper, |t| t.0),
            },
        };
        // Cross-key checks, reported at the key that completes the conflict.
        if let Err(problem) = config.validate() {
            let (span, key) = match problem.key {
                "plain.role" => (
                    plain
                        .role
                        .as_ref()
                        .map(Spanned::span)
                        .or_else(|| plain.enabled.as_ref().map(Spanned::span)),
                    "plain.role",
                ),
                "plain.listen" => (plain.listen.as_ref().map(Spanned::span), "plain.listen"),
                "management.listen" => (
                    management.listen.as_ref().map(Spanned::span),
                    "management.listen",
                ),
                "upstream.backoff_max_ms" => (
                    upstream.backoff_max_ms.as_ref().map(Spanned::span),
                    "upstream.backoff_max_ms",
                ),
                other => (None, other),
            };
            return Err(at(span.unwrap_or(0..0), key, problem.message));
        }
        Ok(config)
    }

    /// Checks the settings that depend on each other (the single values are valid by type):
    /// the plain listener needs a role; no two listeners (management included) share an
    /// address; the backoff range is ordered; counts are within their limits.
    ///
    /// # Errors
    /// A [`ConfigProblem`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigProblem> {
        let problem = |key: &'static str, message: String| Err(ConfigProblem { key, message });
        if self.plain.enabled {
            match &self.plain.role {
                None => {
                    return problem(
                        "plain.role",
                        "the plain listener is enabled but has no role; set plain.role to the \
                         least privileged role its clients need"
                            .into(),
                    );
                }
                Some(role) if role.is_empty() => {
                    return problem("plain.role", "the role is empty".into());
                }
                Some(_) => {}
            }
            if overlaps(self.plain.listen, self.secure.listen) {
                return problem(
                    "plain.listen",
                    format!(
                        "{} conflicts with the secure listener's {}",
                        self.plain.listen, self.secure.listen
                    ),
                );
            }
        }
        for (name, data) in [
            ("secure", Some(self.secure.listen)),
            ("plain", self.plain.enabled.then_some(self.plain.listen)),
        ] {
            if let Some(data) = data
                && overlaps(self.management.listen, data)
            {
                return problem(
                    "management.listen",
                    format!(
                        "{} conflicts with the {name} data-plane listener {data}; the \
                         management and data planes need separate addresses (CR 5.1)",
                        self.management.listen
                    ),
                );
            }
        }
        if self.upstream.backoff_max < self.upstream.backoff_min {
            return problem(
                "upstream.backoff_max_ms",
                format!(
                    "{} ms is less than backoff_min_ms ({} ms)",
                    self.upstream.backoff_max.as_millis(),
                    self.upstream.backoff_min.as_millis()
                ),
            );
        }
        for (key, value, max) in [
            ("upstream.connections", self.upstream.connections, 64),
            ("upstream.pipeline", self.upstream.pipeline, 64),
            (
                "limits.max_connections",
                self.limits.max_connections,
                100_000,
            ),
            (
                "limits.max_connections_per_ip",
                self.limits.max_connections_per_ip,
                100_000,
            ),
            (
                "limits.max_unauthenticated",
                self.limits.max_unauthenticated,
                100_000,
            ),
            (
                "limits.max_unauthenticated_per_ip",
                self.limits.max_unauthenticated_per_ip,
                100_000,
            ),
            (
                "limits.max_in_flight_per_connection",
                self.limits.max_in_flight_per_connection,
                1024,
            ),
        ] {
            if value == 0 || value > max {
                return problem(key, format!("{value} is not in 1..={max}"));
            }
        }
        Ok(())
    }

    /// Settings that are valid but probably not meant, for start-up output.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let listeners = [
            ("secure", true, self.secure.listen, &self.secure.allow),
            (
                "plain",
                self.plain.enabled,
                self.plain.listen,
                &self.plain.allow,
            ),
        ];
        for (name, enabled, listen, allow) in listeners {
            if enabled && !listen.ip().is_loopback() && allow.is_loopback_only() {
                out.push(format!(
                    "the {name} listener is on {listen} but its allow-list admits only \
                     loopback sources; set {name}.allow"
                ));
            }
        }
        if self.plain.enabled {
            out.push(format!(
                "the plain Modbus/TCP listener is enabled on {}: its clients are not \
                 authenticated and all get role '{}'",
                self.plain.listen,
                self.plain.role.as_deref().unwrap_or_default()
            ));
        }
        out
    }
}

/// A cross-key problem found by [`GatewayConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    /// The key, as `section.key`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Whether two listen addresses would collide: same port and the same or an unspecified
/// address.
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// A source-address allow-list (NDR 1.13): CIDR prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(Vec<Prefix>);

impl AllowList {
    /// Loopback only: `127.0.0.0/8` and `::1/128`.
    pub fn loopback() -> AllowList {
        AllowList(vec![
            Prefix {
                addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                len: 8,
            },
            Prefix {
                addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                len: 128,
            },
        ])
    }

    /// Every address; for a listener on a trusted network only.
    pub fn any() -> AllowList {
        AllowList(vec![
            Prefix {
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                len: 0,
            },
            Prefix {
                addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                len: 0,
            },
        ])
    }

    /// Parses prefixes such as `192.0.2.0/24`, `2001:db8::/32` or a single address.
    ///
    /// # Errors
    /// The first entry that is not a prefix, with the reason.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, String> {
        entries
            .iter()
            .map(|e| e.as_ref().parse())
            .collect::<Result<Vec<Prefix>, String>>()
            .map(AllowList)
    }

    /// Whether `addr` may connect (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn allows(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|p| p.contains(addr))
    }

    /// Whether every prefix is a loopback prefix.
    pub fn is_loopback_only(&self) -> bool {
        self.0.iter().all(|p| p.addr.is_loopback() && p.len >= 8)
    }

    /// The prefixes, as `ADDR/LEN` text; empty: no source is allowed.
    pub fn prefixes(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|p| format!("{}/{}", p.addr, p.len))
            .collect()
    }

    /// Whether every source address is allowed (a `/0` prefix).
    pub fn admits_any(&self) -> bool {
        self.0.iter().any(|p| p.len == 0)
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(nobody)");
        }
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}/{}", p.addr, p.len)?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for AllowList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AllowList, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        AllowList::parse(&entries).map_err(serde::de::Error::custom)
    }
}

/// An address prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    fn contains(self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(text: &str) -> Result<Prefix, String> {
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{text}' is not an IP address or CIDR prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(len) => match len.parse::<u8>() {
                Ok(len) if len <= max => len,
                _ => return Err(format!("'{text}': the prefix length must be 0-{max}")),
            },
        };
        Ok(Prefix { addr, len })
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The `section.key` at `offset`: the key of the line, prefixed by the last table header
/// above it.
fn key_at(text: &str, offset: usize) -> String {
    let before = text.get(..offset.min(text.len())).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(line_start..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_default();
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.contains('='))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match (section, key) {
        (Some(section), Some(key)) if !line.trim_start().starts_with('[') => {
            format!("{section}.{key}")
        }
        (_, Some(key)) => key,
        (Some(section), None) => section,
        (None, None) => "(top level)".into(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    secure: Option<RawSecure>,
    plain: Option<RawPlain>,
    policy: Option<RawPolicy>,
    upstream: Option<RawUpstream>,
    limits: Option<RawLimits>,
    audit: Option<RawAudit>,
    management: Option<RawManagement>,
    hardening: Option<RawHardening>,
    vault: Option<RawVault>,
    integrity: Option<RawIntegrity>,
    tamper: Option<RawTamper>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTamper {
    sensors: Option<Vec<SensorText>>,
    interval_s: Option<Seconds>,
    on_tamper: Option<OnTamperText>,
}

/// `"auto"` or an absolute or relative path.
enum SensorText {
    Auto,
    File(PathBuf),
}

impl<'de> Deserialize<'de> for SensorText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SensorText, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "auto" => Ok(SensorText::Auto),
            "" => Err(serde::de::Error::custom(
                "an empty sensor path: name a file that reads 0 while closed, or \"auto\"",
            )),
            path if path.chars().any(char::is_control) => Err(serde::de::Error::custom(
                "a sensor path with control characters",
            )),
            path => Ok(SensorText::File(PathBuf::from(path))),
        }
    }
}

/// `alert` or `closed`.
struct OnTamperText(OnTamper);

impl<'de> Deserialize<'de> for OnTamperText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OnTamperText, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "alert" => Ok(OnTamperText(OnTamper::Alert)),
            "closed" => Ok(OnTamperText(OnTamper::Closed)),
            other => Err(serde::de::Error::custom(format!(
                "'{other}' is not an action on tamper: \"alert\" (audit and notify) or \"closed\" (also close all traffic)"
            ))),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIntegrity {
    startup_check: Option<bool>,
    on_mismatch: Option<MismatchText>,
    recheck_interval_s: Option<Seconds>,
}

/// `refuse` or `closed`.
struct MismatchText(OnMismatch);

impl<'de> Deserialize<'de> for MismatchText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MismatchText, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "refuse" => Ok(MismatchText(OnMismatch::Refuse)),
            "closed" => Ok(MismatchText(OnMismatch::Closed)),
            other => Err(serde::de::Error::custom(format!(
                "'{other}' is not an action on mismatch: \"refuse\" (do not start) or \"closed\" (start in island mode)"
            ))),
        }
    }
}

/// `[vault] tls_key` or `device_key` (`key`): `file` or `tpm`, the latter only with the TPM KEK
/// provider (the key is made under the KEK's parent key, in the same TPM).
fn key_store(
    value: Option<&Spanned<String>>,
    key: &'static str,
    kek: &rampart_vault::at_rest::KekConfig,
    at: &dyn Fn(Range<usize>, &str, String) -> ConfigError,
) -> Result<rampart_vault::KeyStore, ConfigError> {
    let Some(value) = value else {
        return Ok(rampart_vault::KeyStore::Recorded);
    };
    let store = rampart_vault::KeyStore::parse(value.get_ref())
        .map_err(|message| at(value.span(), key, message))?;
    if store == rampart_vault::KeyStore::Tpm
        && !matches!(kek, rampart_vault::at_rest::KekConfig::Tpm(_))
    {
        return Err(at(
            value.span(),
            key,
            "\"tpm\" needs kek_provider = \"tpm\" (the key is made under the KEK's parent \
             key, in the same TPM)"
                .into(),
        ));
    }
    Ok(store)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVault {
    kek_provider: Option<Spanned<String>>,
    kek_file: Option<PathBuf>,
    tpm_tcti: Option<String>,
    tpm_pcrs: Option<Vec<u8>>,
    tls_key: Option<Spanned<String>>,
    device_key: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHardening {
    level: Option<Level>,
    password_history: Option<Spanned<i64>>,
    password_min_lifetime_h: Option<Spanned<i64>>,
    password_max_lifetime_d: Option<Spanned<i64>>,
}

/// The password keys of `[hardening]`, checked: the span, key and message of the first bad one.
fn password_options(
    raw: &RawHardening,
) -> Result<PasswordOptions, (Range<usize>, &'static str, String)> {
    let history = match &raw.password_history {
        None => None,
        Some(h) => Some(
            u32::try_from(*h.get_ref())
                .ok()
                .filter(|v| *v <= rampart_identity::MAX_HISTORY)
                .ok_or_else(|| {
                    (
                        h.span(),
                        "password_history",
                        format!(
                            "{} is not a number of passwords from 0 to {}",
                            h.get_ref(),
                            rampart_identity::MAX_HISTORY
                        ),
                    )
                })?,
        ),
    };
    let positive = |value: &Option<Spanned<i64>>,
                    key: &'static str,
                    unit: u64,
                    most: u64|
     -> Result<Option<Duration>, (Range<usize>, &'static str, String)> {
        value
            .as_ref()
            .map(|v| {
                u64::try_from(*v.get_ref())
                    .ok()
                    .filter(|n| (1..=most).contains(n))
                    .map(|n| Duration::from_secs(n * unit))
                    .ok_or_else(|| {
                        (
                            v.span(),
                            key,
                            format!("{} is not from 1 to {most}", v.get_ref()),
                        )
                    })
            })
            .transpose()
    };
    let min_lifetime = positive(
        &raw.password_min_lifetime_h,
        "password_min_lifetime_h",
        3600,
        24 * 365,
    )?;
    let max_lifetime = positive(
        &raw.password_max_lifetime_d,
        "password_max_lifetime_d",
        86_400,
        3650,
    )?;
    if let (Some(min), Some(max), Some(span)) = (
        min_lifetime,
        max_lifetime,
        raw.password_max_lifetime_d.as_ref().map(Spanned::span),
    ) && min >= max
    {
        return Err((
            span,
            "password_max_lifetime_d",
            "must be longer than password_min_lifetime_h".into(),
        ));
    }
    Ok(PasswordOptions {
        history,
        min_lifetime,
        max_lifetime,
    })
}

/// A hardening level, 1 to 4.
struct Level(rampart_identity::HardeningLevel);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Level, D::Error> {
        let level = i64::deserialize(deserializer)?;
        u8::try_from(level)
            .map_err(|_| format!("hardening level {level} is not a security level (1 to 4)"))
            .and_then(rampart_identity::HardeningLevel::new)
            .map(Level)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSecure {
    listen: Option<Spanned<Listen>>,
    allow: Option<AllowList>,
    handshake_timeout_ms: Option<Millis>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    trust_anchors: Option<Vec<PathBuf>>,
    crls: Option<Vec<PathBuf>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPlain {
    enabled: Option<Spanned<bool>>,
    listen: Option<Spanned<Listen>>,
    role: Option<Spanned<RoleText>>,
    allow: Option<AllowList>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    address: Option<Target>,
    connections: Option<Count<64>>,
    pipeline: Option<Count<64>>,
    connect_timeout_ms: Option<Millis>,
    response_timeout_ms: Option<Millis>,
    backoff_min_ms: Option<Spanned<Millis>>,
    backoff_max_ms: Option<Spanned<Millis>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_connections: Option<Count<100_000>>,
    max_connections_per_ip: Option<Count<100_000>>,
    max_unauthenticated: Option<Count<100_000>>,
    max_unauthenticated_per_ip: Option<Count<100_000>>,
    max_in_flight_per_connection: Option<Count<1024>>,
    idle_timeout_s: Option<Seconds>,
    frame_timeout_ms: Option<Millis>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    allowed_writes: Option<bool>,
    refusal_interval_s: Option<Seconds>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawManagement {
    listen: Option<Spanned<Listen>>,
    allow: Option<AllowList>,
    trusted: Option<AllowList>,
    untrusted_access: Option<UntrustedAccess>,
    access_request_ttl_s: Option<Seconds>,
    access_approval_ttl_s: Option<Seconds>,
}

/// A socket address to listen on.
struct Listen(SocketAddr);

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Listen, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(Listen).map_err(|_| {
            serde::de::Error::custom(format!(
                "'{text}' is not an IP address and port (e.g. \"127.0.0.1:8020\" or \"[::1]:8020\")"
            ))
        })
    }
}

/// The upstream target.
struct Target(UpstreamTarget);

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Target, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(Target).map_err(serde::de::Error::custom)
    }
}

/// A role name: non-empty, at most 64 bytes.
struct RoleText(String);

impl<'de> Deserialize<'de> for RoleText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RoleText, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() || text.len() > 64 {
            return Err(serde::de::Error::custom(format!(
                "role '{text}' must be 1-64 bytes"
            )));
        }
        Ok(RoleText(text))
    }
}

/// A count in `1..=MAX`.
struct Count<const MAX: usize>(usize);

impl<'de, const MAX: usize> Deserialize<'de> for Count<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count<MAX>, D::Error> {
        let value = i64::deserialize(deserializer)?;
        match usize::try_from(value) {
            Ok(v) if (1..=MAX).contains(&v) => Ok(Count(v)),
            _ => Err(serde::de::Error::custom(format!(
                "{value} is not in 1..={MAX}"
            ))),
        }
    }
}

/// Milliseconds in `1..=3_600_000`.
struct Millis(Duration);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Millis, D::Error> {
        let value = i64::deserialize(deserializer)?;
        match u64::try_from(value) {
            Ok(v) if (1..=3_600_000).contains(&v) => Ok(Millis(Duration::from_millis(v))),
            _ => Err(serde::de::Error::custom(format!(
                "{value} ms is not in 1..=3600000 (one hour)"
            ))),
        }
    }
}

/// Seconds in `1..=86_400`.
struct Seconds(Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Seconds, D::Error> {
        let value = i64::deserialize(deserializer)?;
        match u64::try_from(value) {
            Ok(v) if (1..=86_400).contains(&v) => Ok(Seconds(Duration::from_secs(v))),
            _ => Err(serde::de::Error::custom(format!(
                "{value} s is not in 1..=86400 (one day)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
