//! `rampart audit verify|query|tail|export|append`: the tamper-evident audit trail from the
//! command line (CR 2.8, CR 3.9, CR 6.1).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_audit::{
    ActorKind, AuditEvent, Category, NewEvent, Outcome, Query, Severity, Timestamp,
};
use rampart_vault::DevicePublicKey;

use crate::component::{AUDIT_DIR, Component, open_trail};
use crate::output::{self, Style, Table};
use crate::{BadInput, Outcome as Exit};

/// Output formats for events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned table for people.
    Table,
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// A JSON array of event objects.
    Json,
}

/// Filters shared by `query` and `export`.
#[derive(clap::Args)]
pub(crate) struct Filters {
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-28T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<Timestamp>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<Timestamp>,
    /// Only this category: access_control, request_error, control_system, backup_restore,
    /// configuration_change, reconnaissance, audit_log.
    #[arg(long, value_parser = parse_category)]
    category: Option<Category>,
    /// Only events by this actor (name as recorded, e.g. os:alice, admin).
    #[arg(long)]
    actor: Option<String>,
    /// Only events of this action (e.g. pki.revoked, login).
    #[arg(long)]
    action: Option<String>,
    /// Only this outcome: success, failure, denied.
    #[arg(long, value_parser = parse_outcome)]
    outcome: Option<Outcome>,
    /// Only events at least this severe (syslog names: debug … emergency).
    #[arg(long, value_parser = parse_severity)]
    severity: Option<Severity>,
}

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Verify the hash chain and checkpoint signatures; locate the first bad event.
    ///
    /// Exit 0 intact, 1 tampered (the first bad sequence number is printed), 2 bad input.
    Verify {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The device public key (PEM file, or 64 or 130 hex digits); default: the key published
        /// in the data directory. Give it from a trusted copy to detect a replaced key.
        #[arg(long, value_name = "PUBKEY")]
        key: Option<String>,
    },
    /// Query events by time, category, actor, outcome and severity.
    ///
    /// Reads only: adds nothing to the trail, even next to the running gateway.
    Query {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        filters: Filters,
        /// At most this many events (the oldest first).
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The last events (reads only, like query).
    Tail {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// How many.
        #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
        count: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Export events (all, or filtered) for a SIEM or an assessor.
    Export {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        filters: Filters,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Write to this file (atomically) instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Forward the trail to a SIEM: RFC 5424 syslog over TLS (RFC 5425), resuming from a
    /// persistent cursor; re-sent events are marked.
    Forward(super::forward::Args),
    /// Record an operator event (maintenance note, script step) with the OS user as actor.
    Append {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The category (see `query --help`).
        #[arg(long, value_parser = parse_category)]
        category: Category,
        /// What happened, e.g. maintenance-start.
        #[arg(long)]
        action: String,
        /// What it happened to.
        #[arg(long)]
        target: Option<String>,
        /// success, failure or denied.
        #[arg(long, value_parser = parse_outcome, default_value = "success")]
        outcome: Outcome,
        /// Syslog severity; default: from category and outcome.
        #[arg(long, value_parser = parse_severity)]
        severity: Option<Severity>,
        /// Structured details, a JSON object.
        #[arg(long, value_name = "JSON", value_parser = parse_details)]
        details: Option<serde_json::Value>,
    },
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    text.parse::<Timestamp>().map_err(|e| e.to_string())
}

fn parse_category(text: &str) -> Result<Category, String> {
    text.parse::<Category>().map_err(|e| e.to_string())
}

fn parse_outcome(text: &str) -> Result<Outcome, String> {
    text.parse::<Outcome>().map_err(|e| e.to_string())
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse::<Severity>().map_err(|e| e.to_string())
}

fn parse_details(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err("details must be a JSON object, e.g. '{\"ticket\": \"CHG-42\"}'".into())
    }
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Exit> {
    match command {
        Command::Verify { data, key } => verify(data, key.as_deref()),
        Command::Forward(args) => super::forward::run(args),
        Command::Query {
            data,
            filters,
            limit,
            format,
        } => {
            // Reading writes nothing, not even the trail's open/close bookkeeping.
            let events = open_trail(data)?.query(&filters.query().limit(*limit))?;
            print_events(&events, *format, None)?;
            Ok(Exit::Ok)
        }
        Command::Tail {
            data,
            count,
            format,
        } => {
            let events = open_trail(data)?.tail(*count)?;
            print_events(&events, *format, None)?;
            Ok(Exit::Ok)
        }
        Command::Export {
            data,
            filters,
            format,
            output,
        } => {
            let component = Component::open(data)?;
            let events = component.audit.reader()?.query(&filters.query())?;
            print_events(&events, *format, output.as_deref())?;
            component.record(
                NewEvent::builder(Category::AuditLog, "audit-exported", component.actor()?)
                    .interface("cli")
                    .target(
                        output
                            .as_ref()
                            .map_or_else(|| "stdout".to_owned(), |p| p.display().to_string()),
                    )
                    .outcome(Outcome::Success)
                    .details(serde_json::json!({ "events": events.len() }))
                    .build()?,
            )?;
            component.close()?;
            Ok(Exit::Ok)
        }
        Command::Append {
            data,
            category,
            action,
            target,
            outcome,
            severity,
            details,
        } => {
            let component = Component::open(data)?;
            let mut builder = NewEvent::builder(*category, action.clone(), component.actor()?)
                .interface("cli")
                .outcome(*outcome);
            if let Some(target) = target {
                builder = builder.target(target.clone());
            }
            if let Some(severity) = severity {
                builder = builder.severity(*severity);
            }
            if let Some(details) = details {
                builder = builder.details(details.clone());
            }
            let event = builder.build().map_err(|e| BadInput(e.to_string()))?;
            let seq = component.record(event)?;
            component.close()?;
            output::print(&format!("recorded event {seq}\n")).context("writing to stdout")?;
            Ok(Exit::Ok)
        }
    }
}

impl Filters {
    fn query(&self) -> Query {
        let mut query = Query::new();
        if let Some(t) = self.since {
            query = query.since(t);
        }
        if let Some(t) = self.until {
            query = query.until(t);
        }
        if let Some(c) = self.category {
            query = query.category(c);
        }
        if let Some(a) = &self.actor {
            query = query.actor(a.clone());
        }
        if let Some(a) = &self.action {
            query = query.action(a.clone());
        }
        if let Some(o) = self.outcome {
            query = query.outcome(o);
        }
        if let Some(s) = self.severity {
            query = query.min_severity(s);
        }
        query
    }
}

fn verify(data: &Path, key: Option<&str>) -> anyhow::Result<Exit> {
    if !data.is_dir() {
        return Err(BadInput(format!("--data: {} is not a directory", data.display())).into());
    }
    let key_text = match key {
        Some(k) if Path::new(k).is_file() => {
            std::fs::read_to_string(k).map_err(|e| BadInput(format!("--key {k}: {e}")))?
        }
        Some(k) => k.to_owned(),
        None => {
            let published = data.join("keys/device.pub");
            std::fs::read_to_string(&published)
                .map_err(|e| BadInput(format!("{}: {e} (give --key)", published.display())))?
        }
    };
    let public = DevicePublicKey::parse(&key_text).map_err(|e| BadInput(format!("--key: {e}")))?;
    let report = rampart_audit::verify(&data.join(AUDIT_DIR.relative_path()), &public)
        .map_err(|e| BadInput(format!("--data: {e}")))?;
    output::print(&format!("{report}\n")).context("writing to stdout")?;
    if report.is_intact() {
        Ok(Exit::Ok)
    } else {
        if let Some(seq) = report.first_bad_seq() {
            eprintln!("tampered: first bad event is sequence number {seq}");
        }
        Ok(Exit::CheckFailed)
    }
}

fn print_events(events: &[AuditEvent], format: Format, to: Option<&Path>) -> anyhow::Result<()> {
    let text = match format {
        Format::Table => {
            let style = Style::new(to.is_none() && output::colour_stdout());
            let mut table = Table::new([
                "SEQ", "TIME", "CATEGORY", "ACTION", "ACTOR", "SOURCE", "TARGET", "OUTCOME",
                "SEVERITY",
            ]);
            for e in events {
                let actor = match e.actor().kind() {
                    ActorKind::User => e.actor().name().to_owned(),
                    kind => format!("{kind}:{}", e.actor().name()),
                };
                table.row(vec![
                    e.seq().to_string(),
                    e.timestamp().to_string(),
                    e.category().to_string(),
                    e.action().to_owned(),
                    actor,
                    e.source_address().unwrap_or("-").to_owned(),
                    e.target().unwrap_or("-").to_owned(),
                    e.outcome().to_string(),
                    e.severity().to_string(),
                ]);
            }
            let mut text = table.render(style);
            let _ = writeln!(text, "{} events", events.len());
            text
        }
        Format::Json => {
            let mut text = serde_json::to_string_pretty(events)?;
            text.push('\n');
            text
        }
        Format::Jsonl => {
            let mut text = String::new();
            for e in events {
                text.push_str(&serde_json::to_string(e)?);
                text.push('\n');
            }
            text
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record([
                "seq",
                "timestamp",
                "time_source",
                "clock_sync",
                "category",
                "action",
                "actor_kind",
                "actor",
                "source_address",
                "interface",
                "target",
                "outcome",
                "severity",
                "details",
                "hash",
            ])?;
            for e in events {
                let value = serde_json::to_value(e)?;
                let field = |k: &str| match &value[k] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                writer.write_record([
                    field("seq"),
                    field("timestamp"),
                    field("time_source"),
                    field("clock_sync"),
                    field("category"),
                    field("action"),
                    value["actor"]["kind"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    value["actor"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    field("source_address"),
                    field("interface"),
                    field("target"),
                    field("outcome"),
                    field("severity"),
                    field("details"),
                    field("hash"),
                ])?;
            }
            String::from_utf8(writer.into_inner()?)?
        }
    };
    match to {
        Some(path) => rampart_vault::write_atomic(path, text.as_bytes(), 0o600)
            .with_context(|| format!("writing {}", path.display())),
        None => output::print(&text).context("writing to stdout"),
    }
}
