//! VEX: statements of whether a component is affected by a vulnerability, read from a TOML
//! file of analyst decisions or from CycloneDX VEX (`vulnerabilities[].analysis`, as
//! [`crate::report::cyclonedx_vex`] writes it), and applied to matches.
//!
//! A statement covers a match when it names the match's component (its `bom-ref`, or a
//! CycloneDX BOM-Link `urn:cdx:…#bom-ref`) and its vulnerability (the CVE, the advisory's
//! tracking id, or another id of the vulnerability), has not expired, and — for
//! `known_not_affected` — gives a justification or an impact statement. A `known_not_affected`
//! or `fixed` statement that covers a match takes it out of the exit code; the reason is shown
//! with the match, never dropped.

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::advisory::Status;
use crate::error::InputError;
use crate::matching::Match;

/// The CSAF VEX justification labels (`flags[].label`).
pub const CSAF_JUSTIFICATIONS: &[&str] = &[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "vulnerable_code_not_in_execute_path",
    "inline_mitigations_already_exist",
];

/// The CycloneDX 1.6 `analysis.justification` values.
pub const CYCLONEDX_JUSTIFICATIONS: &[&str] = &[
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
];

/// The most statements read from one file.
const MAX_STATEMENTS: usize = 100_000;

/// One VEX statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The component's `bom-ref`.
    pub component: String,
    /// The vulnerability: a CVE id, an advisory's tracking id or another id.
    pub vulnerability: String,
    /// What the analyst decided.
    pub status: Status,
    /// Why not affected: a CSAF or CycloneDX justification label.
    pub justification: Option<String>,
    /// The impact statement or analysis detail, in words.
    pub detail: String,
    /// Who decided.
    pub by: Option<String>,
    /// When.
    pub date: Option<Date>,
    /// Until when the decision holds; after it, the statement is ignored (with a warning).
    pub expires: Option<Date>,
    /// The file it was read from.
    pub origin: String,
}

/// A VEX statement as applied to a match (in the reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VexNote {
    /// The status the statement gives.
    pub status: Status,
    /// The justification label, if any.
    pub justification: Option<String>,
    /// The impact statement or detail.
    pub detail: String,
    /// Who decided, if stated.
    pub by: Option<String>,
    /// The file of the statement.
    pub source: String,
}

impl VexNote {
    /// Whether the statement takes the match out of the exit code: a justified
    /// `known_not_affected`, or `fixed`.
    pub fn covers(&self) -> bool {
        matches!(self.status, Status::KnownNotAffected | Status::Fixed)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionFile {
    format: u32,
    #[serde(default)]
    decision: Vec<Decision>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    component: String,
    vulnerability: String,
    status: Status,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    impact: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    date: Option<toml::value::Datetime>,
    #[serde(default)]
    expires: Option<toml::value::Datetime>,
}

/// Reads VEX statements: CycloneDX JSON (a document with `vulnerabilities`) or the TOML file
/// of analyst decisions (format 1, docs/vulnerabilities.md).
///
/// # Errors
/// [`InputError`] naming the file and the statement.
pub fn read(text: &str, origin: &str) -> Result<Vec<Statement>, InputError> {
    if text.trim_start().starts_with('{') {
        read_cyclonedx(text, origin)
    } else {
        read_decisions(text, origin)
    }
}

fn read_decisions(text: &str, origin: &str) -> Result<Vec<Statement>, InputError> {
    let file: DecisionFile = toml::from_str(text).map_err(|e| InputError::syntax(origin, &e))?;
    if file.format != 1 {
        return Err(InputError::invalid(
            origin,
            "format",
            format!("format {} is not supported (1 is)", file.format),
        ));
    }
    if file.decision.len() > MAX_STATEMENTS {
        return Err(InputError::invalid(
            origin,
            "decision",
            format!("more than {MAX_STATEMENTS} decisions"),
        ));
    }
    let mut out = Vec::new();
    for (i, d) in file.decision.into_iter().enumerate() {
        let at = format!("decision[{i}]");
        if let Some(j) = &d.justification
            && !CSAF_JUSTIFICATIONS.contains(&j.as_str())
            && !CYCLONEDX_JUSTIFICATIONS.contains(&j.as_str())
        {
            return Err(InputError::invalid(
                origin,
                &format!("{at}.justification"),
                format!(
                    "{j:?} is neither a CSAF label ({}) nor a CycloneDX one ({})",
                    CSAF_JUSTIFICATIONS.join(", "),
                    CYCLONEDX_JUSTIFICATIONS.join(", ")
                ),
            ));
        }
        let date = |value: &Option<toml::value::Datetime>,
                    field: &str|
         -> Result<Option<Date>, InputError> {
            value
                .as_ref()
                .map(|d| {
                    toml_date(d).ok_or_else(|| {
                        InputError::invalid(
                            origin,
                            &format!("{at}.{field}"),
                            format!("must be a date such as 2027-03-31, not {d}"),
                        )
                    })
                })
                .transpose()
        };
        out.push(Statement {
            component: d.component,
            vulnerability: d.vulnerability,
            status: d.status,
            justification: d.justification,
            detail: d.impact.unwrap_or_default(),
            by: d.by,
            date: date(&d.date, "date")?,
            expires: date(&d.expires, "expires")?,
            origin: origin.to_owned(),
        });
    }
    Ok(out)
}

fn toml_date(d: &toml::value::Datetime) -> Option<Date> {
    match (d.date, d.time, d.offset) {
        (Some(date), None, None) => Date::new(
            i16::try_from(date.year).ok()?,
            i8::try_from(date.month).ok()?,
            i8::try_from(date.day).ok()?,
        )
        .ok(),
        _ => None,
    }
}

fn read_cyclonedx(text: &str, origin: &str) -> Result<Vec<Statement>, InputError> {
    let value: Value = serde_json::from_str(text).map_err(|e| InputError::syntax(origin, &e))?;
    if value.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(InputError::invalid(
            origin,
            "/bomFormat",
            "a VEX file in JSON must be CycloneDX",
        ));
    }
    let list = match value.get("vulnerabilities") {
        None => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(InputError::invalid(
                origin,
                "/vulnerabilities",
                "must be an array",
            ));
        }
    };
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        let id = v.get("id").and_then(Value::as_str).ok_or_else(|| {
            InputError::invalid(origin, &format!("{at}/id"), "a vulnerability needs an id")
        })?;
        let Some(analysis) = v.get("analysis") else {
            continue;
        };
        let state = analysis.get("state").and_then(Value::as_str).unwrap_or("");
        let status = match state {
            "not_affected" | "false_positive" => Status::KnownNotAffected,
            "resolved" | "resolved_with_pedigree" => Status::Fixed,
            "exploitable" => Status::KnownAffected,
            "in_triage" => Status::UnderInvestigation,
            other => {
                return Err(InputError::invalid(
                    origin,
                    &format!("{at}/analysis/state"),
                    format!("{other:?} is not a CycloneDX analysis state"),
                ));
            }
        };
        let justification = analysis
            .get("justification")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let detail = analysis
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let affects = v
            .get("affects")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, a) in affects.iter().enumerate() {
            let reference = a.get("ref").and_then(Value::as_str).ok_or_else(|| {
                InputError::invalid(
                    origin,
                    &format!("{at}/affects/{j}/ref"),
                    "an affects entry needs a ref",
                )
            })?;
            if out.len() >= MAX_STATEMENTS {
                return Err(InputError::invalid(
                    origin,
                    &at,
                    format!("more than {MAX_STATEMENTS} statements"),
                ));
            }
            out.push(Statement {
                component: bom_ref_of(reference).to_owned(),
                vulnerability: id.to_owned(),
                status,
                justification: justification.clone(),
                detail: detail.clone(),
                by: None,
                date: None,
                expires: None,
                origin: origin.to_owned(),
            });
        }
    }
    Ok(out)
}

/// The `bom-ref` of a reference: a BOM-Link (`urn:cdx:serial/version#bom-ref`) or the
/// `bom-ref` itself.
fn bom_ref_of(reference: &str) -> &str {
    if reference.starts_with("urn:cdx:") {
        reference.split_once('#').map_or(reference, |(_, r)| r)
    } else {
        reference
    }
}

/// Applies statements to matches: each match a statement covers gets its [`VexNote`].
/// Returns warnings: statements ignored because they expired before `today` or state
/// `known_not_affected` without a justification or impact statement.
pub fn apply(matches: &mut [Match], statements: &[Statement], today: Date) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut usable = Vec::new();
    for s in statements {
        if let Some(expires) = s.expires
            && expires < today
        {
            warnings.push(format!(
                "{}: the decision on {} for {} expired on {expires}; ignored",
                s.origin, s.vulnerability, s.component
            ));
            continue;
        }
        if s.status == Status::KnownNotAffected
            && s.justification.is_none()
            && s.detail.trim().is_empty()
        {
            warnings.push(format!(
                "{}: not_affected for {} in {} gives no justification or impact statement; ignored",
                s.origin, s.vulnerability, s.component
            ));
            continue;
        }
        usable.push(s);
    }
    for m in matches.iter_mut() {
        let statement = usable.iter().find(|s| {
            s.component == m.component
                && (m.cve.as_deref() == Some(s.vulnerability.as_str())
                    || m.advisory == s.vulnerability
                    || m.ids.contains(&s.vulnerability))
        });
        if let Some(s) = statement {
            m.vex = Some(VexNote {
                status: s.status,
                justification: s.justification.clone(),
                detail: s.detail.clone(),
                by: s.by.clone(),
                source: s.origin.clone(),
            });
        }
    }
    warnings
}

/// The CycloneDX justification for a CSAF label (CycloneDX labels map to themselves).
pub fn cyclonedx_justification(label: &str) -> &str {
    match label {
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "requires_environment",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        other => other,
    }
}
