//! The TPM 2.0 KEK provider (`[vault] kek_provider = "tpm"`, feature `tpm`).
//!
//! The KEK (256 random bits) is sealed in a TPM 2.0 data object under a parent storage key
//! that lives only inside the TPM: an ECC P-256 primary key of the owner hierarchy (TCG SRK
//! template, `unique` filled with random bytes never stored), made persistent at a handle from
//! `0x81017000`. Erase evicts it, so no copy of the sealed blob can ever be loaded again.
//!
//! The sealed object's policy is `TPM2_PolicyAuthorize` by a *policy authority* (an ECDSA
//! P-256 key made at enrolment): the TPM unseals when the current PCR values (`tpm_pcrs`,
//! default PCR 7) are a state the authority signed. The first approval is the state at
//! enrolment; a signed update approves the state it will boot into beforehand
//! ([`TpmKek::approve`]), so an update does not brick the keys and needs no re-enrolment. The
//! authority's private key is itself sealed under the KEK (`keys/tpm/authority.key`): only a
//! gateway that unsealed its KEK in an approved state can approve another.
//!
//! The object is dictionary-attack protected (not `noDA`); every command carrying the KEK runs
//! in a session salted with the parent key, with parameter encryption.
//!
//! # Files, in `DATA/keys/tpm/` (no secret in clear)
//! | file | content |
//! |---|---|
//! | `settings` | `rampart-tpm 1`, `tcti`, `pcrs`, `handle` (hex), `parent-name` (hex) |
//! | `kek.pub` | the sealed object's `TPM2B_PUBLIC` |
//! | `kek.priv` | its `TPM2B_PRIVATE` (encrypted by the parent key) |
//! | `authority.pub` | the policy authority's public key, uncompressed P-256 point, hex |
//! | `authority.key` | its private key (PKCS#8), sealed under the KEK (docs/vault.md) |
//! | `policy` | the approved PCR states and their signatures ([`policy::PolicyFile`]) |

pub mod policy;

#[cfg(feature = "tpm")]
pub mod esys;

#[cfg(feature = "tpm")]
mod provider;

#[cfg(feature = "tpm")]
pub use provider::{TpmKek, TpmSettings};

#[cfg(feature = "tpm")]
pub mod server_key;

/// Flushes the TPM-held keys this process has loaded and lets the TPM go
/// ([`server_key::release`]); call it before the process exits. Nothing in a build without
/// the feature `tpm`, or when nothing was signed in the TPM.
pub fn release_keys() {
    #[cfg(feature = "tpm")]
    server_key::release();
}

/// The first line of a TPM-held key's file ([`server_key::TpmKeyFile`]).
pub const KEY_FILE_HEADER: &str = "rampart-tpm-key 1";

/// Whether a key file's (unsealed) contents are a TPM-held key rather than a PEM key.
pub fn is_tpm_key(contents: &[u8]) -> bool {
    contents.starts_with(KEY_FILE_HEADER.as_bytes())
}

/// The TCTI used when the configuration names none: the kernel's resource manager.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";

/// The configuration of the TPM provider: `tpm_tcti`, `tpm_pcrs`. `None`: what the data
/// directory recorded at enrolment, else the defaults ([`DEFAULT_TCTI`],
/// [`policy::DEFAULT_PCRS`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TpmConfig {
    /// The TCTI: `device:/dev/tpmrm0`, `swtpm:host=127.0.0.1,port=2321`.
    pub tcti: Option<String>,
    /// The PCRs the policy binds (SHA-256 bank).
    pub pcrs: Option<Vec<u8>>,
}

static DESCRIPTION: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

#[cfg(feature = "tpm")]
static IN_USE: std::sync::Mutex<Option<TpmSettings>> = std::sync::Mutex::new(None);

/// The TPM this process last unsealed a KEK from: the enrolled settings with the TCTI it was
/// reached through. Keys made or used in the TPM later go to the same one.
#[cfg(feature = "tpm")]
pub fn in_use() -> Option<TpmSettings> {
    IN_USE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The TPM this process last unsealed a KEK from: manufacturer, firmware, the persistent handle
/// and the dictionary-attack parameters, for the configuration report; `None` if none.
pub fn description() -> Option<String> {
    DESCRIPTION
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

#[cfg(feature = "tpm")]
fn set_description(info: &esys::TpmInfo, settings: &TpmSettings) {
    let text = format!(
        "built; manufacturer {}, firmware {}, parent key {:#010x}, PCRs {}, lockout after {} \
         failures (interval {} s, recovery {} s)",
        info.manufacturer,
        info.firmware,
        settings.handle,
        settings.pcrs.to_text(),
        info.max_auth_fail,
        info.lockout_interval,
        info.lockout_recovery
    );
    *DESCRIPTION
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(text);
}

/// The enrolment settings of the TPM KEK in `dir` (`DATA/keys/tpm`), with the TCTI this
/// process reached that TPM through when it unsealed the KEK (a configured device path may
/// differ from the one recorded), else the recorded one.
///
/// # Errors
/// [`crate::VaultError::Kek`]: no enrolment in `dir`, a malformed settings file.
#[cfg(feature = "tpm")]
pub fn settings_of(dir: &std::path::Path) -> Result<TpmSettings, crate::VaultError> {
    let recorded = TpmKek::new(dir.to_owned(), TpmConfig::default())
        .settings()?
        .ok_or_else(|| crate::VaultError::Kek(format!("{}: no TPM enrolment", dir.display())))?;
    Ok(match in_use() {
        Some(used)
            if used.handle == recorded.handle && used.parent_name == recorded.parent_name =>
        {
            TpmSettings {
                tcti: used.tcti,
                ..recorded
            }
        }
        _ => recorded,
    })
}

#[cfg(feature = "tpm")]
fn set_in_use(settings: TpmSettings) {
    *IN_USE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(settings);
}

/// Checks a TCTI string's form (the TPM stack parses it again when connecting).
///
/// # Errors
/// A message naming the accepted forms.
pub fn check_tcti(tcti: &str) -> Result<(), String> {
    let ok = tcti
        .strip_prefix("device:")
        .is_some_and(|p| p.starts_with('/'))
        || ["swtpm:", "mssim:"].iter().any(|p| {
            tcti.strip_prefix(p).is_some_and(|rest| {
                rest.split(',').all(|kv| {
                matches!(kv.split_once('='), Some(("host", h)) if !h.is_empty())
                    || matches!(kv.split_once('='), Some(("port", p)) if p.parse::<u16>().is_ok())
            })
            })
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tpm_tcti {tcti:?}: expected \"device:/dev/tpmrm0\" or \
             \"swtpm:host=127.0.0.1,port=2321\""
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tctis_are_checked() {
        for good in [
            "device:/dev/tpmrm0",
            "swtpm:host=127.0.0.1,port=2321",
            "swtpm:port=2321",
            "mssim:host=localhost,port=2321",
        ] {
            assert!(super::check_tcti(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "device:",
            "tpm",
            "swtpm:port=x",
            "swtpm:host=",
            "tabrmd:",
        ] {
            assert!(super::check_tcti(bad).is_err(), "{bad}");
        }
    }
}
