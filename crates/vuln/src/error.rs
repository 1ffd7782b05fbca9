//! Errors of reading inventories and advisories.

use rampart_vault::CappedReadError;

/// Input that cannot be used: it names the file (or the name the caller gave the text) and
/// where in it the problem is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file cannot be read (missing, unreadable, larger than the cap, not UTF-8).
    #[error("{origin}: {source}")]
    Read {
        /// The path.
        origin: String,
        /// Why.
        source: CappedReadError,
    },
    /// A directory cannot be listed.
    #[error("{origin}: cannot list the directory: {source}")]
    List {
        /// The path.
        origin: String,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not JSON or TOML of the expected shape (serde's message carries the line
    /// and column).
    #[error("{origin}: {message}")]
    Syntax {
        /// The file or text.
        origin: String,
        /// What is wrong, with line and column where known.
        message: String,
    },
    /// The document parses but is not of the format it was read as, or states something
    /// impossible (a missing field, an unsupported version).
    #[error("{origin}: {at}: {message}")]
    Invalid {
        /// The file or text.
        origin: String,
        /// A JSON pointer or field path in the document.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A CSAF 2.0 document is not valid against the CSAF 2.0 JSON Schema.
    #[error("{origin}: CSAF 2.0 JSON schema: {at}: {message}")]
    CsafSchema {
        /// The file or text.
        origin: String,
        /// A JSON pointer in the document (of the first violation).
        at: String,
        /// What the schema asks, for the first few violations.
        message: String,
    },
    /// A CSAF 2.0 document fails one of the mandatory tests (section 6.1) that matching
    /// depends on.
    #[error("{origin}: CSAF mandatory test {test} failed at {at}: {message}")]
    CsafMandatory {
        /// The file or text.
        origin: String,
        /// The test's number in CSAF 2.0 section 6.1, e.g. `6.1.1`.
        test: &'static str,
        /// A JSON pointer in the document.
        at: String,
        /// What is wrong.
        message: String,
    },
}

impl InputError {
    pub(crate) fn syntax(origin: &str, error: &impl std::fmt::Display) -> InputError {
        InputError::Syntax {
            origin: origin.to_owned(),
            message: error.to_string(),
        }
    }

    pub(crate) fn invalid(origin: &str, at: &str, message: impl Into<String>) -> InputError {
        InputError::Invalid {
            origin: origin.to_owned(),
            at: at.to_owned(),
            message: message.into(),
        }
    }
}
