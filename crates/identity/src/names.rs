//! Identifiers of accounts and roles (CR 1.4), parsed once and trusted afterwards.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::NameError;

/// The longest identifier accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Checks the shared identifier syntax and returns the canonical (lower-case) form.
fn parse_identifier(kind: &'static str, text: &str) -> Result<String, NameError> {
    let err = |problem: String| NameError {
        kind,
        value: text.to_owned(),
        problem,
    };
    if text.is_empty() {
        return Err(err("it is empty".into()));
    }
    if text.len() > MAX_NAME_LEN {
        return Err(err(format!(
            "it is {} bytes long; the limit is {MAX_NAME_LEN}",
            text.len()
        )));
    }
    let canonical = text.to_ascii_lowercase();
    // The first byte exists: the text is not empty.
    if !canonical.as_bytes()[0].is_ascii_lowercase() {
        return Err(err("it must start with a letter a-z".into()));
    }
    if let Some(bad) = canonical
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(err(format!(
            "it contains {bad:?}; allowed are letters a-z, digits 0-9, '.', '_' and '-'"
        )));
    }
    Ok(canonical)
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses `text`: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a
            /// letter. Upper-case letters are folded to lower case, so `Alice` and `alice`
            /// are the same identifier.
            ///
            /// # Errors
            /// [`NameError`] saying which rule `text` breaks.
            pub fn parse(text: &str) -> Result<Self, NameError> {
                parse_identifier($kind, text).map(Self)
            }

            /// The canonical text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

identifier!(
    /// The name of an account: a human user or a software process or device (CR 1.1, 1.2,
    /// 1.4). Unique, and never given to another account once used.
    AccountName,
    "account"
);

identifier!(
    /// The name of a role (CR 2.1). Management roles and Modbus/TCP Security data-plane roles
    /// share these names.
    RoleName,
    "role"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_and_reject_bad_characters() {
        assert_eq!(AccountName::parse("Alice").unwrap().as_str(), "alice");
        assert_eq!(
            RoleName::parse("security-admin").unwrap().as_str(),
            "security-admin"
        );
        for bad in ["", "1abc", "a b", "é", "-x", &"a".repeat(65)] {
            let e = AccountName::parse(bad).unwrap_err();
            assert!(e.to_string().contains("account name"), "{e}");
        }
        let e = AccountName::parse("bob smith").unwrap_err();
        assert!(e.to_string().contains("' '"), "{e}");
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let n: AccountName = serde_json::from_str("\"Bob\"").unwrap();
        assert_eq!(n.as_str(), "bob");
        assert!(serde_json::from_str::<RoleName>("\"no way\"").is_err());
    }
}
