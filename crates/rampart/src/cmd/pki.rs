//! `rampart pki`: the client certificates of the gateway's local PKI (CR 1.2, CR 1.8, CR 2.1):
//! issue one with a Modbus/TCP Security role for an HMI or a SCADA client, list them, revoke a
//! lost one. A revocation re-signs `DATA/pki/ca.crl`; a running gateway uses it within a
//! quarter second, and its integrity check accepts the new CRL as the one this command
//! recorded (`pki.revoked` carries its digest), so no manual re-seal is needed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use rampart_audit::{Category, NewEvent, Outcome as AuditOutcome, Severity};
use rampart_gateway::GatewayConfig;
use rampart_vault::pki::{ClientSpec, Pki};

use crate::component::Component;
use crate::{BadInput, Outcome};

/// The most days a client certificate may be issued for.
const MAX_DAYS: u64 = 3650;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Issue a client certificate and key (DATA/pki/clients/NAME.{crt,key}) carrying one
    /// Modbus/TCP Security role of the policy in force.
    Issue(IssueArgs),
    /// Revoke a client certificate: it is added to the CRL (DATA/pki/ca.crl), which the
    /// running gateway applies at once.
    Revoke(RevokeArgs),
    /// The client certificates issued: name, role, serial, expiry, revoked or not.
    List(ListArgs),
}

#[derive(clap::Args)]
pub(crate) struct IssueArgs {
    /// The client's name (1-64 letters, digits, '.', '_' or '-'): its common name and file
    /// name.
    name: String,
    /// The role the certificate carries (a role of the conduit policy).
    #[arg(long, value_name = "ROLE")]
    role: String,
    /// Days of validity (1-3650; default 365).
    #[arg(long, value_name = "N", default_value_t = 365)]
    days: u64,
    /// Replace a certificate of that name (the old one stays valid until revoked).
    #[arg(long)]
    replace: bool,
    /// The gateway's configuration file, when its policy is not DATA/policy.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory of the gateway.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct RevokeArgs {
    /// The client's name (DATA/pki/clients/NAME.crt).
    #[arg(required_unless_present = "cert", conflicts_with = "cert")]
    name: Option<String>,
    /// A certificate file (PEM) this CA issued, instead of a name.
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// The data directory of the gateway.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
}

/// Output of `pki list`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ListFormat {
    /// An aligned table.
    Table,
    /// JSON: one object per certificate.
    Json,
}

#[derive(clap::Args)]
pub(crate) struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
    /// The data directory of the gateway.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Issue(args) => issue(args),
        Command::Revoke(args) => revoke(args),
        Command::List(args) => list(args),
    }
}

fn open_pki(component: &Component) -> anyhow::Result<Pki> {
    Pki::open(&component.data).map_err(|e| BadInput(format!("--data: {e}")).into())
}

/// The roles of the policy the gateway on `data` uses.
fn policy_roles(data: &Path, config: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let config = match config {
        Some(path) => GatewayConfig::from_file(path).map_err(|e| BadInput(e.to_string()))?,
        None => GatewayConfig::default(),
    };
    let path = rampart_gateway::configured_policy_path(&config, data);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| BadInput(format!("the policy {}: {e}", path.display())))?;
    let policy = rampart_conduit::Policy::parse(&text, &path.display().to_string())
        .map_err(|e| BadInput(e.to_string()))?;
    Ok(policy.roles.into_iter().map(|r| r.name).collect())
}

fn issue(args: &IssueArgs) -> anyhow::Result<Outcome> {
    if !(1..=MAX_DAYS).contains(&args.days) {
        return Err(BadInput(format!(
            "--days {}: a client certificate is valid for 1 to {MAX_DAYS} days",
            args.days
        ))
        .into());
    }
    let component = Component::open(&args.data)?;
    let roles = policy_roles(component.data.root(), args.config.as_deref())?;
    if !roles.contains(&args.role) {
        return Err(BadInput(format!(
            "--role {}: not a role of the policy (its roles: {})",
            args.role,
            roles.join(", ")
        ))
        .into());
    }
    let pki = open_pki(&component)?;
    let cert_path = pki
        .client_cert_path(&args.name)
        .map_err(|e| BadInput(e.to_string()))?;
    if cert_path.exists() && !args.replace {
        return Err(BadInput(format!(
            "a client certificate named {} exists ({}): revoke it, or issue with --replace",
            args.name,
            cert_path.display()
        ))
        .into());
    }
    let now = rampart_audit::Clock::now(&rampart_audit::SystemClock::new());
    let now =
        std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(now.as_second()).unwrap_or(0));
    let spec = ClientSpec::new(&args.name)
        .role(&args.role)
        .validity(now, now + Duration::from_secs(args.days * 86_400));
    let issued = pki
        .issue_client(&spec)
        .map_err(|e| BadInput(e.to_string()))?;
    component.record(
        NewEvent::builder(Category::AccessControl, "pki.issued", component.actor()?)
            .interface("cli")
            .target(issued.name.clone())
            .outcome(AuditOutcome::Success)
            .severity(Severity::Notice)
            .details(serde_json::json!({
                "role": args.role,
                "serial": issued.serial_hex,
                "not_after": jiff::Timestamp::try_from(issued.not_after).map(|t| t.to_string()).ok(),
                "certificate": issued.cert_path.display().to_string(),
            }))
            .build()?,
    )?;
    println!(
        "issued {} (role {}, serial {}, valid {} days)\n  certificate {}\n  key         {} (mode 0600; hand it to the client over a protected channel)",
        issued.name,
        args.role,
        issued.serial_hex,
        args.days,
        issued.cert_path.display(),
        issued.key_path.display()
    );
    component.close()?;
    Ok(Outcome::Ok)
}

fn revoke(args: &RevokeArgs) -> anyhow::Result<Outcome> {
    let component = Component::open(&args.data)?;
    let pki = open_pki(&component)?;
    let path = match (&args.name, &args.cert) {
        (_, Some(cert)) => cert.clone(),
        (Some(name), None) => pki
            .client_cert_path(name)
            .map_err(|e| BadInput(e.to_string()))?,
        (None, None) => return Err(BadInput("name a client or --cert FILE".to_owned()).into()),
    };
    if !path.exists() {
        return Err(BadInput(format!("no certificate at {}", path.display())).into());
    }
    let revocation = pki
        .revoke_file(&path)
        .map_err(|e| BadInput(e.to_string()))?;
    let crl_sha256 = rampart_vault::crypto::sha256_hex(
        std::fs::read(pki.crl_path()).context("reading the CRL just written")?,
    );
    component.record(
        NewEvent::builder(Category::AccessControl, "pki.revoked", component.actor()?)
            .interface("cli")
            .target(revocation.subject.clone())
            .outcome(AuditOutcome::Success)
            .severity(Severity::Warning)
            .details(serde_json::json!({
                "serial": revocation.serial_hex,
                "certificate": path.display().to_string(),
                "already_revoked": revocation.already_revoked,
                "crl_number": revocation.crl_number,
                "crl_sha256": crl_sha256,
            }))
            .build()?,
    )?;
    if revocation.already_revoked {
        println!(
            "{} (serial {}) was already revoked; CRL number {} unchanged",
            revocation.subject, revocation.serial_hex, revocation.crl_number
        );
    } else {
        println!(
            "revoked {} (serial {}): CRL number {} at {}; a running gateway refuses the \
             certificate from now on",
            revocation.subject,
            revocation.serial_hex,
            revocation.crl_number,
            pki.crl_path().display()
        );
    }
    component.close()?;
    Ok(Outcome::Ok)
}

fn list(args: &ListArgs) -> anyhow::Result<Outcome> {
    let component = Component::open(&args.data)?;
    let pki = open_pki(&component)?;
    let clients = pki
        .clients()
        .map_err(|e| BadInput(format!("--data: {e}")))?;
    component.close()?;
    let rows: Vec<(String, String, String, String, bool)> = clients
        .iter()
        .map(|c| {
            let role = match rampart_identity::x509::role_from_der(&c.der) {
                Ok(Some(role)) => role.to_string(),
                Ok(None) => "(none)".to_owned(),
                Err(e) => format!("(unreadable: {e})"),
            };
            let not_after = jiff::Timestamp::try_from(c.not_after)
                .map_or_else(|_| "?".to_owned(), |t| t.to_string());
            (
                c.name.clone(),
                role,
                c.serial_hex.clone(),
                not_after,
                c.revoked,
            )
        })
        .collect();
    match args.format {
        ListFormat::Json => {
            let json: Vec<serde_json::Value> = rows
                .iter()
                .map(|(name, role, serial, not_after, revoked)| {
                    serde_json::json!({
                        "name": name,
                        "role": role,
                        "serial": serial,
                        "not_after": not_after,
                        "revoked": revoked,
                    })
                })
                .collect();
            crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
        }
        ListFormat::Table => {
            let mut table =
                crate::output::Table::new(["NAME", "ROLE", "SERIAL", "NOT AFTER", "STATUS"]);
            for (name, role, serial, not_after, revoked) in rows {
                table.row(vec![
                    name,
                    role,
                    serial,
                    not_after,
                    if revoked { "revoked" } else { "valid" }.to_owned(),
                ]);
            }
            crate::output::print(&format!(
                "{}\n",
                table
                    .render(crate::output::Style::new(crate::output::colour_stdout()))
                    .trim_end()
            ))?;
        }
    }
    Ok(Outcome::Ok)
}
