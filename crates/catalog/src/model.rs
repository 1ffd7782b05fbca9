//! The vocabulary of IEC 62443-4-2: foundational requirements, component types, security
//! levels, requirement identifiers and requirements.
//!
//! Every type here is parsed, not merely checked: a value that exists is valid, and serde goes
//! through the same parsing functions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// A foundational requirement (FR) of IEC 62443: the seven groups every requirement belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fr {
    /// FR1 IAC: identification and authentication control.
    Iac = 1,
    /// FR2 UC: use control.
    Uc = 2,
    /// FR3 SI: system integrity.
    Si = 3,
    /// FR4 DC: data confidentiality.
    Dc = 4,
    /// FR5 RDF: restricted data flow.
    Rdf = 5,
    /// FR6 TRE: timely response to events.
    Tre = 6,
    /// FR7 RA: resource availability.
    Ra = 7,
}

impl Fr {
    /// All seven FRs in the order of an SL vector {IAC, UC, SI, DC, RDF, TRE, RA}.
    pub const ALL: [Fr; 7] = [Fr::Iac, Fr::Uc, Fr::Si, Fr::Dc, Fr::Rdf, Fr::Tre, Fr::Ra];

    /// The FR with this number (1..=7).
    pub fn from_number(number: u8) -> Option<Fr> {
        Fr::ALL.get(usize::from(number).checked_sub(1)?).copied()
    }

    /// The FR's number, 1..=7.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The FR's abbreviation, e.g. `IAC`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Fr::Iac => "IAC",
            Fr::Uc => "UC",
            Fr::Si => "SI",
            Fr::Dc => "DC",
            Fr::Rdf => "RDF",
            Fr::Tre => "TRE",
            Fr::Ra => "RA",
        }
    }

    /// The FR's name, e.g. `Identification and authentication control`.
    pub fn name(self) -> &'static str {
        match self {
            Fr::Iac => "Identification and authentication control",
            Fr::Uc => "Use control",
            Fr::Si => "System integrity",
            Fr::Dc => "Data confidentiality",
            Fr::Rdf => "Restricted data flow",
            Fr::Tre => "Timely response to events",
            Fr::Ra => "Resource availability",
        }
    }
}

impl fmt::Display for Fr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FR{}", self.number())
    }
}

impl FromStr for Fr {
    type Err = ParseError;

    /// Accepts `FR1`..`FR7` (also `FR 1`) and the abbreviations `IAC`..`RA`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        let by_number = upper
            .strip_prefix("FR")
            .map(str::trim_start)
            .and_then(|n| n.parse::<u8>().ok())
            .and_then(Fr::from_number);
        by_number
            .or_else(|| Fr::ALL.into_iter().find(|fr| fr.abbreviation() == upper))
            .ok_or_else(|| ParseError::Fr(text.to_owned()))
    }
}

impl Serialize for Fr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The four component types of IEC 62443-4-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentType {
    /// SAR: software application.
    Sar,
    /// EDR: embedded device.
    Edr,
    /// HDR: host device.
    Hdr,
    /// NDR: network device.
    Ndr,
}

impl ComponentType {
    /// All four types in the order the standard lists them.
    pub const ALL: [ComponentType; 4] = [
        ComponentType::Sar,
        ComponentType::Edr,
        ComponentType::Hdr,
        ComponentType::Ndr,
    ];

    /// The three-letter code, e.g. `NDR`.
    pub fn code(self) -> &'static str {
        match self {
            ComponentType::Sar => "SAR",
            ComponentType::Edr => "EDR",
            ComponentType::Hdr => "HDR",
            ComponentType::Ndr => "NDR",
        }
    }

    /// What the type is, e.g. `network device`.
    pub fn name(self) -> &'static str {
        match self {
            ComponentType::Sar => "software application",
            ComponentType::Edr => "embedded device",
            ComponentType::Hdr => "host device",
            ComponentType::Ndr => "network device",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for ComponentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for ComponentType {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        ComponentType::ALL
            .into_iter()
            .find(|t| t.code() == upper)
            .ok_or_else(|| ParseError::ComponentType(text.to_owned()))
    }
}

impl Serialize for ComponentType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for ComponentType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A non-empty set of component types.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComponentTypes(u8);

impl ComponentTypes {
    /// Every component type: the set a common (`CR`) requirement applies to.
    pub const ALL: ComponentTypes = ComponentTypes(0b1111);

    /// The set holding just `component_type`.
    pub fn only(component_type: ComponentType) -> ComponentTypes {
        ComponentTypes(component_type.bit())
    }

    /// Whether the set holds `component_type`.
    pub fn contains(self, component_type: ComponentType) -> bool {
        self.0 & component_type.bit() != 0
    }

    /// Whether every component type is in the set.
    pub fn is_all(self) -> bool {
        self == ComponentTypes::ALL
    }

    /// The types in the set, in the standard's order.
    pub fn iter(self) -> impl Iterator<Item = ComponentType> {
        ComponentType::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }
}

impl fmt::Debug for ComponentTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for ComponentTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("ALL");
        }
        for (i, t) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(t.code())?;
        }
        Ok(())
    }
}

impl FromIterator<ComponentType> for ComponentTypes {
    fn from_iter<I: IntoIterator<Item = ComponentType>>(iter: I) -> Self {
        ComponentTypes(iter.into_iter().fold(0, |bits, t| bits | t.bit()))
    }
}

/// A security level, 1..=4. SL 0 (no requirements) is represented by the absence of a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecurityLevel(u8);

impl SecurityLevel {
    /// SL 1 to SL 4, in order.
    pub const ALL: [SecurityLevel; 4] = [
        SecurityLevel(1),
        SecurityLevel(2),
        SecurityLevel(3),
        SecurityLevel(4),
    ];

    /// The level `n`, if `n` is 1..=4.
    pub fn new(n: u8) -> Option<SecurityLevel> {
        (1..=4).contains(&n).then_some(SecurityLevel(n))
    }

    /// The level as a number, 1..=4.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for SecurityLevel {
    type Err = ParseError;

    /// Accepts `1`..`4`, also written `SL2` or `SL 2`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        let digits = upper
            .strip_prefix("SL")
            .map_or(upper.as_str(), str::trim_start);
        digits
            .parse::<u8>()
            .ok()
            .and_then(SecurityLevel::new)
            .ok_or_else(|| ParseError::SecurityLevel(text.to_owned()))
    }
}

impl Serialize for SecurityLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for SecurityLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(deserializer)?;
        SecurityLevel::new(n)
            .ok_or_else(|| serde::de::Error::custom(ParseError::SecurityLevel(n.to_string())))
    }
}

/// The levels at which a requirement is part of the SL-C requirement set.
///
/// Invariant: non-empty and cumulative (required at `n` means required at every level above
/// `n`), as Annex B of the standard defines the sets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlMarks(u8);

impl SlMarks {
    /// Marks from the lowest level at which the requirement is required.
    pub fn from_level(lowest: SecurityLevel) -> SlMarks {
        SlMarks(0b1111 & !((1 << (lowest.0 - 1)) - 1))
    }

    /// Marks from a list of levels; `None` unless the list is non-empty and cumulative.
    pub fn from_levels(levels: &[SecurityLevel]) -> Option<SlMarks> {
        let lowest = *levels.iter().min()?;
        let marks = SlMarks::from_level(lowest);
        let given = levels.iter().fold(0, |bits, l| bits | (1 << (l.0 - 1)));
        (given == marks.0).then_some(marks)
    }

    /// The lowest level at which the requirement applies.
    pub fn lowest(self) -> SecurityLevel {
        // Invariant: at least one bit is set, so trailing_zeros is 0..=3.
        #[allow(clippy::cast_possible_truncation)]
        SecurityLevel(self.0.trailing_zeros() as u8 + 1)
    }

    /// Whether the requirement is part of the set for `level`.
    pub fn required_at(self, level: SecurityLevel) -> bool {
        self.0 & (1 << (level.0 - 1)) != 0
    }

    /// The levels at which it is required, ascending.
    pub fn levels(self) -> impl Iterator<Item = SecurityLevel> {
        SecurityLevel::ALL
            .into_iter()
            .filter(move |l| self.required_at(*l))
    }
}

impl fmt::Debug for SlMarks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.levels().map(|l| l.0)).finish()
    }
}

impl fmt::Display for SlMarks {
    /// Four columns, one per level: the level's digit where required, `·` where not.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for level in SecurityLevel::ALL {
            if self.required_at(level) {
                write!(f, "{level}")?;
            } else {
                f.write_str("·")?;
            }
        }
        Ok(())
    }
}

/// What kind of requirement an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A base component requirement, common (`CR`) or specific to one type (`NDR 5.2`).
    #[serde(rename = "CR")]
    Cr,
    /// A requirement enhancement (RE) of a base requirement.
    #[serde(rename = "RE")]
    Re,
    /// A common component security constraint (clause 4), which applies at every level.
    #[serde(rename = "CCSC")]
    Ccsc,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Cr => "CR",
            Kind::Re => "RE",
            Kind::Ccsc => "CCSC",
        })
    }
}

/// The prefix of a requirement identifier: who the requirement is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `CR`: a requirement common to all component types.
    Common,
    /// `SAR`, `EDR`, `HDR` or `NDR`: a requirement for one component type.
    Specific(ComponentType),
    /// `CCSC`: a common component security constraint.
    Constraint,
}

impl Scope {
    fn prefix(self) -> &'static str {
        match self {
            Scope::Common => "CR",
            Scope::Specific(t) => t.code(),
            Scope::Constraint => "CCSC",
        }
    }
}

/// A requirement identifier such as `CR 1.1`, `CR 1.1 RE 1`, `NDR 5.2 RE 3` or `CCSC 2`.
///
/// Parsing is lenient about spelling (`cr 1.1 (1)`, `CR 1.1 RE(1)`, the OSCAL form
/// `cr-1.1-re-1`); display is always canonical.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequirementId {
    scope: Scope,
    major: u8,
    minor: u8,
    enhancement: u8,
}

impl RequirementId {
    /// Who the requirement is for.
    pub fn scope(self) -> Scope {
        self.scope
    }

    /// The FR number the identifier names (`CR 3.4` → 3); `None` for a CCSC.
    pub fn fr_number(self) -> Option<u8> {
        (self.scope != Scope::Constraint).then_some(self.major)
    }

    /// The requirement number within its FR (`CR 3.4` → 4).
    pub fn number(self) -> u8 {
        self.minor
    }

    /// The enhancement number, for an RE.
    pub fn enhancement(self) -> Option<u8> {
        (self.enhancement != 0).then_some(self.enhancement)
    }

    /// The base requirement an RE enhances; `None` for anything that is not an RE.
    pub fn base(self) -> Option<RequirementId> {
        self.enhancement().map(|_| RequirementId {
            enhancement: 0,
            ..self
        })
    }

    /// The kind the identifier implies.
    pub fn kind(self) -> Kind {
        match (self.scope, self.enhancement()) {
            (Scope::Constraint, _) => Kind::Ccsc,
            (_, Some(_)) => Kind::Re,
            (_, None) => Kind::Cr,
        }
    }

    /// The identifier as an OSCAL token, e.g. `cr-1.1-re-1`, `ndr-5.2`, `ccsc-1`.
    pub fn oscal_id(self) -> String {
        let prefix = self.scope.prefix().to_ascii_lowercase();
        match (self.scope, self.enhancement()) {
            (Scope::Constraint, _) => format!("{prefix}-{}", self.major),
            (_, None) => format!("{prefix}-{}.{}", self.major, self.minor),
            (_, Some(re)) => format!("{prefix}-{}.{}-re-{re}", self.major, self.minor),
        }
    }

    fn sort_key(self) -> (bool, u8, u8, Scope, u8) {
        (
            self.scope != Scope::Constraint,
            self.major,
            self.minor,
            self.scope,
            self.enhancement,
        )
    }
}

impl PartialOrd for RequirementId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RequirementId {
    /// The standard's order: CCSCs first, then by FR and number, common before specific
    /// (`CR`, `SAR`, `EDR`, `HDR`, `NDR`), each base followed by its REs.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl fmt::Display for RequirementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.scope.prefix();
        if self.scope == Scope::Constraint {
            return write!(f, "{prefix} {}", self.major);
        }
        write!(f, "{prefix} {}.{}", self.major, self.minor)?;
        if let Some(re) = self.enhancement() {
            write!(f, " RE {re}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RequirementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequirementId({self})")
    }
}

impl FromStr for RequirementId {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_id(text).ok_or_else(|| ParseError::RequirementId(text.to_owned()))
    }
}

/// Parses the spellings of an identifier people and tools use. Returns `None` on anything else.
fn parse_id(text: &str) -> Option<RequirementId> {
    // Normalise separators so `CR 1.1 RE(1)`, `cr-1.1-re-1` and `CR1.1(1)` read alike.
    let normal: String = text
        .trim()
        .to_ascii_uppercase()
        .chars()
        .map(|c| {
            if matches!(c, '-' | '(' | ')' | '_') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let letters_end = normal
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(normal.len());
    let (prefix, rest) = normal.split_at(letters_end);
    let scope = match prefix {
        "CR" => Scope::Common,
        "CCSC" => Scope::Constraint,
        other => Scope::Specific(other.parse().ok()?),
    };
    let mut words = rest.split_whitespace();
    let number = words.next()?;
    let small = |s: &str| -> Option<u8> {
        // Leading zeros and signs are not identifiers.
        if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u8>().ok().filter(|n| *n <= 99)
    };
    let (major, minor) = if scope == Scope::Constraint {
        (small(number)?, 0)
    } else {
        let (major, minor) = number.split_once('.')?;
        (small(major)?, small(minor)?)
    };
    let enhancement = match (words.next(), words.next(), words.next()) {
        (None, _, _) => 0,
        (Some("RE"), Some(n), None) | (Some(n), None, None) => small(n)?,
        _ => return None,
    };
    if scope == Scope::Constraint && enhancement != 0 {
        return None;
    }
    if scope != Scope::Constraint && Fr::from_number(major).is_none() {
        return None;
    }
    Some(RequirementId {
        scope,
        major,
        minor,
        enhancement,
    })
}

impl Serialize for RequirementId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RequirementId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How well the public sources agree on a requirement's facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// At least two independent sources agree on the id, the title and all SL marks.
    High,
    /// Sources disagree or only secondary ones agree; the decision is recorded.
    Medium,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_ids_parse_in_every_common_spelling() {
        for (text, canonical) in [
            ("CR 1.1", "CR 1.1"),
            ("cr1.1", "CR 1.1"),
            ("CR 1.1 RE 1", "CR 1.1 RE 1"),
            ("CR 1.1 RE(1)", "CR 1.1 RE 1"),
            ("CR 1.1(1)", "CR 1.1 RE 1"),
            ("cr-1.1-re-1", "CR 1.1 RE 1"),
            ("ndr-5.2-re-3", "NDR 5.2 RE 3"),
            ("  NDR 1.13 ", "NDR 1.13"),
            ("CCSC 3", "CCSC 3"),
            ("ccsc-3", "CCSC 3"),
        ] {
            let id: RequirementId = text.parse().unwrap();
            assert_eq!(id.to_string(), canonical, "{text}");
        }
    }

    #[test]
    fn malformed_requirement_ids_are_rejected() {
        for text in [
            "",
            "CR",
            "CR 1",
            "CR 8.1",
            "CR 0.1",
            "CR 1.01",
            "XR 1.1",
            "CR 1.1 RE",
            "CR 1.1 RE 1 2",
            "CCSC 1 RE 1",
            "CR 1.1 XE 1",
            "CR 1.1.1",
            "CR 1.300",
        ] {
            assert!(text.parse::<RequirementId>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn ids_order_as_the_standard_lists_them() {
        let mut ids: Vec<RequirementId> = [
            "NDR 2.4",
            "CR 2.5",
            "CR 1.1 RE 1",
            "SAR 2.4 RE 1",
            "CCSC 1",
            "CR 1.1",
            "SAR 2.4",
            "CR 1.10",
            "CR 1.2",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        ids.sort();
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "CCSC 1",
                "CR 1.1",
                "CR 1.1 RE 1",
                "CR 1.2",
                "CR 1.10",
                "SAR 2.4",
                "SAR 2.4 RE 1",
                "NDR 2.4",
                "CR 2.5"
            ]
        );
    }

    #[test]
    fn oscal_ids_are_tokens() {
        let id: RequirementId = "NDR 5.2 RE 1".parse().unwrap();
        assert_eq!(id.oscal_id(), "ndr-5.2-re-1");
        assert_eq!(id.base().unwrap().oscal_id(), "ndr-5.2");
        assert_eq!(
            "CCSC 4".parse::<RequirementId>().unwrap().oscal_id(),
            "ccsc-4"
        );
    }

    #[test]
    fn fr_accepts_numbers_and_abbreviations() {
        assert_eq!("fr3".parse::<Fr>().unwrap(), Fr::Si);
        assert_eq!("RDF".parse::<Fr>().unwrap(), Fr::Rdf);
        assert_eq!("FR 7".parse::<Fr>().unwrap(), Fr::Ra);
        assert!("FR8".parse::<Fr>().is_err());
        assert!("FR0".parse::<Fr>().is_err());
    }

    #[test]
    fn sl_marks_must_be_cumulative() {
        let l = |n| SecurityLevel::new(n).unwrap();
        let marks = SlMarks::from_levels(&[l(2), l(3), l(4)]).unwrap();
        assert_eq!(marks.lowest(), l(2));
        assert!(!marks.required_at(l(1)));
        assert!(marks.required_at(l(4)));
        assert_eq!(marks.to_string(), "·234");
        assert!(SlMarks::from_levels(&[l(2), l(4)]).is_none());
        assert!(SlMarks::from_levels(&[l(1), l(2)]).is_none());
        assert!(SlMarks::from_levels(&[]).is_none());
        assert!("5".parse::<SecurityLevel>().is_err());
        assert_eq!("SL 3".parse::<SecurityLevel>().unwrap(), l(3));
    }
}
