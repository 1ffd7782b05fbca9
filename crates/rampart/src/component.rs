//! The component's local state as the CLI opens it: the data directory, the audit trail signed
//! with the device key, and the identity store that records into that trail; or, for commands
//! that only read, the audit trail alone ([`open_trail`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rampart_audit::{
    Actor, AuditReader, AuditStore, Capacity, Category, NewEvent, OnFull, Outcome, StoreConfig,
    SystemClock,
};
use rampart_gateway::{DeviceSigner, IdentityAuditBridge};
use rampart_identity::Identity;
use rampart_vault::{DataDir, Entry, Opened};

use crate::BadInput;

/// Where the audit trail lives inside the data directory.
pub(crate) const AUDIT_DIR: Entry = Entry::Audit;
/// The audit trail's settings inside the data directory (optional).
pub(crate) const AUDIT_CONFIG: Entry = Entry::AuditSettings;
/// The identity store's file inside the data directory.
pub(crate) const IDENTITY_DB: Entry = Entry::Identity;

/// An opened component: data directory, audit trail, and who runs the command.
pub(crate) struct Component {
    pub(crate) data: DataDir,
    pub(crate) audit: Arc<AuditStore>,
    pub(crate) os_user: String,
}

impl Component {
    /// Opens the data directory at `path`, initialising a fresh one (directory 0700, device
    /// key, audit trail) and auditing that it did.
    ///
    /// # Errors
    /// [`BadInput`] for a path that is not (and cannot become) a data directory.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Component> {
        let (data, opened) =
            DataDir::open_or_init(path).map_err(|e| BadInput(format!("--data: {e}")))?;
        let key = data
            .device_key()
            .map_err(|e| BadInput(format!("--data: {e}")))?;
        let audit_dir = data
            .dir(AUDIT_DIR)
            .map_err(|e| BadInput(format!("--data: {e}")))?;
        let clock = SystemClock::new();
        clock.set_sync(rampart_audit::system_clock_sync());
        let config = audit_config(&data.file(AUDIT_CONFIG))?;
        let audit = AuditStore::open(
            &audit_dir,
            config,
            Arc::new(clock),
            Arc::new(DeviceSigner(key)),
        )
        .with_context(|| format!("opening the audit trail in {}", audit_dir.display()))?;
        let component = Component {
            data,
            audit: Arc::new(audit),
            os_user: os_user(),
        };
        if opened == Opened::Created {
            component.record(
                NewEvent::builder(
                    Category::ConfigurationChange,
                    "data-directory-initialised",
                    component.actor()?,
                )
                .interface("cli")
                .target(path.display().to_string())
                .outcome(Outcome::Success)
                .details(serde_json::json!({
                    "device_public_key": component.device_public_key_hex()?,
                }))
                .build()?,
            )?;
        }
        Ok(component)
    }

    /// The local OS user as an audit actor.
    pub(crate) fn actor(&self) -> anyhow::Result<Actor> {
        Ok(Actor::user(format!("os:{}", self.os_user))?)
    }

    /// Appends an event and waits until it is durable.
    pub(crate) fn record(&self, event: NewEvent) -> anyhow::Result<u64> {
        Ok(self
            .audit
            .append(event)
            .context("recording an audit event")?
            .seq())
    }

    /// The identity store, recording into this component's audit trail, with the default
    /// (level 1) account settings: for local administration, where no login happens.
    pub(crate) fn identity(&self) -> anyhow::Result<Identity> {
        self.identity_at(rampart_identity::HardeningLevel::default())
    }

    /// The identity store with the account settings of the configured hardening level.
    pub(crate) fn identity_at(
        &self,
        level: rampart_identity::HardeningLevel,
    ) -> anyhow::Result<Identity> {
        let recorder = Arc::new(IdentityAuditBridge(Arc::clone(&self.audit)));
        Identity::builder(self.data.file(IDENTITY_DB), recorder)
            .config(level.apply(rampart_identity::IdentityConfig::default()))
            .open()
            .context("opening the identity store")
    }

    fn device_public_key_hex(&self) -> anyhow::Result<String> {
        Ok(self.data.device_key()?.public_key().to_hex())
    }

    /// Closes the audit trail cleanly, which signs a final checkpoint.
    pub(crate) fn close(self) -> anyhow::Result<()> {
        self.audit.close().context("closing the audit trail")
    }
}

/// Opens the audit trail of the existing data directory at `path` for reading only: no
/// writer, no `audit.opened`/`audit.closed` bookkeeping, no device key (CR 6.1). Read-only
/// commands use this so that running them next to the gateway changes nothing in the trail.
///
/// # Errors
/// [`BadInput`] when `path` is not a data directory or holds no audit trail yet.
pub(crate) fn open_trail(path: &Path) -> anyhow::Result<AuditReader> {
    let data = DataDir::open(path).map_err(|e| BadInput(format!("--data: {e}")))?;
    let audit_dir = data.file(AUDIT_DIR);
    if !rampart_audit::store_path(&audit_dir).is_file() {
        return Err(BadInput(format!(
            "--data: {} holds no audit trail yet",
            path.display()
        ))
        .into());
    }
    AuditReader::open(&audit_dir)
        .with_context(|| format!("opening the audit trail in {}", audit_dir.display()))
}

/// `DATA/audit.toml`: the audit trail's capacity (CR 2.9, CR 2.10) and checkpoint cadence.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditSettings {
    /// Events kept at most.
    max_events: Option<u64>,
    /// Percentage of `max_events` at which a warning event and alarm are raised.
    warn_at_percent: Option<u8>,
    /// `overwrite-oldest` or `stop`.
    on_full: Option<String>,
    /// A signed checkpoint every this many events.
    checkpoint_every: Option<u64>,
    /// … and at least every this many seconds.
    checkpoint_interval_s: Option<u64>,
}

/// The store configuration from `path`, or the defaults when it does not exist.
///
/// # Errors
/// [`BadInput`] naming the file, line and key for anything it cannot use.
fn audit_config(path: &Path) -> anyhow::Result<StoreConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoreConfig::default()),
        Err(e) => return Err(BadInput(format!("{}: {e}", path.display())).into()),
    };
    let bad = |what: String| BadInput(format!("{}: {what}", path.display()));
    let settings: AuditSettings = toml::from_str(&text).map_err(|e| {
        let at = e.span().map_or(0, |span| span.start.min(text.len()));
        let line = text[..at].matches('\n').count() + 1;
        bad(format!("line {line}: {}", e.message().trim()))
    })?;
    let mut capacity = match settings.max_events {
        Some(n) => Capacity::new(n).map_err(|e| bad(format!("max_events: {e}")))?,
        None => Capacity::default(),
    };
    if let Some(percent) = settings.warn_at_percent {
        capacity = capacity
            .warn_at_percent(percent)
            .map_err(|e| bad(format!("warn_at_percent: {e}")))?;
    }
    match settings.on_full.as_deref() {
        None => {}
        Some("overwrite-oldest") => capacity = capacity.on_full(OnFull::OverwriteOldest),
        Some("stop") => capacity = capacity.on_full(OnFull::Stop),
        Some(other) => {
            return Err(bad(format!(
                "on_full: '{other}' is not 'overwrite-oldest' or 'stop'"
            ))
            .into());
        }
    }
    let mut config = StoreConfig::default().capacity(capacity);
    if let Some(n) = settings.checkpoint_every {
        config = config
            .checkpoint_every(n)
            .map_err(|e| bad(format!("checkpoint_every: {e}")))?;
    }
    if let Some(s) = settings.checkpoint_interval_s {
        config = config
            .checkpoint_interval(std::time::Duration::from_secs(s))
            .map_err(|e| bad(format!("checkpoint_interval_s: {e}")))?;
    }
    Ok(config)
}

/// The OS user running the command, for the audit trail (CR 2.8: who did it).
pub(crate) fn os_user() -> String {
    use std::os::unix::fs::MetadataExt as _;
    for var in ["USER", "LOGNAME"] {
        if let Ok(name) = std::env::var(var)
            && !name.is_empty()
        {
            return name;
        }
    }
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".to_owned();
    };
    // The name /etc/passwd gives the uid, else the number.
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid.to_string()).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid:{uid}"))
}
