//! The backup passphrase.

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;
use zeroize::Zeroizing;

use crate::BackupError;

/// A backup passphrase: at least [`Passphrase::MIN_CHARS`] characters, NFC-normalised.
///
/// # Security
/// The bytes are zeroized on drop and never formatted (`Debug` prints a placeholder). The
/// minimum length matters because a backup leaves the device: whoever holds the file can try
/// passphrases offline for as long as they like, limited only by argon2id's cost, so the
/// passphrase's own strength is the real protection. Twelve characters of a passphrase
/// (several words) keeps an offline search out of reach even at thousands of guesses per
/// second on dedicated hardware; shorter ones do not.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// The fewest characters (Unicode scalar values, after NFC) a passphrase may have.
    pub const MIN_CHARS: usize = 12;
    /// The most bytes a passphrase may have (a guard against pasting a file by mistake).
    pub const MAX_BYTES: usize = 1024;

    /// Checks and wraps a passphrase, normalising it to Unicode NFC so that the same text typed
    /// on two systems gives the same key.
    ///
    /// # Errors
    /// [`BackupError::WeakPassphrase`] if it is shorter than [`Passphrase::MIN_CHARS`]
    /// characters, longer than [`Passphrase::MAX_BYTES`] bytes, or holds control characters.
    pub fn new(text: impl Into<String>) -> Result<Passphrase, BackupError> {
        let raw = Zeroizing::new(text.into());
        // Room for NFC's worst-case growth up front, so no reallocation leaves a copy behind.
        let mut normalised = Zeroizing::new(String::with_capacity(raw.len().saturating_mul(3)));
        normalised.extend(raw.nfc());
        let chars = normalised.chars().count();
        if chars < Passphrase::MIN_CHARS {
            return Err(BackupError::WeakPassphrase(format!(
                "the passphrase has {chars} characters; at least {} are required, because \
                 anyone holding the backup file can guess offline",
                Passphrase::MIN_CHARS
            )));
        }
        if normalised.len() > Passphrase::MAX_BYTES {
            return Err(BackupError::WeakPassphrase(format!(
                "the passphrase is longer than {} bytes",
                Passphrase::MAX_BYTES
            )));
        }
        if normalised.chars().any(char::is_control) {
            return Err(BackupError::WeakPassphrase(
                "the passphrase contains control characters".into(),
            ));
        }
        Ok(Passphrase(normalised))
    }

    /// The bytes the key is derived from.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passphrases_are_refused_with_the_rule() {
        let err = Passphrase::new("eleven char").unwrap_err().to_string();
        assert!(
            err.contains("11 characters") && err.contains("at least 12"),
            "{err}"
        );
        Passphrase::new("twelve chars").unwrap();
    }

    #[test]
    fn length_counts_characters_not_bytes_and_text_is_normalised() {
        // Twelve characters, more bytes.
        Passphrase::new("ééééééééééé!").unwrap();
        let composed = Passphrase::new("caf\u{e9} au lait!!").unwrap();
        let decomposed = Passphrase::new("cafe\u{301} au lait!!").unwrap();
        assert_eq!(composed.as_bytes(), decomposed.as_bytes());
    }

    #[test]
    fn control_characters_and_huge_input_are_refused() {
        assert!(Passphrase::new("twelve chars\n").is_err());
        assert!(Passphrase::new("x".repeat(2000)).is_err());
    }

    #[test]
    fn debug_never_shows_it() {
        let p = Passphrase::new("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Passphrase(***)");
    }
}
