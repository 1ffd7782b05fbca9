use super::*;

fn parse(text: &str) -> Result<GatewayConfig, ConfigError> {
    GatewayConfig::parse(text, "gateway.toml", Path::new("/etc/rampart"))
}

/// Checks that `text` fails at `line` on `key` with a message containing `needle`.
fn check_error(text: &str, line: usize, key: &str, needle: &str) {
    let err = parse(text).unwrap_err();
    assert_eq!((err.line, err.key.as_str()), (line, key), "{err}");
    assert!(err.message.contains(needle), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("gateway.toml:{line}:")),
        "{err}"
    );
}

#[test]
fn the_documented_default_is_the_default() {
    assert_eq!(parse(DEFAULT_CONFIG).unwrap(), GatewayConfig::default());
    assert_eq!(parse("").unwrap(), GatewayConfig::default());
}

#[test]
fn the_management_planes_trusted_networks_and_mode_are_read() {
    let config = parse(
        "[management]\nallow = [\"0.0.0.0/0\"]\ntrusted = [\"10.1.0.0/16\", \"fd00::/8\"]\n\
         untrusted_access = \"deny\"\naccess_request_ttl_s = 120\naccess_approval_ttl_s = 900\n",
    )
    .unwrap();
    let m = &config.management;
    assert_eq!(m.trusted.prefixes(), ["10.1.0.0/16", "fd00::/8"]);
    assert!(m.trusted.allows("10.1.2.3".parse().unwrap()));
    assert!(!m.trusted.allows("127.0.0.1".parse().unwrap()));
    assert_eq!(m.untrusted_access, UntrustedAccess::Deny);
    assert_eq!(m.access_request_ttl, Duration::from_mins(2));
    assert_eq!(m.access_approval_ttl, Duration::from_mins(15));
    let default = GatewayConfig::default().management;
    assert_eq!(default.untrusted_access, UntrustedAccess::Approve);
    assert!(default.trusted.is_loopback_only());
}

#[test]
fn values_are_read_and_paths_resolved_against_the_file() {
    let config = parse(
        r#"
[secure]
listen = "0.0.0.0:802"
allow = ["192.0.2.0/24", "2001:db8::1"]
cert = "tls/server.crt"

[plain]
enabled = true
listen = "127.0.0.1:1502"
role = "viewer"

[policy]
file = "policy.toml"

[upstream]
address = "plc.example:502"
connections = 4
pipeline = 8
"#,
    )
    .unwrap();
    assert_eq!(config.secure.listen, "0.0.0.0:802".parse().unwrap());
    assert_eq!(
        config.secure.cert,
        Some(PathBuf::from("/etc/rampart/tls/server.crt"))
    );
    assert_eq!(config.plain.role.as_deref(), Some("viewer"));
    assert_eq!(
        config.policy,
        PolicySource::File(PathBuf::from("/etc/rampart/policy.toml"))
    );
    assert_eq!(
        config.upstream.target,
        UpstreamTarget::Remote("plc.example:502".into())
    );
    assert_eq!(
        (config.upstream.connections, config.upstream.pipeline),
        (4, 8)
    );
    assert!(config.secure.allow.allows("192.0.2.77".parse().unwrap()));
    assert!(config.secure.allow.allows("2001:db8::1".parse().unwrap()));
    assert!(!config.secure.allow.allows("192.0.3.1".parse().unwrap()));
    assert!(!config.secure.allow.allows("127.0.0.1".parse().unwrap()));
    assert!(config.warnings().iter().any(|w| w.contains("plain")));
}

#[test]
fn errors_name_the_line_and_the_key() {
    check_error(
        "[secure]\nlisten = \"localhost\"\n",
        2,
        "secure.listen",
        "IP address and port",
    );
    check_error(
        "[secure]\n\nallow = [\"10.0.0.0/33\"]\n",
        3,
        "secure.allow",
        "prefix length",
    );
    check_error(
        "[upstream]\nconnections = 0\n",
        2,
        "upstream.connections",
        "1..=64",
    );
    check_error(
        "[upstream]\naddress = \"plc\"\n",
        2,
        "upstream.address",
        "HOST:PORT",
    );
    check_error(
        "[limits]\nidle_timeout_s = -1\n",
        2,
        "limits.idle_timeout_s",
        "86400",
    );
    check_error(
        "[secure]\nlisen = \"127.0.0.1:1\"\n",
        2,
        "secure.lisen",
        "unknown field",
    );
    check_error("[plain]\nenabled = true\n", 2, "plain.role", "no role");
    check_error(
        "[management]\nlisten = \"127.0.0.1:8020\"\n",
        2,
        "management.listen",
        "CR 5.1",
    );
    check_error(
        "[management]\ntrusted = [\"10.0.0.0/33\"]\n",
        2,
        "management.trusted",
        "10.0.0.0/33",
    );
    check_error(
        "[management]\ntrusted = [\"10.0.0.0/8\", \"nonsense\"]\n",
        2,
        "management.trusted",
        "nonsense",
    );
    check_error(
        "[management]\nuntrusted_access = \"maybe\"\n",
        2,
        "management.untrusted_access",
        "'maybe' is not an access mode",
    );
    check_error(
        "[management]\naccess_request_ttl_s = 0\n",
        2,
        "management.access_request_ttl_s",
        "86400",
    );
    check_error(
        "[upstream]\nbackoff_min_ms = 500\nbackoff_max_ms = 100\n",
        3,
        "upstream.backoff_max_ms",
        "less than",
    );
}

#[test]
fn the_unauthenticated_budget_follows_max_connections_unless_set() {
    let config = parse("[limits]\nmax_connections = 1000\n").unwrap();
    assert_eq!(config.limits.max_unauthenticated, 250);
    let config = parse("[limits]\nmax_connections = 2\n").unwrap();
    assert_eq!(config.limits.max_unauthenticated, 1, "never zero");
    let config = parse(
        "[limits]\nmax_connections = 1000\nmax_unauthenticated = 10\n\
         max_unauthenticated_per_ip = 2\nframe_timeout_ms = 750\n\
         [audit]\nrefusal_interval_s = 60\n",
    )
    .unwrap();
    assert_eq!(config.limits.max_unauthenticated, 10);
    assert_eq!(config.limits.max_unauthenticated_per_ip, 2);
    assert_eq!(config.limits.frame_timeout, Duration::from_millis(750));
    assert_eq!(config.audit.refusal_interval, Duration::from_mins(1));
    check_error(
        "[limits]\nmax_unauthenticated = 0\n",
        2,
        "limits.max_unauthenticated",
        "1..=100000",
    );
    check_error(
        "[limits]\nframe_timeout_ms = 0\n",
        2,
        "limits.frame_timeout_ms",
        "3600000",
    );
}

#[test]
fn unspecified_addresses_conflict_with_every_address_of_their_port() {
    let mut config = GatewayConfig::default();
    config.management.listen = "0.0.0.0:8020".parse().unwrap();
    let problem = config.validate().unwrap_err();
    assert_eq!(problem.key, "management.listen");
}

#[test]
fn allow_lists_match_prefixes_and_mapped_addresses() {
    let list = AllowList::parse(&["10.1.0.0/16", "::1"]).unwrap();
    assert!(list.allows("10.1.200.3".parse().unwrap()));
    assert!(list.allows("::ffff:10.1.0.1".parse().unwrap()));
    assert!(!list.allows("10.2.0.1".parse().unwrap()));
    assert!(list.allows("::1".parse().unwrap()));
    assert!(AllowList::any().allows("203.0.113.9".parse().unwrap()));
    assert!(
        !AllowList::parse::<&str>(&[])
            .unwrap()
            .allows("127.0.0.1".parse().unwrap())
    );
    assert!(AllowList::loopback().is_loopback_only());
    assert_eq!(AllowList::loopback().to_string(), "127.0.0.0/8, ::1/128");
}

#[test]
fn the_hardening_level_is_one_switch_from_1_to_4() {
    assert_eq!(GatewayConfig::default().hardening.get(), 1);
    let config = parse("[hardening]\nlevel = 2\n").unwrap();
    assert_eq!(config.hardening, rampart_identity::HardeningLevel::SL2);
    check_error("[hardening]\nlevel = 5\n", 2, "hardening.level", "1 to 4");
    check_error("[hardening]\nlevel = 0\n", 2, "hardening.level", "1 to 4");
    check_error("[hardening]\nlevel = -1\n", 2, "hardening.level", "1 to 4");
    check_error(
        "[hardening]\nlevl = 2\n",
        2,
        "hardening.levl",
        "unknown field",
    );
}

#[test]
fn the_kek_provider_is_file_by_default_and_tpm_is_refused_without_support() {
    use rampart_vault::at_rest::KekConfig;
    assert_eq!(GatewayConfig::default().vault.kek, KekConfig::Recorded);
    let config =
        parse("[vault]\nkek_provider = \"file\"\nkek_file = \"kek/rampart.kek\"\n").unwrap();
    assert_eq!(
        config.vault.kek,
        KekConfig::File {
            path: Some(Path::new("/etc/rampart/kek/rampart.kek").to_owned())
        }
    );
    let config = parse("[vault]\nkek_provider = \"file\"\n").unwrap();
    assert_eq!(config.vault.kek, KekConfig::File { path: None });
    if rampart_vault::at_rest::TPM_BUILT {
        let config = parse(
            "[vault]\nkek_provider = \"tpm\"\ntpm_tcti = \"swtpm:host=127.0.0.1,port=2321\"\n\
             tpm_pcrs = [16]\n",
        )
        .unwrap();
        assert_eq!(
            config.vault.kek,
            KekConfig::Tpm(rampart_vault::at_rest::TpmConfig {
                tcti: Some("swtpm:host=127.0.0.1,port=2321".into()),
                pcrs: Some(vec![16]),
            })
        );
        check_error(
            "[vault]\nkek_provider = \"tpm\"\ntpm_pcrs = [24]\n",
            2,
            "vault.kek_provider",
            "PCR 24",
        );
    } else {
        check_error(
            "[vault]\nkek_provider = \"tpm\"\n",
            2,
            "vault.kek_provider",
            "tpm: not built",
        );
    }
    check_error(
        "[vault]\ntpm_tcti = \"device:/dev/tpmrm0\"\n",
        1,
        "vault.kek_provider",
        "only for kek_provider = \"tpm\"",
    );
    check_error(
        "[vault]\nkek_provider = \"hsm\"\n",
        2,
        "vault.kek_provider",
        "\"file\" or \"tpm\"",
    );
    check_error("[vault]\nkek = 1\n", 2, "vault.kek", "unknown field");
}

#[test]
fn the_tls_key_is_where_the_directory_holds_it_unless_chosen_and_tpm_needs_a_tpm_kek() {
    use rampart_vault::pki::ServerKeyStore;
    assert_eq!(
        GatewayConfig::default().vault.tls_key,
        ServerKeyStore::Recorded
    );
    let config = parse("[vault]\ntls_key = \"file\"\n").unwrap();
    assert_eq!(config.vault.tls_key, ServerKeyStore::File);
    check_error(
        "[vault]\ntls_key = \"tpm\"\n",
        2,
        "vault.tls_key",
        "needs kek_provider = \"tpm\"",
    );
    check_error(
        "[vault]\nkek_provider = \"file\"\ntls_key = \"hsm\"\n",
        3,
        "vault.tls_key",
        "\"file\" or \"tpm\"",
    );
    if rampart_vault::at_rest::TPM_BUILT {
        let config = parse("[vault]\nkek_provider = \"tpm\"\ntls_key = \"tpm\"\n").unwrap();
        assert_eq!(config.vault.tls_key, ServerKeyStore::Tpm);
    }
}

#[test]
fn the_device_key_is_where_the_directory_holds_it_unless_chosen_and_tpm_needs_a_tpm_kek() {
    use rampart_vault::KeyStore;
    assert_eq!(
        GatewayConfig::default().vault.device_key,
        KeyStore::Recorded
    );
    let config = parse("[vault]\ndevice_key = \"file\"\n").unwrap();
    assert_eq!(config.vault.device_key, KeyStore::File);
    check_error(
        "[vault]\ndevice_key = \"tpm\"\n",
        2,
        "vault.device_key",
        "needs kek_provider = \"tpm\"",
    );
    check_error(
        "[vault]\nkek_provider = \"file\"\ndevice_key = \"tpm2\"\n",
        3,
        "vault.device_key",
        "\"file\" or \"tpm\"",
    );
    if rampart_vault::at_rest::TPM_BUILT {
        let config = parse("[vault]\nkek_provider = \"tpm\"\ndevice_key = \"tpm\"\n").unwrap();
        assert_eq!(config.vault.device_key, KeyStore::Tpm);
        assert_eq!(
            config.vault.tls_key,
            KeyStore::Recorded,
            "independent of tls_key"
        );
    }
}

#[test]
fn password_reuse_and_lifetime_are_read_from_hardening_and_checked() {
    use std::time::Duration;
    let config = parse(
        "[hardening]\nlevel = 3\npassword_history = 8\npassword_min_lifetime_h = 48\n\
         password_max_lifetime_d = 90\n",
    )
    .unwrap();
    assert_eq!(
        config.passwords,
        crate::config::PasswordOptions {
            history: Some(8),
            min_lifetime: Some(Duration::from_hours(48)),
            max_lifetime: Some(Duration::from_hours(90 * 24)),
        }
    );
    assert_eq!(
        GatewayConfig::default().passwords,
        crate::config::PasswordOptions::default()
    );
    check_error(
        "[hardening]\npassword_history = 25\n",
        2,
        "hardening.password_history",
        "0 to 24",
    );
    check_error(
        "[hardening]\npassword_min_lifetime_h = 0\n",
        2,
        "hardening.password_min_lifetime_h",
        "not from 1",
    );
    check_error(
        "[hardening]\npassword_min_lifetime_h = 48\npassword_max_lifetime_d = 1\n",
        3,
        "hardening.password_max_lifetime_d",
        "longer than password_min_lifetime_h",
    );
}

#[test]
fn the_integrity_section_is_read_and_checked() {
    let config = parse(
        "[integrity]\nstartup_check = false\non_mismatch = \"closed\"\nrecheck_interval_s = 5\n",
    )
    .unwrap();
    assert!(!config.integrity.startup_check);
    assert_eq!(config.integrity.on_mismatch, OnMismatch::Closed);
    assert_eq!(config.integrity.recheck_interval, Duration::from_secs(5));
    check_error(
        "[integrity]\non_mismatch = \"ignore\"\n",
        2,
        "integrity.on_mismatch",
        "refuse",
    );
    check_error(
        "[integrity]\nrecheck_interval_s = 0\n",
        2,
        "integrity.recheck_interval_s",
        "1..=86400",
    );
    check_error(
        "[integrity]\nrechek = 1\n",
        2,
        "integrity.rechek",
        "unknown field",
    );
}

#[test]
fn the_tamper_section_is_read_and_checked() {
    let config = parse(
        "[tamper]\nsensors = [\"auto\", \"/sys/class/gpio/gpio17/value\"]\ninterval_s = 2\non_tamper = \"closed\"\n",
    )
    .unwrap();
    assert_eq!(
        config.tamper.sensors,
        [
            TamperSensor::Auto,
            TamperSensor::File("/sys/class/gpio/gpio17/value".into())
        ]
    );
    assert_eq!(config.tamper.interval, Duration::from_secs(2));
    assert_eq!(config.tamper.on_tamper, OnTamper::Closed);
    // None at all is a choice too.
    assert!(
        parse("[tamper]\nsensors = []\n")
            .unwrap()
            .tamper
            .sensors
            .is_empty()
    );
    check_error(
        "[tamper]\non_tamper = \"ignore\"\n",
        2,
        "tamper.on_tamper",
        "\"alert\"",
    );
    check_error(
        "[tamper]\ninterval_s = 0\n",
        2,
        "tamper.interval_s",
        "1..=86400",
    );
    check_error(
        "[tamper]\nsensors = [\"\"]\n",
        2,
        "tamper.sensors",
        "an empty sensor path",
    );
}
