//! `rampart audit forward`: the audit trail to a SIEM as RFC 5424 syslog over TLS (RFC 5425,
//! octet counting), resuming from a persistent cursor after outages and restarts (CR 2.8–2.10,
//! CR 3.9). The delivery guarantee is documented in `rampart_forward` and docs/forward.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rampart_forward::{
    CollectorAddress, Facility, ForwardConfig, ForwardError, Forwarder, Hostname, Notice, Stop,
    SyslogFormat, TlsCollector,
};
use rampart_vault::DataDir;

use crate::component::AUDIT_DIR;
use crate::output;
use crate::{BadInput, Outcome as Exit};

/// Where the cursors (one per collector) live inside the data directory.
const FORWARD_DIR: rampart_vault::Entry = rampart_vault::Entry::Forward;

/// Forward the audit trail to a SIEM: RFC 5424 syslog over TLS (RFC 5425).
///
/// Sends every event after the cursor of this collector (DATA/forward/HOST_PORT.cursor; the
/// whole trail the first time), the latest signed checkpoint, and exits; with --follow it
/// keeps sending new events until SIGINT or SIGTERM. After an outage or a restart, the events
/// whose delivery was not confirmed are sent again marked resent="1", so the SIEM can drop
/// duplicates by (HOSTNAME, seq). Exit 0 done, 1 the collector could not be reached (or the
/// trail does not match the cursor), 2 bad input.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The data directory.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The collector: HOST:PORT (e.g. siem.example.org:6514, [2001:db8::1]:6514).
    #[arg(long, value_name = "HOST:PORT")]
    to: String,
    /// CA certificates (PEM) that the collector's certificate must chain to.
    #[arg(long, value_name = "CA.pem")]
    ca: PathBuf,
    /// Client certificate chain (PEM) for mutual TLS.
    #[arg(long, value_name = "CERT.pem", requires = "key")]
    cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, mode 0600).
    #[arg(long, value_name = "KEY.pem", requires = "cert")]
    key: Option<PathBuf>,
    /// The name the collector's certificate must carry; default: HOST of --to.
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
    /// Keep running: send new events as they are recorded, until SIGINT or SIGTERM.
    #[arg(long)]
    follow: bool,
    /// Syslog facility: local0..local7, authpriv, auth, daemon, … or a number 0..23.
    #[arg(long, value_name = "NAME", default_value = "local0", value_parser = parse_facility)]
    facility: Facility,
    /// The HOSTNAME of every message (the SIEM tells devices apart by it); default: this
    /// machine's host name.
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// Without --follow: give up (exit 1) after this many seconds without a confirmed
    /// delivery. With --follow the forwarder retries for as long as it runs.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    retry_for: u64,
}

fn parse_facility(text: &str) -> Result<Facility, String> {
    text.parse::<Facility>().map_err(|e| e.to_string())
}

/// The collector `to`, verified against `ca` (and with a client identity): checked before
/// anything happens, so that `rampart erase` refuses bad TLS files up front.
///
/// # Errors
/// [`BadInput`] for a bad address or TLS files.
pub(crate) fn collector(
    to: &str,
    ca: &std::path::Path,
    identity: Option<(&std::path::Path, &std::path::Path)>,
) -> anyhow::Result<TlsCollector> {
    let address: CollectorAddress = to
        .parse()
        .map_err(|e| BadInput(format!("--forward-to: {e}")))?;
    Ok(TlsCollector::from_files(address, ca, identity)
        .map_err(|e| BadInput(format!("--forward-ca/--forward-cert/--forward-key: {e}")))?)
}

/// Sends the whole trail of `data` after the collector's cursor and returns once it is
/// delivered (`rampart erase` sends its last event this way before destroying the trail).
///
/// # Errors
/// Delivery failures.
pub(crate) fn deliver_all(data: &DataDir, collector: TlsCollector) -> anyhow::Result<()> {
    let cursor_dir = data
        .dir(FORWARD_DIR)
        .map_err(|e| BadInput(format!("--data: {e}")))?;
    let cursor = rampart_forward::cursor_path(&cursor_dir, &collector.address().to_string());
    let mut config = ForwardConfig::new(SyslogFormat::new(
        Facility::Local(0),
        Hostname::from_system(),
    ));
    config.retry_for = Duration::from_secs(30);
    let stop = Stop::new();
    let mut forwarder =
        Forwarder::open(&data.file(AUDIT_DIR), &cursor, Box::new(collector), config)?;
    let report = forwarder.drain(&stop)?;
    if report.stopped {
        anyhow::bail!("the collector did not confirm delivery");
    }
    Ok(())
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Exit> {
    let address: CollectorAddress = args
        .to
        .parse()
        .map_err(|e| BadInput(format!("--to: {e}")))?;
    let hostname = match &args.hostname {
        Some(name) => {
            Hostname::new(name.clone()).map_err(|e| BadInput(format!("--hostname: {e}")))?
        }
        None => Hostname::from_system(),
    };
    let data = DataDir::open(&args.data).map_err(|e| BadInput(format!("--data: {e}")))?;
    let audit_dir = data.file(AUDIT_DIR);
    if !audit_dir.is_dir() {
        return Err(BadInput(format!(
            "--data: {} holds no audit trail",
            args.data.display()
        ))
        .into());
    }
    // clap's `requires` makes --cert and --key come together.
    let identity = args.cert.as_deref().zip(args.key.as_deref());
    let mut collector = TlsCollector::from_files(address, &args.ca, identity)
        .map_err(|e| BadInput(format!("--ca/--cert/--key: {e}")))?;
    if let Some(name) = &args.server_name {
        collector = collector
            .server_name(name)
            .map_err(|e| BadInput(format!("--server-name: {e}")))?;
    }
    let cursor_dir = data
        .dir(FORWARD_DIR)
        .map_err(|e| BadInput(format!("--data: {e}")))?;
    let cursor = rampart_forward::cursor_path(&cursor_dir, &collector.address().to_string());

    let mut config = ForwardConfig::new(SyslogFormat::new(args.facility, hostname));
    config.retry_for = Duration::from_secs(args.retry_for);
    config.observer = Some(Arc::new(|notice: &Notice| eprintln!("{notice}")));
    let stop = Stop::on_termination_signals().context("installing the SIGINT/SIGTERM handlers")?;
    let mut forwarder =
        Forwarder::open(&audit_dir, &cursor, Box::new(collector), config).map_err(|e| match e {
            ForwardError::Config(_) | ForwardError::Store(_) => {
                anyhow::Error::new(BadInput(format!("--data: {e}")))
            }
            other => anyhow::Error::new(other),
        })?;
    let report = if args.follow {
        forwarder.follow(&stop)
    } else {
        forwarder.drain(&stop)
    }
    .context("forwarding the audit trail")?;
    output::print(&format!("{report}\n")).context("writing to stdout")?;
    if report.stopped && !args.follow {
        eprintln!("interrupted before everything was sent; the next run resumes from the cursor");
        return Ok(Exit::CheckFailed);
    }
    Ok(Exit::Ok)
}
