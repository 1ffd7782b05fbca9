//! The component layer: a data directory opened the way every part of Rampart needs it — the
//! binary's commands, the management plane's tests, `rampart up` — so that the assembly is
//! written once: the data directory (vault), the audit trail with its settings from
//! `audit.toml` (CR 2.9, CR 2.10), signed with the device key and stamped by the one clock
//! with its sync status (CR 2.11), and the identity store recording into that trail.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_audit::{
    Actor, AuditReader, AuditStore, Capacity, Category, NewEvent, OnFull, Outcome, StoreConfig,
    SystemClock,
};
use rampart_identity::{Identity, IdentityConfig};
use rampart_vault::at_rest::KekConfig;
use rampart_vault::{DataDir, Entry, KeyStore, Opened};

use crate::audit::IdentityAuditBridge;

/// Why a component could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComponentError {
    /// The path is not (and cannot become) a data directory, or its keys cannot be read.
    #[error("data directory: {0}")]
    DataDir(#[from] rampart_vault::VaultError),
    /// `audit.toml` cannot be used.
    #[error("{path}: {message}")]
    AuditSettings {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line and key.
        message: String,
    },
    /// The data directory holds no audit trail yet (for [`open_trail`]).
    #[error("{0} holds no audit trail yet")]
    NoTrail(PathBuf),
    /// The audit trail cannot be opened.
    #[error("the audit trail in {path}: {source}")]
    Audit {
        /// Its directory.
        path: PathBuf,
        /// Why.
        source: rampart_audit::StoreError,
    },
    /// The identity store cannot be opened.
    #[error("the identity store: {0}")]
    Identity(#[from] rampart_identity::IdentityError),
}

impl ComponentError {
    /// Whether the user must fix the input (the path or a settings file), rather than an
    /// I/O or internal failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ComponentError::DataDir(_)
                | ComponentError::AuditSettings { .. }
                | ComponentError::NoTrail(_)
        )
    }
}

/// An opened component: its data directory and its audit trail.
pub struct Component {
    /// The data directory.
    pub data: DataDir,
    /// The audit trail, signed by the device key.
    pub audit: Arc<AuditStore>,
}

impl Component {
    /// Opens the data directory at `path`, initialising a fresh one (directory 0700, device
    /// key), and its audit trail. Says whether the directory was created, so that the caller
    /// records that with its own actor.
    ///
    /// # Errors
    /// [`ComponentError`]; [`ComponentError::is_bad_input`] tells the user's mistakes.
    pub fn open(path: &Path) -> Result<(Component, Opened), ComponentError> {
        Component::open_with(path, &KekConfig::Recorded)
    }

    /// [`Component::open`] with the KEK provider the configuration chose (`[vault]`). Secret
    /// files an earlier release left plain are sealed ([`DataDir::migrated`]), each recorded
    /// in the trail (`vault.sealed`, never the secret).
    ///
    /// # Errors
    /// As [`Component::open`].
    pub fn open_with(path: &Path, kek: &KekConfig) -> Result<(Component, Opened), ComponentError> {
        Component::open_with_keys(path, kek, KeyStore::Recorded)
    }

    /// [`Component::open_with`], and where a new device key is made (`[vault] device_key`;
    /// see [`DataDir::open_or_init_keys`]).
    ///
    /// # Errors
    /// As [`Component::open`].
    pub fn open_with_keys(
        path: &Path,
        kek: &KekConfig,
        device_key: KeyStore,
    ) -> Result<(Component, Opened), ComponentError> {
        // Before the first secret is read, also for components embedded as a library
        // (CR 4.2 RE 1; `rampart` itself does it first thing in main).
        rampart_vault::memory::protect();
        let (data, opened) = DataDir::open_or_init_keys(path, kek, device_key)?;
        let key = data.device_key()?;
        let audit_dir = data.dir(Entry::Audit)?;
        let clock = SystemClock::new();
        clock.set_sync(rampart_audit::system_clock_sync());
        let config = audit_settings(&data.file(Entry::AuditSettings))?;
        let audit = AuditStore::open(&audit_dir, config, Arc::new(clock), Arc::new(key)).map_err(
            |source| ComponentError::Audit {
                path: audit_dir.clone(),
                source,
            },
        )?;
        for name in data.migrated() {
            record_sealed(&audit, &data, name).map_err(|source| ComponentError::Audit {
                path: audit_dir.clone(),
                source,
            })?;
        }
        Ok((
            Component {
                data,
                audit: Arc::new(audit),
            },
            opened,
        ))
    }

    /// The identity store with `config`, recording into this component's audit trail.
    ///
    /// # Errors
    /// [`ComponentError::Identity`].
    pub fn identity(&self, config: IdentityConfig) -> Result<Identity, ComponentError> {
        let recorder = Arc::new(IdentityAuditBridge(Arc::clone(&self.audit)));
        let mut builder =
            Identity::builder(self.data.file(Entry::Identity), recorder).config(config);
        if let Some(kek) = self.data.kek() {
            builder = builder.sealing(Arc::clone(kek));
        }
        Ok(builder.open()?)
    }

    /// Closes the audit trail cleanly, which signs a final checkpoint.
    ///
    /// # Errors
    /// [`ComponentError::Audit`].
    pub fn close(self) -> Result<(), ComponentError> {
        self.audit.close().map_err(|source| ComponentError::Audit {
            path: self.data.file(Entry::Audit),
            source,
        })
    }
}

/// Records that the secret file `name` of an earlier release was sealed in place.
fn record_sealed(
    audit: &AuditStore,
    data: &DataDir,
    name: &str,
) -> Result<(), rampart_audit::StoreError> {
    let kek = data.kek();
    // A constant, valid name: `Actor::process` cannot refuse it.
    let Ok(actor) = Actor::process("rampart") else {
        return Ok(());
    };
    let event = NewEvent::builder(Category::ConfigurationChange, "vault.sealed", actor)
        .interface("startup")
        .target(name.to_owned())
        .outcome(Outcome::Success)
        .details(serde_json::json!({
            "store": name,
            "kek_provider": kek.map(|k| k.kind().as_str()),
            "kek_id": kek.map(|k| k.id_hex()),
        }))
        .build();
    match event {
        Ok(event) => audit.append(event).map(|_| ()),
        // The event is built from constants and names of this crate; it cannot be invalid.
        Err(_) => Ok(()),
    }
}

/// Opens the audit trail of the existing data directory at `path` for reading only: no
/// writer, no `audit.opened`/`audit.closed` bookkeeping, no device key (CR 6.1), so that
/// reading next to a running gateway changes nothing in the trail.
///
/// # Errors
/// [`ComponentError`] when `path` is not a data directory or holds no audit trail yet.
pub fn open_trail(path: &Path) -> Result<AuditReader, ComponentError> {
    let data = DataDir::open(path)?;
    let audit_dir = data.file(Entry::Audit);
    if !rampart_audit::store_path(&audit_dir).is_file() {
        return Err(ComponentError::NoTrail(path.to_owned()));
    }
    AuditReader::open(&audit_dir).map_err(|source| ComponentError::Audit {
        path: audit_dir,
        source,
    })
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

/// The largest `audit.toml` read.
const MAX_AUDIT_SETTINGS_BYTES: u64 = 64 * 1024;

/// The store configuration from `path`, or the defaults when it does not exist.
///
/// # Errors
/// [`ComponentError::AuditSettings`] naming the line and key for anything it cannot use.
fn audit_settings(path: &Path) -> Result<StoreConfig, ComponentError> {
    let bad = |message: String| ComponentError::AuditSettings {
        path: path.to_owned(),
        message,
    };
    let text = match rampart_vault::read_capped_text(path, MAX_AUDIT_SETTINGS_BYTES) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => return Ok(StoreConfig::default()),
        Err(e) => return Err(bad(e.to_string())),
    };
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
            )));
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
