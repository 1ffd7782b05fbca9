//! `rampart config-report`: every security-relevant setting and the self-tests (CR 7.6 RE 1,
//! CR 3.3), from the configuration and data directory, for an operator without a browser or
//! a component that is not running. The running gateway serves the same report at
//! `GET /api/v1/config-report`.

use std::path::PathBuf;

use rampart_conduit::{DEFAULT_POLICY, Policy};
use rampart_gateway::GatewayConfig;
use rampart_mgmt::{ManagementConfig, ReportInputs};

use crate::component::Component;
use crate::output::{Style, Table, colour_stdout, print};
use crate::{BadInput, Outcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Settings and self-tests as tables.
    Table,
    /// The report as JSON (the schema of `GET /api/v1/config-report`).
    Json,
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Gateway configuration (TOML); default: the embedded default.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory of the component.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Outcome> {
    let config = match &args.config {
        Some(path) => GatewayConfig::from_file(path).map_err(|e| BadInput(e.to_string()))?,
        None => GatewayConfig::default(),
    };
    if !args.data.join("LAYOUT").exists() {
        return Err(BadInput(format!(
            "--data: {} is not a Rampart data directory (start the gateway once with `rampart up`)",
            args.data.display()
        ))
        .into());
    }
    let report = report(&config, &args.data)?;
    match args.format {
        Format::Json => print(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Format::Table => {
            let style = Style::new(colour_stdout());
            let mut settings = Table::new(["setting", "value", "requirements"]);
            for s in &report.settings {
                let value = match &s.value {
                    serde_json::Value::String(text) => text.clone(),
                    serde_json::Value::Null => "-".to_owned(),
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                settings.row(vec![s.id.clone(), value, s.requirements.join(", ")]);
            }
            let mut tests = Table::new(["self-test", "result", "detail"]);
            for t in &report.self_tests {
                let result = if t.passed { "pass" } else { "FAIL" };
                tests.row(vec![
                    t.id.clone(),
                    result.to_owned(),
                    t.detail.clone().unwrap_or_default(),
                ]);
            }
            print(&format!(
                "{} {} ({}), report schema {}\n\n{}\n{}",
                report.component.product,
                report.component.version,
                report.component.component_type,
                report.schema_version,
                settings.render(style),
                tests.render(style)
            ))?;
        }
    }
    Ok(Outcome::Ok)
}

/// The config report of the component at `data` (created if absent) under `config`, as the
/// stopped component has it (`rampart docs manual` reads the defaults from a fresh one).
pub(crate) fn report(
    config: &GatewayConfig,
    data: &std::path::Path,
) -> anyhow::Result<rampart_mgmt::ConfigReport> {
    let component = Component::open(data)?;
    let identity = component.identity_at(config.hardening, &config.passwords)?;
    let policy_path = rampart_gateway::configured_policy_path(config, component.data.root());
    // The gateway writes the default policy at its first start; before that it is in force.
    let (policy, origin) = if policy_path.exists() {
        let (policy, _) =
            rampart_gateway::read_policy_file(&policy_path).map_err(|e| BadInput(e.to_string()))?;
        (policy, policy_path.display().to_string())
    } else {
        let policy = Policy::parse(DEFAULT_POLICY, "<default policy>")
            .map_err(|e| anyhow::anyhow!("the embedded default policy: {e}"))?;
        (policy, "<default policy>".to_owned())
    };
    let island =
        rampart_gateway::island_persisted(&component.data).map_err(|e| anyhow::anyhow!("{e}"))?;
    let management = ManagementConfig::from_gateway(config);
    let report = rampart_mgmt::config_report(&ReportInputs {
        gateway: config,
        management: &management,
        policy_sha256: policy.sha256_hex(),
        policy_origin: origin,
        requests_per_second: policy.limits.requests_per_second,
        island,
        halted: None,
        upstream: None,
        // Offline: no process of the gateway was started by the launcher.
        launched_slot: None,
        ids_baseline: if component
            .data
            .file(rampart_vault::Entry::IdsBaseline)
            .exists()
        {
            "detecting"
        } else {
            "none"
        },
        identity: &identity,
        audit: &component.audit,
        data: &component.data,
        // The key file's place; before the first start, the one the start will use.
        tls_key: rampart_mgmt::crypto_inventory::server_key_held(&component.data).or(Some(
            match config.vault.tls_key {
                rampart_vault::pki::ServerKeyStore::Recorded => {
                    rampart_vault::pki::ServerKeyStore::File
                }
                configured => configured,
            },
        )),
    });
    drop(identity);
    component.close()?;
    Ok(report)
}
