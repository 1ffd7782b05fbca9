//! The component's local state as the CLI opens it, through the component layer
//! (`rampart_gateway::component`): the data directory, the audit trail signed with the device
//! key, and the identity store that records into that trail; or, for commands that only read,
//! the audit trail alone ([`open_trail`]). What is the CLI's own: the local OS user as the
//! actor, and errors as exit codes.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rampart_audit::{Actor, AuditReader, AuditStore, Category, NewEvent, Outcome};
use rampart_gateway::component::ComponentError;
use rampart_identity::Identity;
use rampart_vault::{DataDir, Entry, Opened};

use crate::BadInput;

/// Where the audit trail lives inside the data directory.
pub(crate) const AUDIT_DIR: Entry = Entry::Audit;

/// An opened component ([`rampart_gateway::component::Component`]) and who runs the command.
pub(crate) struct Component {
    pub(crate) data: DataDir,
    pub(crate) audit: Arc<AuditStore>,
    pub(crate) os_user: String,
}

/// A component error as the CLI reports it: the user's mistakes are bad input (exit 2).
fn cli_error(e: ComponentError) -> anyhow::Error {
    if e.is_bad_input() {
        BadInput(format!("--data: {e}")).into()
    } else {
        anyhow::Error::new(e)
    }
}

impl Component {
    /// Opens the data directory at `path`, initialising a fresh one (directory 0700, device
    /// key, audit trail) and auditing that it did.
    ///
    /// # Errors
    /// [`BadInput`] for a path that is not (and cannot become) a data directory.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Component> {
        Component::open_with(path, &rampart_gateway::config::VaultOptions::default())
    }

    /// [`Component::open`] with the configuration's KEK provider and device key place
    /// (`[vault]`).
    ///
    /// # Errors
    /// As [`Component::open`].
    pub(crate) fn open_with(
        path: &Path,
        vault: &rampart_gateway::config::VaultOptions,
    ) -> anyhow::Result<Component> {
        let (opened, created) = rampart_gateway::component::Component::open_with_keys(
            path,
            &vault.kek,
            vault.device_key,
        )
        .map_err(cli_error)?;
        let component = Component {
            data: opened.data,
            audit: opened.audit,
            os_user: os_user(),
        };
        if created == Opened::Created {
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

    fn layer(&self) -> rampart_gateway::component::Component {
        rampart_gateway::component::Component {
            data: self.data.clone(),
            audit: Arc::clone(&self.audit),
        }
    }

    /// The identity store, recording into this component's audit trail, with the default
    /// (level 1) account settings: for local administration, where no login happens.
    pub(crate) fn identity(&self) -> anyhow::Result<Identity> {
        self.identity_at(
            rampart_identity::HardeningLevel::default(),
            &rampart_gateway::config::PasswordOptions::default(),
        )
    }

    /// The identity store with the account settings of the configured hardening level and
    /// the configured password reuse and lifetime over them.
    pub(crate) fn identity_at(
        &self,
        level: rampart_identity::HardeningLevel,
        passwords: &rampart_gateway::config::PasswordOptions,
    ) -> anyhow::Result<Identity> {
        let mut config = level.apply(rampart_identity::IdentityConfig::default());
        if let Some(history) = passwords.history {
            config.password.history = history;
        }
        let signed = |d: std::time::Duration| {
            jiff::SignedDuration::try_from(d).context("a password lifetime out of range")
        };
        if let Some(min) = passwords.min_lifetime {
            config.password.min_lifetime = Some(signed(min)?);
        }
        if let Some(max) = passwords.max_lifetime {
            config.password.max_lifetime = Some(signed(max)?);
        }
        self.layer()
            .identity(config)
            .context("opening the identity store")
    }

    fn device_public_key_hex(&self) -> anyhow::Result<String> {
        Ok(self.data.device_key()?.public_key().to_hex())
    }

    /// Closes the audit trail cleanly, which signs a final checkpoint.
    pub(crate) fn close(self) -> anyhow::Result<()> {
        self.layer().close().context("closing the audit trail")
    }
}

/// Opens the audit trail of the existing data directory at `path` for reading only
/// ([`rampart_gateway::component::open_trail`]): running a read-only command next to the
/// gateway changes nothing in the trail.
///
/// # Errors
/// [`BadInput`] when `path` is not a data directory or holds no audit trail yet.
pub(crate) fn open_trail(path: &Path) -> anyhow::Result<AuditReader> {
    rampart_gateway::component::open_trail(path).map_err(cli_error)
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
