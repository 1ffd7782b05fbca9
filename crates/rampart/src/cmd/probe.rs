//! `rampart probe`: active conformance probes of live components over the network, as
//! evidence for `rampart assess --evidence`.
//!
//! The checks, their bounds and the evidence format are `rampart-probe`'s; this module parses
//! the arguments, reads the clock, runs the plan on a runtime, writes the evidence and
//! prints the chosen rendering.

use std::path::PathBuf;

use anyhow::Context as _;
use rampart_probe::{ClientIdentity, LoginAccount, Plan, Target};

use crate::output;
use crate::{BadInput, Outcome};

/// Output formats of `rampart probe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line per check and target, for a terminal.
    Table,
    /// The evidence document (the same as --out writes).
    Json,
    /// SARIF 2.1.0: one result per check and target, each with its requirement ids.
    Sarif,
    /// JUnit XML: a test suite per target, a test case per check (not met: a failure).
    Junit,
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// What to probe: modbus-tls://HOST:PORT, modbus://HOST:PORT, https://HOST:PORT or
    /// tls://HOST:PORT. Only these are contacted.
    #[arg(value_name = "TARGET", required = true, value_parser = parse_target)]
    targets: Vec<Target>,
    /// Run only these checks (comma-separated ids; docs/probe.md lists them). Default: every
    /// read-only check that applies to each target.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    checks: Option<Vec<String>>,
    /// Allow intrusive checks (a write to the target, restored; failed logins that lock
    /// --login-account). Without it they are refused.
    #[arg(long)]
    intrusive: bool,
    /// Client certificate (PEM) for Modbus/TCP Security sessions: with it, the Modbus checks
    /// also run against modbus-tls:// targets with its role (e.g. DATA/pki/clients/viewer.crt).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The key of --client-cert (PEM, mode 0600).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// A throw-away account of the https:// targets for the intrusive login checks: its
    /// failed login is compared with a non-existent user's (https-authenticator-feedback) and
    /// https-lockout sends it wrong passwords until it locks — it LOCKS the account. The
    /// probe never needs its password. Needs --intrusive.
    #[arg(long, value_name = "NAME", requires = "intrusive")]
    login_account: Option<String>,
    /// The most failed logins after which --login-account must be locked for https-lockout to
    /// be met (1-20).
    #[arg(long, value_name = "N", default_value_t = rampart_probe::DEFAULT_LOCKOUT_MAX, requires = "login_account")]
    lockout_max: u32,
    /// Write the evidence (JSON, schemas/probe/evidence.schema.json) to FILE, for
    /// `rampart assess PROFILE --evidence FILE`.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn parse_target(text: &str) -> Result<Target, rampart_probe::TargetError> {
    text.parse()
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Outcome> {
    let identity = match (&args.client_cert, &args.client_key) {
        (Some(cert), Some(key)) => {
            Some(ClientIdentity::from_files(cert, key).map_err(|e| BadInput(e.to_string()))?)
        }
        _ => None,
    };
    let plan = Plan::with_identity(
        args.targets.clone(),
        args.checks.as_deref(),
        args.intrusive,
        identity,
    )
    .map_err(|e| BadInput(e.to_string()))?;
    let plan = if let Some(name) = &args.login_account {
        plan.with_login_account(
            LoginAccount::new(name, args.lockout_max).map_err(|e| BadInput(e.to_string()))?,
        )
    } else if args
        .checks
        .iter()
        .flatten()
        .any(|c| c.trim() == "https-lockout")
    {
        return Err(BadInput(
            "'https-lockout' needs a throw-away account of the target: --login-account NAME"
                .to_owned(),
        )
        .into());
    } else {
        plan
    };
    if args.format == Format::Table {
        eprintln!(
            "probing {} target(s): {} check run(s), at most {} s{}",
            plan.targets().len(),
            plan.runs().count(),
            plan.bound().as_secs(),
            if args.intrusive {
                " (intrusive checks allowed)"
            } else {
                ""
            }
        );
    }
    let now = rampart_audit::Clock::now(&rampart_audit::SystemClock::new());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let evidence = runtime.block_on(plan.run(now));
    if let Some(path) = &args.out {
        rampart_vault::write_atomic(path, evidence.to_json().as_bytes(), 0o644)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let text = match args.format {
        Format::Table => rampart_probe::report::table(&evidence),
        Format::Json => evidence.to_json(),
        Format::Sarif => rampart_probe::report::sarif_text(&evidence),
        Format::Junit => rampart_probe::report::junit(&evidence),
    };
    output::print(&text).context("writing to stdout")?;
    Ok(if evidence.any_not_met() {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}
