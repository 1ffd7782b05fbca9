//! `rampart erase`: secure erase of a data directory for decommissioning (CR 4.2, RE 1, RE 2):
//! recorded (and sent to the SIEM when asked) first, then the KEK destroyed, every file
//! overwritten and removed, the result verified. The work is `rampart_vault::erase`.

use std::io::{BufRead as _, BufReader, IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;

use std::net::IpAddr;

use anyhow::Context as _;
use rampart_audit::{Actor, AuditStore, Category, NewEvent, Outcome};
use rampart_forward::TlsCollector;
use rampart_vault::DataDir;

use crate::component::Component;
use crate::output;
use crate::{BadInput, Outcome as Exit};

/// Destroy a data directory: its key-encryption key first (no sealed secret opens after
/// that, even from an earlier copy of the disk), then every file, overwritten and removed.
///
/// Asks to type the directory's name on the terminal unless --yes. The erase is recorded in
/// the audit trail first and, with --forward-to, sent to the SIEM before anything is
/// destroyed. Refused while a gateway runs on DIR. Exit 0 erased, 1 failed, 2 bad input or
/// not confirmed.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The data directory to erase.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Do not ask for confirmation (scripts).
    #[arg(long)]
    yes: bool,
    /// Send the audit trail, the erase event included, to this collector (HOST:PORT, RFC 5425)
    /// before destroying it; the erase does not happen if it cannot be delivered.
    #[arg(long, value_name = "HOST:PORT", requires = "forward_ca")]
    forward_to: Option<String>,
    /// CA certificates (PEM) the collector's certificate must chain to.
    #[arg(long, value_name = "CA.pem")]
    forward_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS with the collector.
    #[arg(long, value_name = "CERT.pem", requires = "forward_key")]
    forward_cert: Option<PathBuf>,
    /// Its private key (mode 0600).
    #[arg(long, value_name = "KEY.pem", requires = "forward_cert")]
    forward_key: Option<PathBuf>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Exit> {
    let data = DataDir::open(&args.data).map_err(|e| BadInput(format!("--data: {e}")))?;
    let lock = data
        .try_lock()
        .map_err(|e| BadInput(format!("--data: {e}")))?;
    // The SIEM's TLS files are checked before anything is asked, recorded or destroyed.
    let collector = match (&args.forward_to, &args.forward_ca) {
        (Some(to), Some(ca)) => {
            let identity = args
                .forward_cert
                .as_deref()
                .zip(args.forward_key.as_deref());
            Some(crate::cmd::forward::collector(to, ca, identity)?)
        }
        _ => None,
    };
    if !args.yes {
        let name = args
            .data
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| args.data.display().to_string());
        let question = format!(
            "This destroys {} and its key-encryption key: every key, account, policy and the \
             audit trail, beyond recovery.\nType the directory's name ({name}) to erase it: ",
            args.data.display()
        );
        if ask(&question)? != name {
            return Err(BadInput("erase cancelled; nothing was changed".into()).into());
        }
    }

    // 1. Recorded first, and delivered to the SIEM when asked, before the trail goes.
    let component = Component::open(&args.data)?;
    let siem = collector.map(|collector| Siem {
        to: args.forward_to.clone().unwrap_or_default(),
        collector,
    });
    let announced = announce(&Announcement {
        audit: &component.audit,
        data: &component.data,
        actor: component.actor()?,
        interface: "cli",
        source: None,
        siem: siem.as_ref(),
    });
    component.close()?;
    let seq = announced?;

    // 2. and 3. The KEK, then every file; verified.
    finish(&data, lock, seq, args.forward_to.as_deref())?;
    Ok(Exit::Ok)
}

/// The SIEM the audit trail goes to before an erase destroys it.
pub(crate) struct Siem {
    /// HOST:PORT, as given.
    pub(crate) to: String,
    pub(crate) collector: TlsCollector,
}

/// Who erases what: the CLI (`rampart erase`) and the API (`POST /api/v1/erase`, through
/// `rampart up`) record the same event.
pub(crate) struct Announcement<'a> {
    pub(crate) audit: &'a AuditStore,
    /// The data directory, opened with its KEK.
    pub(crate) data: &'a DataDir,
    pub(crate) actor: Actor,
    /// `cli` or `https-api`.
    pub(crate) interface: &'static str,
    pub(crate) source: Option<IpAddr>,
    pub(crate) siem: Option<&'a Siem>,
}

/// Records the `vault.erase` event and, with a SIEM, delivers the whole trail (that event
/// included) before anything is destroyed. Returns the event's sequence number.
///
/// # Errors
/// The event could not be recorded, or the trail could not be delivered: then a failed
/// `vault.erase` event says so and nothing may be erased.
pub(crate) fn announce(a: &Announcement<'_>) -> anyhow::Result<u64> {
    let target = a.data.root().display().to_string();
    let builder = |outcome: Outcome| {
        let mut b = NewEvent::builder(
            Category::ConfigurationChange,
            "vault.erase",
            a.actor.clone(),
        )
        .interface(a.interface)
        .target(target.clone())
        .outcome(outcome);
        if let Some(ip) = a.source {
            b = b.source_address(ip.to_string());
        }
        b
    };
    let kek = a.data.kek().map(|k| {
        serde_json::json!({
            "provider": k.kind().as_str(),
            "id": k.id_hex(),
            "location": k.location().display().to_string(),
        })
    });
    let event = builder(Outcome::Success)
        .details(serde_json::json!({
            "kek": kek,
            "stage": "starting: the KEK, then every file",
            "forwarded_to": a.siem.map(|s| s.to.as_str()),
        }))
        .build()?;
    let seq = a
        .audit
        .append(event)
        .context("recording the erase in the audit trail; nothing was erased")?
        .seq();
    if let Some(siem) = a.siem
        && let Err(error) = crate::cmd::forward::deliver_all(a.data, siem.collector.clone())
    {
        // The trail says the erase did not happen, and why.
        let refused = builder(Outcome::Failure)
            .details(serde_json::json!({
                "reason": "the audit trail could not be delivered to the SIEM; nothing was erased",
                "forwarded_to": siem.to,
            }))
            .build()?;
        a.audit
            .append(refused)
            .context("recording the refused erase")?;
        return Err(error
            .context("sending the audit trail to the SIEM before the erase; nothing was erased"));
    }
    Ok(seq)
}

/// Erases `data` (its audit trail closed, its lock held) with `rampart_vault::erase` and
/// prints the report: the KEK, then every file, verified.
///
/// # Errors
/// The erase failed (what remains is named).
pub(crate) fn finish(
    data: &DataDir,
    lock: rampart_vault::DataDirLock,
    seq: u64,
    forwarded_to: Option<&str>,
) -> anyhow::Result<()> {
    let report = rampart_vault::erase::erase(data).context("erasing the data directory")?;
    drop(lock);
    let kek = match &report.kek {
        Some((provider, location)) => format!("destroyed ({provider}, {})", location.display()),
        None => "none (a directory of an earlier release)".to_owned(),
    };
    output::print(&format!(
        "Erased {}:\n  audit event:   vault.erase (seq {seq}){}\n  KEK:           {kek}\n  \
         files:         {} overwritten (random, then zeros, synced) and removed, {} bytes\n  \
         directories:   {} removed\n  other entries: {} removed (not followed)\n  verified:      \
         nothing remains\n",
        report.root.display(),
        forwarded_to.map_or(String::new(), |to| format!(", delivered to {to}")),
        report.files,
        report.bytes,
        report.directories,
        report.other,
    ))
    .context("writing to stdout")?;
    Ok(())
}

/// Asks on the controlling terminal; without a person at a terminal, --yes is required.
fn ask(question: &str) -> anyhow::Result<String> {
    let refuse = || BadInput("no terminal to confirm the erase on: give --yes".into());
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(refuse().into());
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| refuse())?;
    let mut writer = &tty;
    writer
        .write_all(question.as_bytes())
        .and_then(|()| writer.flush())
        .context("asking for confirmation")?;
    let mut answer = String::new();
    BufReader::new(&tty)
        .take(256)
        .read_line(&mut answer)
        .context("reading the confirmation")?;
    Ok(answer.trim().to_owned())
}
