//! `rampart policy check|learn`: validate and lint a conduit policy; learn one from captures.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use rampart_conduit::{Level, Policy};
use rampart_inspect::{Inspector, Options};

use crate::output;
use crate::{BadInput, Outcome};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Validate a policy file and lint it: errors with line and key, then findings.
    ///
    /// Exit 0 when it loads with no warnings, 1 with warnings (shadowed or unreachable
    /// rules, write access to everything), 2 when it does not load.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Learn a least-privilege policy from captured traffic: each client address becomes a
    /// role allowed exactly what it was seen doing.
    Learn {
        /// Capture files (pcap or pcapng).
        #[arg(long = "pcap", value_name = "FILE", required = true, num_args = 1..)]
        pcaps: Vec<PathBuf>,
        /// Write the policy here (atomically) instead of to stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Server ports that carry Modbus/TCP, besides 502.
        #[arg(long = "port", value_name = "N")]
        ports: Vec<u16>,
    },
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Check { file } => check(file),
        Command::Learn { pcaps, out, ports } => learn(pcaps, out.as_deref(), ports),
    }
}

fn check(file: &std::path::Path) -> anyhow::Result<Outcome> {
    let policy = rampart_gateway::read_policy_file(file)
        .map(|(policy, _)| policy)
        .map_err(|e| BadInput(e.to_string()))?;
    let findings = rampart_conduit::lint(&policy);
    let mut text = String::new();
    let rules: usize =
        policy.roles.iter().map(|r| r.rules.len()).sum::<usize>() + policy.null_role.len();
    let _ = writeln!(
        text,
        "{}: ok: {} roles, {} rules, sha256 {}",
        file.display(),
        policy.roles.len(),
        rules,
        policy.sha256_hex()
    );
    for finding in &findings {
        let _ = writeln!(text, "{}:{finding}", file.display());
    }
    let warnings = findings
        .iter()
        .filter(|f| f.level == Level::Warning)
        .count();
    if !findings.is_empty() {
        let _ = writeln!(
            text,
            "{} findings ({warnings} warnings, {} notes)",
            findings.len(),
            findings.len() - warnings
        );
    }
    output::print(&text).context("writing to stdout")?;
    Ok(if warnings > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}

fn learn(
    pcaps: &[PathBuf],
    out: Option<&std::path::Path>,
    ports: &[u16],
) -> anyhow::Result<Outcome> {
    let mut options = Options::default();
    options.ports.extend(ports);
    let mut inspector = Inspector::new(options, None);
    inspector.learn();
    super::inspect::inspect_files(&mut inspector, pcaps)?;
    let (_, learner) = inspector.finish();
    let learner = learner.context("learning was switched on")?;
    if learner.requests() == 0 {
        let files: Vec<String> = pcaps.iter().map(|p| p.display().to_string()).collect();
        let ports: Vec<String> = std::iter::once(502)
            .chain(ports.iter().copied())
            .map(|p| p.to_string())
            .collect();
        return Err(BadInput(format!(
            "no Modbus/TCP requests found in {} (ports: {})",
            files.join(", "),
            ports.join(", ")
        ))
        .into());
    }
    let policy = learner.policy_toml();
    // What the learner writes must load; anything else is a bug to report, not to save.
    Policy::parse(&policy, "learned policy").context("the learned policy does not load")?;
    if let Some(path) = out {
        rampart_vault::write_atomic(path, policy.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", path.display()))?;
        output::print(&learner.report()).context("writing to stdout")?;
        eprintln!("policy written to {}", path.display());
    } else {
        eprint!("{}", learner.report());
        output::print(&policy).context("writing to stdout")?;
    }
    Ok(Outcome::Ok)
}
