//! Configuration of the identity service, with safe defaults.
//!
//! Every struct deserialises from TOML with defaults for missing keys and rejects unknown keys;
//! [`IdentityConfig::validate`] checks ranges and is called when the service opens.

use std::fmt;
use std::path::PathBuf;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::permission::{Permission, PermissionSet};

/// Everything configurable about identification, authentication and use control.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// Password strength and lifetime (CR 1.7).
    pub password: PasswordPolicy,
    /// Argon2id cost of new password hashes (CR 1.5).
    pub hashing: HashParams,
    /// Account lockout after failed logins (CR 1.11).
    pub lockout: LockoutPolicy,
    /// Throttling of failed logins per source address (CR 1.11).
    pub throttle: SourceThrottle,
    /// Multi-factor authentication (CR 1.1 RE 2).
    pub mfa: MfaPolicy,
    /// Session timeouts and limits (CR 2.5, 2.6, 2.7).
    pub sessions: SessionPolicy,
    /// API tokens (CR 1.14).
    pub tokens: TokenPolicy,
    /// Supervisor override (CR 2.1 RE 3).
    pub overrides: OverridePolicy,
    /// Dual approval (CR 2.1 RE 4).
    pub approvals: ApprovalPolicy,
}

impl IdentityConfig {
    /// Checks every value against its allowed range.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first key out of range, its value and the allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.password.validate()?;
        self.hashing.validate()?;
        positive("lockout.window", self.lockout.window)?;
        at_least("lockout.max_failures", self.lockout.max_failures, 1)?;
        if let Some(d) = self.lockout.lock_for {
            positive("lockout.lock_for", d)?;
        }
        at_least("throttle.max_failures", self.throttle.max_failures, 1)?;
        positive("throttle.window", self.throttle.window)?;
        positive("throttle.block_for", self.throttle.block_for)?;
        if self.mfa.issuer.is_empty() || self.mfa.issuer.contains(':') {
            return Err(ConfigError {
                key: "mfa.issuer",
                value: self.mfa.issuer.clone(),
                problem: "must be non-empty and contain no ':'".into(),
            });
        }
        positive("sessions.idle_timeout", self.sessions.idle_timeout)?;
        positive("sessions.lifetime", self.sessions.lifetime)?;
        at_least("sessions.max_per_account", self.sessions.max_per_account, 1)?;
        positive("tokens.max_lifetime", self.tokens.max_lifetime)?;
        positive("overrides.max_duration", self.overrides.max_duration)?;
        positive(
            "approvals.request_lifetime",
            self.approvals.request_lifetime,
        )?;
        positive("approvals.redeem_window", self.approvals.redeem_window)?;
        Ok(())
    }
}

fn positive(key: &'static str, d: SignedDuration) -> Result<(), ConfigError> {
    if d.is_positive() {
        Ok(())
    } else {
        Err(ConfigError {
            key,
            value: format!("{d:#}"),
            problem: "must be a positive duration".into(),
        })
    }
}

fn at_least(key: &'static str, v: u32, min: u32) -> Result<(), ConfigError> {
    if v >= min {
        Ok(())
    } else {
        Err(ConfigError {
            key,
            value: v.to_string(),
            problem: format!("must be at least {min}"),
        })
    }
}

/// Password policy after NIST SP 800-63B-4: length and guessability, no composition rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum characters when the password is the only factor. Default 15; at least 8.
    pub min_length: usize,
    /// Minimum characters when the account uses MFA. Default 8; at least 8.
    pub min_length_with_mfa: usize,
    /// Maximum characters accepted. Default 128; at least 64.
    pub max_length: usize,
    /// Minimum zxcvbn strength score (0 to 4). Default 3.
    pub min_strength: u8,
    /// A file of common or breached passwords, one per line, compared case-insensitively.
    pub blocklist_file: Option<PathBuf>,
    /// How many previous passwords may not be reused (CR 1.7 RE 1). Default 0: off; at
    /// most 24.
    pub history: u32,
    /// How long a password must be kept before a self-service change (CR 1.7 RE 1).
    /// Default none.
    pub min_lifetime: Option<SignedDuration>,
    /// How long a password may be used before it must be changed (CR 1.7 RE 1). Default
    /// none: NIST SP 800-63B-4 advises against periodic changes.
    pub max_lifetime: Option<SignedDuration>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 15,
            min_length_with_mfa: 8,
            max_length: 128,
            min_strength: 3,
            blocklist_file: None,
            history: 0,
            min_lifetime: None,
            max_lifetime: None,
        }
    }
}

/// The shortest minimum length a policy may set.
const FLOOR_MIN_LENGTH: usize = 8;
/// The shortest maximum length a policy may set.
const FLOOR_MAX_LENGTH: usize = 64;
/// The most previous passwords the history rule may remember.
pub const MAX_HISTORY: u32 = 24;
/// The longest password this crate hashes at all, in bytes: bounded input.
pub(crate) const HARD_MAX_PASSWORD_BYTES: usize = 4096;

impl PasswordPolicy {
    fn validate(&self) -> Result<(), ConfigError> {
        let len = |key, v: usize, problem: &str| ConfigError {
            key,
            value: v.to_string(),
            problem: problem.into(),
        };
        if self.min_length < FLOOR_MIN_LENGTH {
            return Err(len(
                "password.min_length",
                self.min_length,
                "must be at least 8",
            ));
        }
        if self.min_length_with_mfa < FLOOR_MIN_LENGTH {
            return Err(len(
                "password.min_length_with_mfa",
                self.min_length_with_mfa,
                "must be at least 8",
            ));
        }
        if self.max_length < FLOOR_MAX_LENGTH || self.max_length * 4 > HARD_MAX_PASSWORD_BYTES {
            return Err(len(
                "password.max_length",
                self.max_length,
                "must be between 64 and 1024",
            ));
        }
        if self.min_length > self.max_length || self.min_length_with_mfa > self.max_length {
            return Err(len(
                "password.min_length",
                self.min_length,
                "must not exceed password.max_length",
            ));
        }
        if self.min_strength > 4 {
            return Err(ConfigError {
                key: "password.min_strength",
                value: self.min_strength.to_string(),
                problem: "must be 0 to 4".into(),
            });
        }
        if self.history > MAX_HISTORY {
            return Err(ConfigError {
                key: "password.history",
                value: self.history.to_string(),
                problem: format!("must be at most {MAX_HISTORY} (each entry costs one hash check)"),
            });
        }
        if let Some(d) = self.min_lifetime {
            positive("password.min_lifetime", d)?;
        }
        if let Some(d) = self.max_lifetime {
            positive("password.max_lifetime", d)?;
        }
        Ok(())
    }
}

/// Argon2id cost parameters for new hashes. Existing hashes keep theirs (recorded in each PHC
/// string) and are rehashed at the next successful login when these are stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashParams {
    /// Memory in KiB. Default 65 536 (64 MiB).
    pub memory_kib: u32,
    /// Passes over memory. Default 3.
    pub iterations: u32,
    /// Lanes. Default 1.
    pub parallelism: u32,
}

impl HashParams {
    /// The default: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommendation with one
    /// lane); about 130 ms per verification on the reference machine.
    pub const DEFAULT: Self = Self {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Parameters that make hashing almost free, for tests only: they offer no protection
    /// for a stolen hash.
    pub const fn danger_insecure_fast() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    /// The same parameters as the vault's KDF takes them.
    pub(crate) fn argon2(&self) -> rampart_vault::crypto::Argon2Params {
        rampart_vault::crypto::Argon2Params {
            m_kib: self.memory_kib,
            t: self.iterations,
            p: self.parallelism,
            output_len: None,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.argon2().check().map_err(|e| ConfigError {
            key: "hashing",
            value: format!(
                "m={} t={} p={}",
                self.memory_kib, self.iterations, self.parallelism
            ),
            problem: format!("not valid Argon2 parameters: {e}"),
        })
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Account lockout (CR 1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutPolicy {
    /// Failures that lock the account. Default 5.
    pub max_failures: u32,
    /// The window in which they must occur, counted from the first. Default 15 minutes.
    pub window: SignedDuration,
    /// How long the account stays locked; `None` locks until an administrator unlocks it.
    /// Default 15 minutes.
    pub lock_for: Option<SignedDuration>,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: SignedDuration::from_mins(15),
            lock_for: Some(SignedDuration::from_mins(15)),
        }
    }
}

/// Throttling of failed logins by source address (CR 1.11), so that one attacker cannot lock
/// out every account cheaply: once a source has used up its failures, its further attempts
/// are refused without touching any account's failure count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceThrottle {
    /// Failures one source may cause in the window. Default 10 (two lockouts at most).
    pub max_failures: u32,
    /// The window, counted from the first failure. Default 15 minutes.
    pub window: SignedDuration,
    /// How long a source that used up its failures is refused. Default 15 minutes.
    pub block_for: SignedDuration,
}

impl Default for SourceThrottle {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: SignedDuration::from_mins(15),
            block_for: SignedDuration::from_mins(15),
        }
    }
}

/// Multi-factor authentication (CR 1.1 RE 2). Roles can require MFA too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaPolicy {
    /// Require TOTP for every human account. Default false (per role instead).
    pub required_for_all: bool,
    /// Require TOTP for every human account that holds any of these permissions (by role).
    /// Default none; hardening level 2 and above: the administrative permissions.
    pub required_for_permissions: PermissionSet,
    /// The issuer shown in authenticator apps. Default `Rampart`.
    pub issuer: String,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            required_for_all: false,
            required_for_permissions: PermissionSet::EMPTY,
            issuer: "Rampart".into(),
        }
    }
}

/// What happens when an account already has its maximum number of sessions (CR 2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SessionLimitAction {
    /// Terminate the least recently used session.
    EvictOldest,
    /// Refuse the new session.
    RefuseNew,
}

/// Session timeouts and limits (CR 2.5, 2.6, 2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionPolicy {
    /// Inactivity after which a session is locked and must be re-authenticated. Default 15
    /// minutes.
    pub idle_timeout: SignedDuration,
    /// Absolute lifetime of a session. Default 12 hours.
    pub lifetime: SignedDuration,
    /// Concurrent sessions per account. Default 3.
    pub max_per_account: u32,
    /// What to do at the limit. Default: evict the oldest.
    pub on_limit: SessionLimitAction,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: SignedDuration::from_mins(15),
            lifetime: SignedDuration::from_hours(12),
            max_per_account: 3,
            on_limit: SessionLimitAction::EvictOldest,
        }
    }
}

/// API tokens (CR 1.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenPolicy {
    /// The longest lifetime a token may be given. Default 365 days.
    pub max_lifetime: SignedDuration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            max_lifetime: SignedDuration::from_hours(365 * 24),
        }
    }
}

/// Supervisor override (CR 2.1 RE 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OverridePolicy {
    /// The longest an override may last. Default 8 hours.
    pub max_duration: SignedDuration,
}

impl Default for OverridePolicy {
    fn default() -> Self {
        Self {
            max_duration: SignedDuration::from_hours(8),
        }
    }
}

/// Dual approval (CR 2.1 RE 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// Permissions whose use needs a second administrator's approval. Default none, so a
    /// component with a single administrator works; `["policy.apply", "user.remove"]` is a
    /// typical choice.
    pub required_for: PermissionSet,
    /// How long a request waits for a decision. Default 24 hours.
    pub request_lifetime: SignedDuration,
    /// How long an approved request may be acted on once redeemed. Default 15 minutes.
    pub redeem_window: SignedDuration,
}

impl ApprovalPolicy {
    /// Permissions that need dual approval whatever the configuration and the hardening
    /// level say: erasing the component must never be one person's act. The identity service
    /// adds them to `required_for` when it opens.
    pub const ALWAYS: &'static [Permission] = &[Permission::VaultErase];
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            required_for: PermissionSet::EMPTY,
            request_lifetime: SignedDuration::from_hours(24),
            redeem_window: SignedDuration::from_mins(15),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_nist() {
        let c = IdentityConfig::default();
        c.validate().unwrap();
        assert_eq!(c.password.min_length, 15);
        assert_eq!(c.password.min_length_with_mfa, 8);
        assert!(c.password.max_length >= 64);
        assert_eq!(c.lockout.max_failures, 5);
        assert_eq!(c.lockout.window, SignedDuration::from_mins(15));
    }

    #[test]
    fn level_3_adds_password_reuse_and_lifetime_limits_and_keeps_stricter_ones() {
        for level in [1, 2] {
            let c = HardeningLevel::new(level)
                .unwrap()
                .apply(IdentityConfig::default());
            assert_eq!(
                (
                    c.password.history,
                    c.password.min_lifetime,
                    c.password.max_lifetime
                ),
                (0, None, None),
                "level {level}"
            );
        }
        for level in [3, 4] {
            let c = HardeningLevel::new(level)
                .unwrap()
                .apply(IdentityConfig::default());
            c.validate().unwrap();
            assert!(c.mfa.required_for_all);
            assert_eq!(c.password.history, 5);
            assert_eq!(
                c.password.min_lifetime,
                Some(SignedDuration::from_hours(24))
            );
            assert_eq!(
                c.password.max_lifetime,
                Some(SignedDuration::from_hours(365 * 24))
            );
        }
        let mut own = IdentityConfig::default();
        own.password.history = 12;
        own.password.max_lifetime = Some(SignedDuration::from_hours(90 * 24));
        let c = HardeningLevel::new(3).unwrap().apply(own);
        assert_eq!(c.password.history, 12);
        assert_eq!(
            c.password.max_lifetime,
            Some(SignedDuration::from_hours(90 * 24))
        );
    }

    #[test]
    fn out_of_range_values_are_named() {
        let mut c = IdentityConfig::default();
        c.password.max_length = 32;
        let e = c.validate().unwrap_err();
        assert_eq!(e.key, "password.max_length");
        assert!(e.to_string().contains("32"), "{e}");

        let mut c = IdentityConfig::default();
        c.hashing.memory_kib = 1;
        assert_eq!(c.validate().unwrap_err().key, "hashing");
    }

    #[test]
    fn config_reads_from_json_with_defaults_and_rejects_unknown_keys() {
        let c: IdentityConfig = serde_json::from_str(
            r#"{"lockout": {"max_failures": 3, "window": "10m"}, "approvals": {"required_for": ["policy.apply"]}}"#,
        )
        .unwrap();
        assert_eq!(c.lockout.max_failures, 3);
        assert_eq!(c.lockout.window, SignedDuration::from_mins(10));
        assert_eq!(c.lockout.lock_for, Some(SignedDuration::from_mins(15)));
        assert!(
            c.approvals
                .required_for
                .contains(crate::Permission::PolicyApply)
        );
        assert!(serde_json::from_str::<IdentityConfig>(r#"{"lockuot": {}}"#).is_err());
    }
}

/// How far the security defaults of accounts and approvals are raised, by IEC 62443 security
/// level (one documented switch instead of many settings):
///
/// | level | adds |
/// |---|---|
/// | 1 | nothing: MFA per role, no dual approval (a single administrator can commission) except for `vault.erase`, which always needs it ([`ApprovalPolicy::ALWAYS`]) |
/// | 2 | MFA for every account holding an administrative permission ([`HardeningLevel::ADMINISTRATIVE`], CR 1.1 RE 2 for the interfaces that manage the component); dual approval for `policy.apply`, `user.remove`, `backup.restore` and `update.install` (CR 2.1 RE 4) |
/// | 3, 4 | MFA for every human account (CR 1.1 RE 2, RE 3); passwords: the last 5 not reusable, changed at most once a day and at least once a year unless configured otherwise (CR 1.7 RE 1) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HardeningLevel(u8);

impl HardeningLevel {
    /// Level 1, the lowest.
    pub const SL1: HardeningLevel = HardeningLevel(1);
    /// Level 2.
    pub const SL2: HardeningLevel = HardeningLevel(2);

    /// Previous passwords that may not be reused, at level 3 and above (at least).
    pub const SL3_PASSWORD_HISTORY: u32 = 5;
    /// The minimum password lifetime at level 3 and above, unless configured: one day.
    pub const SL3_PASSWORD_MIN_LIFETIME: SignedDuration = SignedDuration::from_hours(24);
    /// The maximum password lifetime at level 3 and above, unless configured: 365 days.
    pub const SL3_PASSWORD_MAX_LIFETIME: SignedDuration = SignedDuration::from_hours(365 * 24);

    /// The permissions that make an account administrative at level 2 and above.
    pub const ADMINISTRATIVE: &'static [Permission] = &[
        Permission::UserManage,
        Permission::UserRemove,
        Permission::RoleManage,
        Permission::SessionManage,
        Permission::TokenManage,
        Permission::CertificateManage,
        Permission::OverrideGrant,
        Permission::PolicyApply,
        Permission::BackupRestore,
        Permission::ConfigChange,
        Permission::UpdateInstall,
        Permission::VaultErase,
        Permission::AccessApprove,
    ];

    /// The permissions that need dual approval at level 2 and above.
    pub const DUAL_APPROVAL: &'static [Permission] = &[
        Permission::PolicyApply,
        Permission::UserRemove,
        Permission::BackupRestore,
        Permission::UpdateInstall,
    ];

    /// Level `level`, 1 to 4.
    ///
    /// # Errors
    /// The accepted range, when `level` is outside it.
    pub fn new(level: u8) -> Result<HardeningLevel, String> {
        if (1..=4).contains(&level) {
            Ok(HardeningLevel(level))
        } else {
            Err(format!(
                "hardening level {level} is not a security level (1 to 4)"
            ))
        }
    }

    /// The level as a number, 1 to 4.
    pub fn get(self) -> u8 {
        self.0
    }

    /// `config` with this level's settings added (never weakening what it already has).
    #[must_use]
    pub fn apply(self, mut config: IdentityConfig) -> IdentityConfig {
        if self.0 >= 2 {
            for &p in Self::ADMINISTRATIVE {
                config.mfa.required_for_permissions.insert(p);
            }
            for &p in Self::DUAL_APPROVAL {
                config.approvals.required_for.insert(p);
            }
        }
        if self.0 >= 3 {
            config.mfa.required_for_all = true;
            // CR 1.7 RE 1: no reuse of recent passwords, and minimum and maximum lifetimes
            // (the minimum keeps the history from being cycled through at once).
            config.password.history = config.password.history.max(Self::SL3_PASSWORD_HISTORY);
            config.password.min_lifetime = Some(
                config
                    .password
                    .min_lifetime
                    .unwrap_or(Self::SL3_PASSWORD_MIN_LIFETIME),
            );
            config.password.max_lifetime = Some(
                config
                    .password
                    .max_lifetime
                    .unwrap_or(Self::SL3_PASSWORD_MAX_LIFETIME),
            );
        }
        config
    }
}

impl Default for HardeningLevel {
    fn default() -> Self {
        Self::SL1
    }
}

impl fmt::Display for HardeningLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
