//! The configuration report (CR 7.6 RE 1): every security-relevant setting of the running
//! component with the requirements it bears on, and the results of the self-tests (CR 3.3),
//! machine-readable. The schema is stable: settings are a list of `{id, value, description,
//! requirements}` with documented ids (docs/config-report.md); ids are only ever added, and
//! `schema_version` changes if one changes meaning. `rampart assess --live` decides
//! requirements from it.

use rampart_audit::OnFull;
use rampart_gateway::config::UpstreamTarget;
use serde_json::{Value, json};

use crate::state::AppState;

/// The report's schema version: the one `rampart assess --live` reads.
pub use rampart_assess::live::CONFIG_REPORT_VERSION as SCHEMA_VERSION;
/// The report's types are the assessment's: the one format, written here and read there.
pub use rampart_assess::live::{ConfigReport, ReportComponent, SelfTest, Setting};

struct Settings(Vec<Setting>);

impl Settings {
    fn add(&mut self, id: &str, value: Value, description: &str, requirements: &[&str]) {
        self.0.push(Setting {
            id: id.to_owned(),
            value,
            description: Some(description.to_owned()),
            requirements: requirements.iter().map(|r| (*r).to_owned()).collect(),
        });
    }
}

fn secs(d: jiff::SignedDuration) -> i64 {
    d.as_secs()
}

/// The suites the TLS provider offers, by IANA name.
fn cipher_suites() -> Vec<String> {
    rampart_vault::tls::provider()
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect()
}

/// What the report is made from: the running gateway's state, or — for `rampart
/// config-report` on a stopped component — the configuration and data directory alone.
pub struct ReportInputs<'a> {
    /// The gateway configuration.
    pub gateway: &'a rampart_gateway::GatewayConfig,
    /// The management plane's configuration.
    pub management: &'a crate::ManagementConfig,
    /// SHA-256 of the policy in force (or configured), hex; empty if it does not load.
    pub policy_sha256: String,
    /// Where the policy comes from.
    pub policy_origin: String,
    /// The policy's per-client request rate.
    pub requests_per_second: u32,
    /// Island mode is on.
    pub island: bool,
    /// Why traffic is halted (fail close), if it is.
    pub halted: Option<String>,
    /// The upstream pool, when the gateway runs.
    pub upstream: Option<rampart_gateway::UpstreamStatus>,
    /// The IDS baseline: `none`, `learning` or `detecting` (stopped: `detecting` when a
    /// saved baseline exists).
    pub ids_baseline: &'static str,
    /// The slot the launcher verified and started this process from, if any.
    pub launched_slot: Option<rampart_update::slots::SlotName>,
    /// The identity service.
    pub identity: &'a rampart_identity::Identity,
    /// The audit trail.
    pub audit: &'a rampart_audit::AuditStore,
    /// The data directory.
    pub data: &'a rampart_vault::DataDir,
    /// Where the TLS server key is held: the running gateway's, found at its start; for a
    /// stopped one, the key file's, else the configured place its first start will use.
    pub tls_key: Option<rampart_vault::pki::ServerKeyStore>,
}

/// Builds the report from the running component. Blocking (reads the audit trail for the
/// chain self-test).
pub(crate) fn build(state: &AppState) -> ConfigReport {
    let services = &state.services;
    let status = services.gateway.status();
    let (island, halted) = match status.traffic {
        rampart_gateway::Traffic::Open => (false, None),
        rampart_gateway::Traffic::Island => (true, None),
        rampart_gateway::Traffic::Halted { reason, island } => (island, Some(reason)),
    };
    let management = crate::ManagementConfig {
        listen: state.bound.get().copied().unwrap_or(state.config.listen),
        ..state.config.clone()
    };
    build_from(&ReportInputs {
        gateway: services.gateway.config(),
        management: &management,
        policy_sha256: status.policy.sha256,
        policy_origin: status.policy.origin,
        requests_per_second: services.gateway.requests_per_second(),
        island,
        halted,
        upstream: Some(status.upstream),
        ids_baseline: match status.ids {
            rampart_conduit::LearningState::None => "none",
            rampart_conduit::LearningState::Learning { .. } => "learning",
            rampart_conduit::LearningState::Detecting { .. } => "detecting",
        },
        identity: &services.identity,
        audit: &services.audit,
        data: &services.data,
        launched_slot: services.launched_slot,
        tls_key: services.gateway.tls_key_held(),
    })
}

/// Builds the report from `inputs`. Blocking (verifies the audit trail for the chain
/// self-test).
pub fn build_from(inputs: &ReportInputs<'_>) -> ConfigReport {
    let gateway = inputs.gateway;
    let identity = inputs.identity.config();
    let audit = inputs.audit.status();
    let mut s = Settings(Vec::new());
    let suites = cipher_suites();

    s.add(
        "modbus_security.enabled",
        json!(true),
        "The Modbus/TCP Security (TLS) listener is on",
        &["CR 4.1", "CR 3.1"],
    );
    s.add(
        "modbus_security.listen",
        json!(gateway.secure.listen.to_string()),
        "Address of the Modbus/TCP Security listener",
        &["CR 5.1"],
    );
    s.add(
        "modbus_security.tls_min_version",
        json!("1.2"),
        "Oldest TLS version accepted",
        &["CR 3.1", "CR 4.3"],
    );
    s.add(
        "modbus_security.cipher_suites",
        json!(suites),
        "TLS cipher suites offered (Modbus/TCP Security v36: ECDHE with AES-GCM; TLS 1.3)",
        &["CR 4.3", "CR 3.1"],
    );
    s.add(
        "modbus_security.client_certificate",
        json!("required"),
        "Client certificates are mandatory (mutual authentication)",
        &["CR 1.2", "CR 1.9"],
    );
    s.add(
        "modbus_security.crl_checked",
        json!(true),
        "Client certificate chains are checked against the CRL",
        &["CR 1.9"],
    );
    s.add(
        "modbus_security.allow_list",
        json!(gateway.secure.allow.prefixes()),
        "Source addresses allowed to connect (empty: none)",
        &["NDR 1.13"],
    );
    s.add(
        "modbus_security.allow_any_source",
        json!(gateway.secure.allow.admits_any()),
        "The allow-list admits every source address (a /0 prefix)",
        &["NDR 1.13", "CR 5.1"],
    );
    s.add(
        "modbus_plain.enabled",
        json!(gateway.plain.enabled),
        "The plain (unencrypted) Modbus/TCP listener is on",
        &["CR 7.7", "CR 3.1"],
    );
    s.add(
        "modbus_plain.listen",
        if gateway.plain.enabled {
            json!(gateway.plain.listen.to_string())
        } else {
            Value::Null
        },
        "Address of the plain listener, when on",
        &["CR 7.7"],
    );
    s.add(
        "modbus_plain.role",
        if gateway.plain.enabled {
            json!(gateway.plain.role)
        } else {
            Value::Null
        },
        "The role every plain-listener client gets",
        &["CR 7.7", "CR 2.1"],
    );
    s.add(
        "management.listen",
        json!(inputs.management.listen.to_string()),
        "Address of the HTTPS management plane",
        &["CR 5.1"],
    );
    s.add(
        "management.tls_min_version",
        json!("1.2"),
        "Oldest TLS version the management plane accepts",
        &["CR 4.1", "CR 4.3"],
    );
    s.add(
        "management.allow_list",
        json!(inputs.management.allow.prefixes()),
        "Source addresses allowed to reach the management plane (empty: none)",
        &["NDR 1.13"],
    );
    s.add(
        "management.allow_any_source",
        json!(inputs.management.allow.admits_any()),
        "The management allow-list admits every source address (a /0 prefix)",
        &["NDR 1.13"],
    );
    s.add(
        "management.trusted_networks",
        json!(inputs.management.trusted.prefixes()),
        "Trusted networks of the management plane; every other allowed source is untrusted",
        &["NDR 1.13 RE 1"],
    );
    s.add(
        "management.trusted_any_source",
        json!(inputs.management.trusted.admits_any()),
        "The trusted networks include every source address (a /0 prefix): nothing is untrusted",
        &["NDR 1.13 RE 1"],
    );
    s.add(
        "management.untrusted_access",
        json!(inputs.management.untrusted_access.as_str()),
        "What a login or API request from an untrusted network gets: approve (held until a \
         holder of access.approve approves it from a trusted network), deny, or allow",
        &["NDR 1.13 RE 1"],
    );
    s.add(
        "management.access_request_ttl_s",
        json!(inputs.management.access_request_ttl.as_secs()),
        "Seconds an access request from an untrusted network stays pending",
        &["NDR 1.13 RE 1"],
    );
    s.add(
        "management.access_approval_ttl_s",
        json!(inputs.management.access_approval_ttl.as_secs()),
        "Seconds an approved access request may be used (one session)",
        &["NDR 1.13 RE 1"],
    );
    s.add(
        "management.hsts",
        json!(true),
        "HTTP Strict Transport Security is sent",
        &["CR 4.1"],
    );
    s.add(
        "management.max_connections",
        json!(inputs.management.max_connections),
        "Authenticated management connections at once (a connection takes one when a request \
         on it authenticates)",
        &["CR 7.1", "CR 7.2"],
    );
    s.add(
        "management.max_unauthenticated",
        json!(inputs.management.max_unauthenticated),
        "Management connections not authenticated yet, a separate budget shared fairly \
         between sources",
        &["CR 7.1"],
    );
    s.add(
        "management.max_unauthenticated_per_ip",
        json!(inputs.management.max_unauthenticated_per_ip),
        "Unauthenticated management connections from one source address",
        &["CR 7.1"],
    );
    s.add(
        "management.unauthenticated_timeout_s",
        json!(inputs.management.unauthenticated_timeout.as_secs()),
        "Time a management connection may stay unauthenticated, TLS handshake included",
        &["CR 7.1"],
    );
    s.add(
        "management.requests_per_second",
        json!(inputs.management.requests_per_second),
        "Requests per second one source address may make on average (token bucket)",
        &["CR 7.1"],
    );
    s.add(
        "conduit.default_action",
        json!("deny"),
        "What the conduit policy does with a request no rule allows",
        &["NDR 5.2", "CR 2.1"],
    );
    s.add(
        "conduit.policy_sha256",
        json!(inputs.policy_sha256),
        "SHA-256 of the conduit policy in force",
        &["CR 3.4", "NDR 5.2"],
    );
    s.add(
        "conduit.island_mode",
        json!(inputs.island),
        "Island mode: no traffic across the conduit",
        &["NDR 5.2 RE 2"],
    );
    s.add(
        "ids.baseline",
        json!(inputs.ids_baseline),
        "The IDS's baseline of normal traffic: none (fixed thresholds), learning, or detecting anomalies on it",
        &["CR 6.2"],
    );
    let vulnerabilities =
        crate::api::vulnerabilities::self_check(inputs.data, inputs.identity.now());
    s.add(
        "vulnerabilities.advisories",
        vulnerabilities
            .as_ref()
            .map_or(serde_json::Value::Null, |c| json!(c.advisories)),
        "Advisories kept in DATA/advisories/ that this build's SBOM is checked against (null: they cannot be read)",
        &["CR 7.8"],
    );
    s.add(
        "vulnerabilities.open",
        vulnerabilities
            .as_ref()
            .map_or(serde_json::Value::Null, |c| json!(c.open())),
        "Advisories affecting this build (or under investigation) that no VEX statement covers",
        &["CR 7.8", "CR 3.4"],
    );
    s.add(
        "conduit.fail_closed",
        json!(true),
        "Traffic stops when the policy cannot be evaluated or the audit trail cannot record",
        &["NDR 5.2 RE 3", "CR 3.6"],
    );
    s.add(
        "conduit.upstream",
        json!(match &gateway.upstream.target {
            UpstreamTarget::Simulator => "simulator".to_owned(),
            other @ UpstreamTarget::Remote(_) => other.to_string(),
        }),
        "The protected device",
        &[],
    );
    s.add(
        "limits.max_connections",
        json!(gateway.limits.max_connections),
        "Client connections at once",
        &["CR 7.1", "CR 7.2"],
    );
    s.add(
        "limits.max_connections_per_ip",
        json!(gateway.limits.max_connections_per_ip),
        "Client connections at once from one address",
        &["CR 7.1"],
    );
    s.add(
        "limits.requests_per_second",
        json!(inputs.requests_per_second),
        "Requests per second one client may make (token bucket, from the policy)",
        &["CR 7.1"],
    );
    s.add(
        "limits.idle_timeout_s",
        json!(gateway.limits.idle_timeout.as_secs()),
        "Idle client connections are closed after this many seconds",
        &["CR 7.1", "CR 2.6"],
    );
    s.add(
        "limits.handshake_timeout_s",
        json!(gateway.secure.handshake_timeout.as_secs()),
        "TLS handshakes must finish within this many seconds",
        &["CR 7.1"],
    );
    s.add(
        "identity.password.min_length",
        json!(identity.password.min_length),
        "Minimum password length when the password is the only factor",
        &["CR 1.7"],
    );
    s.add(
        "identity.password.history",
        json!(identity.password.history),
        "Previous passwords that may not be reused",
        &["CR 1.7 RE 1"],
    );
    s.add(
        "identity.password.min_lifetime_s",
        json!(identity.password.min_lifetime.map(|d| d.as_secs())),
        "Seconds before a password may be changed again (null: no minimum)",
        &["CR 1.7 RE 1"],
    );
    s.add(
        "identity.password.max_lifetime_s",
        json!(identity.password.max_lifetime.map(|d| d.as_secs())),
        "Seconds after which a password must be changed (null: no maximum)",
        &["CR 1.7 RE 1"],
    );
    s.add(
        "identity.lockout.max_failures",
        json!(identity.lockout.max_failures),
        "Failed logins within the window that lock an account",
        &["CR 1.11"],
    );
    s.add(
        "identity.lockout.lock_for_s",
        identity
            .lockout
            .lock_for
            .map_or(Value::Null, |d| json!(secs(d))),
        "How long a lock lasts (null: until an administrator unlocks)",
        &["CR 1.11"],
    );
    s.add(
        "identity.mfa.required_for_all",
        json!(identity.mfa.required_for_all),
        "TOTP required for every human account",
        &["CR 1.1 RE 2", "CR 1.1 RE 3"],
    );
    s.add(
        "hardening.level",
        json!(gateway.hardening.get()),
        "Hardening level of accounts and approvals (1 to 4): from 2, MFA for administrative \
         accounts and dual approval for policy apply, user removal, restore and update install",
        &["CR 1.1 RE 2", "CR 2.1 RE 4"],
    );
    s.add(
        "identity.mfa.required_for_permissions",
        json!(
            identity
                .mfa
                .required_for_permissions
                .iter()
                .map(rampart_identity::Permission::as_str)
                .collect::<Vec<_>>()
        ),
        "TOTP required for every account holding one of these permissions",
        &["CR 1.1 RE 2"],
    );
    s.add(
        "identity.mfa.required_roles",
        json!(inputs.identity.roles_requiring_mfa().unwrap_or_default()),
        "Roles whose members must use TOTP",
        &["CR 1.1 RE 2"],
    );
    s.add(
        "identity.sessions.idle_timeout_s",
        json!(secs(identity.sessions.idle_timeout)),
        "Management sessions lock after this much inactivity",
        &["CR 2.5"],
    );
    s.add(
        "identity.sessions.lifetime_s",
        json!(secs(identity.sessions.lifetime)),
        "Management sessions end after this long at the latest",
        &["CR 2.6"],
    );
    s.add(
        "identity.sessions.max_per_account",
        json!(identity.sessions.max_per_account),
        "Concurrent sessions per account",
        &["CR 2.7"],
    );
    s.add(
        "identity.tokens.max_lifetime_s",
        json!(secs(identity.tokens.max_lifetime)),
        "Longest API token lifetime",
        &["CR 1.14", "CR 1.5"],
    );
    s.add(
        "identity.approvals.required_for",
        json!(
            identity
                .approvals
                .required_for
                .iter()
                // Reported apart (`identity.approvals.always`): not a configured choice.
                .filter(|p| !rampart_identity::ApprovalPolicy::ALWAYS.contains(p))
                .map(rampart_identity::Permission::as_str)
                .collect::<Vec<_>>()
        ),
        "Permissions that need a second administrator's approval (empty: off)",
        &["CR 2.1 RE 4"],
    );
    s.add(
        "identity.approvals.always",
        json!(
            rampart_identity::ApprovalPolicy::ALWAYS
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
        ),
        "Permissions that need a second administrator's approval at every hardening level \
         (erasing the component)",
        &["CR 2.1 RE 4", "CR 4.2"],
    );
    s.add(
        "identity.banner_configured",
        json!(inputs.identity.banner().is_ok_and(|b| !b.trim().is_empty())),
        "A system use notification is shown before login",
        &["CR 1.12"],
    );
    s.add(
        "audit.capacity_events",
        json!(audit.max_events),
        "Events the audit trail holds at most",
        &["CR 2.9"],
    );
    s.add(
        "audit.on_full",
        json!(match audit.on_full {
            OnFull::Stop => "stop",
            _ => "overwrite-oldest",
        }),
        "What the audit trail does when full",
        &["CR 2.10"],
    );
    s.add(
        "audit.signed_checkpoints",
        json!(true),
        "Audit checkpoints are signed with the device key (Ed25519)",
        &["CR 3.9", "CR 2.8"],
    );
    s.add(
        "audit.checkpoint_every_events",
        json!(audit.checkpoint_every),
        "A signed checkpoint at least every this many events",
        &["CR 3.9"],
    );
    s.add(
        "audit.forwarding_enabled",
        json!(inputs.data.file(rampart_vault::Entry::Forward).exists()),
        "The audit trail has been forwarded to a SIEM (rampart audit forward)",
        &["CR 6.1", "CR 2.8"],
    );
    s.add(
        "time.clock_synchronized",
        json!(rampart_audit::system_clock_sync() == rampart_audit::ClockSync::Synchronized),
        "The system clock is synchronised (NTP)",
        &["CR 2.11 RE 1"],
    );
    s.add(
        "backup.encrypted",
        json!(true),
        "Backups are encrypted (AEAD, passphrase-derived key) and signed",
        &["CR 7.3 RE 1", "CR 4.1"],
    );
    let kek = inputs.data.kek();
    let secret_files = inputs.data.secret_files();
    let sealed_files = secret_files.iter().filter(|(_, sealed)| *sealed).count();
    s.add(
        "vault.kek_provider",
        json!(kek.map_or("none", |k| k.kind().as_str())),
        "Where the key-encryption key of the secrets at rest lives: file (software KEK file) \
         or tpm (sealed in a TPM 2.0); none before the first start of this release",
        &["CR 4.1", "CR 1.5 RE 1", "CR 1.9 RE 1", "CR 1.14 RE 1"],
    );
    let tls_key = inputs.tls_key;
    let memory = rampart_vault::memory::status();
    s.add(
        "process.memory_protected",
        json!(memory.holds()),
        "The gateway process is not dumpable and writes no core dump, so the secrets in its \
         memory reach neither another process (ptrace, /proc/PID/mem) nor the disk",
        &["CR 4.2 RE 1"],
    );
    s.add(
        "vault.tls_key",
        json!(tls_key.map_or("none", rampart_vault::pki::ServerKeyStore::as_str)),
        "Where the TLS server key of both listeners lives: file (sealed under the KEK) or tpm \
         (generated in the TPM and never outside it; every handshake is signed there)",
        &["CR 1.9 RE 1", "CR 1.5 RE 1"],
    );
    s.add(
        "vault.device_key",
        json!(
            inputs
                .data
                .device_key_held()
                .ok()
                .flatten()
                .map_or("none", rampart_vault::KeyStore::as_str)
        ),
        "Where the device key (the component's identity: it signs the audit trail, the \
         integrity manifest and backups) lives: file (Ed25519, sealed under the KEK) or tpm \
         (ECDSA P-256 generated in the TPM and never outside it; every signature is made there)",
        &["CR 1.9 RE 1", "CR 3.9", "CR 3.14"],
    );
    s.add(
        "vault.kek_hardware",
        json!(kek.is_some_and(|k| k.kind().is_hardware())),
        "The key-encryption key is protected by hardware (false for the file provider: \
         software only)",
        &["CR 1.5 RE 1", "CR 1.9 RE 1", "CR 1.14 RE 1"],
    );
    s.add(
        "vault.tpm",
        json!(if rampart_vault::at_rest::TPM_BUILT {
            // With the TPM this process unsealed its KEK from: manufacturer, firmware, parent
            // key handle, PCRs and the dictionary-attack lockout parameters.
            rampart_vault::tpm::description().unwrap_or_else(|| "built".to_owned())
        } else {
            "not built".to_owned()
        }),
        "TPM 2.0 support of this binary (\"not built\" refuses kek_provider = \"tpm\"); \
         \"built\", with the TPM's manufacturer, firmware and lockout parameters once a KEK \
         was unsealed from it",
        &["CR 1.5 RE 1"],
    );
    s.add(
        "vault.secrets_encrypted",
        json!(kek.is_some() && sealed_files == secret_files.len()),
        "Every secret the component stores (device, CA and server keys, TOTP seeds) is \
         sealed at rest (envelope encryption, XChaCha20-Poly1305)",
        &["CR 4.1", "CR 4.3"],
    );
    s.add(
        "vault.sealed_files",
        json!(sealed_files),
        "Secret files sealed at rest (TOTP seeds are sealed inside the identity store)",
        &["CR 4.1"],
    );
    s.add(
        "integrity.startup_check",
        json!(gateway.integrity.startup_check),
        "Before any listener opens, the binary, configuration, policy and PKI trust anchors \
         are verified against a manifest signed with the device key (docs/integrity.md)",
        &["CR 3.4 RE 1", "NDR 3.14"],
    );
    s.add(
        "integrity.on_mismatch",
        json!(gateway.integrity.on_mismatch.as_str()),
        "What a start-up integrity mismatch does: refuse (do not start) or closed (start in \
         island mode)",
        &["CR 3.4 RE 1", "NDR 3.14"],
    );
    s.add(
        "integrity.recheck_interval_s",
        json!(gateway.integrity.recheck_interval.as_secs()),
        "Seconds between run-time integrity re-checks; a change raises an alert \
         (integrity.changed)",
        &["CR 3.4 RE 2"],
    );
    s.add(
        "integrity.last_verified",
        json!(last_integrity_check(inputs.audit)),
        "When the start-up integrity check last passed or sealed (RFC 3339; null: never, as \
         for a gateway not started by `rampart up`)",
        &["CR 3.4 RE 1"],
    );
    let sensors = rampart_gateway::tamper::sensors(
        &gateway.tamper,
        std::path::Path::new(rampart_gateway::tamper::HWMON_ROOT),
    );
    let alarms: Vec<String> = sensors
        .iter()
        .filter(|s| rampart_gateway::tamper::read(s).alarm())
        .map(|s| s.display().to_string())
        .collect();
    s.add(
        "tamper.sensors",
        json!(
            sensors
                .iter()
                .map(|s| s.display().to_string())
                .collect::<Vec<_>>()
        ),
        "The physical tamper sensors watched ([tamper] sensors: chassis intrusion alarms of \
         the hardware monitor, door switches on GPIO inputs); empty: none on this host",
        &["NDR 3.11"],
    );
    s.add(
        "tamper.alarms",
        json!(alarms),
        "The sensors in alarm now (tampered, or unreadable)",
        &["NDR 3.11", "NDR 3.11 RE 1"],
    );
    s.add(
        "tamper.on_tamper",
        json!(gateway.tamper.on_tamper.as_str()),
        "What a detected tamper does besides the alert (tamper.detected, audited and \
         forwarded): alert, or closed (all traffic closes, island mode)",
        &["NDR 3.11 RE 1"],
    );
    s.add(
        "tamper.interval_s",
        json!(gateway.tamper.interval.as_secs()),
        "Seconds between two reads of every tamper sensor",
        &["NDR 3.11 RE 1"],
    );
    s.add(
        "sbom.available",
        json!(true),
        "A CycloneDX SBOM of this build is served at /api/v1/sbom",
        &["CR 7.8"],
    );
    let update = UpdateFacts::read(inputs.data, inputs.launched_slot);
    s.add(
        "update.provisioned",
        json!(update.provisioned),
        "The supplier's TUF root and release keys are pinned: updates are installed only when \
         their TUF metadata and their manifest signature verify",
        &["NDR 3.10", "NDR 3.10 RE 1", "NDR 3.12"],
    );
    s.add(
        "update.repository",
        json!(update.repository),
        "An update repository is configured (DATA/update/channel.json)",
        &["NDR 3.10"],
    );
    s.add(
        "update.owner_approval",
        json!(update.owner_approval),
        "An asset owner's TUF root is pinned: an update also needs the owner's approval",
        &["NDR 3.13"],
    );
    s.add(
        "update.verified_boot",
        json!(update.verified_boot),
        "This process was started by the launcher from a slot whose manifest signature and \
         files it verified (`rampart launch`)",
        &["CR 3.4 RE 1", "NDR 3.14", "NDR 3.14 RE 1"],
    );
    s.add(
        "update.security_version_floor",
        json!(update.floor),
        "The security-version floor: no bundle below it installs or boots (anti-rollback)",
        &["NDR 3.10 RE 1"],
    );

    ConfigReport {
        schema_version: SCHEMA_VERSION,
        generated_at: inputs.identity.now().to_string(),
        component: ReportComponent {
            vendor: "Rampart developers".to_owned(),
            product: "Rampart gateway".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            component_type: rampart_catalog::ComponentType::Ndr,
        },
        settings: s.0,
        self_tests: self_tests(inputs),
    }
}

/// The time of the newest `integrity.verified` or `integrity.sealed` event (`rampart up`'s
/// start-up check), if any.
fn last_integrity_check(audit: &rampart_audit::AuditStore) -> Option<String> {
    let reader = audit.reader().ok()?;
    let query = rampart_audit::Query::new().category(rampart_audit::Category::ConfigurationChange);
    reader
        .iter(&query)
        .filter_map(Result::ok)
        .filter(|e| matches!(e.action(), "integrity.verified" | "integrity.sealed"))
        .last()
        .map(|e| e.timestamp().to_string())
}

/// How long a verification of the audit trail is reused while the trail has not grown.
const CHAIN_CHECK_TTL: std::time::Duration = std::time::Duration::from_mins(1);

/// The last verification of an audit trail: verifying is linear in the trail (about a second
/// per million events), too slow to repeat for every report or dashboard load.
struct ChainCheck {
    dir: std::path::PathBuf,
    last_seq: Option<u64>,
    at: std::time::Instant,
    passed: bool,
    detail: String,
}

static CHAIN_CHECK: std::sync::Mutex<Option<ChainCheck>> = std::sync::Mutex::new(None);

/// Verifies the trail, or reuses a verification of the same trail at the same length made in
/// the last [`CHAIN_CHECK_TTL`]; a failed verification is never reused.
/// What the report says of secure updates, read from `DATA/update/` and the slot the launcher
/// started this process from. Independent facts, each a setting of its own.
#[allow(clippy::struct_excessive_bools)]
struct UpdateFacts {
    provisioned: bool,
    repository: bool,
    owner_approval: bool,
    verified_boot: bool,
    floor: Option<u64>,
}

impl UpdateFacts {
    fn read(
        data: &rampart_vault::DataDir,
        launched: Option<rampart_update::slots::SlotName>,
    ) -> UpdateFacts {
        let dir = data.file(rampart_vault::Entry::Update);
        let trust = dir.join("trust");
        let state = rampart_update::slots::Slots::new(&dir).boot_state().ok();
        // Started by the launcher: it names the slot it verified, and the boot state knows it.
        let verified_boot = launched
            .zip(state.as_ref())
            .is_some_and(|(slot, state)| state.slots.contains_key(&slot));
        UpdateFacts {
            provisioned: trust.join("root.json").is_file()
                && trust.join("release-keys.json").is_file(),
            repository: dir.join("channel.json").is_file(),
            owner_approval: trust.join("owner-root.json").is_file(),
            verified_boot,
            floor: state.map(|s| s.security_version_floor),
        }
    }
}

fn chain_check(
    audit: &rampart_audit::AuditStore,
    key: &rampart_vault::DevicePublicKey,
) -> (bool, String) {
    let last_seq = audit.status().last_seq;
    let mut cache = CHAIN_CHECK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = cache.as_ref()
        && c.passed
        && c.dir == audit.dir()
        && c.last_seq == last_seq
        && c.at.elapsed() < CHAIN_CHECK_TTL
    {
        return (
            true,
            format!("{} (verified {} s ago)", c.detail, c.at.elapsed().as_secs()),
        );
    }
    let (passed, detail) = match rampart_audit::verify(audit.dir(), key) {
        Ok(report) => (report.is_intact(), report.statement()),
        Err(e) => (false, e.to_string()),
    };
    *cache = Some(ChainCheck {
        dir: audit.dir().to_owned(),
        last_seq,
        at: std::time::Instant::now(),
        passed,
        detail: detail.clone(),
    });
    (passed, detail)
}

fn self_tests(inputs: &ReportInputs<'_>) -> Vec<SelfTest> {
    let mut tests = Vec::new();
    let mut add = |id: &str, passed: bool, detail: String| {
        tests.push(SelfTest {
            id: id.to_owned(),
            passed,
            detail: Some(detail),
        });
    };
    match inputs.data.device_key() {
        Ok(key) => {
            let public = key.public_key();
            add(
                "device_key.present",
                true,
                format!(
                    "device key {} ({}, held in {})",
                    public.to_hex(),
                    public.algorithm().as_str(),
                    key.held().as_str()
                ),
            );
            // The key signs now (a TPM-held key: the TPM answers), and its signature verifies.
            let probe = b"rampart-self-test/v1/device-key";
            match key.sign(probe) {
                Ok(signature) if public.verify(probe, &signature) => {
                    add("device_key.signs", true, "signed and verified".to_owned());
                }
                Ok(_) => add(
                    "device_key.signs",
                    false,
                    "the signature does not verify".to_owned(),
                ),
                Err(e) => add("device_key.signs", false, e.to_string()),
            }
            let (passed, detail) = chain_check(inputs.audit, &public);
            add("audit.chain_intact", passed, detail);
        }
        Err(e) => {
            add("device_key.present", false, e.to_string());
            add("device_key.signs", false, "no device key".to_owned());
            add(
                "audit.chain_intact",
                false,
                "no device key to verify with".to_owned(),
            );
        }
    }
    let cert = inputs.management.cert.clone().unwrap_or_else(|| {
        inputs
            .data
            .file(rampart_vault::Entry::Pki)
            .join("server.crt")
    });
    add_cert_test(&mut add, &cert);
    add(
        "policy.loaded",
        !inputs.policy_sha256.is_empty() && inputs.halted.is_none(),
        format!(
            "policy {} from {}{}",
            inputs.policy_sha256,
            inputs.policy_origin,
            inputs
                .halted
                .as_ref()
                .map(|r| format!("; traffic halted (fail close): {r}"))
                .unwrap_or_default()
        ),
    );
    match &inputs.upstream {
        Some(upstream) => add(
            "upstream.reachable",
            upstream.connected > 0,
            format!(
                "{} of {} upstream connections to {} up{}",
                upstream.connected,
                upstream.configured,
                upstream.target,
                upstream
                    .last_error
                    .as_ref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ),
        ),
        None => add(
            "upstream.reachable",
            false,
            "the gateway is not running: upstream not checked".to_owned(),
        ),
    }
    tests
}

fn add_cert_test(add: &mut impl FnMut(&str, bool, String), path: &std::path::Path) {
    let id = "pki.server_certificate_valid";
    let pem = match std::fs::read(path) {
        Ok(pem) => pem,
        Err(e) => return add(id, false, format!("{}: {e}", path.display())),
    };
    let parsed = x509_parser::pem::parse_x509_pem(&pem)
        .map_err(|e| e.to_string())
        .and_then(|(_, pem)| {
            pem.parse_x509()
                .map(|cert| {
                    let validity = cert.validity();
                    (
                        validity.is_valid(),
                        validity.not_after.to_datetime().unix_timestamp(),
                    )
                })
                .map_err(|e| e.to_string())
        });
    match parsed {
        Ok((valid, not_after)) => {
            let when = jiff::Timestamp::from_second(not_after)
                .map_or_else(|_| not_after.to_string(), |t| t.to_string());
            add(id, valid, format!("{} valid until {when}", path.display()));
        }
        Err(e) => add(id, false, format!("{}: {e}", path.display())),
    }
}
