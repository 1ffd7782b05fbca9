//! Policy staging (NDR 5.2, CR 3.4): a policy is staged for review, compared with the one in
//! force, and applied only as the version that was reviewed. Applying puts it in force first
//! (a policy the gateway refuses changes nothing), then writes the policy file atomically so
//! that it survives a restart, then clears the staging area. The management plane's handlers
//! only call these operations and record who did what.

use std::path::PathBuf;

use rampart_vault::{DataDir, Entry};
use serde::{Deserialize, Serialize};

use crate::gateway::{GatewayError, PolicyChange, PolicyUpdate, RunningGateway};

/// A staged policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedPolicy {
    /// The TOML text.
    pub text: String,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// Who staged it.
    pub staged_by: String,
    /// When (RFC 3339).
    pub staged_at: String,
}

/// The staged policy against the one in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDiff {
    /// SHA-256 of the policy in force.
    pub active_sha256: String,
    /// SHA-256 of the staged policy.
    pub staged_sha256: String,
    /// Unified diff, in force → staged.
    pub unified: String,
}

/// Why a staging operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StagingError {
    /// No policy is staged.
    #[error("no policy is staged")]
    NothingStaged,
    /// The staged policy is not the one the caller reviewed.
    #[error("the staged policy is {staged}, not {reviewed}: review it again")]
    Changed {
        /// What is staged.
        staged: String,
        /// What the caller reviewed.
        reviewed: String,
    },
    /// The text is not a valid policy.
    #[error("{0}")]
    Invalid(rampart_conduit::PolicyError),
    /// The gateway refused the policy; the old one stays in force.
    #[error("the gateway refused the policy: {0}")]
    Refused(GatewayError),
    /// The staging area or the policy file cannot be read or written.
    #[error("{path}: {reason}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

fn storage(path: &std::path::Path, reason: impl std::fmt::Display) -> StagingError {
    StagingError::Storage {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

impl RunningGateway {
    fn staged_path(&self) -> PathBuf {
        self.shared
            .data_root
            .join(Entry::StagedPolicy.relative_path())
    }

    /// The staged policy, if any.
    ///
    /// # Errors
    /// [`StagingError::Storage`] when the staging area cannot be read.
    pub fn staged_policy(&self) -> Result<Option<StagedPolicy>, StagingError> {
        let path = self.staged_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| storage(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(storage(&path, e)),
        }
    }

    /// Stages `text` (which must be a valid policy) as staged by `by` at `at`, replacing
    /// whatever was staged.
    ///
    /// # Errors
    /// [`StagingError::Invalid`] for text that is not a policy, [`StagingError::Storage`].
    pub fn stage_policy(
        &self,
        text: String,
        by: &str,
        at: &str,
    ) -> Result<StagedPolicy, StagingError> {
        rampart_conduit::Policy::parse(&text, "<staged policy>").map_err(StagingError::Invalid)?;
        let staged = StagedPolicy {
            sha256: rampart_vault::crypto::sha256_hex(text.as_bytes()),
            text,
            staged_by: by.to_owned(),
            staged_at: at.to_owned(),
        };
        let data = DataDir::open(&self.shared.data_root)
            .map_err(|e| storage(&self.shared.data_root, e))?;
        data.dir(Entry::Management)
            .map_err(|e| storage(&self.shared.data_root, e))?;
        let path = self.staged_path();
        let json = serde_json::to_vec_pretty(&staged).map_err(|e| storage(&path, e))?;
        rampart_vault::write_atomic(&path, &json, 0o600).map_err(|e| storage(&path, e))?;
        Ok(staged)
    }

    /// Discards the staged policy.
    ///
    /// # Errors
    /// [`StagingError::NothingStaged`], [`StagingError::Storage`].
    pub fn discard_staged_policy(&self) -> Result<StagedPolicy, StagingError> {
        let staged = self.staged_policy()?.ok_or(StagingError::NothingStaged)?;
        let path = self.staged_path();
        std::fs::remove_file(&path).map_err(|e| storage(&path, e))?;
        Ok(staged)
    }

    /// The staged policy against the one in force.
    ///
    /// # Errors
    /// [`StagingError::NothingStaged`], [`StagingError::Storage`].
    pub fn staged_policy_diff(&self) -> Result<PolicyDiff, StagingError> {
        let staged = self.staged_policy()?.ok_or(StagingError::NothingStaged)?;
        let (active, _) = self.policy_text();
        let unified = similar::TextDiff::from_lines(&active, &staged.text)
            .unified_diff()
            .context_radius(3)
            .header("in force", "staged")
            .to_string();
        Ok(PolicyDiff {
            active_sha256: rampart_vault::crypto::sha256_hex(active.as_bytes()),
            staged_sha256: staged.sha256,
            unified,
        })
    }

    /// The staged policy, if it is the one with `reviewed_sha256`: what [`Self::apply_staged_policy`]
    /// will put in force, for the caller to record before it does.
    ///
    /// # Errors
    /// [`StagingError::NothingStaged`], [`StagingError::Changed`], [`StagingError::Storage`].
    pub fn staged_policy_reviewed(
        &self,
        reviewed_sha256: &str,
    ) -> Result<StagedPolicy, StagingError> {
        let staged = self.staged_policy()?.ok_or(StagingError::NothingStaged)?;
        if staged.sha256 != reviewed_sha256 {
            return Err(StagingError::Changed {
                staged: staged.sha256,
                reviewed: reviewed_sha256.to_owned(),
            });
        }
        Ok(staged)
    }

    /// Applies the staged policy if it is still the one with `reviewed_sha256`: puts it in
    /// force (nothing changes if the gateway refuses it), writes it to the policy file, clears
    /// the staging area.
    ///
    /// # Errors
    /// As [`Self::staged_policy_reviewed`], [`StagingError::Refused`], and
    /// [`StagingError::Storage`] when the file cannot be written (the policy is in force, but
    /// would not survive a restart).
    pub async fn apply_staged_policy(
        &self,
        reviewed_sha256: &str,
    ) -> Result<PolicyChange, StagingError> {
        let staged = self.staged_policy_reviewed(reviewed_sha256)?;
        let path = self.policy_path();
        let change = self
            .reload_policy(PolicyUpdate::Text {
                text: staged.text.clone(),
                origin: path.display().to_string(),
            })
            .await
            .map_err(StagingError::Refused)?;
        rampart_vault::write_atomic(&path, staged.text.as_bytes(), 0o600)
            .map_err(|e| storage(&path, e))?;
        let _ = std::fs::remove_file(self.staged_path());
        Ok(change)
    }
}
