//! `rampart ids`: baselines of normal traffic for the IDS's anomaly detectors.

use std::fmt::Write as _;
use std::path::PathBuf;

use rampart_conduit::{Adaptation, LearningPeriod};
use rampart_inspect::{Inspector, Options};

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
    for path in &args.pcaps {
        let progress = output::Progress::for_file(path);
        inspector
            .inspect_file(path, |done| progress.set(done))
            .map_err(|e| BadInput(e.to_string()))?;
        progress.finish();
    }
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
