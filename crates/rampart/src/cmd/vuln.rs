//! `rampart vuln`: match an SBOM against advisories (CSAF 2.0, OSV, RustSec) and report what
//! affects which component, with the fix or mitigation the advisory gives.
//!
//! The domain logic is in `rampart-vuln`; this module picks the files, the format and the
//! exit code: 0 when no component is affected, 1 when one is `known_affected` or
//! `under_investigation` (fail-closed: a match that might be affected needs a decision),
//! 2 on bad input.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_vuln::{
    Advisory, Inventory, Match, Options, Status, load, match_inventory, report, vex,
};

use crate::output::{self, Style, Table};
use crate::{BadInput, Outcome};

/// Output formats of `rampart vuln match`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// The matches sorted by severity, with the fix or mitigation, for a terminal.
    Table,
    /// The stable JSON report (schemas/vuln/matches.schema.json).
    Json,
    /// SARIF 2.1.0: open matches (affected or undecided, not covered by VEX) as results
    /// located in the SBOM.
    Sarif,
    /// CycloneDX 1.6 VEX: an analysis per match, linked to the components of the SBOM.
    CyclonedxVex,
    /// CSAF 2.0 of the csaf_vex profile: the components as products, their status per
    /// vulnerability with impact and action statements.
    CsafVex,
}

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Match an SBOM (CycloneDX 1.4–1.6 or SPDX 2.3 JSON) against advisories; exit 1 when a
    /// component is known_affected or under_investigation.
    Match(MatchArgs),
    /// Match this build's own SBOM (embedded in the binary) against advisories, e.g. a RustSec
    /// advisory database checkout; or, with --live, ask a running gateway, which checks its
    /// SBOM against the advisories kept in its data directory (GET /api/v1/vulnerabilities).
    #[command(name = "self")]
    SelfCheck(SelfArgs),
    /// The maker's side: write a CSAF 2.0 security advisory for your own product, check one,
    /// and publish advisories as a CSAF provider directory.
    #[command(subcommand)]
    Advisory(AdvisoryCommand),
}

#[derive(clap::Subcommand)]
pub(crate) enum AdvisoryCommand {
    /// Write a CSAF 2.0 security advisory from an advisory source (TOML: document, product
    /// versions, vulnerabilities with CVSS v3, affected and fixed versions, remediation).
    New {
        /// The advisory source (docs/vulnerabilities.md, "Publishing advisories").
        #[arg(long, value_name = "FILE")]
        source: PathBuf,
        /// The CSAF file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check CSAF documents: JSON, CSAF 2.0 and the mandatory tests matching depends on.
    /// Exit 0 when all pass, 1 when one fails.
    Check {
        /// A trusted OpenPGP public key (armored, v4 Ed25519): each document must also have a
        /// valid signature DOC.asc by one of the given keys. Repeatable.
        #[arg(long, value_name = "PUB.asc")]
        openpgp_key: Vec<PathBuf>,
        /// The documents.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Create the maker's OpenPGP signing key of a CSAF trusted provider (Ed25519, OpenPGP
    /// v4): DIR/openpgp-signing-key.pem (PKCS#8, mode 0600 — keep it offline, like the
    /// update signing keys) and DIR/openpgp-public-key.asc (the certificate to publish).
    /// Prints the fingerprint.
    Keygen {
        /// The directory to write the two files to (created 0700 if missing; existing key
        /// files are never replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The user ID, e.g. "Maker PSIRT <psirt@maker.example>".
        #[arg(long, value_name = "NAME <EMAIL>")]
        uid: String,
    },
    /// Lay out a CSAF provider directory (.well-known/csaf/: provider-metadata.json, a
    /// folder per TLP label and year, SHA-256 and SHA-512 files, index.txt, changes.csv, a
    /// ROLIE feed) from CSAF documents, for any static web server.
    Publish {
        /// The directory the web server serves.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The URL that directory is served at (`https://…`).
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// The publisher's name.
        #[arg(long)]
        publisher: String,
        /// The publisher's namespace URL.
        #[arg(long, value_name = "URL")]
        namespace: String,
        /// The maker's OpenPGP signing key (from `advisory keygen`): sign every document
        /// (DOC.json.asc), publish the public key and claim the csaf_trusted_provider role.
        #[arg(long, value_name = "KEY", requires = "openpgp_public")]
        openpgp_key: Option<PathBuf>,
        /// The certificate of --openpgp-key (openpgp-public-key.asc), published as
        /// .well-known/csaf/openpgp/FINGERPRINT.asc.
        #[arg(long, value_name = "PUB.asc", requires = "openpgp_key")]
        openpgp_public: Option<PathBuf>,
        /// The CSAF documents to publish (all of them: the directory is laid out anew).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
pub(crate) struct SelfArgs {
    #[command(flatten)]
    sources: Sources,
    /// A running gateway's management address, `https://HOST:PORT`.
    #[arg(long, value_name = "URL", requires_all = ["token", "ca"], conflicts_with_all = ["csaf", "osv", "rustsec", "vex", "openpgp_key"])]
    live: Option<String>,
    /// API token for --live (config.view); @FILE reads it from a file.
    #[arg(long, value_name = "TOKEN|@FILE", requires = "live")]
    token: Option<String>,
    /// The CA certificate the management plane's certificate chains to.
    #[arg(long, value_name = "FILE", requires = "live")]
    ca: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct MatchArgs {
    /// The SBOM: CycloneDX 1.4–1.6 JSON or SPDX 2.3 JSON.
    #[arg(long, value_name = "FILE")]
    sbom: PathBuf,
    #[command(flatten)]
    sources: Sources,
}

#[derive(clap::Args)]
pub(crate) struct Sources {
    /// A CSAF 2.0 document, or a directory of them (searched recursively; feeds and
    /// provider metadata are skipped). Repeatable.
    #[arg(long, value_name = "PATH")]
    csaf: Vec<PathBuf>,
    /// A trusted OpenPGP public key of a CSAF provider (armored, v4 Ed25519). Given once or
    /// more, every CSAF document read (from --csaf, a feed or a directory) must have a valid
    /// signature DOC.asc by one of these keys, else exit 2 naming the document. Repeatable.
    #[arg(long, value_name = "PUB.asc")]
    openpgp_key: Vec<PathBuf>,
    /// An OSV JSON record (or array of records), or a directory of them. Repeatable.
    #[arg(long, value_name = "PATH")]
    osv: Vec<PathBuf>,
    /// A RustSec advisory database checkout (or its crates/ directory, or one advisory
    /// file). Repeatable.
    #[arg(long, value_name = "DIR")]
    rustsec: Vec<PathBuf>,
    /// VEX statements: a TOML file of analyst decisions or CycloneDX VEX JSON. A justified
    /// known_not_affected (or a fixed) statement covers a match: shown, not counted for the
    /// exit code. Repeatable.
    #[arg(long, value_name = "FILE")]
    vex: Vec<PathBuf>,
    /// Matches below this confidence (0–1) are reported under_investigation.
    #[arg(long, value_name = "0..1", default_value_t = rampart_vuln::matching::DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// --format csaf-vex: the publisher's name.
    #[arg(long, value_name = "NAME", default_value = "Rampart user")]
    publisher: String,
    /// --format csaf-vex: the publisher's namespace (a URL of the publisher).
    #[arg(long, value_name = "URL", default_value = "https://example.invalid")]
    namespace: String,
    /// --format csaf-vex: the document's tracking id (default: VEX- and the SBOM subject's
    /// name and the date).
    #[arg(long, value_name = "ID")]
    tracking_id: Option<String>,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Match(args) => {
            let inventory = load::inventory(&args.sbom).map_err(|e| BadInput(e.to_string()))?;
            let uri = args.sbom.display().to_string();
            report_matches(&inventory, &uri, &args.sources)
        }
        Command::Advisory(command) => advisory(command),
        Command::SelfCheck(args) => {
            if let (Some(url), Some(token), Some(ca)) = (&args.live, &args.token, &args.ca) {
                return live_self(url, token, ca, &args.sources);
            }
            let inventory = Inventory::from_json(rampart_mgmt::SBOM_JSON, "the embedded SBOM")
                .context("reading this build's SBOM")?;
            report_matches(&inventory, "rampart.cdx.json", &args.sources)
        }
    }
}

fn report_matches(
    inventory: &Inventory,
    sbom_uri: &str,
    sources: &Sources,
) -> anyhow::Result<Outcome> {
    if !(0.0..=1.0).contains(&sources.threshold) {
        return Err(BadInput(format!("--threshold {} is outside 0..1", sources.threshold)).into());
    }
    let advisories = advisories(sources)?;
    for advisory in &advisories {
        for warning in &advisory.warnings {
            eprintln!("warning: {}: {warning}", advisory.origin);
        }
    }
    let options = Options {
        threshold: sources.threshold,
    };
    let mut matches = match_inventory(inventory, &advisories, &options);
    let mut statements = Vec::new();
    for path in &sources.vex {
        statements.extend(load::vex(path).map_err(|e| BadInput(e.to_string()))?);
    }
    if !statements.is_empty() {
        let today = jiff::tz::Offset::UTC
            .to_datetime(crate::cmd::assess::now()?)
            .date();
        for warning in vex::apply(&mut matches, &statements, today) {
            eprintln!("warning: {warning}");
        }
    }
    let text = match sources.format {
        Format::Json => report::json(&matches),
        Format::Sarif => report::sarif(&matches, sbom_uri),
        Format::CyclonedxVex => report::cyclonedx_vex(&matches, inventory),
        Format::CsafVex => csaf_vex(&matches, inventory, sources)?,
        Format::Table => {
            let colour = sources.output.is_none() && output::colour_stdout();
            table(&matches, inventory, advisories.len(), Style::new(colour))
        }
    };
    match &sources.output {
        Some(path) => rampart_vault::write_atomic(path, text.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", path.display()))?,
        None => output::print(&text).context("writing to stdout")?,
    }
    Ok(if matches.iter().any(Match::is_open) {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}

fn csaf_vex(matches: &[Match], inventory: &Inventory, sources: &Sources) -> anyhow::Result<String> {
    let now = jiff::Timestamp::from_second(crate::cmd::assess::now()?.as_second())?;
    let subject = inventory
        .components
        .first()
        .map_or("SBOM", |c| c.name.as_str());
    let tracking_id = sources.tracking_id.clone().unwrap_or_else(|| {
        let name: String = subject
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!(
            "VEX-{name}-{}",
            jiff::tz::Offset::UTC
                .to_datetime(now)
                .date()
                .strftime("%Y%m%d")
        )
    });
    let options = report::CsafVexOptions {
        tracking_id,
        title: format!("VEX for {subject}"),
        publisher: sources.publisher.clone(),
        namespace: sources.namespace.clone(),
        date: now.to_string(),
        engine_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    report::csaf_vex(matches, inventory, &options).ok_or_else(|| {
        anyhow::anyhow!(
            "no match: a csaf_vex document states at least one vulnerability, and there is none"
        )
    })
}

fn advisories(sources: &Sources) -> anyhow::Result<Vec<Advisory>> {
    if sources.csaf.is_empty() && sources.osv.is_empty() && sources.rustsec.is_empty() {
        return Err(
            BadInput("give advisories: --csaf PATH, --osv PATH or --rustsec DIR".into()).into(),
        );
    }
    let mut out = Vec::new();
    let bad = |e: rampart_vuln::InputError| BadInput(e.to_string());
    let exists = |p: &Path| -> anyhow::Result<()> {
        if p.exists() {
            Ok(())
        } else {
            Err(BadInput(format!("{}: no such file or directory", p.display())).into())
        }
    };
    let signatures = signatures(&sources.openpgp_key)?;
    for path in &sources.csaf {
        exists(path)?;
        out.extend(load::csaf_signed(path, &signatures).map_err(bad)?);
    }
    for path in &sources.osv {
        exists(path)?;
        out.extend(load::osv(path).map_err(bad)?);
    }
    for path in &sources.rustsec {
        exists(path)?;
        out.extend(load::rustsec(path).map_err(bad)?);
    }
    Ok(out)
}

/// The trusted OpenPGP keys of `--openpgp-key`, with the time to check expiry at.
fn signatures(keys: &[PathBuf]) -> anyhow::Result<load::Signatures> {
    let mut out = load::Signatures {
        keys: Vec::new(),
        now: u64::try_from(crate::cmd::assess::now()?.as_second()).unwrap_or(0),
    };
    for path in keys {
        out.keys
            .push(load::openpgp_key(path).map_err(|e| BadInput(e.to_string()))?);
    }
    Ok(out)
}

fn table(matches: &[Match], inventory: &Inventory, advisories: usize, style: Style) -> String {
    let mut sorted = matches.to_vec();
    report::sort_by_severity(&mut sorted);
    let mut table = Table::new([
        "SEVERITY",
        "STATUS",
        "COMPONENT",
        "ADVISORY",
        "CVE",
        "MATCH",
        "FIX OR MITIGATION",
    ]);
    for m in &sorted {
        let component = match &m.component_version {
            Some(v) => format!("{} {v}", m.component_name),
            None => m.component_name.clone(),
        };
        let severity = match m.cvss {
            Some(score) => format!("{score:.1} {}", report::severity(Some(score))),
            None => report::severity(None).to_owned(),
        };
        let fix = match &m.vex {
            Some(note) => format!(
                "VEX {}: {}",
                note.justification
                    .as_deref()
                    .unwrap_or(note.status.as_str()),
                first_sentence(&note.detail)
            ),
            None => report::first_remediation(&m.remediations).map_or_else(
                || "none given".to_owned(),
                |r| format!("{}: {}", r.category, first_sentence(&r.details)),
            ),
        };
        let status = match &m.vex {
            Some(note) if note.covers() => {
                format!("{} (VEX: {})", m.status.as_str(), note.status.as_str())
            }
            _ => m.status.as_str().to_owned(),
        };
        table.row(vec![
            severity,
            status,
            component,
            m.advisory.clone(),
            m.cve.clone().unwrap_or_else(|| "-".to_owned()),
            format!("{} {:.2}", m.rule, m.confidence),
            fix,
        ]);
    }
    let count = |s: Status| matches.iter().filter(|m| m.status == s).count();
    let covered = matches
        .iter()
        .filter(|m| m.vex.as_ref().is_some_and(vex::VexNote::covers))
        .count();
    let mut text = if matches.is_empty() {
        String::new()
    } else {
        table.render(style)
    };
    let _ = writeln!(
        text,
        "{}{} components, {advisories} advisories: {} known_affected, {} under_investigation, \
         {} fixed, {} known_not_affected; {covered} covered by VEX{}",
        style.bold,
        inventory.components.len(),
        count(Status::KnownAffected),
        count(Status::UnderInvestigation),
        count(Status::Fixed),
        count(Status::KnownNotAffected),
        style.reset,
    );
    text
}

/// The first sentence of a remediation, at most 100 characters.
fn first_sentence(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let sentence = line.split(". ").next().unwrap_or(line);
    if sentence.chars().count() > 100 {
        let cut: String = sentence.chars().take(99).collect();
        format!("{cut}…")
    } else {
        sentence.to_owned()
    }
}

/// `rampart vuln self --live`: the running gateway's own check, as JSON or a table.
fn live_self(url: &str, token: &str, ca: &Path, sources: &Sources) -> anyhow::Result<Outcome> {
    const PATH: &str = "/api/v1/vulnerabilities";
    let client = crate::api_client::ApiClient::new(url, token, ca)?;
    let (status, body) = client.call(&hyper::Method::GET, PATH, None, load::MAX_ADVISORY_BYTES)?;
    let text = crate::api_client::response_text(status, body, "config.view")
        .with_context(|| client.url(PATH))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).context("the gateway's answer is not JSON")?;
    let open = report["open"].as_u64().unwrap_or(0);
    let out = if sources.format == Format::Json {
        format!("{text}\n")
    } else {
        let mut table = Table::new(["STATUS", "COMPONENT", "ADVISORY", "CVE", "CVSS"]);
        for m in report["matches"].as_array().into_iter().flatten() {
            let text = |key: &str| m[key].as_str().unwrap_or("—").to_owned();
            table.row(vec![
                text("status"),
                text("component"),
                text("advisory"),
                text("cve"),
                m["cvss"]
                    .as_f64()
                    .map_or_else(|| "—".to_owned(), |c| format!("{c:.1}")),
            ]);
        }
        format!(
            "{}{} components checked against {} advisories and {} VEX statements: {open} open\n",
            table.render(Style::new(output::colour_stdout())),
            report["components"],
            report["advisories"],
            report["vex_statements"],
        )
    };
    output::print(&out).context("writing to stdout")?;
    Ok(if open > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}

fn advisory(command: &AdvisoryCommand) -> anyhow::Result<Outcome> {
    use rampart_vuln::publish;
    let now = rampart_audit::Clock::now(&rampart_audit::SystemClock::new());
    let read = |path: &Path| -> anyhow::Result<String> {
        rampart_vault::read_capped_text(path, 16 << 20)
            .map_err(|e| BadInput(format!("{}: {e}", path.display())).into())
    };
    match command {
        AdvisoryCommand::New { source, out } => {
            let origin = source.display().to_string();
            let parsed = publish::read_source(&read(source)?, &origin)
                .map_err(|e| BadInput(e.to_string()))?;
            let text =
                publish::write_advisory(&parsed, now).map_err(|e| BadInput(e.to_string()))?;
            rampart_vault::write_atomic(out, text.as_bytes(), 0o644)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{}: CSAF 2.0 security advisory {} ({} vulnerabilities); file name when published: {}",
                out.display(),
                parsed.document.id,
                parsed.vulnerabilities.len(),
                publish::file_name(&parsed.document.id)
            );
            Ok(Outcome::Ok)
        }
        AdvisoryCommand::Check { openpgp_key, files } => {
            let signatures = signatures(openpgp_key)?;
            let mut failed = 0;
            for file in files {
                let origin = file.display().to_string();
                let text = read(file)?;
                let checked = rampart_vuln::csaf::read(&text, &origin).and_then(|advisory| {
                    load::check_signature(file, text.as_bytes(), &signatures).map(|()| advisory)
                });
                match checked {
                    Ok(advisory) if signatures.keys.is_empty() => {
                        println!("ok    {origin}: {}", advisory.id);
                    }
                    Ok(advisory) => println!("ok    {origin}: {} (signed)", advisory.id),
                    Err(e) => {
                        failed += 1;
                        println!("FAIL  {e}");
                    }
                }
            }
            Ok(if failed == 0 {
                Outcome::Ok
            } else {
                Outcome::CheckFailed
            })
        }
        AdvisoryCommand::Publish {
            dir,
            base_url,
            publisher,
            namespace,
            openpgp_key,
            openpgp_public,
            files,
        } => {
            if !base_url.starts_with("https://") || !namespace.starts_with("https://") {
                return Err(
                    BadInput("--base-url and --namespace must be https:// URLs".into()).into(),
                );
            }
            let mut published = Vec::new();
            for file in files {
                let origin = file.display().to_string();
                published.push(
                    publish::Published::from_document(&read(file)?, &origin)
                        .map_err(|e| BadInput(e.to_string()))?,
                );
            }
            let provider = publish::Provider {
                base_url: base_url.clone(),
                publisher: publisher.clone(),
                namespace: namespace.clone(),
            };
            let signing = match (openpgp_key, openpgp_public) {
                (Some(key), Some(public)) => Some(signing_key(key, public)?),
                _ => None,
            };
            let signer = signing
                .as_ref()
                .map(|(key, certificate, public)| publish::Signer {
                    key,
                    certificate,
                    public,
                });
            let layout =
                publish::trusted_provider_files(&provider, &published, now, signer.as_ref())
                    .map_err(|e| BadInput(e.to_string()))?;
            // Documents and hashes first, then indexes and feeds, the provider metadata last:
            // a reader never finds an index naming a file that is not there yet.
            for (relative, bytes) in &layout {
                let path = dir.join(relative);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                rampart_vault::write_atomic(&path, bytes, 0o644)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!(
                "published {} advisories under {}/.well-known/csaf/ ({} files)",
                published.len(),
                dir.display(),
                layout.len()
            );
            if let Some((_, _, public)) = &signing {
                println!(
                    "role csaf_trusted_provider: signed with OpenPGP key {}",
                    public.fingerprint()
                );
            }
            Ok(Outcome::Ok)
        }
        AdvisoryCommand::Keygen { out, uid } => keygen(out, uid, now),
    }
}

const SIGNING_KEY_FILE: &str = "openpgp-signing-key.pem";
const PUBLIC_KEY_FILE: &str = "openpgp-public-key.asc";

/// `advisory keygen`: a new Ed25519 key, its PKCS#8 file (0600) and its OpenPGP certificate.
fn keygen(dir: &Path, uid: &str, now: jiff::Timestamp) -> anyhow::Result<Outcome> {
    let created = u32::try_from(now.as_second())
        .map_err(|_| anyhow::anyhow!("{now} is not an OpenPGP v4 time"))?;
    let secret = dir.join(SIGNING_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    for path in [&secret, &public] {
        if path.exists() {
            return Err(BadInput(format!(
                "{}: exists; keygen never replaces a key (move it away first)",
                path.display()
            ))
            .into());
        }
    }
    let key = rampart_vault::DeviceKey::generate().context("drawing a new key")?;
    let certificate = rampart_vuln::openpgp::certificate(&key, uid, created)
        .map_err(|e| BadInput(format!("--uid: {e}")))?;
    let fingerprint = rampart_vuln::openpgp::PublicKey::of(&key, created).fingerprint();
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting {}", dir.display()))?;
        }
    }
    key.export_pkcs8(&secret)
        .with_context(|| format!("writing {}", secret.display()))?;
    rampart_vault::write_new_atomic(&public, certificate.as_bytes(), 0o644)
        .with_context(|| format!("writing {}", public.display()))?;
    println!(
        "OpenPGP key {fingerprint} ({uid})\n  private: {} (0600: keep it offline)\n  public:  {} \
         (give it to `advisory publish --openpgp-public`)",
        secret.display(),
        public.display()
    );
    Ok(Outcome::Ok)
}

/// The maker's signing key and its certificate, checked to belong together.
fn signing_key(
    key: &Path,
    public: &Path,
) -> anyhow::Result<(
    rampart_vault::DeviceKey,
    String,
    rampart_vuln::openpgp::PublicKey,
)> {
    let certificate = rampart_vault::read_capped_text(public, 1 << 20)
        .map_err(|e| BadInput(format!("{}: {e}", public.display())))?;
    let parsed = rampart_vuln::openpgp::PublicKey::from_armored(&certificate).map_err(|e| {
        BadInput(format!(
            "{}: not a usable OpenPGP public key: {e}",
            public.display()
        ))
    })?;
    let secret = rampart_vault::DeviceKey::load(key)
        .map_err(|e| BadInput(format!("{}: not a usable signing key: {e}", key.display())))?;
    if !parsed.belongs_to(&secret) {
        return Err(BadInput(format!(
            "{}: not the private key of {} ({})",
            key.display(),
            public.display(),
            parsed.fingerprint()
        ))
        .into());
    }
    Ok((secret, certificate, parsed))
}
