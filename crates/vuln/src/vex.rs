//! VEX: statements of whether a component is affected by a vulnerability, read from a TOML
//! file of analyst decisions, from CycloneDX VEX (`vulnerabilities[].analysis`, as
//! [`crate::report::cyclonedx_vex`] writes it) or from CSAF VEX (as
//! [`crate::report::csaf_vex`] writes it), and applied to matches.
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
    if !text.trim_start().starts_with('{') {
        return read_decisions(text, origin);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| InputError::syntax(origin, &e))?;
    if value.get("document").is_some() {
        read_csaf(text, &value, origin)
    } else {
        read_cyclonedx(&value, origin)
    }
}

/// CSAF VEX: each product in a vulnerability's `product_status` is a statement about the
/// component its BOM-Link (`x_generic_uris`) names, else the component whose `bom-ref` is
/// the product id; the justification is the product's flag, the detail its impact threat
/// (or, for an affected product, its remediations). The document passes the same checks
/// as an advisory ([`crate::csaf::read`]) first.
fn read_csaf(text: &str, value: &Value, origin: &str) -> Result<Vec<Statement>, InputError> {
    crate::csaf::read(text, origin)?;
    let mut component_of = std::collections::BTreeMap::new();
    let mut products: Vec<&Value> = Vec::new();
    if let Some(tree) = value.get("product_tree") {
        collect_products(tree, &mut products, 0);
    }
    for p in products {
        let Some(id) = p.get("product_id").and_then(Value::as_str) else {
            continue;
        };
        let link = p
            .pointer("/product_identification_helper/x_generic_uris")
            .and_then(Value::as_array)
            .and_then(|uris| {
                uris.iter()
                    .filter_map(|u| u.get("uri").and_then(Value::as_str))
                    .find(|u| u.starts_with("urn:cdx:"))
            });
        component_of.insert(id.to_owned(), link.map_or(id, bom_ref_of).to_owned());
    }
    let mut out = Vec::new();
    let list = value
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for v in list {
        let ids: Vec<String> = v
            .get("cve")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .chain(
                v.get("ids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i.get("text").and_then(Value::as_str).map(str::to_owned)),
            )
            .collect();
        let Some(vulnerability) = ids.first() else {
            continue;
        };
        let about = |field: &str, product: &str| -> Vec<&Value> {
            v.get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| {
                    e.get("product_ids")
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(product)))
                })
                .collect()
        };
        for (field, status) in [
            ("known_affected", Status::KnownAffected),
            ("first_affected", Status::KnownAffected),
            ("last_affected", Status::KnownAffected),
            ("under_investigation", Status::UnderInvestigation),
            ("fixed", Status::Fixed),
            ("first_fixed", Status::Fixed),
            ("known_not_affected", Status::KnownNotAffected),
        ] {
            let Some(list) = v
                .pointer(&format!("/product_status/{field}"))
                .and_then(Value::as_array)
            else {
                continue;
            };
            for product in list.iter().filter_map(Value::as_str) {
                let justification = about("flags", product)
                    .first()
                    .and_then(|f| f.get("label").and_then(Value::as_str))
                    .map(str::to_owned);
                let detail_source = if status == Status::KnownAffected {
                    "remediations"
                } else {
                    "threats"
                };
                let detail: Vec<&str> = about(detail_source, product)
                    .iter()
                    .filter(|t| {
                        detail_source == "remediations"
                            || t.get("category").and_then(Value::as_str) == Some("impact")
                    })
                    .filter_map(|t| t.get("details").and_then(Value::as_str))
                    .collect();
                if out.len() >= MAX_STATEMENTS {
                    return Err(InputError::invalid(
                        origin,
                        "/vulnerabilities",
                        format!("more than {MAX_STATEMENTS} statements"),
                    ));
                }
                out.push(Statement {
                    component: component_of
                        .get(product)
                        .cloned()
                        .unwrap_or_else(|| product.to_owned()),
                    vulnerability: vulnerability.clone(),
                    status,
                    justification,
                    detail: detail.join(" "),
                    by: None,
                    date: None,
                    expires: None,
                    origin: origin.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// Every `product` and `full_product_name` of a product tree (branches nest at most as deep
/// as the CSAF reader accepts).
fn collect_products<'a>(node: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 40 {
        return;
    }
    if let Some(p) = node.get("product") {
        out.push(p);
    }
    for key in ["full_product_names"] {
        if let Some(list) = node.get(key).and_then(Value::as_array) {
            out.extend(list.iter());
        }
    }
    if let Some(list) = node.get("relationships").and_then(Value::as_array) {
        out.extend(list.iter().filter_map(|r| r.get("full_product_name")));
    }
    if let Some(list) = node.get("branches").and_then(Value::as_array) {
        for b in list {
            collect_products(b, out, depth + 1);
        }
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

fn read_cyclonedx(value: &Value, origin: &str) -> Result<Vec<Statement>, InputError> {
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
