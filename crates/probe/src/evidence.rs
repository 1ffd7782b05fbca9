//! The evidence file: what the probes observed, check by check, with the requirements each
//! bears on — and its reading by the assessment.
//!
//! ```json
//! {"format": "rampart-probe-evidence", "version": 1, "generated_at": "…", "tool": "…",
//!  "intrusive": false, "targets": ["modbus://127.0.0.1:502"],
//!  "checks": [{"id": "modbus-plaintext", "target": "modbus://127.0.0.1:502",
//!              "requirements": ["CR 3.1", "CR 4.1"], "outcome": "not_met",
//!              "observation": "…", "details": {…}, "elapsed_ms": 3, "bound_ms": 10000}]}
//! ```
//!
//! The JSON Schema is `schemas/probe/evidence.schema.json` (generated from these types by
//! [`schema`], and checked against them by the tests). [`Evidence::live_evaluation`] turns the
//! file into the assessment's live findings: a `not_met` check makes each of its requirements
//! not met, whatever the profile claims; `met` adds the observation as live evidence;
//! `not_tested` decides nothing.

use std::fmt;

use rampart_assess::live::{Effect, LiveEvaluation, LiveFinding, ReportComponent};
use rampart_catalog::{Catalog, RequirementId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `format` of an evidence file.
pub const FORMAT: &str = "rampart-probe-evidence";
/// The format version this code writes and reads.
pub const VERSION: u32 = 1;

/// The result of one check against one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The target behaves as the requirements ask.
    Met,
    /// It does not: the requirements the check bears on are not met.
    NotMet,
    /// The check could not decide (the target did not answer, the check was abandoned at its
    /// bound, or the target offered nothing to judge).
    NotTested,
}

impl Outcome {
    /// `met`, `not_met` or `not_tested`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::NotMet => "not_met",
            Outcome::NotTested => "not_tested",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check against one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckResult {
    /// The check id (`rampart probe --checks` names).
    pub id: String,
    /// The target, as `SCHEME://HOST:PORT`.
    pub target: String,
    /// The IEC 62443-4-2 requirements the check bears on.
    pub requirements: Vec<String>,
    /// Met, not met or not tested.
    pub outcome: Outcome,
    /// What was observed, in one sentence.
    pub observation: String,
    /// The facts observed, by name (for machines; the shape depends on the check).
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// How long the check ran, in milliseconds.
    pub elapsed_ms: u64,
    /// The longest it was allowed to run, in milliseconds.
    pub bound_ms: u64,
}

/// The evidence of one `rampart probe` run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Always `rampart-probe-evidence`.
    pub format: String,
    /// The format version (1).
    pub version: u32,
    /// When the probe ran, RFC 3339.
    pub generated_at: String,
    /// The tool and its version.
    pub tool: String,
    /// Whether intrusive checks were allowed.
    pub intrusive: bool,
    /// The targets named, in order.
    pub targets: Vec<String>,
    /// Every check run, by target then check.
    pub checks: Vec<CheckResult>,
}

/// An evidence file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Not JSON of the evidence shape.
    #[error("{origin}:{line}:{column}: not probe evidence: {message}")]
    Malformed {
        /// The file.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Another format or version.
    #[error("{origin}: format '{format}' version {version} is not {FORMAT} version {VERSION}")]
    Version {
        /// The file.
        origin: String,
        /// The format it names.
        format: String,
        /// Its version.
        version: u32,
    },
    /// A requirement id the catalog does not know.
    #[error(
        "{origin}: check '{check}' names '{requirement}', which is not a requirement of IEC 62443-4-2"
    )]
    UnknownRequirement {
        /// The file.
        origin: String,
        /// The check.
        check: String,
        /// The id given.
        requirement: String,
    },
}

impl Evidence {
    /// An empty evidence document for `targets`.
    pub fn new(generated_at: jiff::Timestamp, intrusive: bool, targets: Vec<String>) -> Evidence {
        Evidence {
            format: FORMAT.to_owned(),
            version: VERSION,
            generated_at: generated_at.to_string(),
            tool: concat!("rampart-probe ", env!("CARGO_PKG_VERSION")).to_owned(),
            intrusive,
            targets,
            checks: Vec::new(),
        }
    }

    /// Parses an evidence file and checks every requirement id against the catalog.
    ///
    /// # Errors
    /// [`EvidenceError`] with the place of a JSON error, another format or version, or an
    /// unknown requirement.
    pub fn parse(text: &str, origin: &str) -> Result<Evidence, EvidenceError> {
        let evidence: Evidence =
            serde_json::from_str(text).map_err(|e| EvidenceError::Malformed {
                origin: origin.to_owned(),
                line: e.line().max(1),
                column: e.column().max(1),
                message: e.to_string(),
            })?;
        if evidence.format != FORMAT || evidence.version != VERSION {
            return Err(EvidenceError::Version {
                origin: origin.to_owned(),
                format: evidence.format,
                version: evidence.version,
            });
        }
        let catalog = Catalog::builtin();
        for check in &evidence.checks {
            for requirement in &check.requirements {
                let known = requirement
                    .parse::<RequirementId>()
                    .ok()
                    .and_then(|id| catalog.get(id));
                if known.is_none() {
                    return Err(EvidenceError::UnknownRequirement {
                        origin: origin.to_owned(),
                        check: check.id.clone(),
                        requirement: requirement.clone(),
                    });
                }
            }
        }
        Ok(evidence)
    }

    /// The evidence as pretty JSON (what `--out` writes), with a final newline.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Whether any check was not met.
    pub fn any_not_met(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::NotMet)
    }

    /// The evidence as the assessment's live findings: one finding per check and requirement,
    /// `not_met` → fail with effect not-met, `met` → pass, `not_tested` → unknown (decides
    /// nothing). `source` names the file; `component` is the one the profile describes (the
    /// network does not say who a component is).
    ///
    /// Parse the file with [`Evidence::parse`] first: requirement ids the catalog does not
    /// know are skipped here.
    pub fn live_evaluation(&self, source: &str, component: ReportComponent) -> LiveEvaluation {
        let mut findings: Vec<LiveFinding> = Vec::new();
        for check in &self.checks {
            let failure = crate::checks::spec(&check.id).map_or_else(
                || format!("the probe '{}' was not met", check.id),
                |spec| spec.failure.to_owned(),
            );
            for requirement in &check.requirements {
                let Ok(requirement) = requirement.parse::<RequirementId>() else {
                    continue;
                };
                findings.push(LiveFinding {
                    check: format!("probe:{}", check.id),
                    requirement,
                    subject: check.target.clone(),
                    expected: "met".to_owned(),
                    observed: check.observation.clone(),
                    outcome: match check.outcome {
                        Outcome::Met => rampart_assess::live::Outcome::Pass,
                        Outcome::NotMet => rampart_assess::live::Outcome::Fail,
                        Outcome::NotTested => rampart_assess::live::Outcome::Unknown,
                    },
                    effect: Effect::NotMet,
                    message: failure.clone(),
                });
            }
        }
        findings.sort_by(|a, b| {
            (a.requirement, &a.check, &a.subject).cmp(&(b.requirement, &b.check, &b.subject))
        });
        LiveEvaluation {
            source: source.to_owned(),
            generated_at: self.generated_at.clone(),
            component,
            findings,
        }
    }
}

/// The JSON Schema (draft 2020-12) of the evidence file, as committed in
/// `schemas/probe/evidence.schema.json`.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Evidence);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
