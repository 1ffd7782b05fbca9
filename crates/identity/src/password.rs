//! Passwords: the secret wrapper, the strength policy (CR 1.7) and Argon2id hashing (CR 1.5).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_vault::crypto::{Argon2Params, CryptoProvider, PasswordHashInfo};
use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

use crate::config::{HARD_MAX_PASSWORD_BYTES, HashParams, PasswordPolicy};
use crate::error::{ConfigError, IdentityError, PasswordRejected};
use crate::names::AccountName;

/// A password as typed. Zeroed when dropped; never printed.
///
/// Passwords are normalised to Unicode NFKC before they are checked or hashed (NIST SP
/// 800-63B-4), so the same password typed on different keyboards verifies.
pub struct Password(SecretString);

impl Password {
    /// Wraps `text`, zeroing the caller's copy.
    pub fn new(mut text: String) -> Self {
        let secret = SecretString::from(text.as_str());
        text.zeroize();
        Self(secret)
    }

    /// The NFKC-normalised password, zeroed when dropped.
    fn normalized(&self) -> Zeroizing<String> {
        let raw = self.0.expose_secret();
        let mut out = Zeroizing::new(String::with_capacity(raw.len() * 3));
        out.extend(raw.nfkc());
        out
    }

    /// Whether the raw input is longer than anything this crate hashes.
    pub(crate) fn exceeds_hard_limit(&self) -> bool {
        self.0.expose_secret().len() > HARD_MAX_PASSWORD_BYTES
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Self(SecretString::from(text))
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A list of common or breached passwords (CR 1.7), compared case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    entries: HashSet<String>,
}

/// The largest blocklist file read, in bytes: bounded input.
pub const MAX_BLOCKLIST_BYTES: u64 = 64 * 1024 * 1024;

impl Blocklist {
    /// A list of the given passwords.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            entries: lines
                .into_iter()
                .map(str::trim_end)
                .filter(|l| !l.is_empty())
                .map(|l| l.nfkc().collect::<String>().to_lowercase())
                .collect(),
        }
    }

    /// Reads a list from a UTF-8 file, one password per line; at most 64 MiB.
    ///
    /// # Errors
    /// [`ConfigError`] for `password.blocklist_file` when the file cannot be read, is larger
    /// than 64 MiB, or is not UTF-8.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let err = |problem: String| ConfigError {
            key: "password.blocklist_file",
            value: path.display().to_string(),
            problem,
        };
        let text = rampart_vault::read_capped_text(path, MAX_BLOCKLIST_BYTES)
            .map_err(|e| err(e.to_string()))?;
        Ok(Self::from_lines(text.lines()))
    }

    /// Adds every entry of `other`.
    pub(crate) fn extend(&mut self, other: Blocklist) {
        self.entries.extend(other.entries);
    }

    /// How many passwords the list holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn contains(&self, normalized: &str) -> bool {
        let lower = Zeroizing::new(normalized.to_lowercase());
        self.entries.contains(lower.as_str())
    }
}

/// The product name, always treated as a guessable word.
const PRODUCT_NAME: &str = "rampart";

/// Checks a new password against the policy (CR 1.7): length, printable characters, the
/// blocklist and guessability. `with_mfa` selects the shorter minimum length.
pub(crate) fn check_strength(
    policy: &PasswordPolicy,
    blocklist: Option<&Blocklist>,
    password: &Password,
    account: &AccountName,
    with_mfa: bool,
) -> Result<(), PasswordRejected> {
    let minimum = if with_mfa {
        policy.min_length_with_mfa
    } else {
        policy.min_length
    };
    check(
        policy,
        blocklist,
        password,
        &[account.as_str(), PRODUCT_NAME],
        minimum,
    )
}

/// Words a passphrase is checked against besides the dictionaries: what it protects.
const PASSPHRASE_CONTEXT: [&str; 3] = [PRODUCT_NAME, "backup", "passphrase"];

/// Checks a passphrase that protects something other than an account, such as a backup that
/// holds every private key of the component, against the account password policy (CR 1.7,
/// CR 7.3): the same checks as [`Identity`](crate::Identity) applies to a new account
/// password — the minimum length for an account without MFA (the passphrase is the only
/// factor), the maximum length, printable characters, the blocklist and the guessability
/// estimate (with the product name and "backup" as guessable words).
///
/// # Errors
/// [`PasswordRejected`] naming the rule the passphrase fails and, for a guessable one, what
/// makes it weak.
pub fn check_passphrase_strength(
    policy: &PasswordPolicy,
    blocklist: Option<&Blocklist>,
    passphrase: &Password,
) -> Result<(), PasswordRejected> {
    check(
        policy,
        blocklist,
        passphrase,
        &PASSPHRASE_CONTEXT,
        policy.min_length,
    )
}

impl crate::Identity {
    /// [`check_passphrase_strength`] with this store's password policy and blocklist: the
    /// check its callers apply to a passphrase they accept, such as a new backup's.
    ///
    /// # Errors
    /// As [`check_passphrase_strength`].
    pub fn check_passphrase_strength(&self, passphrase: &Password) -> Result<(), PasswordRejected> {
        check_passphrase_strength(&self.config.password, self.blocklist.as_ref(), passphrase)
    }
}

/// The strength checks shared by account passwords and passphrases; `user_inputs` are words
/// the guessability estimate treats as known to an attacker.
fn check(
    policy: &PasswordPolicy,
    blocklist: Option<&Blocklist>,
    password: &Password,
    user_inputs: &[&str],
    minimum: usize,
) -> Result<(), PasswordRejected> {
    if password.exceeds_hard_limit() {
        return Err(PasswordRejected::TooLong {
            length: password.0.expose_secret().chars().count(),
            maximum: policy.max_length,
        });
    }
    let text = password.normalized();
    let length = text.chars().count();
    if length < minimum {
        return Err(PasswordRejected::TooShort { length, minimum });
    }
    if length > policy.max_length {
        return Err(PasswordRejected::TooLong {
            length,
            maximum: policy.max_length,
        });
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(PasswordRejected::ControlCharacter { code: u32::from(c) });
    }
    if blocklist.is_some_and(|b| b.contains(&text)) {
        return Err(PasswordRejected::Blocklisted);
    }
    let entropy = zxcvbn::zxcvbn(&text, user_inputs);
    let score = u8::from(entropy.score());
    if score < policy.min_strength {
        let (warning, suggestions) = entropy.feedback().map_or((None, Vec::new()), |f| {
            (
                f.warning().map(|w| w.to_string()),
                f.suggestions().iter().map(ToString::to_string).collect(),
            )
        });
        return Err(PasswordRejected::TooGuessable {
            score,
            minimum: policy.min_strength,
            warning,
            suggestions,
        });
    }
    Ok(())
}

/// The outcome of verifying a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// The password matches; `rehash` says the hash's parameters are weaker than configured.
    Match { rehash: bool },
    /// It does not (or the stored hash is unusable).
    Mismatch,
}

/// Argon2id hashing with the configured parameters, and verification with each hash's own.
///
/// Counts verifications, so tests can prove that every login path does the same work.
pub(crate) struct Hasher {
    params: HashParams,
    argon: Argon2Params,
    crypto: &'static CryptoProvider,
    dummy: String,
    verifications: AtomicU64,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// A hasher for `params`. Computes the dummy hash used for unknown accounts, which costs
    /// one hash.
    pub(crate) fn new(params: HashParams) -> Result<Self, IdentityError> {
        Self::with_provider(params, CryptoProvider::process_default())
    }

    /// A hasher for `params` whose salts come from `crypto`.
    pub(crate) fn with_provider(
        params: HashParams,
        crypto: &'static CryptoProvider,
    ) -> Result<Self, IdentityError> {
        let argon = params.argon2();
        argon.check().map_err(|e| ConfigError {
            key: "hashing",
            value: format!(
                "m={} t={} p={}",
                params.memory_kib, params.iterations, params.parallelism
            ),
            problem: e.to_string(),
        })?;
        let mut hasher = Self {
            params,
            argon,
            crypto,
            dummy: String::new(),
            verifications: AtomicU64::new(0),
        };
        hasher.dummy = hasher.hash(&Password::from("rampart dummy password, never matches"))?;
        Ok(hasher)
    }

    /// Hashes `password` with a fresh random salt; returns the PHC string.
    pub(crate) fn hash(&self, password: &Password) -> Result<String, IdentityError> {
        let text = password.normalized();
        self.crypto
            .hash_password(&self.argon, text.as_bytes())
            .map_err(|e| IdentityError::Random(format!("argon2id hashing failed: {e}")))
    }

    /// Verifies `password` against the PHC string `stored`: exactly one Argon2id computation,
    /// whatever the outcome.
    pub(crate) fn verify(&self, password: &Password, stored: &str) -> Verification {
        let Some(hash) = PasswordHashInfo::parse(stored) else {
            // An unusable stored hash never matches, but the work is done all the same.
            self.verify_dummy(password);
            return Verification::Mismatch;
        };
        let text = password.normalized();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        if self
            .crypto
            .verify_password(text.as_bytes(), stored)
            .unwrap_or(false)
        {
            Verification::Match {
                rehash: self.is_weaker(&hash),
            }
        } else {
            Verification::Mismatch
        }
    }

    /// Verifies `password` against a dummy hash with the configured parameters, so that an
    /// unknown account costs the same as a known one (no enumeration, CR 1.10).
    pub(crate) fn verify_dummy(&self, password: &Password) {
        let text = password.normalized();
        if PasswordHashInfo::parse(&self.dummy).is_some() {
            self.verifications.fetch_add(1, Ordering::Relaxed);
            // The result is irrelevant: the dummy never stands for an account.
            let _ = self.crypto.verify_password(text.as_bytes(), &self.dummy);
        }
    }

    /// Argon2id verifications done so far.
    pub(crate) fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    fn is_weaker(&self, hash: &PasswordHashInfo) -> bool {
        // Only argon2id version 19 parses, so the version is never the weaker part.
        let stored = hash.params;
        stored.m_kib < self.params.memory_kib
            || stored.t < self.params.iterations
            || stored
                .output_len
                .unwrap_or(Argon2Params::DEFAULT_OUTPUT_LEN)
                < Argon2Params::DEFAULT_OUTPUT_LEN
    }
}

/// The Argon2id parameters recorded in a PHC string, if it is one.
pub(crate) fn params_of(stored: &str) -> Option<HashParams> {
    let p = PasswordHashInfo::parse(stored)?.params;
    Some(HashParams {
        memory_kib: p.m_kib,
        iterations: p.t,
        parallelism: p.p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_come_from_the_injected_crypto_provider() {
        // The seam is real: with the deterministic provider the same password hashes to the
        // same PHC string twice (same salt), and the hash verifies with the default provider.
        let seeded = |seed| {
            let provider: &'static CryptoProvider =
                Box::leak(Box::new(CryptoProvider::danger_seeded(seed)));
            Hasher::with_provider(HashParams::danger_insecure_fast(), provider).unwrap()
        };
        let password = Password::from("correct horse battery staple");
        let first = seeded(1).hash(&password).unwrap();
        assert_eq!(first, seeded(1).hash(&password).unwrap());
        assert_ne!(first, seeded(2).hash(&password).unwrap());
        let default = Hasher::new(HashParams::danger_insecure_fast()).unwrap();
        assert!(matches!(
            default.verify(&password, &first),
            Verification::Match { rehash: false }
        ));
        // The default provider draws a fresh salt every time.
        assert_ne!(
            default.hash(&password).unwrap(),
            default.hash(&password).unwrap()
        );
    }

    fn alice() -> AccountName {
        AccountName::parse("alice").unwrap()
    }

    fn check(pw: &str, mfa: bool) -> Result<(), PasswordRejected> {
        check_strength(
            &PasswordPolicy::default(),
            None,
            &Password::from(pw),
            &alice(),
            mfa,
        )
    }

    #[test]
    fn length_limits_depend_on_mfa() {
        assert!(matches!(
            check("tr0ub4dor&3x", false),
            Err(PasswordRejected::TooShort {
                length: 12,
                minimum: 15
            })
        ));
        check("tr0ub4dor&3xq!", true).unwrap();
        let long: String = "correct horse battery staple ".repeat(4);
        assert!(long.chars().count() >= 64);
        check(&long, false).unwrap();
        assert!(matches!(
            check(&"x".repeat(129), false),
            Err(PasswordRejected::TooLong { maximum: 128, .. })
        ));
    }

    #[test]
    fn guessable_passwords_are_refused_with_advice() {
        let e = check("passwordpassword", false).unwrap_err();
        assert!(
            matches!(e, PasswordRejected::TooGuessable { minimum: 3, .. }),
            "{e}"
        );
        // The account and product names are context.
        let e = check("alicealicealice1", false).unwrap_err();
        assert!(matches!(e, PasswordRejected::TooGuessable { .. }), "{e}");
        let e = check("rampartrampart12", false).unwrap_err();
        assert!(matches!(e, PasswordRejected::TooGuessable { .. }), "{e}");
    }

    #[test]
    fn no_composition_rules_and_control_characters_refused() {
        // All lower case, no digits: accepted when long and unguessable.
        check("plinth marmot cobalt fjord", false).unwrap();
        assert!(matches!(
            check("plinth marmot\ncobalt fjord", false),
            Err(PasswordRejected::ControlCharacter { code: 0x0a })
        ));
    }

    #[test]
    fn blocklist_is_case_insensitive() {
        let list = Blocklist::from_lines(["Plinth Marmot Cobalt Fjord", ""]);
        assert_eq!(list.len(), 1);
        let e = check_strength(
            &PasswordPolicy::default(),
            Some(&list),
            &Password::from("plinth marmot cobalt fjord"),
            &alice(),
            false,
        )
        .unwrap_err();
        assert_eq!(e, PasswordRejected::Blocklisted);
    }

    #[test]
    fn weak_passphrases_are_refused_by_the_account_policy() {
        let policy = PasswordPolicy::default();
        let list = Blocklist::from_lines(["our site backup passphrase"]);
        let passphrase =
            |text: &str| check_passphrase_strength(&policy, Some(&list), &Password::from(text));
        // The minimum for an account without MFA, not the shorter one with it.
        assert_eq!(
            passphrase("aaaaaaaaaaaa"),
            Err(PasswordRejected::TooShort {
                length: 12,
                minimum: 15
            })
        );
        for guessable in [
            "aaaaaaaaaaaaaaaaaaaa",
            "passwordpassword",
            "qwertyuiopasdfgh",
            "password123456789",
        ] {
            let e = passphrase(guessable).unwrap_err();
            assert!(
                matches!(e, PasswordRejected::TooGuessable { .. }),
                "{guessable}: {e}"
            );
        }
        assert_eq!(
            passphrase("Our Site Backup Passphrase"),
            Err(PasswordRejected::Blocklisted)
        );
        assert_eq!(
            passphrase("plinth marmot\ncobalt fjord"),
            Err(PasswordRejected::ControlCharacter { code: 0x0a })
        );
        passphrase("plinth marmot cobalt fjord").unwrap();
    }

    #[test]
    fn hashes_record_parameters_and_verify_once() {
        let h = Hasher::new(HashParams::danger_insecure_fast()).unwrap();
        let stored = h
            .hash(&Password::from("plinth marmot cobalt fjord"))
            .unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=8,t=1,p=1$"),
            "{stored}"
        );
        assert_eq!(params_of(&stored), Some(HashParams::danger_insecure_fast()));
        let before = h.verifications();
        assert_eq!(
            h.verify(&Password::from("plinth marmot cobalt fjord"), &stored),
            Verification::Match { rehash: false }
        );
        assert_eq!(
            h.verify(&Password::from("wrong"), &stored),
            Verification::Mismatch
        );
        assert_eq!(
            h.verify(&Password::from("x"), "not a hash"),
            Verification::Mismatch
        );
        assert_eq!(h.verifications() - before, 3);
    }

    #[test]
    fn stronger_configuration_asks_for_rehash() {
        let weak = Hasher::new(HashParams::danger_insecure_fast()).unwrap();
        let stored = weak
            .hash(&Password::from("plinth marmot cobalt fjord"))
            .unwrap();
        let strong = Hasher::new(HashParams {
            memory_kib: 16,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap();
        assert_eq!(
            strong.verify(&Password::from("plinth marmot cobalt fjord"), &stored),
            Verification::Match { rehash: true }
        );
    }

    #[test]
    fn normalisation_makes_equivalent_input_verify() {
        let h = Hasher::new(HashParams::danger_insecure_fast()).unwrap();
        // U+212B ANGSTROM SIGN and U+00C5 normalise to the same NFKC form.
        let stored = h
            .hash(&Password::from("\u{212B}ngstr\u{f6}m units"))
            .unwrap();
        assert!(matches!(
            h.verify(&Password::from("\u{c5}ngstr\u{f6}m units"), &stored),
            Verification::Match { .. }
        ));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::from("plinth marmot cobalt fjord");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }
}
