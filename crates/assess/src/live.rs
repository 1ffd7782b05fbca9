//! Live evidence: deciding requirements from a running gateway's configuration report.
//!
//! The gateway serves its actual security settings and self-test results as JSON
//! (`GET /api/v1/config-report`, [`ConfigReport`]). Which setting decides which requirement
//! is data, not code: `data/live-checks.toml` ([`LiveChecks::builtin`]) lists every check
//! with the requirement it decides, the expected value and what a failure means:
//! `not-met` overrides the profile's claim, `note` only records the observation. This module
//! evaluates the checks on a parsed report; fetching it is the caller's business.

use std::fmt;

use rampart_catalog::{Catalog, ComponentType, RequirementId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::InputError;

/// The config report format version this code reads.
pub const CONFIG_REPORT_VERSION: u32 = 1;

/// The live-check data shipped with Rampart.
const BUILTIN_CHECKS: &str = include_str!("../data/live-checks.toml");

/// A running component's report of its security settings (CR 7.6 RE 1): the one type the
/// gateway's management plane serves (`GET /api/v1/config-report`) and `assess --live` reads.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ConfigReport {
    /// The report format version (1).
    pub schema_version: u32,
    /// When the gateway produced the report, RFC 3339.
    pub generated_at: String,
    /// Who the component says it is.
    pub component: ReportComponent,
    /// Every security-relevant setting with its current value.
    pub settings: Vec<Setting>,
    /// The component's self-tests (CR 3.3) and their latest result.
    pub self_tests: Vec<SelfTest>,
}

/// The component identity in a config report.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct ReportComponent {
    /// The vendor.
    pub vendor: String,
    /// The product.
    pub product: String,
    /// The running version.
    pub version: String,
    /// SAR, EDR, HDR or NDR.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub component_type: ComponentType,
}

/// One setting with its current value.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Setting {
    /// A dotted id such as `identity.mfa.required_for_all`.
    pub id: String,
    /// The value: boolean, number, string, array or null.
    pub value: Value,
    /// What the setting means.
    #[serde(default)]
    pub description: Option<String>,
    /// The requirements the gateway itself relates the setting to (informative).
    #[serde(default)]
    pub requirements: Vec<String>,
}

/// One self-test result.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct SelfTest {
    /// A dotted id such as `audit.chain_intact`.
    pub id: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was checked or what failed.
    #[serde(default)]
    pub detail: Option<String>,
}

impl ConfigReport {
    /// Parses a config report body.
    ///
    /// # Errors
    /// [`InputError`] with `origin` (the URL or file), line and column for malformed JSON, a
    /// missing field or an unsupported `schema_version`.
    pub fn parse(text: &str, origin: &str) -> Result<ConfigReport, InputError> {
        let report: ConfigReport = serde_json::from_str(text).map_err(|e| InputError {
            origin: origin.to_owned(),
            line: e.line().max(1),
            column: e.column().max(1),
            message: format!("not a config report: {e}"),
        })?;
        if report.schema_version != CONFIG_REPORT_VERSION {
            return Err(InputError::file(
                origin,
                format!(
                    "config report schema_version {} is not one this version reads (expected {CONFIG_REPORT_VERSION})",
                    report.schema_version
                ),
            ));
        }
        Ok(report)
    }

    fn setting(&self, id: &str) -> Option<&Value> {
        self.settings.iter().find(|s| s.id == id).map(|s| &s.value)
    }

    fn self_test(&self, id: &str) -> Option<&SelfTest> {
        self.self_tests.iter().find(|t| t.id == id)
    }
}

/// What a failing check means for its requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// The requirement is not met, whatever the profile claims.
    NotMet,
    /// An observation recorded with the requirement; its status does not change.
    Note,
}

/// The result of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The setting has the expected value (or the self-test passed).
    Pass,
    /// It has not.
    Fail,
    /// The report does not carry the setting or self-test, or its value has another type.
    Unknown,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Unknown => "unknown",
        })
    }
}

/// What a check expects of a setting. Exactly one field is set.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The value must equal this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The value must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// The value must be a number at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// The value must be a number at most this (and more than 0: a zero limit is no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// The value must not be null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_null: Option<bool>,
    /// The value must be a non-empty array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_empty: Option<bool>,
    /// The value must be an array whose every element is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset_of: Option<Vec<Value>>,
}

impl Expect {
    fn count(&self) -> usize {
        [
            self.equals.is_some(),
            self.one_of.is_some(),
            self.at_least.is_some(),
            self.at_most.is_some(),
            self.not_null == Some(true),
            self.non_empty == Some(true),
            self.subset_of.is_some(),
        ]
        .into_iter()
        .filter(|b| *b)
        .count()
    }

    fn evaluate(&self, value: &Value) -> Outcome {
        let verdict = |ok: bool| if ok { Outcome::Pass } else { Outcome::Fail };
        if let Some(expected) = &self.equals {
            return verdict(value == expected);
        }
        if let Some(options) = &self.one_of {
            return verdict(options.contains(value));
        }
        if let Some(min) = self.at_least {
            return value
                .as_f64()
                .map_or(Outcome::Unknown, |v| verdict(v >= min));
        }
        if let Some(max) = self.at_most {
            return value
                .as_f64()
                .map_or(Outcome::Unknown, |v| verdict(v > 0.0 && v <= max));
        }
        if self.not_null == Some(true) {
            return verdict(!value.is_null());
        }
        if self.non_empty == Some(true) {
            return value
                .as_array()
                .map_or(Outcome::Unknown, |a| verdict(!a.is_empty()));
        }
        if let Some(allowed) = &self.subset_of {
            return value.as_array().map_or(Outcome::Unknown, |a| {
                verdict(a.iter().all(|v| allowed.contains(v)))
            });
        }
        Outcome::Unknown
    }

    /// The expectation in words, e.g. `= true` or `>= 8`.
    pub fn describe(&self) -> String {
        if let Some(v) = &self.equals {
            return format!("= {v}");
        }
        if let Some(v) = &self.one_of {
            return format!("one of {}", Value::Array(v.clone()));
        }
        if let Some(v) = self.at_least {
            return format!(">= {v}");
        }
        if let Some(v) = self.at_most {
            return format!("1..={v}");
        }
        if self.not_null == Some(true) {
            return "not null".into();
        }
        if self.non_empty == Some(true) {
            return "not empty".into();
        }
        if let Some(v) = &self.subset_of {
            return format!("within {}", Value::Array(v.clone()));
        }
        String::new()
    }
}

/// One check: which requirement it decides, from what, and what a failure means.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// A short stable id, e.g. `mfa-for-all`.
    pub id: String,
    /// The requirement it decides.
    pub requirement: RequirementId,
    /// The setting it reads (one of `setting`, `self_test`, `report`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// The self-test that must have passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_test: Option<String>,
    /// `true`: passes when a config report could be read at all (CR 7.6 RE 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<bool>,
    /// What the setting must be.
    #[serde(default)]
    pub expect: Expect,
    /// What a failure means.
    pub effect: Effect,
    /// What a failure says, for people.
    pub message: String,
}

/// The validated list of live checks.
#[derive(Clone, Debug)]
pub struct LiveChecks {
    checks: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    format: u32,
    check: Vec<Check>,
}

impl LiveChecks {
    /// The checks shipped in `crates/assess/data/live-checks.toml`.
    ///
    /// # Panics
    /// Only if the embedded data is invalid, which this crate's tests rule out.
    pub fn builtin() -> LiveChecks {
        // Invariant: `builtin_live_checks_are_valid` parses this data against the catalog.
        #[allow(clippy::expect_used)]
        LiveChecks::parse(BUILTIN_CHECKS, "live-checks.toml", Catalog::builtin())
            .expect("the built-in live checks are valid")
    }

    /// Parses and validates live-check data.
    ///
    /// # Errors
    /// [`InputError`] for TOML errors, unknown requirements, duplicate ids, and checks that do
    /// not read exactly one source with exactly one expectation.
    pub fn parse(text: &str, origin: &str, catalog: &Catalog) -> Result<LiveChecks, InputError> {
        let file: ChecksFile =
            toml::from_str(text).map_err(|e| InputError::toml(origin, text, &e))?;
        if file.format != 1 {
            return Err(InputError::file(
                origin,
                format!("format {} is not 1", file.format),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for check in &file.check {
            let problem =
                |m: String| InputError::file(origin, format!("check '{}': {m}", check.id));
            if catalog.get(check.requirement).is_none() {
                return Err(problem(format!(
                    "unknown requirement {}",
                    check.requirement
                )));
            }
            if !seen.insert(check.id.clone()) {
                return Err(problem("duplicate id".into()));
            }
            let sources = usize::from(check.setting.is_some())
                + usize::from(check.self_test.is_some())
                + usize::from(check.report == Some(true));
            if sources != 1 {
                return Err(problem(
                    "needs exactly one of setting, self_test, report = true".into(),
                ));
            }
            let expects = check.expect.count();
            if check.setting.is_some() && expects != 1 {
                return Err(problem(
                    "a setting check needs exactly one expectation".into(),
                ));
            }
            if check.setting.is_none() && expects != 0 {
                return Err(problem("only setting checks have an expectation".into()));
            }
        }
        Ok(LiveChecks { checks: file.check })
    }

    /// Every check, in file order.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Runs every check on `report`.
    pub fn evaluate(&self, report: &ConfigReport, source: &str) -> LiveEvaluation {
        let mut findings: Vec<LiveFinding> = self
            .checks
            .iter()
            .map(|check| {
                let (observed, outcome, subject) = if let Some(id) = &check.setting {
                    match report.setting(id) {
                        Some(value) => {
                            (value.to_string(), check.expect.evaluate(value), id.clone())
                        }
                        None => ("absent".to_owned(), Outcome::Unknown, id.clone()),
                    }
                } else if let Some(id) = &check.self_test {
                    match report.self_test(id) {
                        Some(t) => (
                            if t.passed { "passed" } else { "failed" }.to_owned(),
                            if t.passed {
                                Outcome::Pass
                            } else {
                                Outcome::Fail
                            },
                            format!("self-test {id}"),
                        ),
                        None => (
                            "absent".to_owned(),
                            Outcome::Unknown,
                            format!("self-test {id}"),
                        ),
                    }
                } else {
                    (
                        "served".to_owned(),
                        Outcome::Pass,
                        "config report".to_owned(),
                    )
                };
                LiveFinding {
                    check: check.id.clone(),
                    requirement: check.requirement,
                    subject,
                    expected: if check.setting.is_some() {
                        check.expect.describe()
                    } else if check.self_test.is_some() {
                        "passed".into()
                    } else {
                        "served".into()
                    },
                    observed,
                    outcome,
                    effect: check.effect,
                    message: check.message.clone(),
                }
            })
            .collect();
        findings.sort_by(|a, b| (a.requirement, &a.check).cmp(&(b.requirement, &b.check)));
        LiveEvaluation {
            source: source.to_owned(),
            generated_at: report.generated_at.clone(),
            component: report.component.clone(),
            findings,
        }
    }
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFinding {
    /// The check id.
    pub check: String,
    /// The requirement it decides.
    pub requirement: RequirementId,
    /// The setting or self-test read.
    pub subject: String,
    /// What was expected.
    pub expected: String,
    /// What the report said (JSON text of the value).
    pub observed: String,
    /// Pass, fail or unknown.
    pub outcome: Outcome,
    /// What a failure means.
    pub effect: Effect,
    /// What a failure says.
    pub message: String,
}

impl LiveFinding {
    /// Whether this finding makes its requirement not met.
    pub fn decides_not_met(&self) -> bool {
        self.outcome == Outcome::Fail && self.effect == Effect::NotMet
    }
}

/// The live checks run on one config report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvaluation {
    /// Where the report came from (URL or file).
    pub source: String,
    /// When the gateway produced it.
    pub generated_at: String,
    /// Who the gateway says it is.
    pub component: ReportComponent,
    /// Every check's result, by requirement.
    pub findings: Vec<LiveFinding>,
}

impl LiveEvaluation {
    /// The findings for one requirement.
    pub fn for_requirement(&self, id: RequirementId) -> impl Iterator<Item = &LiveFinding> {
        self.findings.iter().filter(move |f| f.requirement == id)
    }
}
