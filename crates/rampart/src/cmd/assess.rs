//! `rampart assess`: assess a component profile against IEC 62443-4-2 and report SL-C, the
//! gap to SL-T and the evidence; `rampart assess diff` compares two JSON reports.
//!
//! The domain logic is in `rampart-assess`; this module reads files, fetches a gateway's
//! config report for `--live` (a small HTTPS GET over the vault's TLS client policy), picks
//! the time, and writes the chosen report.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use rampart_assess::live::{ConfigReport, LiveChecks, LiveEvaluation};
use rampart_assess::report::{self, oscal::Document};
use rampart_assess::{Assessment, Options, Profile, SlVector, Waivers};
use rampart_catalog::Catalog;

use crate::output;
use crate::{BadInput, Outcome};

/// The largest config report read from a gateway.
const MAX_REPORT_BYTES: u64 = 4 << 20;
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
    let profile = Profile::from_file(profile_path, catalog).map_err(|e| BadInput(e.to_string()))?;
    let waivers = args
        .waivers
        .as_deref()
        .map(|path| Waivers::from_file(path, catalog).map_err(|e| BadInput(e.to_string())))
        .transpose()?;
    let live = live_evaluation(args, &profile)?;
    if let Some(live) = &live {
        for finding in rampart_assess::contradictions(&profile, live) {
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
    let assessment = rampart_assess::assess(
        catalog,
        &profile,
        &Options {
            sl_t: args.sl_t,
            waivers: waivers.as_ref(),
            live: live.as_ref(),
            now: now()?,
        },
    );
    write_report(args, &assessment)?;
    Ok(if assessment.passed {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// The time stamped on reports: `SOURCE_DATE_EPOCH` when set (reproducible builds'
/// convention, used to regenerate committed reports byte for byte), otherwise now.
fn now() -> anyhow::Result<jiff::Timestamp> {
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

fn live_evaluation(args: &Args, profile: &Profile) -> anyhow::Result<Option<LiveEvaluation>> {
    let (text, source) = if let Some(path) = &args.live_report {
        let text = read_capped(path, MAX_REPORT_BYTES)?;
        (text, path.display().to_string())
    } else if let (Some(url), Some(token), Some(ca)) = (&args.live, &args.token, &args.ca) {
        let token = match token.strip_prefix('@') {
            Some(file) => read_capped(Path::new(file), 64 << 10)?.trim().to_owned(),
            None => token.clone(),
        };
        (fetch_config_report(url, &token, ca)?, url.clone())
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
    let file =
        std::fs::File::open(path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    if text.len() as u64 > limit {
        return Err(BadInput(format!("{}: larger than {limit} bytes", path.display())).into());
    }
    Ok(text)
}

/// `GET {url}/api/v1/config-report` with the bearer token, over TLS 1.2/1.3 to a server whose
/// certificate chains to `ca` and names the URL's host.
fn fetch_config_report(url: &str, token: &str, ca: &Path) -> anyhow::Result<String> {
    let bad_url = || {
        BadInput(format!(
            "--live '{url}': expected https://HOST:PORT (the gateway's management address)"
        ))
    };
    let rest = url.strip_prefix("https://").ok_or_else(bad_url)?;
    let (authority, base) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse::<u16>().map_err(|_| bad_url())?)
        }
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad_url().into());
    }
    let config = rampart_vault::tls::client_config(ca, None)
        .map_err(|e| BadInput(format!("--ca {}: {e}", ca.display())))?;
    let server_name =
        rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| bad_url())?;
    let connection =
        rustls::ClientConnection::new(config, server_name).context("starting the TLS session")?;
    let address = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?
        .next()
        .ok_or_else(bad_url)?;
    let socket = TcpStream::connect_timeout(&address, Duration::from_secs(10))
        .with_context(|| format!("connecting to {address}"))?;
    socket.set_read_timeout(Some(Duration::from_secs(30)))?;
    socket.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut stream = rustls::StreamOwned::new(connection, socket);
    let path = format!("/{}/api/v1/config-report", base.trim_matches('/'));
    let path = path.replace("//", "/");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Accept: application/json\r\nUser-Agent: rampart-assess/{}\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .with_context(|| format!("sending the request to {url}"))?;
    stream.flush()?;
    let mut raw = Vec::new();
    // A server that closes without TLS close_notify ends with UnexpectedEof; what arrived
    // before is still the whole response if its length checks out below.
    match (&mut stream)
        .take(MAX_REPORT_BYTES + 64 * 1024)
        .read_to_end(&mut raw)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e).with_context(|| format!("reading the response from {url}")),
    }
    parse_http_response(&raw).with_context(|| format!("{url}{path}"))
}

/// The body of an HTTP/1.1 response that must be 200, with Content-Length or chunked framing.
fn parse_http_response(raw: &[u8]) -> anyhow::Result<String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("the response has no complete header"))?;
    let head = std::str::from_utf8(&raw[..split]).context("the response header is not UTF-8")?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("not an HTTP response: '{status_line}'"))?;
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse().context("bad Content-Length")?;
        body.get(..length)
            .ok_or_else(|| {
                anyhow::anyhow!("the response ended after {} of {length} bytes", body.len())
            })?
            .to_vec()
    } else {
        body.to_vec()
    };
    let text = String::from_utf8(body).context("the response body is not UTF-8")?;
    match status {
        200 => Ok(text),
        401 | 403 => Err(BadInput(format!(
            "the gateway refused the token (HTTP {status}); it needs the permission to view the configuration"
        ))
        .into()),
        _ => Err(anyhow::anyhow!("HTTP {status}: {}", text.chars().take(200).collect::<String>())),
    }
}

fn dechunk(mut body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow::anyhow!("truncated chunked body"))?;
        let size_text = std::str::from_utf8(&body[..line_end])?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).context("bad chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body
            .get(..size)
            .ok_or_else(|| anyhow::anyhow!("truncated chunk"))?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).unwrap_or_default();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_bodies_are_framed_by_length_or_chunks() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}trailing";
        assert_eq!(parse_http_response(raw).unwrap(), "{}");
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_http_response(raw).unwrap(), "{\"a\":1}");
        let raw = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
        let error = parse_http_response(raw).unwrap_err();
        assert!(error.chain().any(<dyn std::error::Error>::is::<BadInput>));
        assert!(parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}").is_err());
        assert!(parse_http_response(b"garbage").is_err());
    }
}
