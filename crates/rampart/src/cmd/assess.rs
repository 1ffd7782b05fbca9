//! `rampart assess`: assess a component profile against IEC 62443-4-2 and report SL-C, the
//! gap to SL-T and the evidence; `rampart assess diff` compares two JSON reports.
//!
//! The domain logic is in `rampart-assess`; this module reads files, fetches a gateway's
//! config report for `--live` (through `crate::api_client`), reads probe evidence for
//! `--evidence` (`rampart-probe` turns it into the same live findings), picks
//! the time, and writes the chosen report.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_assess::live::{ConfigReport, LiveChecks, LiveEvaluation, ReportComponent};
use rampart_assess::report::{self, oscal::Document};
use rampart_assess::test_results::TestResults;
use rampart_assess::{Assessment, Options, Profile, SlVector, Waivers};
use rampart_catalog::Catalog;

use crate::api_client::{ApiClient, response_text};
use crate::output;
use crate::{BadInput, Outcome};

/// The largest config report read from a gateway.
const MAX_REPORT_BYTES: u64 = 4 << 20;
/// The largest probe evidence file read.
const MAX_EVIDENCE_BYTES: u64 = 16 << 20;
/// The largest JSON report `diff` reads.
const MAX_DIFF_INPUT_BYTES: u64 = 64 << 20;

/// Output formats of `rampart assess`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// SL-T against SL-C per FR, the gaps and the verdict, for a terminal.
    Table,
    /// The summary, gaps and requirement matrix as Markdown.
    Markdown,
    /// The versioned JSON report (schemas/assess/report.schema.json).
    Json,
    /// A self-contained HTML report with a chart (no external resources).
    Html,
    /// All three OSCAL 1.2.1 documents, written into the directory given with -o.
    Oscal,
    /// OSCAL 1.2.1 component definition.
    OscalComponent,
    /// OSCAL 1.2.1 assessment results.
    OscalAr,
    /// OSCAL 1.2.1 plan of action and milestones for the gaps.
    OscalPoam,
    /// SARIF 2.1.0: the gaps as results located in the profile.
    Sarif,
    /// JUnit XML: one test case per requirement in the SL-T set.
    Junit,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The component profile (TOML; format in docs/assess.md).
    #[arg(value_name = "PROFILE.toml", required = true)]
    profile: Option<PathBuf>,
    /// Target SL: one level for every FR (e.g. 2) or seven levels in FR order
    /// (e.g. 3,3,2,2,3,2,2); overrides the profile's [target] sl_t.
    #[arg(long = "sl-t", value_name = "N|VECTOR", value_parser = parse_sl_t)]
    sl_t: Option<SlVector>,
    /// Waiver file (TOML): accepted gaps with a justification and an expiry date.
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// Read the settings of a running Rampart gateway, e.g. https://127.0.0.1:8443, and let
    /// them decide the requirements its live checks cover.
    #[arg(long, value_name = "URL", requires_all = ["token", "ca"])]
    live: Option<String>,
    /// API token for --live; @FILE reads it from a file (keeps it out of the process list).
    #[arg(long, value_name = "TOKEN|@FILE", requires = "live")]
    token: Option<String>,
    /// CA certificate (PEM) the gateway's certificate must chain to, e.g. DATA/pki/ca.crt.
    #[arg(long, value_name = "FILE", requires = "live")]
    ca: Option<PathBuf>,
    /// Read the config report from a file instead of a gateway (for tests and audits of a
    /// saved report).
    #[arg(long, value_name = "FILE", conflicts_with = "live")]
    live_report: Option<PathBuf>,
    /// Evidence of `rampart probe --out FILE`: each check decides the requirements it bears
    /// on as a live check does (not met overrides the profile's claim). Combines with --live.
    #[arg(long, value_name = "FILE")]
    evidence: Option<PathBuf>,
    /// JUnit XML test reports (e.g. cargo nextest's): a `met` claim then counts only when
    /// every test its evidence names ran and passed; otherwise it is `unverified`.
    #[arg(long = "test-results", value_name = "JUNIT.xml", num_args = 1..)]
    test_results: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report to FILE (atomically) instead of stdout; with --format oscal, a
    /// directory for the three documents.
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR")]
    output: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Compare two JSON reports: what improved and what regressed (exit 1 on a regression).
    Diff {
        /// The earlier report (--format json).
        old: PathBuf,
        /// The later report.
        new: PathBuf,
    },
}

fn parse_sl_t(text: &str) -> Result<SlVector, rampart_assess::SlVectorError> {
    text.parse()
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Outcome> {
    if let Some(Command::Diff { old, new }) = &args.command {
        return diff(old, new);
    }
    // Invariant: clap requires PROFILE unless a subcommand was given.
    let profile_path = args
        .profile
        .as_deref()
        .ok_or_else(|| BadInput("a PROFILE.toml is required".into()))?;
    let catalog = Catalog::builtin();
    let profile = read_profile(profile_path)?;
    let waivers = args
        .waivers
        .as_deref()
        .map(|path| Waivers::from_file(path, catalog).map_err(|e| BadInput(e.to_string())))
        .transpose()?;
    let live = live_evaluation(args, &profile)?;
    if let Some(live) = &live {
        warn_contradictions(&profile, live);
    }
    let options = Options {
        sl_t: args.sl_t,
        waivers: waivers.as_ref(),
        live: live.as_ref(),
        now: now()?,
    };
    let assessment = if args.test_results.is_empty() {
        rampart_assess::assess(catalog, &profile, &options)
    } else {
        let mut tests = TestResults::new();
        for path in &args.test_results {
            tests.add_file(path).map_err(|e| BadInput(e.to_string()))?;
        }
        rampart_assess::assess_with_test_results(catalog, &profile, &options, &tests)
    };
    write_report(args, &assessment)?;
    Ok(if assessment.passed {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// The component profile at `path`, checked against the built-in catalog.
pub(crate) fn read_profile(path: &Path) -> anyhow::Result<Profile> {
    Profile::from_file(path, Catalog::builtin()).map_err(|e| BadInput(e.to_string()).into())
}

/// Each requirement a live check says is not met although the profile claims it, on stderr.
fn warn_contradictions(profile: &Profile, live: &LiveEvaluation) {
    for finding in rampart_assess::contradictions(profile, live) {
        if profile
            .claim(finding.requirement)
            .is_some_and(rampart_assess::Claim::needs_configuration)
        {
            // The capability is there; this component is not configured for it.
            eprintln!(
                "note: {} is met when configured, and this component is not: the live check \
                 '{}' says: {} ({} = {})",
                finding.requirement,
                finding.check,
                finding.message,
                finding.subject,
                finding.observed
            );
        } else {
            eprintln!(
                "warning: the profile claims {} met, but the live check '{}' says: {} ({} = {})",
                finding.requirement,
                finding.check,
                finding.message,
                finding.subject,
                finding.observed
            );
        }
    }
}

/// Probe evidence as the live findings about the component of `profile`.
fn probe_evaluation(
    profile: &Profile,
    evidence: &rampart_probe::Evidence,
    source: &str,
) -> LiveEvaluation {
    let component = profile.component();
    evidence.live_evaluation(
        source,
        ReportComponent {
            vendor: component.vendor.clone(),
            product: component.product.clone(),
            version: component.version.clone(),
            component_type: component.component_type,
        },
    )
}

/// `rampart probe --profile`: `profile` assessed with the evidence just gathered, exactly as
/// `rampart assess PROFILE --evidence FILE` would (contradicted claims warned on stderr):
/// the report as a terminal table, and whether it passed.
pub(crate) fn with_probe_evidence(
    profile: &Profile,
    evidence: &rampart_probe::Evidence,
) -> anyhow::Result<(String, bool)> {
    let live = probe_evaluation(profile, evidence, "rampart probe");
    warn_contradictions(profile, &live);
    let assessment = rampart_assess::assess(
        Catalog::builtin(),
        profile,
        &Options {
            sl_t: None,
            waivers: None,
            live: Some(&live),
            now: now()?,
        },
    );
    Ok((
        report::text::terminal(&assessment, report::text::Style::default()),
        assessment.passed,
    ))
}

/// The time stamped on reports: `SOURCE_DATE_EPOCH` when set (reproducible builds'
/// convention, used to regenerate committed reports byte for byte), otherwise now.
pub(crate) fn now() -> anyhow::Result<jiff::Timestamp> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .ok_or_else(|| {
                BadInput(format!(
                    "SOURCE_DATE_EPOCH '{text}' is not a number of seconds"
                ))
                .into()
            }),
        Err(_) => Ok(rampart_audit::Clock::now(&rampart_audit::SystemClock::new())),
    }
}

/// The live evidence: the gateway's config report (`--live`, `--live-report`) and the probe
/// evidence (`--evidence`), as one set of findings.
fn live_evaluation(args: &Args, profile: &Profile) -> anyhow::Result<Option<LiveEvaluation>> {
    live_from(
        &LiveSources {
            live: args.live.as_deref(),
            token: args.token.as_deref(),
            ca: args.ca.as_deref(),
            live_report: args.live_report.as_deref(),
            evidence: args.evidence.as_deref(),
        },
        profile,
    )
}

/// Where live evidence comes from (`rampart assess` and `rampart docs manual` take the same
/// flags).
pub(crate) struct LiveSources<'a> {
    /// The gateway's URL (`--live`); needs `token` and `ca`.
    pub(crate) live: Option<&'a str>,
    /// The API token (or `@FILE`).
    pub(crate) token: Option<&'a str>,
    /// The CA certificate the gateway's certificate chains to.
    pub(crate) ca: Option<&'a Path>,
    /// A saved config report instead of a gateway.
    pub(crate) live_report: Option<&'a Path>,
    /// Probe evidence (`rampart probe --out FILE`).
    pub(crate) evidence: Option<&'a Path>,
}

/// The live evidence of `sources` about the component of `profile`, as one set of findings;
/// none when no source is given.
pub(crate) fn live_from(
    sources: &LiveSources<'_>,
    profile: &Profile,
) -> anyhow::Result<Option<LiveEvaluation>> {
    let live = config_report_evaluation(sources, profile)?;
    let Some(path) = sources.evidence else {
        return Ok(live);
    };
    let source = path.display().to_string();
    let text = read_capped(path, MAX_EVIDENCE_BYTES)?;
    let evidence =
        rampart_probe::Evidence::parse(&text, &source).map_err(|e| BadInput(e.to_string()))?;
    let probed = probe_evaluation(profile, &evidence, &source);
    Ok(Some(match live {
        None => probed,
        Some(mut live) => {
            live.source = format!("{} + {}", live.source, probed.source);
            live.findings.extend(probed.findings);
            live.findings
                .sort_by(|a, b| (a.requirement, &a.check).cmp(&(b.requirement, &b.check)));
            live
        }
    }))
}

fn config_report_evaluation(
    sources: &LiveSources<'_>,
    profile: &Profile,
) -> anyhow::Result<Option<LiveEvaluation>> {
    let (text, source) = if let Some(path) = sources.live_report {
        let text = read_capped(path, MAX_REPORT_BYTES)?;
        (text, path.display().to_string())
    } else if let (Some(url), Some(token), Some(ca)) = (sources.live, sources.token, sources.ca) {
        (fetch_config_report(url, token, ca)?, url.to_owned())
    } else {
        return Ok(None);
    };
    let report = ConfigReport::parse(&text, &source).map_err(|e| BadInput(e.to_string()))?;
    let declared = profile.component().component_type;
    if report.component.component_type != declared {
        return Err(BadInput(format!(
            "{source}: the component reports type {} but the profile describes a {declared}",
            report.component.component_type
        ))
        .into());
    }
    Ok(Some(LiveChecks::builtin().evaluate(&report, &source)))
}

fn read_capped(path: &Path, limit: u64) -> anyhow::Result<String> {
    rampart_vault::read_capped_text(path, limit)
        .map_err(|e| BadInput(format!("{}: {e}", path.display())).into())
}

/// `GET {url}/api/v1/config-report` with the bearer token (see [`crate::api_client`]).
fn fetch_config_report(url: &str, token: &str, ca: &Path) -> anyhow::Result<String> {
    let client = ApiClient::new(url, token, ca)?;
    let (status, body) = client.call(
        &hyper::Method::GET,
        "/api/v1/config-report",
        None,
        MAX_REPORT_BYTES,
    )?;
    response_text(status, body, "to view the configuration")
        .with_context(|| client.url("/api/v1/config-report"))
}

fn write_report(args: &Args, a: &Assessment) -> anyhow::Result<()> {
    if args.format == Format::Oscal {
        let dir = args.output.as_deref().ok_or_else(|| {
            BadInput(
                "--format oscal writes three documents: give -o DIR, or use --format \
                 oscal-component, oscal-ar or oscal-poam for one on stdout"
                    .into(),
            )
        })?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for document in Document::ALL {
            let path = dir.join(document.file_name());
            let text = report::oscal::document_text(a, document);
            rampart_vault::write_atomic(&path, text.as_bytes(), 0o644)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(());
    }
    let colour = args.format == Format::Table && args.output.is_none() && output::colour_stdout();
    let text = match args.format {
        Format::Table => report::text::terminal(
            a,
            if colour {
                report::text::Style::ansi()
            } else {
                report::text::Style::default()
            },
        ),
        Format::Markdown => report::text::markdown(a),
        Format::Json => report::json(a),
        Format::Html => report::html::html(a),
        Format::OscalComponent => report::oscal::document_text(a, Document::ComponentDefinition),
        Format::OscalAr => report::oscal::document_text(a, Document::AssessmentResults),
        Format::OscalPoam => report::oscal::document_text(a, Document::Poam),
        Format::Sarif => report::sarif::sarif_text(a),
        Format::Junit => report::junit::junit(a),
        Format::Oscal => unreachable!("handled above"),
    };
    match &args.output {
        Some(path) => rampart_vault::write_atomic(path, text.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", path.display())),
        None => output::print(&text).context("writing to stdout"),
    }
}

fn diff(old: &Path, new: &Path) -> anyhow::Result<Outcome> {
    let read = |path: &Path| -> anyhow::Result<Assessment> {
        let text = read_capped(path, MAX_DIFF_INPUT_BYTES)?;
        report::diff::parse_report(&text, &path.display().to_string())
            .map_err(|e| BadInput(e.to_string()).into())
    };
    let (old_report, new_report) = (read(old)?, read(new)?);
    let changes = report::diff::diff(&old_report, &new_report);
    let text = report::diff::render(
        &old.display().to_string(),
        &new.display().to_string(),
        &changes,
    );
    output::print(&text).context("writing to stdout")?;
    Ok(if changes.iter().any(|c| c.regression) {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}
