//! Waivers: a time-limited, justified acceptance of a gap.
//!
//! A waived gap is reported as waived, never as met, and it no longer fails the assessment;
//! once its expiry date has passed it is a gap again. The file is TOML keyed by requirement
//! id (format in `docs/assess.md`, JSON Schema in `schemas/assess/waivers.schema.json`).

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::Date;
use rampart_catalog::{Catalog, RequirementId};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{InputError, read_text};

/// The waiver file format version this code reads.
pub const WAIVER_FORMAT: u32 = 1;

const MAX_WAIVER_BYTES: usize = 1 << 20;

/// One waiver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// Why the gap is accepted for now.
    pub justification: String,
    /// The last day (UTC) on which the waiver holds.
    pub expires: Date,
    /// Who accepted the risk, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

/// A validated set of waivers.
#[derive(Clone, Debug, Default)]
pub struct Waivers {
    origin: String,
    by_id: BTreeMap<RequirementId, Waiver>,
}

impl Waivers {
    /// Reads and validates a waiver file.
    ///
    /// # Errors
    /// [`InputError`] with file, line and column for unreadable files, TOML syntax, unknown
    /// keys, unknown requirement ids, empty justifications and malformed dates.
    pub fn from_file(path: &Path, catalog: &Catalog) -> Result<Waivers, InputError> {
        let text = read_text(path, MAX_WAIVER_BYTES)?;
        Waivers::parse(&text, &path.display().to_string(), catalog)
    }

    /// Parses waiver text; `origin` names it in errors.
    ///
    /// # Errors
    /// As [`Waivers::from_file`].
    pub fn parse(text: &str, origin: &str, catalog: &Catalog) -> Result<Waivers, InputError> {
        let at = |offset: usize, message: String| InputError::at(origin, text, offset, message);
        let raw: RawWaivers =
            toml::from_str(text).map_err(|e| InputError::toml(origin, text, &e))?;
        if *raw.format.get_ref() != WAIVER_FORMAT {
            return Err(at(
                raw.format.span().start,
                format!(
                    "format: {} is not a waiver format this version reads (expected {WAIVER_FORMAT})",
                    raw.format.get_ref()
                ),
            ));
        }
        let mut by_id = BTreeMap::new();
        for (key, value) in raw.waiver {
            let offset = key.span().start;
            let id = catalog
                .find(key.get_ref())
                .map_err(|e| at(offset, format!("waiver.\"{}\": {e}", key.get_ref())))?
                .id();
            let value = value.into_inner();
            if value.justification.trim().is_empty() {
                return Err(at(
                    offset,
                    format!("waiver \"{id}\": the justification must not be empty"),
                ));
            }
            let d = value.expires.get_ref();
            let date = match (d.date, d.time, d.offset) {
                (Some(date), None, None) => Date::new(
                    i16::try_from(date.year).unwrap_or(i16::MAX),
                    i8::try_from(date.month).unwrap_or(0),
                    i8::try_from(date.day).unwrap_or(0),
                )
                .ok(),
                _ => None,
            }
            .ok_or_else(|| {
                at(
                    value.expires.span().start,
                    format!("waiver \"{id}\": expires must be a date such as 2027-03-31, not {d}"),
                )
            })?;
            if by_id
                .insert(
                    id,
                    Waiver {
                        justification: value.justification,
                        expires: date,
                        approved_by: value.approved_by,
                    },
                )
                .is_some()
            {
                return Err(at(offset, format!("waiver \"{id}\" is listed twice")));
            }
        }
        Ok(Waivers {
            origin: origin.to_owned(),
            by_id,
        })
    }

    /// The file name or origin given when parsing.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The waiver for one requirement.
    pub fn get(&self, id: RequirementId) -> Option<&Waiver> {
        self.by_id.get(&id)
    }

    /// How many waivers the file holds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the file holds none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaivers {
    format: Spanned<u32>,
    #[serde(default)]
    waiver: BTreeMap<Spanned<String>, Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    justification: String,
    expires: Spanned<toml::value::Datetime>,
    #[serde(default)]
    approved_by: Option<String>,
}
