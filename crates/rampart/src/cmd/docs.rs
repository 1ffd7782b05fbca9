//! `rampart docs manual`: the security manual of this Rampart release (IEC 62443-4-1 SG-1 to
//! SG-6) and its compliance matrix, generated from the component profile, the live checks,
//! the built-in roles, the IDS detectors and the embedded SBOM, so that it cannot drift from
//! the code. Markdown for repositories, self-contained HTML, and PDF through `weasyprint`.
//!
//! The content is built in [`manual`]; this module reads the inputs, gathers live evidence
//! (the same sources as `rampart assess`), and writes the files atomically.

mod manual;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::Context as _;
use rampart_assess::live::LiveChecks;
use rampart_assess::{Options, Profile};
use rampart_catalog::Catalog;

use crate::Outcome;
use crate::cmd::assess::{LiveSources, live_from, now};

/// Rampart's own profile, embedded so that the binary documents itself without the
/// repository.
pub(crate) const DEFAULT_PROFILE: &str = include_str!("../../../../profiles/rampart-gateway.toml");
/// The name the embedded profile goes by in the manual.
pub(crate) const DEFAULT_PROFILE_NAME: &str = "profiles/rampart-gateway.toml";

/// Output formats of `rampart docs manual`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One self-contained HTML file (inline CSS and SVG, no external resources).
    Html,
    /// Markdown, for a repository.
    Markdown,
    /// PDF, rendered from the HTML by `weasyprint` (Debian package `weasyprint`).
    Pdf,
    /// The compliance matrix as an OSCAL 1.2.1 component definition (the same document as
    /// `rampart assess --format oscal-component`).
    Oscal,
}

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// The security manual: intended use and the zone/conduit model, defense in depth expected
    /// of the environment, hardening, secure operation, accounts, secure disposal, third-party
    /// components and the compliance matrix. Writes DIR/security-manual.{html,md,pdf} and DIR/component-definition.json (OSCAL).
    Manual(ManualArgs),
}

#[derive(clap::Args)]
pub(crate) struct ManualArgs {
    /// The component profile (TOML); default: Rampart's own, embedded in the binary.
    #[arg(long, value_name = "PROFILE.toml")]
    profile: Option<PathBuf>,
    /// Probe evidence (`rampart probe --out FILE`) shown in the matrix and deciding
    /// requirements as in `rampart assess --evidence`.
    #[arg(long, value_name = "FILE")]
    evidence: Option<PathBuf>,
    /// A running gateway, e.g. https://127.0.0.1:8443: its config report decides the
    /// requirements its live checks cover and fills the hardening table's current values.
    #[arg(long, value_name = "URL", requires_all = ["token", "ca"])]
    live: Option<String>,
    /// API token for --live; @FILE reads it from a file.
    #[arg(long, value_name = "TOKEN|@FILE", requires = "live")]
    token: Option<String>,
    /// CA certificate (PEM) the gateway's certificate must chain to.
    #[arg(long, value_name = "FILE", requires = "live")]
    ca: Option<PathBuf>,
    /// A saved config report (`rampart config-report --format json`) instead of a gateway.
    #[arg(long, value_name = "FILE", conflicts_with = "live")]
    live_report: Option<PathBuf>,
    /// A RustSec advisory database (a checkout, or the snapshot in
    /// supply-chain/rustsec-advisory-db): each third-party component's vulnerability status
    /// is matched against it. Without it the components are listed as not checked.
    #[arg(long, value_name = "DIR")]
    rustsec: Option<PathBuf>,
    /// Output formats (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Format::Html, Format::Markdown, Format::Oscal])]
    format: Vec<Format>,
    /// The directory to write into (created if needed).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
}

/// The file names in the output directory.
pub(crate) const HTML_FILE: &str = "security-manual.html";
/// The Markdown file.
pub(crate) const MARKDOWN_FILE: &str = "security-manual.md";
/// The PDF file.
pub(crate) const PDF_FILE: &str = "security-manual.pdf";
/// The OSCAL component definition.
pub(crate) const OSCAL_FILE: &str = "component-definition.json";

pub(crate) fn run(command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Manual(args) => manual(args),
    }
}

fn manual(args: &ManualArgs) -> anyhow::Result<Outcome> {
    let catalog = Catalog::builtin();
    let profile = match &args.profile {
        Some(path) => crate::cmd::assess::read_profile(path)?,
        None => Profile::parse(DEFAULT_PROFILE, DEFAULT_PROFILE_NAME, catalog)
            .map_err(|e| anyhow::anyhow!("the embedded profile: {e}"))?,
    };
    let live = live_from(
        &LiveSources {
            live: args.live.as_deref(),
            token: args.token.as_deref(),
            ca: args.ca.as_deref(),
            live_report: args.live_report.as_deref(),
            evidence: args.evidence.as_deref(),
        },
        &profile,
    )?;
    let assessment = rampart_assess::assess(
        catalog,
        &profile,
        &Options {
            sl_t: None,
            waivers: None,
            live: live.as_ref(),
            now: now()?,
        },
    );
    let defaults = default_report()?;
    let vulnerabilities = args
        .rustsec
        .as_deref()
        .map(manual::Vulnerabilities::from_rustsec)
        .transpose()?;
    let doc = manual::build(
        &assessment,
        &LiveChecks::builtin(),
        Some(&defaults),
        rampart_mgmt::SBOM_JSON,
        vulnerabilities.as_ref(),
    )?;
    let dir = &args.output;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut formats = args.format.clone();
    formats.dedup();
    for format in formats {
        match format {
            Format::Html => write(&dir.join(HTML_FILE), &manual::html(&doc))?,
            Format::Markdown => write(&dir.join(MARKDOWN_FILE), &manual::markdown(&doc))?,
            Format::Pdf => pdf(&manual::html(&doc), &dir.join(PDF_FILE))?,
            Format::Oscal => write(
                &dir.join(OSCAL_FILE),
                &rampart_assess::report::oscal::document_text(
                    &assessment,
                    rampart_assess::report::oscal::Document::ComponentDefinition,
                ),
            )?,
        }
    }
    crate::output::print(&format!(
        "{}: {}\n",
        dir.display(),
        rampart_assess::report::matrix::summary(&doc.matrix)
    ))
    .context("writing to stdout")?;
    Ok(Outcome::Ok)
}

/// The config report of the default configuration on a fresh data directory: the hardening
/// table's "default" column. The directory is a throw-away under the system's temporary
/// directory, removed afterwards.
fn default_report() -> anyhow::Result<rampart_mgmt::ConfigReport> {
    let dir = std::env::temp_dir().join(format!("rampart-manual-defaults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let report =
        crate::cmd::config_report::report(&rampart_gateway::GatewayConfig::default(), &dir)
            .context("the config report of the default configuration");
    let _ = std::fs::remove_dir_all(&dir);
    report
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    rampart_vault::write_atomic(path, text.as_bytes(), 0o644)
        .with_context(|| format!("writing {}", path.display()))
}

/// Renders `html` to `out` with `weasyprint`: into a temporary file next to `out`, then
/// written atomically, so a failed or interrupted render leaves no partial PDF.
fn pdf(html: &str, out: &Path) -> anyhow::Result<()> {
    let dir = out.parent().unwrap_or(Path::new("."));
    let work = dir.join(format!(".manual-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let result = render_pdf(html, &work, out);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn render_pdf(html: &str, work: &Path, out: &Path) -> anyhow::Result<()> {
    let source = work.join("manual.html");
    let rendered = work.join("manual.pdf");
    std::fs::write(&source, html).with_context(|| format!("writing {}", source.display()))?;
    let status = Process::new("weasyprint")
        .arg("--quiet")
        .arg(&source)
        .arg(&rendered)
        .status();
    match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "--format pdf needs weasyprint, which is not installed (Debian: apt-get install \
             weasyprint); --format html writes the same manual as HTML"
        ),
        Err(e) => return Err(e).context("running weasyprint"),
        Ok(s) if !s.success() => anyhow::bail!("weasyprint failed ({s}) rendering the manual"),
        Ok(_) => {}
    }
    let bytes =
        std::fs::read(&rendered).with_context(|| format!("reading {}", rendered.display()))?;
    rampart_vault::write_atomic(out, &bytes, 0o644)
        .with_context(|| format!("writing {}", out.display()))
}
