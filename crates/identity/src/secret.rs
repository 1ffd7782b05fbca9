//! Secrets this crate hands out exactly once: initial passwords, session ids and API tokens.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

macro_rules! shown_once {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// # Security
        /// Shown once and never stored in the clear; zeroed when dropped; `Debug` redacts it.
        pub struct $name(SecretString);

        impl $name {
            pub(crate) fn new(text: &str) -> Self {
                Self(SecretString::from(text))
            }

            /// The secret text, to hand to its holder.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

shown_once!(
    /// A generated initial password; it must be changed at first use (CR 1.5).
    InitialPassword
);

shown_once!(
    /// A session id: `rps_` and 32 hex digits (128 random bits) (CR 2.6, 3.8).
    SessionToken
);

shown_once!(
    /// An API token: `rpt_` and 64 hex digits (256 random bits) (CR 1.14).
    ApiToken
);

/// Parses `rp?_` + hex of exactly `bytes` bytes; `None` for anything else.
pub(crate) fn parse_token(text: &str, prefix: &str, bytes: usize) -> Option<Vec<u8>> {
    let hex = text.trim().strip_prefix(prefix)?;
    if hex.len() != bytes * 2 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes);
    for pair in hex.as_bytes().chunks_exact(2) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out.push(u8::try_from(hi * 16 + lo).ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_only_in_their_exact_form() {
        let t = format!("rps_{}", "ab".repeat(16));
        assert_eq!(parse_token(&t, "rps_", 16), Some(vec![0xab; 16]));
        assert_eq!(parse_token(&t, "rpt_", 16), None);
        assert_eq!(parse_token("rps_abc", "rps_", 16), None);
        assert_eq!(
            parse_token(&format!("rps_{}", "zz".repeat(16)), "rps_", 16),
            None
        );
    }

    #[test]
    fn debug_redacts() {
        let t = ApiToken::new("rpt_secret");
        assert_eq!(format!("{t:?}"), "ApiToken(<redacted>)");
        assert_eq!(t.expose_secret(), "rpt_secret");
    }
}
