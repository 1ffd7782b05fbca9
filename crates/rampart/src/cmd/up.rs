//! `rampart up`: run the secure Modbus/TCP gateway in the foreground; `rampart island`:
//! stop or resume all traffic across the conduit (NDR 5.2 RE 2).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rampart_audit::{Actor, Category, ClockWatch, NewEvent, Outcome, Severity, SystemClock};
use rampart_gateway::config::{OnMismatch, UpstreamTarget};
use rampart_gateway::tamper::TamperWatch;
use rampart_gateway::{AuditSink, Gateway, GatewayConfig, PolicyUpdate, RunningGateway};
use rampart_identity::AccountName;
use rampart_mgmt::{ManagementConfig, Services};
use tokio::signal::unix::{SignalKind, signal};

use crate::component::Component;
use crate::{BadInput, Outcome as Exit};

/// The administrator created on first start.
const INITIAL_ADMIN: &str = "admin";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Gateway configuration (TOML); default: the embedded default (see docs/gateway.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory: keys, PKI, policy, audit trail, accounts. Created on first start.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
    /// A real Modbus/TCP device to protect instead of the built-in simulated PLC.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_upstream)]
    upstream: Option<UpstreamTarget>,
    /// When started by `rampart launch` as a trial slot: how long the health check (listeners
    /// up, policy loaded, audit trail writable) must hold before the slot commits itself.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    commit_after: u64,
    /// Where a decommissioning erase through the API (`POST /api/v1/erase`) sends the audit
    /// trail, its erase event included, before destroying it (HOST:PORT, RFC 5425); the erase
    /// is refused if it cannot be delivered. Without it the trail is erased with the rest.
    #[arg(long, value_name = "HOST:PORT", requires = "erase_forward_ca")]
    erase_forward_to: Option<String>,
    /// CA certificates (PEM) that collector's certificate must chain to.
    #[arg(long, value_name = "CA.pem", requires = "erase_forward_to")]
    erase_forward_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS with the collector.
    #[arg(long, value_name = "CERT.pem", requires = "erase_forward_key")]
    erase_forward_cert: Option<PathBuf>,
    /// Its private key (mode 0600).
    #[arg(long, value_name = "KEY.pem", requires = "erase_forward_cert")]
    erase_forward_key: Option<PathBuf>,
}

fn parse_upstream(text: &str) -> Result<UpstreamTarget, String> {
    text.parse()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Switch {
    /// Stop all traffic across the conduit at once.
    On,
    /// Let traffic through again (as the policy allows).
    Off,
}

#[derive(clap::Args)]
pub(crate) struct IslandArgs {
    /// On or off.
    #[arg(value_enum)]
    switch: Switch,
    /// The data directory of the gateway.
    #[arg(long, value_name = "DIR", default_value = "rampart-data")]
    data: PathBuf,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Exit> {
    let mut config = match &args.config {
        Some(path) => GatewayConfig::from_file(path).map_err(|e| BadInput(e.to_string()))?,
        None => GatewayConfig::default(),
    };
    if let Some(upstream) = &args.upstream {
        config.upstream.target = upstream.clone();
    }
    config.validate().map_err(|e| BadInput(e.to_string()))?;
    // The SIEM of an erase through the API: its TLS files are checked before anything starts.
    let siem = match (&args.erase_forward_to, &args.erase_forward_ca) {
        (Some(to), Some(ca)) => {
            let identity = args
                .erase_forward_cert
                .as_deref()
                .zip(args.erase_forward_key.as_deref());
            let collector = super::forward::collector(to, ca, identity)
                .map_err(|e| BadInput(e.to_string().replace("--forward-", "--erase-forward-")))?;
            Some(super::erase::Siem {
                to: to.clone(),
                collector,
            })
        }
        _ => None,
    };
    // One gateway per data directory, and a restore cannot swap it away underneath. The lock
    // is taken before a staged restore is put in place, so that a second `up` started next
    // to a running gateway is refused instead of moving its directory.
    let lock_existing = || -> anyhow::Result<Option<rampart_vault::DataDirLock>> {
        if !args.data.join("LAYOUT").is_file() {
            return Ok(None);
        }
        let data = rampart_vault::DataDir::open(&args.data)
            .map_err(|e| BadInput(format!("--data: {e}")))?;
        Ok(Some(
            lock_with_grace(&data).map_err(|e| BadInput(format!("--data: {e}")))?,
        ))
    };
    let before = lock_existing()?;
    // A restore staged through the management plane (CR 7.4) takes effect now, before
    // anything opens the data directory.
    let applied = rampart_backup::staged::apply_staged(&args.data)
        .context("putting the staged restore in place")?;
    let component = Component::open_with(&args.data, &config.vault)?;
    // The directory the lock was taken on is still the one in place unless a restore moved
    // it; otherwise (or for a new directory) take the lock of the one in place now.
    let lock = match before {
        Some(lock) if applied.is_none() => lock,
        _ => lock_with_grace(&component.data).map_err(|e| BadInput(format!("--data: {e}")))?,
    };
    if let Some(applied) = &applied {
        record_restore(&component, applied)?;
        say(&format!(
            "Restored the backup of {} (sha256 {}), staged by {}; the replaced data directory is kept at {}\n\n",
            applied.staged.created,
            applied.staged.sha256,
            applied.staged.requested_by,
            applied.replaced.display()
        ));
    }
    // Start-up integrity (CR 3.4 RE 1, CR 3.14): before any listener opens.
    let integrity = IntegrityRun {
        setup: super::integrity::Setup::new(&component.data, args.config.as_deref(), &config)?,
        first_start: false,
        recheck: config.integrity.recheck_interval,
        reported: Vec::new(),
    };
    let integrity = if config.integrity.startup_check {
        let Some(integrity) = startup_check(&component, integrity, config.integrity.on_mismatch)?
        else {
            component.close()?;
            return Ok(Exit::CheckFailed);
        };
        integrity
    } else {
        say("integrity: the start-up check is off ([integrity] startup_check = false)\n");
        integrity
    };
    let initial_password = {
        let identity = component.identity()?;
        let admin = AccountName::parse(INITIAL_ADMIN).map_err(|e| anyhow::anyhow!("{e}"))?;
        identity
            .bootstrap_admin(&admin)
            .context("creating the initial administrator")?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rampart-gateway")
        .build()
        .context("starting the async runtime")?;
    let trial = super::update::TrialBoot::from_env(Duration::from_secs(args.commit_after));
    let forwarded_to = siem.as_ref().map(|s| s.to.clone());
    let result = runtime.block_on(serve(
        config,
        &component,
        initial_password,
        trial,
        integrity,
        siem,
    ));
    let data = component.data.clone();
    component.close()?;
    if let Ok(Exit::Erased { seq }) = result {
        // Erase through the API (recorded, and delivered when asked, before the 202): every
        // listener is stopped and the trail closed; the lock is still held.
        drop(runtime);
        super::erase::finish(&data, lock, seq, forwarded_to.as_deref())?;
        return Ok(Exit::Erased { seq });
    }
    result
}

/// `POST /api/v1/erase` in a running gateway: records the erase as `rampart erase` does.
struct UpDecommission {
    audit: Arc<rampart_audit::AuditStore>,
    data: rampart_vault::DataDir,
    siem: Option<super::erase::Siem>,
    /// The sequence number of the accepted erase's event, for the report at the end.
    seq: Arc<std::sync::OnceLock<u64>>,
}

impl rampart_mgmt::api::erase::Decommission for UpDecommission {
    fn announce(
        &self,
        order: &rampart_mgmt::api::erase::EraseOrder,
    ) -> Result<rampart_mgmt::api::erase::Announced, String> {
        let seq = super::erase::announce(&super::erase::Announcement {
            audit: &self.audit,
            data: &self.data,
            actor: order.actor.clone(),
            interface: "https-api",
            source: order.source,
            siem: self.siem.as_ref(),
        })
        .map_err(|e| format!("{e:#}"))?;
        let _ = self.seq.set(seq);
        Ok(rampart_mgmt::api::erase::Announced {
            seq,
            forwarded_to: self.siem.as_ref().map(|s| s.to.clone()),
        })
    }
}

/// Takes the data directory's lock, waiting a few seconds for a previous instance that was just
/// stopped or killed (a service manager restarts at once; the lock of a killed process is
/// released only once every process that shared its descriptor has gone). A gateway that
/// keeps running keeps the directory: the second start is then refused.
fn lock_with_grace(
    data: &rampart_vault::DataDir,
) -> Result<rampart_vault::DataDirLock, rampart_vault::VaultError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match data.try_lock() {
            Err(rampart_vault::VaultError::InUse { .. })
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

async fn serve(
    config: GatewayConfig,
    component: &Component,
    initial_password: Option<rampart_identity::InitialPassword>,
    mut trial: Option<super::update::TrialBoot>,
    mut integrity: IntegrityRun,
    siem: Option<super::erase::Siem>,
) -> anyhow::Result<Exit> {
    // Handlers first: a signal that arrives once the gateway says it is ready must stop it
    // cleanly, not kill it.
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let sink: Arc<dyn AuditSink> = Arc::clone(&component.audit) as Arc<dyn AuditSink>;
    let management = ManagementConfig::from_gateway(&config);
    let hardening = config.hardening;
    let passwords = config.passwords;
    let tamper_options = config.tamper.clone();
    let gateway = Gateway::start_with_audit(config, &component.data, sink)
        .await
        .map_err(|e| match e {
            rampart_gateway::GatewayError::Config(_)
            | rampart_gateway::GatewayError::ConfigProblem(_)
            | rampart_gateway::GatewayError::Policy(_) => {
                anyhow::Error::new(BadInput(e.to_string()))
            }
            other => anyhow::Error::new(other).context("starting the gateway"),
        })?;
    if integrity.first_start {
        // Trust on first use: nothing was sealed to check against; what the first start
        // created (PKI, policy) is sealed now, before the management plane opens.
        let sealed = super::integrity::seal(
            &component.data,
            &component.audit,
            &integrity.setup,
            "first-start",
            Actor::process("rampart-gateway")?,
        )?;
        say(&format!(
            "integrity: no manifest yet: sealed {} entries on first start (trust on first use), sequence {}\n",
            sealed.signed.entries.len(),
            sealed.signed.sequence
        ));
    }
    let gateway = Arc::new(gateway);
    let identity = Arc::new(component.identity_at(hardening, &passwords)?);
    let mgmt = rampart_mgmt::start(
        management,
        Services {
            identity,
            audit: Arc::clone(&component.audit),
            gateway: Arc::clone(&gateway),
            data: component.data.clone(),
            launched_slot: std::env::var("RAMPART_SLOT")
                .ok()
                .and_then(|s| s.parse().ok()),
        },
    )
    .await;
    let mgmt = match mgmt {
        Ok(mgmt) => mgmt,
        Err(e) => {
            stop_gateway(gateway).await?;
            return Err(anyhow::Error::new(e).context("starting the management plane"));
        }
    };
    let erased = Arc::new(std::sync::OnceLock::new());
    mgmt.set_decommission(Arc::new(UpDecommission {
        audit: Arc::clone(&component.audit),
        data: component.data.clone(),
        siem,
        seq: Arc::clone(&erased),
    }));
    say(&gateway.start_summary());
    say(&format!(
        "  management (HTTPS)   https://{}/  (web UI; the API under /api/v1/)\n",
        mgmt.local_addr()
    ));
    if let Some(password) = initial_password {
        say(&format!(
            "\n  Initial administrator: {INITIAL_ADMIN}\n  One-time password:     {}\n  It is shown only now and must be changed at first login.\n",
            password.expose_secret()
        ));
    }
    // Physical tamper detection (NDR 3.11): the sensors, read now and every interval.
    let mut tamper = TamperWatch::new(rampart_gateway::tamper::sensors(
        &tamper_options,
        std::path::Path::new(rampart_gateway::tamper::HWMON_ROOT),
    ));
    say(&tamper_summary(&tamper, &tamper_options));
    let mut tamper_tick = tokio::time::interval(tamper_options.interval);
    say("\nCtrl-C or SIGTERM stops the gateway; SIGHUP reloads the policy.\n");

    let clock = SystemClock::new();
    clock.set_sync(rampart_audit::system_clock_sync());
    let mut watch = ClockWatch::new(&clock);
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut recheck = tokio::time::interval_at(
        tokio::time::Instant::now() + integrity.recheck,
        integrity.recheck,
    );
    let reason = loop {
        tokio::select! {
            _ = interrupt.recv() => break "SIGINT",
            () = mgmt.restart_requested() => break "restart requested (update)",
            () = mgmt.erase_requested() => {
                // A moment for the 202 to reach the caller before the listeners close.
                tokio::time::sleep(Duration::from_millis(500)).await;
                break "erase requested (API)";
            }
            _ = terminate.recv() => break "SIGTERM",
            _ = hangup.recv() => {
                match gateway.reload_policy(PolicyUpdate::Configured).await {
                    Ok(change) => say(&format!("policy reloaded: {} -> {}\n", change.old_sha256, change.new_sha256)),
                    Err(e) => eprintln!("policy reload refused, the old policy stays in force: {e}"),
                }
            }
            _ = recheck.tick() => {
                // CR 3.4 RE 2: measure again; a change is an alert.
                let data = component.data.clone();
                let audit = Arc::clone(&component.audit);
                let policy = gateway.status().policy.sha256;
                let mut run = std::mem::take(&mut integrity.reported);
                let setup = integrity.setup.clone();
                match tokio::task::spawn_blocking(move || {
                    run = recheck_integrity(&data, &audit, &setup, &policy, run);
                    run
                }).await {
                    Ok(reported) => integrity.reported = reported,
                    Err(e) => eprintln!("integrity: the re-check failed: {e}"),
                }
            }
            _ = tamper_tick.tick() => {
                for change in tamper.poll() {
                    record_tamper(component, &gateway, &change, tamper_options.on_tamper).await;
                }
            }
            _ = tick.tick() => {
                // CR 2.11: a stepped system clock is an auditable change of the time source.
                if let Some(jump) = watch.check(&clock, Duration::from_secs(2)) {
                    record_clock_step(component, jump).await;
                }
                clock.set_sync(rampart_audit::system_clock_sync());
                // A trial slot commits itself once its health check has held long enough.
                if let Some(boot) = &trial
                    && boot.due()
                {
                    boot.commit_if_healthy(component, &gateway.status(), mgmt.local_addr());
                    trial = None;
                }
            }
        }
    };
    say(&format!("{reason}: shutting down\n"));
    mgmt.shutdown().await;
    stop_gateway(gateway).await?;
    if let Some(&seq) = erased.get()
        && reason.starts_with("erase")
    {
        return Ok(Exit::Erased { seq });
    }
    if reason.starts_with("restart") {
        // EX_TEMPFAIL: the launcher's supervisor (systemd `Restart=`) starts it again.
        return Ok(Exit::Restart);
    }
    Ok(Exit::Ok)
}

/// The integrity state `up` carries: what is measured, whether to seal on first start, the
/// re-check interval, and the findings already reported (each change is alerted once).
struct IntegrityRun {
    setup: super::integrity::Setup,
    first_start: bool,
    recheck: Duration,
    reported: Vec<String>,
}

/// A mismatch at start that an authorised change explains, to re-seal rather than report:
/// a revocation made while the gateway was stopped (`crl-revocation`), or booting another
/// verified slot — an update, a fallback, a rollback (`slot-verified`). The reason and why.
fn authorised_at_start(
    component: &Component,
    setup: &super::integrity::Setup,
    findings: &[rampart_update::integrity::Finding],
    measured: &[rampart_update::integrity::Measurement],
) -> Option<(&'static str, String)> {
    super::integrity::recorded_crl_revocation(&component.audit, findings, measured)
        .map(|why| ("crl-revocation", why))
        .or_else(|| {
            super::integrity::verified_slot_change(&component.data, setup, findings)
                .map(|why| ("slot-verified", why))
        })
}

/// The start-up check; `None` when the gateway must not start.
fn startup_check(
    component: &Component,
    mut run: IntegrityRun,
    on_mismatch: OnMismatch,
) -> anyhow::Result<Option<IntegrityRun>> {
    use super::integrity::{Verdict, log_measurements, record_findings, verify};
    let started = std::time::Instant::now();
    let verdict = verify(&component.data, &component.audit, &run.setup)?;
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    match verdict {
        Verdict::NeverSealed => run.first_start = true,
        Verdict::Verified { sequence, measured } => {
            log_measurements(&run.setup, "start", &measured);
            component.record(
                NewEvent::builder(
                    Category::ConfigurationChange,
                    "integrity.verified",
                    Actor::process("rampart-gateway")?,
                )
                .target(run.setup.manifest_path().display().to_string())
                .outcome(Outcome::Success)
                .severity(Severity::Informational)
                .details(serde_json::json!({
                    "sequence": sequence,
                    "entries": measured.len(),
                    "slot": run.setup.slot,
                }))
                .build()?,
            )?;
            say(&format!(
                "integrity: {} entries verified against the sealed manifest (sequence {sequence}) in {took_ms:.1} ms\n",
                measured.len()
            ));
        }
        Verdict::Mismatch { findings, measured }
            if let Some((reason, why)) =
                authorised_at_start(component, &run.setup, &findings, &measured) =>
        {
            let sealed = super::integrity::seal(
                &component.data,
                &component.audit,
                &run.setup,
                reason,
                Actor::process("rampart-gateway")?,
            )?;
            log_measurements(&run.setup, "start", &measured);
            say(&format!(
                "integrity: {why}; re-sealed as sequence {}\n",
                sealed.signed.sequence
            ));
        }
        Verdict::Mismatch { findings, measured } => {
            log_measurements(&run.setup, "start", &measured);
            shout("INTEGRITY MISMATCH: the component is not as sealed:");
            for finding in &findings {
                shout(&format!("  - {finding}"));
            }
            let actor = Actor::process("rampart-gateway")?;
            match on_mismatch {
                OnMismatch::Refuse => {
                    record_findings(
                        &component.audit,
                        "integrity.mismatch",
                        actor,
                        &findings,
                        "refused to start",
                    )?;
                    shout(
                        "refusing to start (exit code 1; [integrity] on_mismatch = \"refuse\"). \
                         If the change is intended, seal it: rampart integrity seal --data DIR [--config FILE]",
                    );
                    return Ok(None);
                }
                OnMismatch::Closed => {
                    rampart_gateway::persist_island(&component.data, true)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    record_findings(
                        &component.audit,
                        "integrity.mismatch",
                        actor,
                        &findings,
                        "started with traffic closed (island mode)",
                    )?;
                    let banner = "!".repeat(78);
                    shout(&format!(
                        "{banner}\n!! INTEGRITY MISMATCH: starting with ALL TRAFFIC CLOSED (island mode, \
                         [integrity] on_mismatch = \"closed\").\n!! Investigate, seal what is intended \
                         (rampart integrity seal), then `rampart island off`.\n{banner}"
                    ));
                    say("integrity: MISMATCH: traffic closed (island mode)\n");
                    run.reported = findings.iter().map(ToString::to_string).collect();
                }
            }
        }
    }
    Ok(Some(run))
}

/// One run-time re-check (blocking: hashes files): a change is recorded as
/// `integrity.changed` (alert) once per distinct set of findings; a policy file changed to
/// the policy the gateway has in force (applied through the management plane or reloaded,
/// both audited as `policy.reload`) is sealed instead. Returns the findings now reported.
fn recheck_integrity(
    data: &rampart_vault::DataDir,
    audit: &rampart_audit::AuditStore,
    setup: &super::integrity::Setup,
    policy_in_force: &str,
    reported: Vec<String>,
) -> Vec<String> {
    use super::integrity::{Verdict, log_measurements, record_findings, seal, verify};
    use rampart_update::integrity::Finding;
    let actor = || Actor::process("rampart-gateway");
    let (findings, measured) = match verify(data, audit, setup) {
        Err(e) => {
            shout(&format!("integrity: the re-check failed: {e:#}"));
            return reported;
        }
        Ok(Verdict::NeverSealed) => return Vec::new(),
        Ok(Verdict::Verified { measured, .. }) => {
            log_measurements(setup, "recheck", &measured);
            return Vec::new();
        }
        Ok(Verdict::Mismatch { findings, measured }) => (findings, measured),
    };
    log_measurements(setup, "recheck", &measured);
    let policy_applied = findings
        .iter()
        .all(|f| matches!(f, Finding::Changed { name, .. } if name == "policy"))
        && measured.iter().any(|m| {
            m.name == "policy"
                && rampart_vault::crypto::ct_eq(m.sha256.as_bytes(), policy_in_force.as_bytes())
        });
    // Authorised changes are re-sealed, not alerted.
    let authorised = if policy_applied {
        Some((
            "policy-applied",
            format!("the policy file is the policy in force ({policy_in_force})"),
        ))
    } else {
        super::integrity::recorded_crl_revocation(audit, &findings, &measured)
            .map(|why| ("crl-revocation", why))
    };
    if let Some((reason, why)) = authorised {
        match actor()
            .map_err(anyhow::Error::from)
            .and_then(|actor| seal(data, audit, setup, reason, actor))
        {
            Ok(sealed) => say(&format!(
                "integrity: {why}; re-sealed as sequence {}\n",
                sealed.signed.sequence
            )),
            Err(e) => shout(&format!("integrity: re-sealing ({reason}) failed: {e:#}")),
        }
        return Vec::new();
    }
    let reasons: Vec<String> = findings.iter().map(ToString::to_string).collect();
    if reasons != reported {
        shout("INTEGRITY CHANGED at run time:");
        for reason in &reasons {
            shout(&format!("  - {reason}"));
        }
        let recorded = actor().map_err(anyhow::Error::from).and_then(|actor| {
            record_findings(
                audit,
                "integrity.changed",
                actor,
                &findings,
                "alert raised; the gateway keeps running",
            )
        });
        if let Err(e) = recorded {
            shout(&format!(
                "integrity: recording integrity.changed failed: {e:#}"
            ));
        }
    }
    reasons
}

/// Stops the gateway cleanly once nothing else holds it (the management plane is stopped).
async fn stop_gateway(gateway: Arc<RunningGateway>) -> anyhow::Result<()> {
    match Arc::try_unwrap(gateway) {
        Ok(gateway) => gateway
            .shutdown()
            .await
            .context("shutting the gateway down"),
        Err(_) => anyhow::bail!("the gateway is still in use; it stops when the process ends"),
    }
}

/// The restored trail continues: the restore is its next event.
fn record_restore(
    component: &Component,
    applied: &rampart_backup::staged::AppliedRestore,
) -> anyhow::Result<()> {
    component
        .record(
            NewEvent::builder(
                Category::BackupRestore,
                "backup.restore",
                component.actor()?,
            )
            .interface("cli")
            .target(component.data.root().display().to_string())
            .outcome(Outcome::Success)
            .severity(Severity::Warning)
            .details(serde_json::json!({
                "sha256": applied.staged.sha256,
                "created": applied.staged.created,
                "device_key": applied.staged.device_key,
                "requested_by": applied.staged.requested_by,
                "requested_at": applied.staged.requested_at,
                "replaced": applied.replaced.display().to_string(),
                "last_event_in_backup": applied.staged.last_event_in_backup,
            }))
            .build()?,
        )
        .map(|_| ())
        .context("the staged restore is in place, but recording backup.restore failed")
}

/// The start-up line of the tamper sensors.
fn tamper_summary(
    tamper: &TamperWatch,
    options: &rampart_gateway::config::TamperOptions,
) -> String {
    let sensors: Vec<String> = tamper.sensors().map(|s| s.display().to_string()).collect();
    if sensors.is_empty() {
        "  tamper sensors       none (no chassis intrusion alarm found; [tamper] sensors)\n"
            .to_owned()
    } else {
        format!(
            "  tamper sensors       {} (every {} s; on tamper: {})\n",
            sensors.join(", "),
            options.interval.as_secs(),
            options.on_tamper.as_str()
        )
    }
}

/// A tamper sensor went into or out of alarm (NDR 3.11 RE 1): audited (alert severity into
/// alarm), shouted, and with `on_tamper = "closed"` all traffic closes (island mode).
async fn record_tamper(
    component: &Component,
    gateway: &RunningGateway,
    change: &rampart_gateway::tamper::Change,
    on_tamper: rampart_gateway::config::OnTamper,
) {
    let sensor = change.sensor.display().to_string();
    let alarm = change.reading.alarm();
    let closes = alarm && on_tamper == rampart_gateway::config::OnTamper::Closed;
    if alarm {
        let banner = "!".repeat(78);
        shout(&format!(
            "{banner}\n!! PHYSICAL TAMPER: {sensor} is {}{}\n{banner}",
            change.reading.describe(),
            if closes {
                "\n!! ALL TRAFFIC CLOSED (island mode, [tamper] on_tamper = \"closed\"): inspect \
                 the device, clear the sensor, then `rampart island off`"
            } else {
                ""
            }
        ));
    } else {
        say(&format!("tamper: {sensor} is closed again (reads 0)\n"));
    }
    let event = Actor::process("rampart-gateway").and_then(|actor| {
        NewEvent::builder(
            Category::AccessControl,
            if alarm { "tamper.detected" } else { "tamper.cleared" },
            actor,
        )
        .target(sensor.clone())
        .outcome(if alarm { Outcome::Failure } else { Outcome::Success })
        .severity(if alarm { Severity::Alert } else { Severity::Notice })
        .essential()
        .details(serde_json::json!({
            "reading": change.reading.describe(),
            "response": if closes { "traffic closed (island mode)" } else if alarm { "alert raised" } else { "none" },
        }))
        .build()
    });
    let recorded = append_off_loop(component, event).await;
    if let Err(e) = recorded {
        shout(&format!("tamper: recording the event failed: {e}"));
    }
    if closes && let Err(e) = gateway.set_island(true, "tamper").await {
        shout(&format!("tamper: closing traffic failed: {e}"));
    }
}

/// Appends `event` to the trail on a blocking thread, off the event loop.
async fn append_off_loop<E: std::fmt::Display>(
    component: &Component,
    event: Result<NewEvent, E>,
) -> Result<(), String> {
    let event = event.map_err(|e| e.to_string())?;
    let audit = Arc::clone(&component.audit);
    match tokio::task::spawn_blocking(move || audit.append(event)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

async fn record_clock_step(component: &Component, jump: rampart_audit::ClockJump) {
    let event = Actor::process("rampart-gateway").and_then(|actor| {
        NewEvent::builder(Category::ConfigurationChange, "clock-stepped", actor)
            .target("system clock")
            .outcome(Outcome::Success)
            .severity(Severity::Warning)
            .details(serde_json::json!({
                "expected": jump.expected.to_string(),
                "actual": jump.actual.to_string(),
                "step_us": jump.step_micros(),
            }))
            .build()
    });
    let recorded = append_off_loop(component, event).await;
    if let Err(e) = recorded {
        eprintln!("could not record the clock step: {e}");
    }
}

pub(crate) fn island(args: &IslandArgs) -> anyhow::Result<Exit> {
    let component = Component::open(&args.data)?;
    let on = args.switch == Switch::On;
    rampart_gateway::persist_island(&component.data, on).map_err(|e| anyhow::anyhow!("{e}"))?;
    component.record(
        NewEvent::builder(
            Category::ConfigurationChange,
            if on { "island-on" } else { "island-off" },
            component.actor()?,
        )
        .interface("cli")
        .target("conduit")
        .outcome(Outcome::Success)
        .severity(Severity::Warning)
        .build()?,
    )?;
    component.close()?;
    say(&format!(
        "island mode {}: {}\n",
        if on { "on" } else { "off" },
        if on {
            "all traffic across the conduit stops (a running gateway within a second); it stays on across restarts"
        } else {
            "traffic flows again as the policy allows"
        }
    ));
    Ok(Exit::Ok)
}

/// Writes a line to stderr, ignoring a closed pipe: an integrity warning must never stop the
/// gateway because nobody reads its console.
fn shout(text: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Writes to stdout, ignoring a closed pipe: the gateway must keep running (and stop cleanly)
/// whether or not anyone still reads its console.
fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
