//! Requirements and the catalog that holds them: loading, validation and queries.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{CatalogError, LookupError};
use crate::model::{
    ComponentType, ComponentTypes, Confidence, Fr, Kind, RequirementId, Scope, SecurityLevel,
    SlMarks,
};

/// The catalog data shipped with Rampart: IEC 62443-4-2:2019, every CR, RE, component-specific
/// requirement and CCSC.
const BUILTIN_TOML: &str = include_str!("../data/iec62443-4-2.toml");

/// One requirement of the standard: a CR, an RE or a CCSC.
///
/// Invariant: the fields agree with each other and with the id (kind, FR, parent, component
/// types); serde goes through the same checks.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawRequirement")]
pub struct Requirement {
    id: RequirementId,
    fr: Option<Fr>,
    component_types: ComponentTypes,
    title: String,
    sl: SlMarks,
    summary: String,
    confidence: Confidence,
    decision: Option<String>,
    sources: Vec<String>,
}

impl Requirement {
    /// The identifier, e.g. `CR 1.1 RE 2`.
    pub fn id(&self) -> RequirementId {
        self.id
    }

    /// CR, RE or CCSC.
    pub fn kind(&self) -> Kind {
        self.id.kind()
    }

    /// The foundational requirement; `None` for a CCSC.
    pub fn fr(&self) -> Option<Fr> {
        self.fr
    }

    /// The base requirement of an RE.
    pub fn parent(&self) -> Option<RequirementId> {
        self.id.base()
    }

    /// The component types the requirement applies to.
    pub fn component_types(&self) -> ComponentTypes {
        self.component_types
    }

    /// Whether the requirement applies to a component of this type.
    pub fn applies_to(&self, component_type: ComponentType) -> bool {
        self.component_types.contains(component_type)
    }

    /// The short official title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The SL-C levels at which the requirement is part of the requirement set.
    pub fn sl(&self) -> SlMarks {
        self.sl
    }

    /// What the requirement asks of a component, in Rampart's own words.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// How well the public sources agree on this row.
    pub fn confidence(&self) -> Confidence {
        self.confidence
    }

    /// For a medium-confidence row: which marks were chosen and why.
    pub fn decision(&self) -> Option<&str> {
        self.decision.as_deref()
    }

    /// Keys of the sources that agree on this row (the data README lists them).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }
}

/// The serialized form, shared by the catalog TOML and the documented JSON output.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: RequirementId,
    kind: Kind,
    #[serde(default)]
    fr: Option<Fr>,
    #[serde(default)]
    parent: Option<RequirementId>,
    /// `["ALL"]` (TOML) or the list of type codes (JSON).
    component_types: Vec<String>,
    title: String,
    sl: Vec<SecurityLevel>,
    summary: String,
    confidence: Confidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decision: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

impl TryFrom<RawRequirement> for Requirement {
    type Error = CatalogError;

    fn try_from(raw: RawRequirement) -> Result<Self, Self::Error> {
        let id = raw.id;
        let bad = |problem: String| CatalogError::Inconsistent {
            id: id.to_string(),
            problem,
        };
        if raw.kind != id.kind() {
            return Err(bad(format!(
                "kind is '{}' but the id says '{}'",
                raw.kind,
                id.kind()
            )));
        }
        let expected_fr = id.fr_number().and_then(Fr::from_number);
        if raw.fr != expected_fr {
            return Err(bad(format!(
                "fr is {} but the id says {}",
                raw.fr.map_or("absent".to_owned(), |f| f.to_string()),
                expected_fr.map_or("none (a CCSC has no FR)".to_owned(), |f| f.to_string())
            )));
        }
        if raw.parent != id.base() {
            return Err(bad(match (raw.parent, id.base()) {
                (None, Some(base)) => format!("an RE needs parent = \"{base}\""),
                (Some(p), None) => format!("parent '{p}' given, but only an RE has a parent"),
                (Some(p), Some(base)) => format!("parent is '{p}' but the id says '{base}'"),
                (None, None) => unreachable!("equal values were handled above"),
            }));
        }
        let component_types = parse_component_types(&raw.component_types).map_err(&bad)?;
        let expected_types = match id.scope() {
            Scope::Specific(t) => ComponentTypes::only(t),
            Scope::Common | Scope::Constraint => ComponentTypes::ALL,
        };
        if component_types != expected_types {
            return Err(bad(format!(
                "component_types is {component_types} but the id says {expected_types}"
            )));
        }
        let sl = SlMarks::from_levels(&raw.sl).ok_or_else(|| {
            bad(format!(
                "sl {:?} is not a non-empty run of levels up to 4 (marks are cumulative)",
                raw.sl.iter().map(|l| l.get()).collect::<Vec<_>>()
            ))
        })?;
        if id.kind() == Kind::Ccsc && sl != SlMarks::from_level(SecurityLevel::ALL[0]) {
            return Err(bad(
                "a CCSC applies at every level: sl = [1, 2, 3, 4]".into()
            ));
        }
        for (field, text) in [("title", &raw.title), ("summary", &raw.summary)] {
            if text.trim().is_empty() {
                return Err(bad(format!("{field} is empty")));
            }
            if text.contains('\n') {
                return Err(bad(format!("{field} spans more than one line")));
            }
        }
        if raw.confidence == Confidence::Medium && raw.decision.is_none() {
            return Err(bad(
                "a medium-confidence row must record its decision".into()
            ));
        }
        Ok(Requirement {
            id,
            fr: raw.fr,
            component_types,
            title: raw.title,
            sl,
            summary: raw.summary,
            confidence: raw.confidence,
            decision: raw.decision,
            sources: raw.sources,
        })
    }
}

fn parse_component_types(codes: &[String]) -> Result<ComponentTypes, String> {
    if codes.len() == 1 && codes[0].eq_ignore_ascii_case("ALL") {
        return Ok(ComponentTypes::ALL);
    }
    if codes.is_empty() {
        return Err("component_types is empty".into());
    }
    let mut types = Vec::with_capacity(codes.len());
    for code in codes {
        let t: ComponentType = code.parse().map_err(|e| format!("component_types: {e}"))?;
        if types.contains(&t) {
            return Err(format!("component_types lists {t} twice"));
        }
        types.push(t);
    }
    Ok(types.into_iter().collect())
}

impl Serialize for Requirement {
    /// The documented JSON shape: `id`, `kind`, `fr`, `parent`, `component_types` (type codes),
    /// `title`, `sl` (levels), `summary`, `confidence`, `decision` (medium rows), `sources`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawRequirement {
            id: self.id,
            kind: self.kind(),
            fr: self.fr,
            parent: self.parent(),
            component_types: self
                .component_types
                .iter()
                .map(|t| t.code().to_owned())
                .collect(),
            title: self.title.clone(),
            sl: self.sl.levels().collect(),
            summary: self.summary.clone(),
            confidence: self.confidence,
            decision: self.decision.clone(),
            sources: self.sources.clone(),
        }
        .serialize(serializer)
    }
}

/// Where a catalog's data comes from and which revision it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The standard, e.g. `IEC 62443-4-2:2019`.
    pub standard: String,
    /// The edition and its equivalents.
    pub edition: String,
    /// The revision of this catalog data (not of the standard).
    pub version: String,
    /// When the data was last revised, RFC 3339 with a time zone.
    pub revised: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    catalog: Metadata,
    requirement: Vec<Requirement>,
}

/// Which requirements to select; `None` fields do not filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only requirements that apply to this component type.
    pub component_type: Option<ComponentType>,
    /// Only requirements in the requirement set for this SL-C.
    pub level: Option<SecurityLevel>,
    /// Only requirements of this FR (which leaves out the CCSCs).
    pub fr: Option<Fr>,
}

impl Selection {
    /// Whether `requirement` is selected.
    pub fn matches(&self, requirement: &Requirement) -> bool {
        self.component_type
            .is_none_or(|t| requirement.applies_to(t))
            && self.level.is_none_or(|l| requirement.sl().required_at(l))
            && self.fr.is_none_or(|fr| requirement.fr() == Some(fr))
    }
}

/// The requirements a component must meet for an SL-C, grouped by FR.
#[derive(Clone, Debug)]
pub struct RequiredSet<'c> {
    /// The component type asked for.
    pub component_type: ComponentType,
    /// The level asked for.
    pub level: SecurityLevel,
    /// Per FR, the requirements and REs in its set, in catalog order. Every FR has an entry.
    pub by_fr: BTreeMap<Fr, Vec<&'c Requirement>>,
    /// The common component security constraints, which apply at every level.
    pub constraints: Vec<&'c Requirement>,
}

impl RequiredSet<'_> {
    /// How many requirements the set holds in all, CCSCs included.
    pub fn len(&self) -> usize {
        self.by_fr.values().map(Vec::len).sum::<usize>() + self.constraints.len()
    }

    /// Whether the set is empty (never, for the built-in catalog).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A validated requirement catalog.
///
/// Invariants: ids are unique; every RE's parent is present and is a base requirement of the
/// same FR and component types, and required from the same level as its RE or lower (an RE
/// never applies where its base does not); requirements are kept in the standard's order.
#[derive(Clone, Debug)]
pub struct Catalog {
    metadata: Metadata,
    requirements: Vec<Requirement>,
    index: HashMap<RequirementId, usize>,
}

impl Catalog {
    /// The catalog shipped with Rampart (IEC 62443-4-2:2019), loaded and validated once.
    ///
    /// # Panics
    /// Only if the data embedded at build time is invalid, which this crate's tests rule out.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // Invariant: the embedded data is validated by this crate's tests
            // (`builtin_catalog_loads`), so a failure here is a build defect, not bad input.
            #[allow(clippy::expect_used)]
            Catalog::from_toml(BUILTIN_TOML).expect("the built-in catalog data is valid")
        })
    }

    /// Loads and validates catalog data in Rampart's TOML format.
    ///
    /// # Errors
    /// [`CatalogError::Syntax`] with the line and key for malformed TOML or a bad field, and the
    /// other variants for facts that contradict each other.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let document: Document =
            toml::from_str(text).map_err(|e| CatalogError::Syntax(e.to_string()))?;
        Catalog::from_requirements(document.catalog, document.requirement)
    }

    /// Builds a catalog from requirements, checking the facts across rows.
    ///
    /// # Errors
    /// Duplicate ids, dangling parents, and REs that disagree with their parent.
    pub fn from_requirements(
        metadata: Metadata,
        mut requirements: Vec<Requirement>,
    ) -> Result<Catalog, CatalogError> {
        requirements.sort_by_key(Requirement::id);
        let mut index = HashMap::with_capacity(requirements.len());
        for (i, r) in requirements.iter().enumerate() {
            if index.insert(r.id, i).is_some() {
                return Err(CatalogError::Duplicate(r.id.to_string()));
            }
        }
        for r in &requirements {
            let Some(parent_id) = r.parent() else {
                continue;
            };
            let parent = index
                .get(&parent_id)
                .map(|&i| &requirements[i])
                .ok_or_else(|| CatalogError::DanglingParent {
                    id: r.id.to_string(),
                    parent: parent_id.to_string(),
                })?;
            // Kind, FR and component types of parent and RE follow from the ids, which were
            // checked against the fields row by row; the levels are the cross-row fact left.
            if r.sl.lowest() < parent.sl.lowest() {
                return Err(CatalogError::Inconsistent {
                    id: r.id.to_string(),
                    problem: format!(
                        "required from SL {} but its parent '{}' only from SL {}",
                        r.sl.lowest(),
                        parent.id,
                        parent.sl.lowest()
                    ),
                });
            }
        }
        Ok(Catalog {
            metadata,
            requirements,
            index,
        })
    }

    /// Where the data comes from and its revision.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Every requirement, in the standard's order.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The requirement with this id.
    pub fn get(&self, id: RequirementId) -> Option<&Requirement> {
        self.index.get(&id).map(|&i| &self.requirements[i])
    }

    /// Looks up a requirement by an id as a person typed it.
    ///
    /// # Errors
    /// [`LookupError`] naming the text and, where one is close, the nearest id in the catalog.
    pub fn find(&self, text: &str) -> Result<&Requirement, LookupError> {
        match text.parse::<RequirementId>() {
            Ok(id) => self.get(id).ok_or_else(|| LookupError::Unknown {
                id: id.to_string(),
                suggestion: self.nearest(&id.to_string()),
            }),
            Err(_) => Err(LookupError::Malformed {
                text: text.to_owned(),
                suggestion: self.nearest(text),
            }),
        }
    }

    /// The id closest to `text` by edit distance, if it is close enough to be a typo.
    fn nearest(&self, text: &str) -> Option<String> {
        let wanted = text.trim().to_ascii_uppercase();
        self.requirements
            .iter()
            .map(|r| {
                let id = r.id.to_string();
                (strsim::levenshtein(&wanted, &id), id)
            })
            .filter(|(distance, _)| *distance <= 2)
            .min()
            .map(|(_, id)| id)
    }

    /// The REs of a base requirement, in order.
    pub fn enhancements(&self, base: RequirementId) -> impl Iterator<Item = &Requirement> {
        self.requirements
            .iter()
            .filter(move |r| r.parent() == Some(base))
    }

    /// The requirements that match `selection`, in the standard's order.
    pub fn select(&self, selection: &Selection) -> Vec<&Requirement> {
        self.requirements
            .iter()
            .filter(|r| selection.matches(r))
            .collect()
    }

    /// The set a component of `component_type` must meet for SL-C `level`, per FR.
    pub fn required(&self, component_type: ComponentType, level: SecurityLevel) -> RequiredSet<'_> {
        let mut by_fr: BTreeMap<Fr, Vec<&Requirement>> =
            Fr::ALL.into_iter().map(|fr| (fr, Vec::new())).collect();
        let mut constraints = Vec::new();
        let selection = Selection {
            component_type: Some(component_type),
            level: Some(level),
            fr: None,
        };
        for r in self.select(&selection) {
            match r.fr() {
                Some(fr) => by_fr.entry(fr).or_default().push(r),
                None => constraints.push(r),
            }
        }
        RequiredSet {
            component_type,
            level,
            by_fr,
            constraints,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"
[catalog]
standard = "test"
edition = "test"
version = "0"
revised = "2026-01-01T00:00:00Z"
"#;

    fn load(rows: &str) -> Result<Catalog, CatalogError> {
        Catalog::from_toml(&format!("{HEADER}\n{rows}"))
    }

    fn row(id: &str, kind: &str, fr: &str, parent: &str, types: &str, sl: &str) -> String {
        let fr = if fr.is_empty() {
            String::new()
        } else {
            format!("fr = \"{fr}\"\n")
        };
        let parent = if parent.is_empty() {
            String::new()
        } else {
            format!("parent = \"{parent}\"\n")
        };
        format!(
            "[[requirement]]\nid = \"{id}\"\nkind = \"{kind}\"\n{fr}{parent}component_types = [{types}]\n\
             title = \"T\"\nsl = [{sl}]\nsummary = \"S.\"\nconfidence = \"high\"\n\n"
        )
    }

    #[test]
    fn builtin_catalog_loads() {
        let catalog = Catalog::from_toml(BUILTIN_TOML).unwrap();
        assert_eq!(catalog.requirements().len(), 126);
    }

    #[test]
    fn a_valid_minimal_catalog_loads() {
        let text = row("CR 1.1", "CR", "FR1", "", "\"ALL\"", "1, 2, 3, 4")
            + &row("CR 1.1 RE 1", "RE", "FR1", "CR 1.1", "\"ALL\"", "2, 3, 4");
        let catalog = load(&text).unwrap();
        let base = catalog.find("cr 1.1").unwrap().id();
        assert_eq!(catalog.enhancements(base).count(), 1);
    }

    /// Each inconsistency in the data is a load failure that names the row and the problem.
    #[test]
    fn inconsistent_data_is_rejected_with_the_reason() {
        let cr = row("CR 1.1", "CR", "FR1", "", "\"ALL\"", "1, 2, 3, 4");
        let cases = [
            (cr.clone() + &cr, "duplicate requirement id 'CR 1.1'"),
            (
                row("CR 1.1 RE 1", "RE", "FR1", "CR 1.1", "\"ALL\"", "2, 3, 4"),
                "parent 'CR 1.1' is not in the catalog",
            ),
            (
                row("CR 1.1 RE 1", "RE", "FR1", "", "\"ALL\"", "2, 3, 4"),
                "an RE needs parent = \"CR 1.1\"",
            ),
            (
                row("CR 1.1", "CR", "FR2", "", "\"ALL\"", "1, 2, 3, 4"),
                "fr is FR2 but the id says FR1",
            ),
            (
                row("CR 1.1", "RE", "FR1", "", "\"ALL\"", "1, 2, 3, 4"),
                "kind is 'RE'",
            ),
            (
                row("NDR 1.6", "CR", "FR1", "", "\"ALL\"", "1, 2, 3, 4"),
                "component_types is ALL",
            ),
            (
                row("CR 1.1", "CR", "FR1", "", "\"ALL\"", "1, 3"),
                "marks are cumulative",
            ),
            (
                row("CR 1.1", "CR", "FR1", "", "\"XDR\"", "1"),
                "unknown component type 'XDR'",
            ),
            (
                row("CCSC 1", "CCSC", "", "", "\"ALL\"", "2, 3, 4"),
                "every level",
            ),
            (
                row("CR 1.1", "CR", "FR1", "CR 1.0", "\"ALL\"", "1, 2, 3, 4"),
                "is not a requirement id",
            ),
            (
                row("CR 1.2", "CR", "FR1", "", "\"ALL\"", "2, 3, 4")
                    + &row(
                        "CR 1.2 RE 1",
                        "RE",
                        "FR1",
                        "CR 1.2",
                        "\"ALL\"",
                        "1, 2, 3, 4",
                    ),
                "required from SL 1 but its parent 'CR 1.2' only from SL 2",
            ),
            (
                cr.replace("confidence = \"high\"", "confidence = \"medium\""),
                "must record its decision",
            ),
            (
                cr.replace("summary = \"S.\"", "summary = \" \""),
                "summary is empty",
            ),
            (
                cr.replace("title = \"T\"", "title = \"T\"\ncolour = \"red\""),
                "unknown field `colour`",
            ),
        ];
        for (text, expected) in cases {
            let message = load(&text).expect_err(expected).to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let text =
            row("CR 1.1", "CR", "FR1", "", "\"ALL\"", "1, 2, 3, 4").replace("sl = [", "sl = [[");
        let message = load(&text).unwrap_err().to_string();
        assert!(message.contains("line"), "{message}");
    }

    #[test]
    fn lookups_suggest_the_nearest_id() {
        let catalog = Catalog::builtin();
        let err = catalog.find("CR 1.99").unwrap_err().to_string();
        assert!(err.contains("unknown requirement id 'CR 1.99'"), "{err}");
        assert!(err.contains("did you mean 'CR 1.9'?"), "{err}");
        let err = catalog.find("CR 1.1 RE 9").unwrap_err().to_string();
        assert!(err.contains("did you mean 'CR 1.1 RE 1'?"), "{err}");
        let err = catalog.find("CR1,1").unwrap_err().to_string();
        assert!(err.contains("is not a requirement id"), "{err}");
        assert!(err.contains("did you mean 'CR 1.1'?"), "{err}");
        let err = catalog.find("hello world").unwrap_err().to_string();
        assert!(!err.contains("did you mean"), "{err}");
    }
}
