//! `rampart integrity seal|verify|log`, and the start-up and run-time checks `rampart up` runs
//! (CR 3.4 RE 1 and RE 2, CR 3.14): what the component starts from — its binary (and slot
//! manifest), configuration, policy and PKI trust anchors — measured against a manifest signed
//! with the device key. The work is `rampart_update::integrity`'s; this module chooses the
//! files, keeps the sequence floor in the audit trail, audits and prints. docs/integrity.md
//! has the model.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_audit::{
    Actor, AuditStore, Category, NewEvent, Outcome as AuditOutcome, Query, Severity,
};
use rampart_gateway::GatewayConfig;
use rampart_update::integrity::{
    self, Expect, Expected, Finding, Manifest, Measurement, MeasurementLog, SignedManifest, Target,
};
use rampart_update::slots::{SlotName, Slots};
use rampart_vault::{DataDir, Entry};

use crate::component::Component;
use crate::{BadInput, Outcome};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Measure the binary, the configuration, the policy and the PKI trust anchors and sign
    /// the result with the device key (DATA/integrity/manifest.json, the next sequence
    /// number); audited integrity.sealed.
    Seal(Args),
    /// Measure again and check against the signed manifest, as `rampart up` does before any
    /// listener opens. Exit 0 as sealed, 1 a mismatch, 2 bad input (nothing sealed, no data
    /// directory, an unreadable configuration).
    Verify(Args),
    /// Show the measurement event log; with --verify, replay its running digest.
    Log(LogArgs),
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The data directory.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
    /// The gateway configuration `rampart up` is started with (none: the embedded default).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct LogArgs {
    /// The data directory.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
    /// Replay the running digest of every line (exit 1 if it does not hold).
    #[arg(long)]
    verify: bool,
}

pub(crate) fn run(command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Seal(args) => seal_command(args),
        Command::Verify(args) => verify_command(args),
        Command::Log(args) => log_command(args),
    }
}

/// What is measured, and from which slot the component runs.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) targets: Vec<Target>,
    pub(crate) slot: Option<String>,
    manifest: PathBuf,
    log: MeasurementLog,
}

impl Setup {
    /// The targets for a component on `data` started with `config` (read from `config_file`,
    /// if any), from the slot in `RAMPART_SLOT`, if any.
    pub(crate) fn new(
        data: &DataDir,
        config_file: Option<&Path>,
        config: &GatewayConfig,
    ) -> anyhow::Result<Setup> {
        let mut targets = Vec::new();
        // The running image: the kernel's link to the executed file.
        let binary = std::fs::read_link("/proc/self/exe").context("locating /proc/self/exe")?;
        targets.push(Target::new("binary", binary, Expect::File));
        let slot = std::env::var("RAMPART_SLOT").ok().filter(|s| !s.is_empty());
        if let Some(name) = slot.as_deref().and_then(|s| s.parse::<SlotName>().ok()) {
            let slots = Slots::new(data.file(Entry::Update));
            targets.push(Target::new(
                "slot-manifest",
                slots.slot_dir(name).join("manifest.json"),
                Expect::File,
            ));
        }
        if let Some(file) = config_file {
            let file = std::path::absolute(file)
                .map_err(|e| BadInput(format!("--config {}: {e}", file.display())))?;
            targets.push(Target::new("config", file, Expect::File));
        }
        targets.push(Target::new(
            "policy",
            rampart_gateway::configured_policy_path(config, data.root()),
            Expect::File,
        ));
        let pki = data.file(Entry::Pki);
        let anchors = if config.secure.trust_anchors.is_empty() {
            vec![pki.join("ca.crt")]
        } else {
            config.secure.trust_anchors.clone()
        };
        let crls = if config.secure.crls.is_empty() {
            vec![pki.join("ca.crl")]
        } else {
            config.secure.crls.clone()
        };
        for (kind, files) in [("trust-anchor", anchors), ("crl", crls)] {
            for file in files {
                let name = file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into(),
                );
                targets.push(Target::new(format!("{kind}:{name}"), file, Expect::File));
            }
        }
        // A trust anchor, key or certificate added next to the others is a finding.
        targets.push(Target::new("pki-directory", pki, Expect::Directory));
        targets.push(Target::new(
            "audit-settings",
            data.file(Entry::AuditSettings),
            Expect::OptionalFile,
        ));
        // One spelling of every path, whatever the working directory and --data spelling.
        for target in &mut targets {
            if let Ok(absolute) = std::path::absolute(&target.path) {
                target.path = absolute;
            }
        }
        Ok(Setup {
            targets,
            slot,
            manifest: data.file(Entry::IntegrityManifest),
            log: MeasurementLog::new(data.file(Entry::MeasurementLog)),
        })
    }
}

impl Setup {
    /// Where the manifest is.
    pub(crate) fn manifest_path(&self) -> &Path {
        &self.manifest
    }
}

/// The newest sequence number `integrity.sealed` records in the audit trail.
pub(crate) fn floor(audit: &AuditStore) -> anyhow::Result<Option<u64>> {
    let reader = audit.reader().context("reading the audit trail")?;
    let mut floor = None;
    for event in reader.iter(&Query::new().category(Category::ConfigurationChange)) {
        let event = event.context("reading the audit trail")?;
        if event.action() == "integrity.sealed"
            && let Some(seq) = event
                .details()
                .get("sequence")
                .and_then(serde_json::Value::as_u64)
        {
            floor = Some(floor.map_or(seq, |f: u64| f.max(seq)));
        }
    }
    Ok(floor)
}

/// Seals: measures, signs with the next sequence number, writes the manifest, logs the
/// measurements and records `integrity.sealed` (`reason`: `first-start`, `operator`,
/// `policy-applied`).
pub(crate) fn seal(
    data: &DataDir,
    audit: &AuditStore,
    setup: &Setup,
    reason: &str,
    actor: Actor,
) -> anyhow::Result<SignedManifest> {
    let measured = integrity::measure(&setup.targets);
    let previous = SignedManifest::read(&setup.manifest)
        .ok()
        .flatten()
        .map_or(0, |m| m.signed.sequence);
    let sequence = floor(audit)?.unwrap_or(0).max(previous) + 1;
    let key = data.device_key().context("opening the device key")?;
    let manifest = Manifest::seal(
        &setup.targets,
        measured.clone(),
        sequence,
        setup.slot.clone(),
        now(),
        &key,
    )
    .map_err(|e| BadInput(e.to_string()))?;
    data.dir(Entry::Integrity)?;
    manifest.write(&setup.manifest)?;
    let running = setup.log.append("seal", &measured)?;
    let digest = manifest.signed.digest()?;
    audit
        .append(
            NewEvent::builder(Category::ConfigurationChange, "integrity.sealed", actor)
                .target(setup.manifest.display().to_string())
                .outcome(AuditOutcome::Success)
                .severity(Severity::Notice)
                .details(serde_json::json!({
                    "sequence": sequence,
                    "sha256": digest,
                    "reason": reason,
                    "slot": setup.slot,
                    "entries": manifest.signed.entries.len(),
                    "log_running": running,
                }))
                .build()?,
        )
        .context("recording integrity.sealed")?;
    Ok(manifest)
}

/// The outcome of a check.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Nothing was ever sealed (no manifest, and no `integrity.sealed` in the trail).
    NeverSealed,
    /// As sealed.
    Verified {
        sequence: u64,
        measured: Vec<Measurement>,
    },
    /// Not as sealed.
    Mismatch {
        findings: Vec<Finding>,
        measured: Vec<Measurement>,
    },
}

/// Measures and checks against the manifest: signature (device key), sequence against the
/// audited floor, slot, every entry. A missing manifest after one was sealed is a mismatch.
pub(crate) fn verify(data: &DataDir, audit: &AuditStore, setup: &Setup) -> anyhow::Result<Verdict> {
    let floor = floor(audit)?;
    let measured = integrity::measure(&setup.targets);
    let mismatch = |finding: Finding, measured: Vec<Measurement>| Verdict::Mismatch {
        findings: vec![finding],
        measured,
    };
    let manifest = match SignedManifest::read(&setup.manifest) {
        Ok(Some(manifest)) => manifest,
        Ok(None) if floor.is_none() => return Ok(Verdict::NeverSealed),
        Ok(None) => {
            return Ok(mismatch(
                Finding::Entries {
                    detail: format!(
                        "{} is gone, but the audit trail records sequence {} sealed",
                        setup.manifest.display(),
                        floor.unwrap_or_default()
                    ),
                },
                measured,
            ));
        }
        Err(e) => {
            return Ok(mismatch(
                Finding::Signature {
                    detail: e.to_string(),
                },
                measured,
            ));
        }
    };
    let key = data
        .device_key()
        .context("opening the device key")?
        .public_key();
    let mut findings = integrity::check(
        &manifest,
        &Expected {
            key,
            floor,
            slot: setup.slot.as_deref(),
        },
        &measured,
    );
    findings.extend(crl_rollback(data, audit)?);
    Ok(if findings.is_empty() {
        Verdict::Verified {
            sequence: manifest.signed.sequence,
            measured,
        }
    } else {
        Verdict::Mismatch { findings, measured }
    })
}

/// Appends measurements to the log; a log that cannot be written is reported, not fatal.
pub(crate) fn log_measurements(setup: &Setup, reason: &str, measured: &[Measurement]) {
    if let Err(e) = setup.log.append(reason, measured) {
        use std::io::Write as _;
        // Never a panic for a closed console.
        let _ = writeln!(
            std::io::stderr().lock(),
            "integrity: the measurement log was not written: {e}"
        );
    }
}

/// Records `integrity.mismatch` (start) or `integrity.changed` (run time), alert severity,
/// naming every file.
pub(crate) fn record_findings(
    audit: &AuditStore,
    action: &str,
    actor: Actor,
    findings: &[Finding],
    response: &str,
) -> anyhow::Result<()> {
    let files: Vec<String> = findings.iter().map(Finding::subject).collect();
    audit
        .append(
            NewEvent::builder(Category::ConfigurationChange, action, actor)
                .target(files.join(", "))
                .outcome(AuditOutcome::Failure)
                .severity(Severity::Alert)
                .essential()
                .details(serde_json::json!({
                    "findings": findings,
                    "reasons": findings.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "response": response,
                }))
                .build()?,
        )
        .with_context(|| format!("recording {action}"))?;
    Ok(())
}

fn now() -> jiff::Timestamp {
    rampart_audit::Clock::now(&rampart_audit::SystemClock::new())
}

fn load_config(config: Option<&Path>) -> anyhow::Result<GatewayConfig> {
    match config {
        Some(path) => GatewayConfig::from_file(path).map_err(|e| BadInput(e.to_string()).into()),
        None => Ok(GatewayConfig::default()),
    }
}

fn open_existing(args: &Args) -> anyhow::Result<(Component, Setup)> {
    let config = load_config(args.config.as_deref())?;
    if !args
        .data
        .join(Entry::LayoutMarker.relative_path())
        .is_file()
    {
        return Err(BadInput(format!(
            "--data {}: not a data directory (start the gateway once, or check the path)",
            args.data.display()
        ))
        .into());
    }
    let component = Component::open_with(&args.data, &config.vault)?;
    let setup = Setup::new(&component.data, args.config.as_deref(), &config)?;
    Ok((component, setup))
}

fn seal_command(args: &Args) -> anyhow::Result<Outcome> {
    let (component, setup) = open_existing(args)?;
    let manifest = seal(
        &component.data,
        &component.audit,
        &setup,
        "operator",
        component.actor()?,
    )?;
    println!(
        "sealed {} entries as sequence {} ({}), SHA-256 {}",
        manifest.signed.entries.len(),
        manifest.signed.sequence,
        setup.manifest.display(),
        manifest.signed.digest()?
    );
    for entry in &manifest.signed.entries {
        println!(
            "  {:<24} {:<13} {}",
            entry.name,
            entry.kind.to_string(),
            entry.path
        );
    }
    component.close()?;
    Ok(Outcome::Ok)
}

fn verify_command(args: &Args) -> anyhow::Result<Outcome> {
    let (component, setup) = open_existing(args)?;
    let started = std::time::Instant::now();
    let verdict = verify(&component.data, &component.audit, &setup)?;
    let took = started.elapsed();
    let outcome = match verdict {
        Verdict::NeverSealed => {
            component.close()?;
            return Err(BadInput(format!(
                "{}: nothing sealed yet (run `rampart integrity seal` or start the gateway once)",
                setup.manifest.display()
            ))
            .into());
        }
        Verdict::Verified { sequence, measured } => {
            println!(
                "integrity verified: {} entries as sealed (sequence {sequence}) in {:.1} ms",
                measured.len(),
                took.as_secs_f64() * 1000.0
            );
            Outcome::Ok
        }
        Verdict::Mismatch { findings, .. } => {
            println!("integrity MISMATCH ({} findings):", findings.len());
            for finding in &findings {
                println!("  {finding}");
            }
            Outcome::CheckFailed
        }
    };
    component.close()?;
    Ok(outcome)
}

fn log_command(args: &LogArgs) -> anyhow::Result<Outcome> {
    let path = args.data.join(Entry::MeasurementLog.relative_path());
    let text = rampart_vault::read_capped_text(&path, integrity::LOG_MAX * 2)
        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    match integrity::replay(&text) {
        Ok(replay) => {
            for line in &replay.lines {
                println!(
                    "{:>6} {:<8} {:<24} {:<13} {}",
                    line.index,
                    line.reason,
                    line.name,
                    line.kind.to_string(),
                    line.sha256
                );
            }
            if args.verify {
                println!(
                    "replayed {} lines: running digest {}",
                    replay.lines.len(),
                    replay.running
                );
            }
            Ok(Outcome::Ok)
        }
        Err(reason) if args.verify => {
            println!("{}: the replay fails: {reason}", path.display());
            Ok(Outcome::CheckFailed)
        }
        Err(reason) => Err(BadInput(format!("{}: {reason}", path.display())).into()),
    }
}

/// The highest CRL number `pki.revoked` records, and its event's CRL digest.
fn newest_revocation(audit: &AuditStore) -> anyhow::Result<Option<(u64, String)>> {
    let reader = audit.reader().context("reading the audit trail")?;
    let mut newest: Option<(u64, String)> = None;
    let revocations = Query::new()
        .category(Category::AccessControl)
        .action("pki.revoked");
    for event in reader.iter(&revocations) {
        let event = event.context("reading the audit trail")?;
        if let (Some(number), Some(sha256)) = (
            event
                .details()
                .get("crl_number")
                .and_then(serde_json::Value::as_u64),
            event
                .details()
                .get("crl_sha256")
                .and_then(serde_json::Value::as_str),
        ) && newest.as_ref().is_none_or(|(n, _)| number >= *n)
        {
            newest = Some((number, sha256.to_owned()));
        }
    }
    Ok(newest)
}

/// A finding when `DATA/pki/ca.crl` is older than the newest revocation the audit trail
/// records: an older CRL put back (while the manifest still matches it, as after a
/// revocation made with the gateway stopped) would accept a revoked certificate again.
fn crl_rollback(data: &DataDir, audit: &AuditStore) -> anyhow::Result<Option<Finding>> {
    let Some((recorded, _)) = newest_revocation(audit)? else {
        return Ok(None);
    };
    let Ok(pki) = rampart_vault::pki::Pki::open(data) else {
        return Ok(None);
    };
    let path = pki.crl_path();
    let detail = match pki.crl_number() {
        Ok(number) if number >= recorded => return Ok(None),
        Ok(number) => format!(
            "CRL number {number} is older than the newest revocation recorded (CRL number \
             {recorded}, rampart pki revoke): a revoked certificate would be accepted again"
        ),
        Err(e) => format!("the CRL cannot be read ({e}), and revocations are recorded"),
    };
    Ok(Some(Finding::Changed {
        name: "crl:ca.crl".to_owned(),
        path: path.display().to_string(),
        detail,
    }))
}

/// Whether `findings` are only CRLs changed into the CRL `rampart pki revoke` last wrote: the
/// newest `pki.revoked` event of the audit trail records its SHA-256. Only the newest counts,
/// so an older CRL put back (un-revoking a certificate) is still a finding. Then the caller
/// seals it. Returns why, or `None`.
pub(crate) fn recorded_crl_revocation(
    audit: &AuditStore,
    findings: &[Finding],
    measured: &[Measurement],
) -> Option<String> {
    let mut crls = Vec::new();
    for finding in findings {
        match finding {
            Finding::Changed { name, .. } if name.starts_with("crl:") => crls.push(name.as_str()),
            _ => return None,
        }
    }
    if crls.is_empty() {
        return None;
    }
    let (number, sha256) = newest_revocation(audit).ok()??;
    let all_recorded = crls.iter().all(|name| {
        measured.iter().any(|m| {
            m.name == *name && rampart_vault::crypto::ct_eq(m.sha256.as_bytes(), sha256.as_bytes())
        })
    });
    all_recorded
        .then(|| format!("the CRL is the one `rampart pki revoke` recorded (CRL number {number})"))
}

/// Whether `findings` are only what booting another verified A/B slot changes (the slot
/// name, the binary, the slot's manifest) and the slot running now verifies as the launcher
/// verified it: its manifest signed by the pinned release keys, every file's hash, its
/// boot-state record neither failed nor missing. Then the change is the launcher's authorised
/// path (NDR 3.14 RE 1), and the caller seals it. Returns why, or `None`.
pub(crate) fn verified_slot_change(
    data: &DataDir,
    setup: &Setup,
    findings: &[Finding],
) -> Option<String> {
    use rampart_update::slots::SlotState;
    let slot: SlotName = setup.slot.as_deref()?.parse().ok()?;
    let only_slot = findings.iter().all(|f| match f {
        Finding::Slot { .. } => true,
        Finding::Changed { name, .. } => name == "binary" || name == "slot-manifest",
        Finding::Entries { detail } => detail.contains("slot-manifest"),
        // Signature, rollback, and anything added later: never a slot change.
        _ => false,
    });
    if !only_slot {
        return None;
    }
    let update = data.file(Entry::Update);
    let slots = Slots::new(&update);
    let trusted = super::update::pinned_release_keys(&update).ok()?;
    let state = slots.boot_state().ok()?;
    let record = state.slots.get(&slot)?;
    if !matches!(record.state, SlotState::Committed | SlotState::Trial) {
        return None;
    }
    let binary = setup.targets.iter().find(|t| t.name == "binary")?;
    let slot_dir = slots.slot_dir(slot);
    if !binary.path.starts_with(&slot_dir) {
        return None;
    }
    let (manifest, _) = slots.verify_slot(slot, record, &trusted).ok()?;
    Some(format!(
        "slot {slot} (rampart {}) verified against the pinned release keys",
        manifest.version
    ))
}
