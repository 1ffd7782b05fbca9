//! The device's update channel (NDR 3.10 RE 1, NDR 3.12, NDR 3.13): where its repositories
//! are, what it trusts, and check → download on top of the TUF client.
//!
//! `DATA/update/` holds:
//! ```text
//! trust/root.json, trust/release-keys.json   the supplier's pinned root and release keys
//! trust/owner-root.json                      the asset owner's pinned root (optional)
//! channel.json                               repository URLs, the CA for https
//! tuf/supplier/, tuf/owner/                  trusted TUF metadata (the client's directories)
//! downloads/NAME                             a bundle downloaded and verified by TUF
//! last-check.json                            the outcome of the last check
//! ```
//!
//! **Owner approval** (NDR 3.13): when an owner root is pinned, a bundle is offered only if
//! the owner's own TUF repository lists it under the same name with the same length and
//! hashes — signed by the supplier *and* approved by the owner, each with its own keys,
//! thresholds and expiry. An owner approves a release by adding the very bundle to its
//! repository (`rampart update repo add` with the owner's keys).

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_clock::Clock;
use serde::{Deserialize, Serialize};

use crate::fetch::{AnyFetcher, HttpFetcher};
use crate::slots::{BootState, Slots};
use crate::tuf::{Repository, TargetInfo, TrustedVersions, TufError};

/// The largest bundle a device downloads.
pub const BUNDLE_MAX: u64 = 512 * 1024 * 1024;

/// Where a device fetches its updates from (`channel.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Always `rampart-update-channel`.
    pub format: String,
    /// The supplier's repository: `BASE` serving `BASE/metadata/` and `BASE/targets/` (http,
    /// https or file URL).
    pub supplier: String,
    /// The asset owner's approval repository, same layout (required when an owner root is
    /// pinned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A CA certificate file for https repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
}

impl Channel {
    /// Checks the URLs.
    ///
    /// # Errors
    /// A message naming the URL that is not `http://`, `https://` or `file://`.
    pub fn check(&self) -> Result<(), String> {
        for url in std::iter::once(&self.supplier).chain(self.owner.as_ref()) {
            if !(url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with("file://"))
            {
                return Err(format!(
                    "repository '{url}': expected an https://, http:// or file:// URL"
                ));
            }
            if url.contains(['?', '#']) {
                return Err(format!("repository '{url}': no query or fragment"));
            }
        }
        Ok(())
    }
}

/// A bundle the supplier offers that this device may install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The target name.
    pub name: String,
    /// Its release version.
    pub version: semver::Version,
    /// Its security version.
    pub security_version: u64,
    /// Its target triple.
    pub target: String,
    /// Its length.
    pub length: u64,
    /// Its SHA-256.
    pub sha256: String,
}

/// The outcome of a check (`last-check.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    /// When.
    pub at: jiff::Timestamp,
    /// The newest installable bundle, if any.
    pub available: Option<Candidate>,
    /// Whether an owner root is pinned (approval required).
    pub owner_approval_required: bool,
    /// Bundles the supplier offers that the owner has not approved (names).
    #[serde(default)]
    pub awaiting_approval: Vec<String>,
    /// The supplier's trusted versions after the refresh.
    pub supplier_versions: Versions,
    /// The owner's, when an owner root is pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_versions: Option<Versions>,
}

impl CheckResult {
    /// What an audit record of the check keeps.
    pub fn audit_details(&self) -> serde_json::Value {
        serde_json::json!({
            "available": self.available,
            "awaiting_approval": self.awaiting_approval,
            "supplier": self.supplier_versions,
            "owner": self.owner_versions,
        })
    }
}

/// Trusted role versions, for status and audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    /// Root version.
    pub root: u64,
    /// Timestamp version.
    pub timestamp: Option<u64>,
    /// Snapshot version.
    pub snapshot: Option<u64>,
    /// Targets version.
    pub targets: Option<u64>,
    /// Timestamp expiry.
    pub timestamp_expires: Option<String>,
}

impl From<TrustedVersions> for Versions {
    fn from(v: TrustedVersions) -> Versions {
        Versions {
            root: v.root.version,
            timestamp: v.timestamp.as_ref().map(|r| r.version),
            snapshot: v.snapshot.as_ref().map(|r| r.version),
            targets: v.targets.as_ref().map(|r| r.version),
            timestamp_expires: v.timestamp.map(|r| r.expires),
        }
    }
}

/// Why a check or download failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The device is not provisioned for this (no trust, no channel).
    #[error("{0}")]
    NotProvisioned(String),
    /// A repository failed TUF verification (rollback, freeze, threshold, …).
    #[error("{repository} repository: {source}")]
    Tuf {
        /// `supplier` or `owner`.
        repository: &'static str,
        /// The verification failure.
        source: TufError,
    },
    /// Nothing to download.
    #[error("{0}")]
    Nothing(String),
    /// The owner has not approved the bundle, or approved different bytes.
    #[error("{0}")]
    NotApproved(String),
    /// A local file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
}

impl ChannelError {
    /// Whether a repository failed TUF verification (rollback, freeze, mix-and-match,
    /// signatures, endless data) rather than being unreachable: an attack until shown
    /// otherwise, audited at alert severity.
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, ChannelError::Tuf { source, .. } if !matches!(source, TufError::Fetch { .. }))
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ChannelError {
    let context = context.into();
    move |source| ChannelError::Io { context, source }
}

/// A device's update channel over its update directory.
pub struct Device {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn trim(url: &str) -> &str {
    url.trim_end_matches('/')
}

impl Device {
    /// The channel of the update directory `dir` (`DATA/update`).
    pub fn new(dir: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Device {
        Device {
            dir: dir.into(),
            clock,
        }
    }

    /// Where trust files live.
    pub fn trust_dir(&self) -> PathBuf {
        self.dir.join("trust")
    }

    fn channel_path(&self) -> PathBuf {
        self.dir.join("channel.json")
    }

    /// The configured channel.
    ///
    /// # Errors
    /// [`ChannelError::NotProvisioned`] if there is none or it is invalid.
    pub fn channel(&self) -> Result<Channel, ChannelError> {
        let path = self.channel_path();
        let bytes = rampart_vault::read_capped(&path, 64 * 1024).map_err(|e| {
            ChannelError::NotProvisioned(if e.is_not_found() {
                "no update repository is configured (`rampart update trust --repository URL`)"
                    .into()
            } else {
                format!("{}: {e}", path.display())
            })
        })?;
        let channel: Channel = serde_json::from_slice(&bytes)
            .map_err(|e| ChannelError::NotProvisioned(format!("{}: {e}", path.display())))?;
        channel
            .check()
            .map_err(|e| ChannelError::NotProvisioned(format!("{}: {e}", path.display())))?;
        Ok(channel)
    }

    /// Writes the channel (atomically).
    ///
    /// # Errors
    /// [`ChannelError::NotProvisioned`] for a bad URL, [`ChannelError::Io`] on a write error.
    pub fn set_channel(&self, channel: &Channel) -> Result<(), ChannelError> {
        channel.check().map_err(ChannelError::NotProvisioned)?;
        fs::create_dir_all(&self.dir).map_err(io_err(format!("create {}", self.dir.display())))?;
        let bytes = serde_json::to_vec_pretty(channel).map_err(|e| ChannelError::Io {
            context: "encode the channel".into(),
            source: io::Error::other(e),
        })?;
        rampart_vault::write_atomic(&self.channel_path(), &bytes, 0o600).map_err(|e| {
            ChannelError::Io {
                context: format!("write {}", self.channel_path().display()),
                source: io::Error::other(e.to_string()),
            }
        })
    }

    fn fetcher(channel: &Channel) -> Result<AnyFetcher, ChannelError> {
        let http = match &channel.ca {
            Some(ca) => {
                HttpFetcher::with_tls(rampart_vault::tls::client_config(ca, None).map_err(|e| {
                    ChannelError::NotProvisioned(format!("the repository CA {}: {e}", ca.display()))
                })?)
            }
            None => HttpFetcher::plain(),
        };
        Ok(AnyFetcher { http })
    }

    /// Opens a repository, initialising its metadata directory from the pinned root on first
    /// use.
    fn repository(
        &self,
        which: &'static str,
        pinned_root: &Path,
        base: &str,
        fetcher: AnyFetcher,
    ) -> Result<Repository<AnyFetcher>, ChannelError> {
        let metadata_dir = self.dir.join("tuf").join(which);
        if !metadata_dir.join("root.json").exists() {
            let root = rampart_vault::read_capped(pinned_root, crate::tuf::DEFAULT_ROOT_MAX)
                .map_err(|e| {
                    ChannelError::NotProvisioned(format!(
                        "the pinned {which} root {}: {e}",
                        pinned_root.display()
                    ))
                })?;
            Repository::<AnyFetcher>::init(&metadata_dir, &root).map_err(|source| {
                ChannelError::Tuf {
                    repository: which,
                    source,
                }
            })?;
        }
        Repository::load(
            &metadata_dir,
            &format!("{}/metadata", trim(base)),
            &format!("{}/targets", trim(base)),
            fetcher,
            Arc::clone(&self.clock),
        )
        .map_err(|source| ChannelError::Tuf {
            repository: which,
            source,
        })
    }

    /// Whether an owner root is pinned.
    pub fn owner_approval_required(&self) -> bool {
        self.trust_dir().join("owner-root.json").exists()
    }

    /// Refreshes the supplier's (and the owner's) TUF metadata and finds the newest bundle
    /// this device may install: built for its `ARCH-OS`, newer than the committed release,
    /// not below the security-version floor, and — with an owner root — approved by the
    /// owner with the same length and hashes. Records the outcome in `last-check.json`.
    ///
    /// # Errors
    /// [`ChannelError::Tuf`] when a repository fails verification (nothing is trusted from
    /// it), else as the steps.
    pub fn check(&self, device: &str, state: &BootState) -> Result<CheckResult, ChannelError> {
        let channel = self.channel()?;
        let fetcher = Self::fetcher(&channel)?;
        let mut supplier = self.repository(
            "supplier",
            &self.trust_dir().join("root.json"),
            &channel.supplier,
            fetcher.clone(),
        )?;
        supplier.refresh().map_err(|source| ChannelError::Tuf {
            repository: "supplier",
            source,
        })?;
        let mut owner = None;
        if self.owner_approval_required() {
            let base = channel.owner.as_deref().ok_or_else(|| {
                ChannelError::NotProvisioned(
                    "an owner root is pinned but no owner repository is configured".into(),
                )
            })?;
            let mut repo = self.repository(
                "owner",
                &self.trust_dir().join("owner-root.json"),
                base,
                fetcher,
            )?;
            repo.refresh().map_err(|source| ChannelError::Tuf {
                repository: "owner",
                source,
            })?;
            owner = Some(repo);
        }
        let committed = state
            .committed()
            .and_then(|slot| state.slots.get(&slot))
            .map(|r| r.version.clone());
        let mut candidates: Vec<Candidate> = supplier
            .top_level_targets()
            .into_iter()
            .filter_map(|(name, info)| candidate(&name, &info))
            .filter(|c| crate::slots::triple_matches(&c.target, device))
            .filter(|c| c.security_version >= state.security_version_floor)
            .filter(|c| committed.as_ref().is_none_or(|v| c.version > *v))
            .collect();
        candidates.sort_by(|a, b| b.version.cmp(&a.version));
        let mut awaiting = Vec::new();
        let mut available = None;
        for c in candidates {
            let approved = match &owner {
                None => true,
                Some(owner) => {
                    let info = owner.target(&c.name).map_err(|source| ChannelError::Tuf {
                        repository: "owner",
                        source,
                    })?;
                    info.is_some_and(|i| {
                        i.length == c.length
                            && i.hashes.get("sha256").is_some_and(|h| h == &c.sha256)
                    })
                }
            };
            if approved {
                available = Some(c);
                break;
            }
            awaiting.push(c.name);
        }
        let result = CheckResult {
            at: self.clock.now(),
            available,
            owner_approval_required: owner.is_some(),
            awaiting_approval: awaiting,
            supplier_versions: supplier.trusted_versions().into(),
            owner_versions: owner.map(|o| o.trusted_versions().into()),
        };
        if let Ok(bytes) = serde_json::to_vec_pretty(&result) {
            // The record is informational (status pages); failing to keep it is not fatal.
            let _ = rampart_vault::write_atomic(&self.dir.join("last-check.json"), &bytes, 0o600);
        }
        Ok(result)
    }

    /// The last check's outcome, if any.
    pub fn last_check(&self) -> Option<CheckResult> {
        let bytes =
            rampart_vault::read_capped(&self.dir.join("last-check.json"), 256 * 1024).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Checks, then downloads the candidate through TUF (length and hashes verified while it
    /// streams) into `downloads/NAME`, written to a temporary file and renamed only when it
    /// verified. Returns the candidate and the file.
    ///
    /// # Errors
    /// [`ChannelError::Nothing`] when no bundle is available, else as [`Device::check`] and
    /// the download.
    pub fn download(
        &self,
        device: &str,
        state: &BootState,
    ) -> Result<(Candidate, PathBuf), ChannelError> {
        let checked = self.check(device, state)?;
        let candidate = checked.available.ok_or_else(|| {
            if checked.awaiting_approval.is_empty() {
                ChannelError::Nothing("no newer bundle for this device".into())
            } else {
                ChannelError::NotApproved(format!(
                    "the owner has not approved {}",
                    checked.awaiting_approval.join(", ")
                ))
            }
        })?;
        let channel = self.channel()?;
        let mut supplier = self.repository(
            "supplier",
            &self.trust_dir().join("root.json"),
            &channel.supplier,
            Self::fetcher(&channel)?,
        )?;
        supplier.refresh().map_err(|source| ChannelError::Tuf {
            repository: "supplier",
            source,
        })?;
        let info = supplier
            .target(&candidate.name)
            .map_err(|source| ChannelError::Tuf {
                repository: "supplier",
                source,
            })?
            .ok_or_else(|| ChannelError::Nothing(format!("{} disappeared", candidate.name)))?;
        let downloads = self.dir.join("downloads");
        fs::create_dir_all(&downloads)
            .map_err(io_err(format!("create {}", downloads.display())))?;
        let file_name = crate::tuf::encode_name(&candidate.name);
        let dest = downloads.join(&file_name);
        let temp = downloads.join(format!(".{file_name}.partial"));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(io_err(format!("create {}", temp.display())))?;
        let fetched = supplier.download_target(&info, &candidate.name, &mut file);
        if let Err(source) = fetched {
            drop(file);
            let _ = fs::remove_file(&temp);
            return Err(ChannelError::Tuf {
                repository: "supplier",
                source,
            });
        }
        file.flush()
            .and_then(|()| file.sync_all())
            .map_err(io_err(format!("write {}", temp.display())))?;
        fs::rename(&temp, &dest).map_err(io_err(format!("rename to {}", dest.display())))?;
        Ok((candidate, dest))
    }

    /// The bundle downloaded last, if any (newest file in `downloads/`).
    pub fn downloaded(&self) -> Option<PathBuf> {
        let entries = fs::read_dir(self.dir.join("downloads")).ok()?;
        entries
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .max_by_key(|(at, _)| *at)
            .map(|(_, path)| path)
    }

    /// Removes downloaded bundles (after an install).
    pub fn clear_downloads(&self) {
        let _ = fs::remove_dir_all(self.dir.join("downloads"));
    }

    /// The slots of this update directory.
    pub fn slots(&self) -> Slots {
        Slots::new(&self.dir)
    }
}

/// A target that describes an update bundle (its `custom.rampart` object).
fn candidate(name: &str, info: &TargetInfo) -> Option<Candidate> {
    let custom = info.custom.as_ref()?.get("rampart")?;
    if custom.get("kind")?.as_str()? != "update-bundle" {
        return None;
    }
    Some(Candidate {
        name: name.to_owned(),
        version: custom.get("version")?.as_str()?.parse().ok()?,
        security_version: custom.get("security_version")?.as_u64()?,
        target: custom.get("target")?.as_str()?.to_owned(),
        length: info.length,
        sha256: info.hashes.get("sha256")?.clone(),
    })
}
