//! `rampart inspect`: decode, police and watch Modbus/TCP traffic in captures.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use rampart_conduit::{Adaptation, CompiledPolicy, LearningPeriod, LearningState};
use rampart_inspect::{Inspector, Options, Report};

use crate::output::{self, Style, Table};
use crate::{BadInput, Outcome};

/// Output formats of `rampart inspect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Totals, alerts and denied requests, for people.
    Table,
    /// `{"totals": …, "alerts": […], "frames": […]}` with one record per PDU.
    Json,
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Capture files (pcap or pcapng).
    #[arg(long = "pcap", value_name = "FILE", required = true, num_args = 1..)]
    pcaps: Vec<PathBuf>,
    /// Apply this conduit policy to every request.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The role every client gets under --policy (default: a client whose address names a
    /// learned role, `client-10-0-0-5`, gets it; others the NULL role).
    #[arg(long, value_name = "ROLE", requires = "policy")]
    role: Option<String>,
    /// Server ports that carry Modbus/TCP, besides 502.
    #[arg(long = "port", value_name = "N")]
    ports: Vec<u16>,
    /// Learn a baseline of normal traffic from the first SECONDS of capture time (no alert
    /// is raised meanwhile), then detect anomalies on it (see docs/ids.md).
    #[arg(long, value_name = "SECONDS", conflicts_with = "baseline", value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    learn_for: Option<u64>,
    /// Detect anomalies on a baseline saved by `rampart ids learn`.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// With --learn-for: keep adapting the learned rates after the learning period.
    #[arg(long, requires = "learn_for")]
    adaptive: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Feeds every capture to `inspector`, with a progress bar on a terminal; an unreadable
/// capture is bad input.
pub(crate) fn inspect_files(inspector: &mut Inspector, pcaps: &[PathBuf]) -> anyhow::Result<()> {
    for path in pcaps {
        let progress = output::Progress::for_file(path);
        inspector
            .inspect_file(path, |done| progress.set(done))
            .map_err(|e| BadInput(e.to_string()))?;
        progress.finish();
    }
    Ok(())
}

/// Reads and checks a baseline file; errors name the file.
pub(crate) fn read_baseline(path: &std::path::Path) -> anyhow::Result<rampart_conduit::Baseline> {
    let text = rampart_vault::read_capped_text(path, rampart_conduit::baseline::MAX_BASELINE_BYTES)
        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    rampart_conduit::Baseline::from_json(&text)
        .map_err(|e| BadInput(format!("{}: {e}", path.display())).into())
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Outcome> {
    let policy = match &args.policy {
        Some(path) => Some(CompiledPolicy::compile(
            rampart_gateway::read_policy_file(path)
                .map(|(policy, _)| policy)
                .map_err(|e| BadInput(e.to_string()))?,
        )),
        None => None,
    };
    let mut options = Options {
        collect_frames: args.format == Format::Json,
        role: args.role.clone(),
        ..Options::default()
    };
    options.ports.extend(&args.ports);
    let mut inspector = Inspector::new(options, policy);
    if let Some(seconds) = args.learn_for {
        let adaptation = if args.adaptive {
            Adaptation::Adaptive
        } else {
            Adaptation::Frozen
        };
        inspector.learn_baseline(LearningPeriod::For(seconds * 1_000_000), adaptation);
    }
    if let Some(path) = &args.baseline {
        inspector.use_baseline(read_baseline(path)?);
    }
    inspect_files(&mut inspector, &args.pcaps)?;
    let (report, _) = inspector.finish();
    let text = match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            text
        }
        Format::Table => table(&report, Style::new(output::colour_stdout())),
    };
    output::print(&text).context("writing to stdout")?;
    Ok(if report.totals.denied > 0 || report.totals.alerts > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}

fn table(report: &Report, style: Style) -> String {
    let t = &report.totals;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{} packets, {} flows, {} bytes of Modbus/TCP{}",
        style.bold, t.packets, t.flows, t.bytes, style.reset
    );
    let _ = writeln!(
        out,
        "requests {}  responses {} (exceptions {})  malformed {}  denied {}  alerts {}  gaps {}",
        t.requests, t.responses, t.exceptions, t.malformed, t.denied, t.alerts, t.gaps
    );
    match &report.baseline {
        LearningState::None => {}
        LearningState::Learning {
            clients, requests, ..
        } => {
            let _ = writeln!(
                out,
                "baseline: still learning at the end of the capture ({clients} clients, {requests} requests); no alert was raised"
            );
        }
        LearningState::Detecting {
            learned_until_us,
            clients,
            adaptation,
        } => {
            let _ = writeln!(
                out,
                "baseline: {clients} clients, {adaptation}, learned until {}; anomalies detected after that",
                output::timestamp(*learned_until_us)
            );
        }
    }
    if !report.alerts.is_empty() {
        let _ = writeln!(out, "\n{}Alerts{}", style.bold, style.reset);
        let mut table = Table::new(["TIME", "CLIENT", "SEVERITY", "DETECTOR", "ATT&CK", "WHAT"]);
        for alert in &report.alerts {
            table.row(vec![
                output::timestamp(alert.time_us),
                alert.client.clone(),
                alert.severity.to_string(),
                alert.detector.to_string(),
                alert.technique.id.to_owned(),
                match (alert.count, &alert.baseline) {
                    (1, None) => alert.explanation.clone(),
                    (1, Some(baseline)) => format!("{} [baseline: {baseline}]", alert.explanation),
                    (n, None) => format!("{} (×{n})", alert.explanation),
                    (n, Some(baseline)) => {
                        format!("{} (×{n}) [baseline: {baseline}]", alert.explanation)
                    }
                },
            ]);
        }
        out.push_str(&table.render(style));
        if t.alerts > report.alerts.len() as u64 {
            let _ = writeln!(
                out,
                "… and {} more alerts (see --format json)",
                t.alerts - report.alerts.len() as u64
            );
        }
    }
    out
}
