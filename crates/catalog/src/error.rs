//! Errors of the catalog: parsing a value, loading a catalog, looking up a requirement.

use thiserror::Error;

/// A value that is not one of the vocabulary's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not `FR1`..`FR7` or one of `IAC`, `UC`, `SI`, `DC`, `RDF`, `TRE`, `RA`.
    #[error(
        "unknown foundational requirement '{0}' (valid: FR1..FR7 or IAC, UC, SI, DC, RDF, TRE, RA)"
    )]
    Fr(String),
    /// Not `SAR`, `EDR`, `HDR` or `NDR`.
    #[error("unknown component type '{0}' (valid: SAR, EDR, HDR, NDR)")]
    ComponentType(String),
    /// Not a number from 1 to 4.
    #[error("security level '{0}' is out of range (valid: 1, 2, 3, 4)")]
    SecurityLevel(String),
    /// Not an identifier of the form `CR 1.1`, `CR 1.1 RE 1`, `NDR 5.2` or `CCSC 1`.
    #[error(
        "'{0}' is not a requirement id (ids look like 'CR 1.1', 'CR 1.1 RE 1', 'NDR 5.2', 'CCSC 1')"
    )]
    RequirementId(String),
}

/// Catalog data that cannot be loaded: bad syntax or facts that contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The file is not valid TOML or JSON, or a field has the wrong form; the message names
    /// the line and key.
    #[error("catalog data is malformed: {0}")]
    Syntax(String),
    /// Two entries with the same id.
    #[error("duplicate requirement id '{0}'")]
    Duplicate(String),
    /// An entry's fields contradict each other or its id.
    #[error("requirement '{id}': {problem}")]
    Inconsistent {
        /// The entry's id.
        id: String,
        /// What is wrong, naming the field and the value.
        problem: String,
    },
    /// An RE whose parent is not in the catalog.
    #[error("requirement '{id}': parent '{parent}' is not in the catalog")]
    DanglingParent {
        /// The RE.
        id: String,
        /// The missing parent.
        parent: String,
    },
}

/// A lookup by id that found nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The text is not an id at all; `suggestion` is the nearest id the catalog holds.
    #[error("'{text}' is not a requirement id (ids look like 'CR 1.1', 'CR 1.1 RE 1', 'NDR 5.2', 'CCSC 1'){}", hint(suggestion.as_deref()))]
    Malformed {
        /// The text asked for.
        text: String,
        /// The nearest id the catalog holds, if any is close.
        suggestion: Option<String>,
    },
    /// A well-formed id that the catalog does not hold; `suggestion` is the nearest one.
    #[error("unknown requirement id '{id}'{}", hint(suggestion.as_deref()))]
    Unknown {
        /// The id asked for, canonical.
        id: String,
        /// The nearest id the catalog holds, if any is close.
        suggestion: Option<String>,
    },
}

fn hint(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default()
}
