//! `rampart probe`: active conformance probes of live components over the network, as
//! evidence for `rampart assess --evidence`.
//!
//! The checks, their bounds and the evidence format are `rampart-probe`'s; this module parses
//! the arguments, reads the clock, runs the plan on a runtime, writes the evidence and
//! prints the chosen rendering.

use std::path::PathBuf;

use anyhow::Context as _;
use rampart_probe::robustness::StormSettings;
use rampart_probe::{
    ClientIdentity, EssentialFunction, LoginAccount, Plan, RobustnessOptions, Target,
};

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
    /// The essential function the storms are watched by: a register read through this
    /// Modbus target (modbus://, or modbus-tls:// with --client-cert). Default: the first
    /// such target named.
    #[arg(long, value_name = "TARGET", value_parser = parse_target)]
    monitor: Option<Target>,
    /// The holding register the monitor reads every 100 ms, as ADDRESS or UNIT/ADDRESS
    /// (FC 3; default 1/0: unit 1, register 0).
    #[arg(long, value_name = "[UNIT/]ADDRESS", value_parser = parse_register, default_value = "1/0")]
    monitor_register: (u8, u16),
    /// The monitor's own client certificate (PEM) over Modbus/TCP Security, when the
    /// essential function's client is another identity than --client-cert's (the storms').
    #[arg(long, value_name = "FILE", requires = "monitor_key")]
    monitor_cert: Option<PathBuf>,
    /// The key of --monitor-cert (PEM, mode 0600).
    #[arg(long, value_name = "FILE", requires = "monitor_cert")]
    monitor_key: Option<PathBuf>,
    /// Send the storms from this local address (e.g. 127.0.0.2 on loopback, or the interface
    /// facing the target), so the target's per-source limits see them apart from the monitor.
    #[arg(long, value_name = "IP")]
    storm_from: Option<std::net::IpAddr>,
    /// Spoof the SYN flood's sources: each segment from a random address of this IPv4
    /// network (A.B.C.D/N, /8 to /32), which must be addresses that never answer (unused, or
    /// routed nowhere), so the target's half-open connections pile up. Needs --intrusive and
    /// storm-syn-flood.
    #[arg(long, value_name = "CIDR", requires = "intrusive", value_parser = parse_spoof)]
    storm_spoof: Option<rampart_probe::SpoofedSources>,
    /// How long each storm lasts, in seconds (1-60; default 10). The storm checks' bounds
    /// follow it. Needs --intrusive.
    #[arg(long, value_name = "SECONDS", requires = "intrusive")]
    storm_duration: Option<u64>,
    /// The rate of one storm check, CHECK=N (repeatable), e.g. storm-connections=200: N
    /// counts what the check sends (see docs/probe.md), from 1 to 10 times its default.
    /// Needs --intrusive.
    #[arg(long, value_name = "CHECK=N", requires = "intrusive")]
    storm_rate: Vec<String>,
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
    /// A file holding the password of --login-account (one line): https-lockout then logs in
    /// with it before and after --lockout-max wrong passwords, so it decides the lockout of a
    /// target that answers a locked account like a wrong password. Sent only to the target.
    #[arg(long, value_name = "FILE", requires = "login_account")]
    login_password_file: Option<PathBuf>,
    /// The OpenAPI 3 document (JSON) of the https:// targets, for targets that serve none
    /// without credentials (as the maker hands it to an assessor): the login checks log in
    /// through the JSON login operations it declares (and https-lockout checks that the lock
    /// holds on each), and https-anonymous-api asks for its protected GET routes too.
    #[arg(long, value_name = "FILE")]
    openapi: Option<PathBuf>,
    /// The profile of the component probed (as for `rampart assess`): after probing, it is
    /// assessed with the evidence just gathered — contradicted claims are warned about, and
    /// the SL-C it reaches is printed (on stderr unless --format table). Exit 1 when the
    /// assessment fails too.
    #[arg(long, value_name = "PROFILE.toml")]
    profile: Option<PathBuf>,
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

/// The first line of `path`, without its line ending: the throw-away account's password.
fn read_password(path: &std::path::Path) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let text = zeroize::Zeroizing::new(
        rampart_vault::read_capped_text(path, 4096)
            .map_err(|e| BadInput(format!("--login-password-file: {}: {e}", path.display())))?,
    );
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(BadInput(format!(
            "--login-password-file: {} holds no password on its first line",
            path.display()
        ))
        .into());
    }
    Ok(zeroize::Zeroizing::new(line.to_owned()))
}

/// `ADDRESS` or `UNIT/ADDRESS`: unit 0–255 (default 1), address 0–65535.
/// The `--openapi` file, read up to one byte past the limit (a larger one is refused by the
/// plan, without reading it all).
fn read_openapi(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .map_err(|e| BadInput(format!("--openapi: {}: {e}", path.display())))?;
    let mut document = Vec::new();
    file.take(rampart_probe::MAX_OPENAPI_BYTES as u64 + 1)
        .read_to_end(&mut document)
        .map_err(|e| BadInput(format!("--openapi: {}: {e}", path.display())))?;
    Ok(document)
}

fn parse_spoof(text: &str) -> Result<rampart_probe::SpoofedSources, String> {
    rampart_probe::SpoofedSources::parse(text)
}

fn parse_register(text: &str) -> Result<(u8, u16), String> {
    let (unit, address) = text.split_once('/').unwrap_or(("1", text));
    let unit = unit
        .trim()
        .parse::<u8>()
        .map_err(|_| format!("'{unit}' is not a unit id (0-255) in '{text}'"))?;
    let address = address
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("'{address}' is not a register address (0-65535) in '{text}'"))?;
    Ok((unit, address))
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Outcome> {
    // A profile that cannot be read is bad input before anything is contacted.
    let profile = args
        .profile
        .as_deref()
        .map(crate::cmd::assess::read_profile)
        .transpose()?;
    let identity = match (&args.client_cert, &args.client_key) {
        (Some(cert), Some(key)) => {
            Some(ClientIdentity::from_files(cert, key).map_err(|e| BadInput(e.to_string()))?)
        }
        _ => None,
    };
    let monitor_identity = match (&args.monitor_cert, &args.monitor_key) {
        (Some(cert), Some(key)) => {
            Some(ClientIdentity::from_files(cert, key).map_err(|e| BadInput(e.to_string()))?)
        }
        _ => None,
    };
    let (unit, address) = args.monitor_register;
    let monitor = match &args.monitor {
        Some(target) => Some(EssentialFunction {
            target: target.clone(),
            unit,
            address,
        }),
        None => EssentialFunction::default_for(
            &args.targets,
            identity.is_some() || monitor_identity.is_some(),
        )
        .map(|f| EssentialFunction { unit, address, ..f }),
    };
    let plan = Plan::with_robustness(
        args.targets.clone(),
        args.checks.as_deref(),
        args.intrusive,
        identity,
        RobustnessOptions {
            monitor,
            monitor_identity,
            storm_from: args.storm_from,
            spoof: args.storm_spoof,
            duration: args
                .storm_duration
                .map(StormSettings::duration)
                .transpose()
                .map_err(|e| BadInput(format!("--storm-duration: {e}")))?,
            rates: args
                .storm_rate
                .iter()
                .map(|r| StormSettings::rate(r))
                .collect::<Result<_, _>>()
                .map_err(|e| BadInput(format!("--storm-rate: {e}")))?,
        },
    )
    .map_err(|e| BadInput(e.to_string()))?;
    let plan = if let Some(name) = &args.login_account {
        let mut account =
            LoginAccount::new(name, args.lockout_max).map_err(|e| BadInput(e.to_string()))?;
        if let Some(path) = &args.login_password_file {
            account = account.with_password(read_password(path)?);
        }
        plan.with_login_account(account)
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
    if args.storm_spoof.is_some() && !plan.runs().any(|(_, spec)| spec.id == "storm-syn-flood") {
        return Err(BadInput(
            "--storm-spoof spoofs the sources of storm-syn-flood, which is not selected".to_owned(),
        )
        .into());
    }
    let plan = match &args.openapi {
        Some(path) => {
            let document = read_openapi(path)?;
            plan.with_openapi_document(&document)
                .map_err(|e| BadInput(format!("{e} ({})", path.display())))?
        }
        None => plan,
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
    // Whatever the format: say what will change or load the target before it happens.
    for (target, spec) in plan.runs().filter(|(_, spec)| spec.intrusive) {
        // A storm's summary gives its default load; say this run's too.
        let load = plan
            .robustness()
            .storm_load(spec.id)
            .map(|load| format!(" This run: {load}."))
            .unwrap_or_default();
        eprintln!(
            "intrusive: {} against {target}: {}{load}",
            spec.id, spec.summary
        );
    }
    if let Some(function) = &plan.robustness().monitor
        && plan.runs().any(|(_, spec)| spec.is_storm())
    {
        eprintln!("essential function watched by the storms: {function}");
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
    let mut passed = !evidence.any_not_met();
    if let Some(profile) = &profile {
        let (report, assessment_passed) =
            crate::cmd::assess::with_probe_evidence(profile, &evidence)?;
        passed &= assessment_passed;
        if args.format == Format::Table {
            output::print(&format!("\n{report}")).context("writing to stdout")?;
        } else {
            // stdout holds the chosen machine-readable document only.
            eprint!("\n{report}");
        }
    }
    Ok(if passed {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}
