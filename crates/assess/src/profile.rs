//! The component profile: who the component is, its SL-T, and what it claims per requirement.
//!
//! A profile is TOML (format documented in `docs/assess.md`, JSON Schema in
//! `schemas/assess/profile.schema.json`). Parsing checks every fact against the catalog, so a
//! [`Profile`] that exists names only known requirements that apply to its component type,
//! never claims an RE without its base requirement, and carries a justification for every
//! `not-applicable` and a countermeasure for every `compensated` entry.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use rampart_catalog::{Catalog, ComponentType, Kind, RequirementId};
use rampart_vault::crypto::sha256;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{InputError, line_column, read_text};
use crate::level::SlVector;

/// The profile format version this code reads.
pub const PROFILE_FORMAT: u32 = 1;

/// Profiles are hand-written text; anything larger than this is not a profile.
const MAX_PROFILE_BYTES: usize = 4 << 20;

/// A place in the profile file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The line.
    pub line: usize,
    /// The column, in characters.
    pub column: usize,
}

/// What the component vendor claims for one requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The component meets the requirement by itself.
    Met,
    /// Some of the requirement is implemented; for the SL-C this is not met.
    Partial,
    /// The component does not meet the requirement.
    NotMet,
    /// The requirement does not apply to this component (with a justification).
    NotApplicable,
    /// Met only with a compensating countermeasure outside the component (CCSC 2).
    Compensated,
    /// Claimed `met`, but with `--test-results` the tests named as its evidence did not all
    /// run and pass (or it names none): counts as not met. Computed, never declared.
    Unverified,
}

impl Status {
    /// The word used in profiles and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Partial => "partial",
            Status::NotMet => "not-met",
            Status::NotApplicable => "not-applicable",
            Status::Compensated => "compensated",
            Status::Unverified => "unverified",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A piece of evidence: a file in the component's repository, a URL, or a test id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// A file path, relative to the repository root.
    File(String),
    /// A URL.
    Url(String),
    /// A test identifier, e.g. `rampart-identity::it::lockout::locks_after_max_failures`.
    Test(String),
    /// Something a live gateway reported (added by `--live`, never written in a profile).
    Live(String),
}

impl Evidence {
    /// The kind as a word: `file`, `url`, `test` or `live`.
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::File(_) => "file",
            Evidence::Url(_) => "url",
            Evidence::Test(_) => "test",
            Evidence::Live(_) => "live",
        }
    }

    /// The path, URL or test id.
    pub fn value(&self) -> &str {
        match self {
            Evidence::File(v) | Evidence::Url(v) | Evidence::Test(v) | Evidence::Live(v) => v,
        }
    }
}

/// The component's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Who makes it.
    pub vendor: String,
    /// Its name.
    pub product: String,
    /// The version assessed.
    pub version: String,
    /// SAR, EDR, HDR or NDR.
    #[serde(rename = "type")]
    pub component_type: ComponentType,
    /// A sentence on what it is, for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One requirement's entry in a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The status claimed.
    pub status: Status,
    /// Why the requirement does not apply (required for `not-applicable`).
    pub justification: Option<String>,
    /// The countermeasure that meets it (required for `compensated`).
    pub countermeasure: Option<String>,
    /// Evidence for the claim.
    pub evidence: Vec<Evidence>,
    /// Free text.
    pub notes: Option<String>,
    /// Where the entry starts in the profile file.
    pub location: Location,
}

/// How a claim's notes begin when the claim holds only in a configuration other than the
/// component's default (SL-C is the capability when properly configured): `"Met when
/// configured: hardening level 3 …"`. A live check that finds such a requirement not met
/// reports a component not configured for it, not a profile that claims too much.
pub const CONFIGURED_PREFIX: &str = "Met when configured:";

impl Claim {
    /// Whether the claim holds only when the component is configured for it (its notes begin
    /// with [`CONFIGURED_PREFIX`]).
    pub fn needs_configuration(&self) -> bool {
        self.notes
            .as_deref()
            .is_some_and(|n| n.starts_with(CONFIGURED_PREFIX))
    }
}

/// A validated component profile.
#[derive(Clone, Debug)]
pub struct Profile {
    origin: String,
    sha256: String,
    component: Component,
    component_location: Location,
    sl_t: SlVector,
    claims: BTreeMap<RequirementId, Claim>,
}

impl Profile {
    /// Reads and validates a profile file against `catalog`.
    ///
    /// # Errors
    /// [`InputError`] with the file, line and column: unreadable file, TOML syntax, unknown
    /// keys, unknown requirement ids (with the nearest known id), requirements that do not
    /// apply to the component type, REs claimed without their base requirement, and
    /// `not-applicable` / `compensated` entries without their justification / countermeasure.
    pub fn from_file(path: &Path, catalog: &Catalog) -> Result<Profile, InputError> {
        let text = read_text(path, MAX_PROFILE_BYTES)?;
        Profile::parse(&text, &path.display().to_string(), catalog)
    }

    /// Parses and validates profile text; `origin` names it in errors and reports.
    ///
    /// # Errors
    /// As [`Profile::from_file`].
    pub fn parse(text: &str, origin: &str, catalog: &Catalog) -> Result<Profile, InputError> {
        let at = |offset: usize, message: String| InputError::at(origin, text, offset, message);
        let location = |offset: usize| {
            let (line, column) = line_column(text, offset);
            Location { line, column }
        };
        let raw: RawProfile =
            toml::from_str(text).map_err(|e| InputError::toml(origin, text, &e))?;
        if *raw.format.get_ref() != PROFILE_FORMAT {
            return Err(at(
                raw.format.span().start,
                format!(
                    "format: {} is not a profile format this version reads (expected {PROFILE_FORMAT})",
                    raw.format.get_ref()
                ),
            ));
        }
        let component_location = location(table_header(text, "component").unwrap_or(0));
        let component = raw.component.into_inner();
        for (field, value) in [
            ("vendor", &component.vendor),
            ("product", &component.product),
            ("version", &component.version),
        ] {
            if value.trim().is_empty() {
                return Err(at(
                    table_header(text, "component").unwrap_or(0),
                    format!("component.{field} must not be empty"),
                ));
            }
        }
        let component_type = component.component_type;
        let mut claims = BTreeMap::new();
        for (key, raw_claim) in raw.requirement {
            let offset = key.span().start;
            let requirement = catalog
                .find(key.get_ref())
                .map_err(|e| at(offset, format!("requirement.\"{}\": {e}", key.get_ref())))?;
            let id = requirement.id();
            if requirement.kind() == Kind::Ccsc {
                // CCSCs apply to every component; nothing more to check.
            } else if !requirement.applies_to(component_type) {
                return Err(at(
                    offset,
                    format!(
                        "requirement \"{id}\" applies to {} components, not to this {component_type} ({})",
                        requirement.component_types(),
                        component_type.name()
                    ),
                ));
            }
            if claims.contains_key(&id) {
                return Err(at(
                    offset,
                    format!(
                        "requirement \"{id}\" is listed twice (as \"{}\" and another spelling)",
                        key.get_ref()
                    ),
                ));
            }
            let claim = raw_claim.into_inner();
            let claim = claim.validate(id).map_err(|m| at(offset, m))?;
            claims.insert(
                id,
                Claim {
                    location: location(offset),
                    ..claim
                },
            );
        }
        // An RE refines its base: claiming it while saying nothing about the base is a
        // profile mistake, not a gap to compute around.
        for (id, claim) in &claims {
            let Some(base) = id.base() else { continue };
            let claimed = matches!(
                claim.status,
                Status::Met | Status::Partial | Status::Compensated
            );
            if claimed && !claims.contains_key(&base) {
                let (line, column) = (claim.location.line, claim.location.column);
                return Err(InputError {
                    origin: origin.to_owned(),
                    line,
                    column,
                    message: format!(
                        "requirement \"{id}\" is claimed {} but its base requirement \"{base}\" is not in the profile",
                        claim.status
                    ),
                });
            }
        }
        Ok(Profile {
            origin: origin.to_owned(),
            sha256: hex(&sha256(text.as_bytes())),
            component,
            component_location,
            sl_t: *raw.target.sl_t.get_ref(),
            claims,
        })
    }

    /// The file name or origin given when parsing.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The SHA-256 of the profile text, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The component's identity.
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// Where the `[component]` table is (anchor for findings about absent requirements).
    pub fn component_location(&self) -> Location {
        self.component_location
    }

    /// The target SL vector the profile declares.
    pub fn sl_t(&self) -> SlVector {
        self.sl_t
    }

    /// The claim for one requirement, if the profile has one.
    pub fn claim(&self, id: RequirementId) -> Option<&Claim> {
        self.claims.get(&id)
    }

    /// Every claim, in the standard's order.
    pub fn claims(&self) -> impl Iterator<Item = (RequirementId, &Claim)> {
        self.claims.iter().map(|(id, c)| (*id, c))
    }
}

/// The byte offset of the `[name]` table header, if the text has one.
fn table_header(text: &str, name: &str) -> Option<usize> {
    let wanted = format!("[{name}]");
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(&wanted) {
            return Some(offset + (line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    None
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    format: Spanned<u32>,
    component: Spanned<Component>,
    target: RawTarget,
    #[serde(default)]
    requirement: BTreeMap<Spanned<String>, Spanned<RawClaim>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    sl_t: Spanned<SlVector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    status: Status,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    countermeasure: Option<String>,
    #[serde(default)]
    evidence: Vec<RawEvidence>,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    test: Option<String>,
}

impl RawClaim {
    fn validate(self, id: RequirementId) -> Result<Claim, String> {
        let filled = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        match self.status {
            Status::NotApplicable if !filled(&self.justification) => {
                return Err(format!(
                    "requirement \"{id}\" is not-applicable without a justification: add justification = \"why it does not apply\""
                ));
            }
            Status::Unverified => {
                return Err(format!(
                    "requirement \"{id}\": status \"unverified\" is what an assessment with --test-results computes, not a status to declare: use met, partial, not-met, not-applicable or compensated"
                ));
            }
            Status::Compensated if !filled(&self.countermeasure) => {
                return Err(format!(
                    "requirement \"{id}\" is compensated without a countermeasure: add countermeasure = \"what meets it instead\""
                ));
            }
            _ => {}
        }
        let mut evidence = Vec::with_capacity(self.evidence.len());
        for (i, e) in self.evidence.into_iter().enumerate() {
            evidence.push(match (e.file, e.url, e.test) {
                (Some(f), None, None) if !f.trim().is_empty() => Evidence::File(f),
                (None, Some(u), None) if u.starts_with("https://") || u.starts_with("http://") => {
                    Evidence::Url(u)
                }
                (None, Some(u), None) => {
                    return Err(format!(
                        "requirement \"{id}\": evidence {}: url '{u}' must start with https:// or http://",
                        i + 1
                    ));
                }
                (None, None, Some(t)) if !t.trim().is_empty() => Evidence::Test(t),
                _ => {
                    return Err(format!(
                        "requirement \"{id}\": evidence {} must have exactly one non-empty key of file, url or test",
                        i + 1
                    ));
                }
            });
        }
        Ok(Claim {
            status: self.status,
            justification: self.justification,
            countermeasure: self.countermeasure,
            evidence,
            notes: self.notes,
            location: Location { line: 0, column: 0 },
        })
    }
}
