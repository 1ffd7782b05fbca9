//! `rampart ids`: baselines of normal traffic for the IDS's anomaly detectors.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use hyper::Method;
use rampart_conduit::{Adaptation, LearningPeriod};
use rampart_inspect::{Inspector, Options};

use crate::api_client::{ApiClient, response_text};
use crate::output;
use crate::{BadInput, Outcome};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Learn a baseline from whole captures and save it (JSON, docs/ids.md).
    Learn(LearnArgs),
    /// Check a baseline file and summarise it.
    Show {
        /// The baseline file.
        file: PathBuf,
    },
    /// Propose a least-privilege conduit policy from a baseline, for review (each client a
    /// role allowed what it was seen doing).
    Policy {
        /// The baseline file.
        file: PathBuf,
        /// Write the policy here (replaced atomically) instead of to stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The baseline of a running gateway, through its management API.
    #[command(subcommand)]
    Live(LiveCommand),
}

/// Where the running gateway is and how to authenticate to it.
#[derive(clap::Args)]
pub(crate) struct Gateway {
    /// The gateway's management address, `https://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    pub(crate) live: String,
    /// API token; @FILE reads it from a file (keeps it out of the process list).
    #[arg(long, value_name = "TOKEN|@FILE")]
    pub(crate) token: String,
    /// The CA certificate the management plane's certificate chains to (DATA/pki/ca.crt).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: PathBuf,
}

#[derive(clap::Subcommand)]
pub(crate) enum LiveCommand {
    /// Where the IDS stands: no baseline, learning until when, or detecting.
    Status(Gateway),
    /// Start a learning window (needs policy.apply): no alert until it ends; audited.
    Start {
        #[command(flatten)]
        gateway: Gateway,
        /// How long to learn, in seconds.
        #[arg(long = "for", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
        seconds: u64,
        /// Keep adapting rates and response times after learning.
        #[arg(long)]
        adaptive: bool,
    },
    /// Drop the baseline (needs policy.apply): fixed thresholds only; audited.
    Clear(Gateway),
    /// Save the baseline learned or in force to a file (for review, or `inspect --baseline`).
    Fetch {
        #[command(flatten)]
        gateway: Gateway,
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
pub(crate) struct LearnArgs {
    /// Capture files (pcap or pcapng) of normal operation.
    #[arg(long = "pcap", value_name = "FILE", required = true, num_args = 1..)]
    pcaps: Vec<PathBuf>,
    /// Where to write the baseline (replaced atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Server ports that carry Modbus/TCP, besides 502.
    #[arg(long = "port", value_name = "N")]
    ports: Vec<u16>,
    /// Keep adapting the learned rates when the baseline is used.
    #[arg(long)]
    adaptive: bool,
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Learn(args) => learn(args),
        Command::Live(command) => live(command),
        Command::Policy { file, out } => {
            let baseline = super::inspect::read_baseline(file)?;
            let text = rampart_conduit::Learner::from_baseline(&baseline).policy_toml();
            match out {
                Some(path) => {
                    rampart_vault::write_atomic(path, text.as_bytes(), 0o644)
                        .map_err(|e| anyhow::anyhow!("writing the policy: {e}"))?;
                    eprintln!(
                        "policy for {} clients written to {}; review it (rampart policy check) before use",
                        baseline.clients.len(),
                        path.display()
                    );
                }
                None => output::print(&text)?,
            }
            Ok(Outcome::Ok)
        }
        Command::Show { file } => {
            let baseline = super::inspect::read_baseline(file)?;
            let functions: usize = baseline.clients.values().map(|c| c.functions.len()).sum();
            let mut text = format!(
                "{}: {} clients, {} servers, {} (unit, function) pairs, {} requests learned from {} to {}, window {} s, {}\n",
                file.display(),
                baseline.clients.len(),
                baseline.servers.len(),
                functions,
                baseline.requests,
                output::timestamp(baseline.learned_from_us),
                output::timestamp(baseline.learned_until_us),
                baseline.window_s,
                baseline.adaptation,
            );
            for (name, client) in &baseline.clients {
                let units: std::collections::BTreeSet<u8> =
                    client.functions.iter().map(|f| f.unit).collect();
                let codes: std::collections::BTreeSet<u8> =
                    client.functions.iter().map(|f| f.function).collect();
                let _ = writeln!(
                    text,
                    "  {name}: {} requests, units {units:?}, function codes {codes:?}, up to {:.0} requests per {} s",
                    client.requests, client.rate.max, baseline.window_s
                );
            }
            output::print(&text)?;
            Ok(Outcome::Ok)
        }
    }
}

fn learn(args: &LearnArgs) -> anyhow::Result<Outcome> {
    let mut options = Options::default();
    options.ports.extend(&args.ports);
    let mut inspector = Inspector::new(options, None);
    let adaptation = if args.adaptive {
        Adaptation::Adaptive
    } else {
        Adaptation::Frozen
    };
    inspector.learn_baseline(LearningPeriod::Open, adaptation);
    super::inspect::inspect_files(&mut inspector, &args.pcaps)?;
    let Some(baseline) = inspector.finish_baseline() else {
        return Err(BadInput("no baseline was learned".into()).into());
    };
    if baseline.requests == 0 {
        return Err(BadInput(
            "the captures hold no Modbus/TCP request to learn from (wrong --port?)".into(),
        )
        .into());
    }
    rampart_vault::write_atomic(&args.out, baseline.to_json().as_bytes(), 0o644)
        .map_err(|e| anyhow::anyhow!("writing the baseline: {e}"))?;
    eprintln!(
        "baseline: {} clients, {} requests learned; written to {}",
        baseline.clients.len(),
        baseline.requests,
        args.out.display()
    );
    Ok(Outcome::Ok)
}

/// The largest answer read from the IDS endpoints (a baseline file at most).
const MAX_ANSWER_BYTES: u64 = rampart_conduit::baseline::MAX_BASELINE_BYTES;

fn live(command: &LiveCommand) -> anyhow::Result<Outcome> {
    let (gateway, method, path, body, needs) = match command {
        LiveCommand::Status(gateway) => (gateway, Method::GET, "/api/v1/ids", None, "metrics.read"),
        LiveCommand::Start {
            gateway,
            seconds,
            adaptive,
        } => (
            gateway,
            Method::POST,
            "/api/v1/ids/learning",
            Some(serde_json::json!({ "duration_s": seconds, "adaptive": adaptive })),
            "policy.apply",
        ),
        LiveCommand::Clear(gateway) => (
            gateway,
            Method::DELETE,
            "/api/v1/ids/baseline",
            None,
            "policy.apply",
        ),
        LiveCommand::Fetch { gateway, .. } => (
            gateway,
            Method::GET,
            "/api/v1/ids/baseline",
            None,
            "config.view",
        ),
    };
    let client = ApiClient::new(&gateway.live, &gateway.token, &gateway.ca)?;
    let (status, answer) = client.call(&method, path, body.as_ref(), MAX_ANSWER_BYTES)?;
    if status.as_u16() == 400 {
        return Err(BadInput(format!(
            "the gateway refused the request: {}",
            String::from_utf8_lossy(&answer)
        ))
        .into());
    }
    let text = response_text(status, answer, needs).with_context(|| client.url(path))?;
    if let LiveCommand::Fetch { out, .. } = command {
        let baseline = rampart_conduit::Baseline::from_json(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", client.url(path)))?;
        rampart_vault::write_atomic(out, baseline.to_json().as_bytes(), 0o600)
            .map_err(|e| anyhow::anyhow!("writing the baseline: {e}"))?;
        eprintln!(
            "baseline: {} clients; written to {}",
            baseline.clients.len(),
            out.display()
        );
        return Ok(Outcome::Ok);
    }
    let view: serde_json::Value =
        serde_json::from_str(&text).context("the gateway's answer is not JSON")?;
    let mut line = format!("IDS: {}", view["state"].as_str().unwrap_or("?"));
    for (key, label) in [
        ("learning_until", "learning until"),
        ("learned_until", "learned until"),
        ("clients", "clients"),
        ("requests", "requests learned"),
        ("adaptation", "adaptation"),
    ] {
        match &view[key] {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => {
                let _ = write!(line, ", {label} {s}");
            }
            other => {
                let _ = write!(line, ", {label} {other}");
            }
        }
    }
    line.push('\n');
    output::print(&line)?;
    Ok(Outcome::Ok)
}
