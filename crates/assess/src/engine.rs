//! The assessment: from a profile (and optionally waivers and live evidence) to the SL-C
//! vector, the gap to SL-T and the status of every applicable requirement.
//!
//! # The SL-C rule
//! Per FR, SL-C is the highest level n (0..=4) such that every requirement and RE of that FR
//! that the catalog requires at a level ≤ n for the component type counts. A requirement
//! counts when its status is `met`, or `not-applicable` with a justification, and, for an
//! RE, when its base requirement counts too. `partial`, `not-met`, absent and `compensated`
//! do not count: a compensating countermeasure is outside the component (CCSC 2), so it
//! raises a separate vector, `sl_c_with_countermeasures`, which also counts `compensated`.
//! A live check that fails with effect `not-met` makes the requirement `not-met`.
//!
//! With test results ([`assess_with_test_results`], `--test-results`), a `met` claim counts
//! only when every test its evidence names ran and passed (matching rule in
//! [`crate::test_results`]); otherwise, or when it names no test, it is `unverified`, which
//! counts as not met in both vectors. Without test results claims are believed as before.
//!
//! The gap lists every requirement required at a level ≤ SL-T of its FR that does not count,
//! with the lowest level at which it is required. A gap with an unexpired waiver is moved to
//! `waived`; the assessment passes when no gap is left, which without waivers is exactly
//! "SL-C ≥ SL-T in every FR".

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use rampart_catalog::{Catalog, Fr, Kind, Requirement, RequirementId, SecurityLevel};
use serde::{Deserialize, Serialize};

use crate::level::SlVector;
use crate::live::{LiveEvaluation, LiveFinding};
use crate::profile::{Component, Evidence, Location, Profile, Status};
use crate::test_results::{NamedOutcome, TestResults};
use crate::waiver::Waivers;

/// The version of the JSON report format (`schemas/assess/report.schema.json`).
pub const REPORT_VERSION: u32 = 1;

/// What to assess against, besides the profile.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// Overrides the profile's SL-T.
    pub sl_t: Option<SlVector>,
    /// Accepted gaps.
    pub waivers: Option<&'a Waivers>,
    /// Results of live checks on a running component.
    pub live: Option<&'a LiveEvaluation>,
    /// When the assessment runs: stamped on reports, and its UTC date decides waiver expiry.
    pub now: Timestamp,
}

/// The outcome of an assessment; serialised, it is the versioned JSON report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The JSON report format version ([`REPORT_VERSION`]).
    pub schema_version: u32,
    /// When the assessment ran, RFC 3339 UTC.
    pub generated_at: String,
    /// The tool that produced it.
    pub tool: Tool,
    /// The catalog assessed against.
    pub catalog: CatalogInfo,
    /// The profile assessed.
    pub profile: ProfileInfo,
    /// The component.
    pub component: Component,
    /// The target vector.
    pub sl_t: SlVector,
    /// The capability vector of the component by itself.
    pub sl_c: SlVector,
    /// The vector the system could reach with the compensating countermeasures (CCSC 2).
    pub sl_c_with_countermeasures: SlVector,
    /// Whether no gap is left (every gap met, or waived and unexpired).
    pub passed: bool,
    /// What stands between SL-C and SL-T, by FR and level.
    pub gaps: Vec<Gap>,
    /// Gaps accepted by an unexpired waiver.
    pub waived: Vec<Gap>,
    /// Every requirement and RE that applies to the component type, in the standard's order.
    pub requirements: Vec<RequirementResult>,
    /// The common component security constraints (CCSC 1..4): reported, outside the vector.
    pub constraints: Vec<RequirementResult>,
    /// The live evidence, when the assessment read a running component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveEvaluation>,
    /// The test results the `met` claims were checked against (`--test-results`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_results: Option<TestResultsInfo>,
}

/// The test reports an assessment read, and what they proved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResultsInfo {
    /// The `JUnit` XML files, as given.
    pub sources: Vec<String>,
    /// Distinct test cases read.
    pub testcases: usize,
    /// `met` claims whose named tests all ran and passed.
    pub verified: Vec<RequirementId>,
    /// `met` claims that did not (status `unverified`).
    pub unverified: Vec<RequirementId>,
}

/// How the tests a `met` claim names fared (only with `--test-results`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestVerification {
    /// Named tests that ran and passed.
    pub passed: Vec<String>,
    /// Named tests no result shows run (absent, or only skipped).
    pub missing: Vec<String>,
    /// Test cases, matched by a named test, that failed.
    pub failed: Vec<String>,
}

impl TestVerification {
    /// Whether the claim is proven: at least one named test, all run and passed.
    pub fn verified(&self) -> bool {
        !self.passed.is_empty() && self.missing.is_empty() && self.failed.is_empty()
    }

    /// Why the claim is unverified, for reasons and reports.
    pub fn explain(&self) -> String {
        let mut parts = Vec::new();
        if self.passed.is_empty() && self.missing.is_empty() && self.failed.is_empty() {
            parts.push("the claim names no test as evidence".to_owned());
        }
        if !self.missing.is_empty() {
            parts.push(format!("not run: {}", self.missing.join(", ")));
        }
        if !self.failed.is_empty() {
            parts.push(format!("failed: {}", self.failed.join(", ")));
        }
        format!("unverified: {}", parts.join("; "))
    }
}

/// The tool that produced a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `rampart`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The catalog a report was computed against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogInfo {
    /// The standard, e.g. `IEC 62443-4-2:2019`.
    pub standard: String,
    /// The catalog data revision.
    pub version: String,
}

/// The profile a report was computed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// The profile path as given.
    pub path: String,
    /// SHA-256 of the profile text.
    pub sha256: String,
    /// Where the `[component]` table is (SARIF anchors absent requirements there).
    pub component_location: Location,
    /// The waiver file, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waivers: Option<String>,
}

/// A requirement that keeps SL-C below SL-T.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The requirement.
    pub id: RequirementId,
    /// Its FR.
    pub fr: Fr,
    /// The lowest level at which it is required: SL-C of the FR cannot reach this level.
    pub level: u8,
    /// Its title.
    pub title: String,
    /// Its status after live evidence.
    pub status: Status,
    /// Why it does not count.
    pub reason: String,
    /// The waiver, waived or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverInfo>,
    /// Where its entry (or, if absent, the `[component]` table) is in the profile.
    pub location: Location,
}

/// A waiver as applied to a gap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverInfo {
    /// Why the gap is accepted.
    pub justification: String,
    /// Last day it holds.
    pub expires: Date,
    /// Who accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// Whether it had expired when the assessment ran (then the gap stays a gap).
    pub expired: bool,
}

/// One requirement's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementResult {
    /// The requirement.
    pub id: RequirementId,
    /// CR, RE or CCSC.
    pub kind: Kind,
    /// Its FR; none for a CCSC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fr: Option<Fr>,
    /// Its title.
    pub title: String,
    /// The levels at which it is in the requirement set.
    pub levels: Vec<u8>,
    /// What the profile claims; none when the profile does not list it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<Status>,
    /// The status after live evidence (absent → `not-met`).
    pub status: Status,
    /// Whether it counts toward SL-C.
    pub counts: bool,
    /// Whether it counts toward the vector with countermeasures.
    pub counts_with_countermeasures: bool,
    /// Why it does not count (or what changed its status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `not-applicable`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// For `compensated`: the countermeasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countermeasure: Option<String>,
    /// Evidence from the profile.
    pub evidence: Vec<Evidence>,
    /// Notes from the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Live checks of this requirement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<LiveFinding>,
    /// For a `met` claim assessed with test results: how its named tests fared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestVerification>,
    /// Where its entry (or, if absent, the `[component]` table) is in the profile.
    pub location: Location,
}

impl RequirementResult {
    /// The lowest level at which it is required.
    pub fn lowest_level(&self) -> u8 {
        self.levels.first().copied().unwrap_or(1)
    }
}

/// Assesses `profile` against `catalog`, believing its `met` claims.
pub fn assess(catalog: &Catalog, profile: &Profile, options: &Options<'_>) -> Assessment {
    assess_inner(catalog, profile, options, None)
}

/// Assesses `profile` against `catalog`, a `met` claim counting only when the tests it names
/// passed in `tests` (see the module documentation); the others are `unverified`.
pub fn assess_with_test_results(
    catalog: &Catalog,
    profile: &Profile,
    options: &Options<'_>,
    tests: &TestResults,
) -> Assessment {
    assess_inner(catalog, profile, options, Some(tests))
}

fn assess_inner(
    catalog: &Catalog,
    profile: &Profile,
    options: &Options<'_>,
    tests: Option<&TestResults>,
) -> Assessment {
    let component_type = profile.component().component_type;
    let sl_t = options.sl_t.unwrap_or(profile.sl_t());
    let today = options
        .now
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let mut requirements = Vec::new();
    let mut constraints = Vec::new();
    // (counts, counts_with_countermeasures) of every base requirement seen so far; the
    // catalog's order puts each base before its REs.
    let mut counted: HashMap<RequirementId, (bool, bool)> = HashMap::new();
    for requirement in catalog.requirements() {
        if !requirement.applies_to(component_type) {
            continue;
        }
        let result = evaluate(requirement, profile, options.live, tests, &counted);
        counted.insert(
            result.id,
            (result.counts, result.counts_with_countermeasures),
        );
        if requirement.kind() == Kind::Ccsc {
            constraints.push(result);
        } else {
            requirements.push(result);
        }
    }

    let vector = |counts: fn(&RequirementResult) -> bool| {
        let mut v = SlVector::default();
        for fr in Fr::ALL {
            let reached = SecurityLevel::ALL
                .into_iter()
                .take_while(|level| {
                    requirements
                        .iter()
                        .filter(|r| r.fr == Some(fr) && r.levels.contains(&level.get()))
                        .all(counts)
                })
                .count();
            v.set(fr, u8::try_from(reached).unwrap_or(4));
        }
        v
    };
    let sl_c = vector(|r| r.counts);
    let sl_c_with_countermeasures = vector(|r| r.counts_with_countermeasures);

    let mut gaps = Vec::new();
    let mut waived = Vec::new();
    for r in &requirements {
        let Some(fr) = r.fr else { continue };
        if r.counts || r.lowest_level() > sl_t.get(fr) {
            continue;
        }
        let applied = options
            .waivers
            .and_then(|w| w.get(r.id))
            .map(|w| WaiverInfo {
                justification: w.justification.clone(),
                expires: w.expires,
                approved_by: w.approved_by.clone(),
                expired: w.expires < today,
            });
        let active = applied.as_ref().is_some_and(|w| !w.expired);
        let gap = Gap {
            id: r.id,
            fr,
            level: r.lowest_level(),
            title: r.title.clone(),
            status: r.status,
            reason: r
                .reason
                .clone()
                .unwrap_or_else(|| format!("status {}", r.status)),
            waiver: applied,
            location: r.location,
        };
        if active {
            waived.push(gap);
        } else {
            gaps.push(gap);
        }
    }
    // Gaps in FR order, then level, then the standard's order: the order a reader works in.
    let key = |g: &Gap| (g.fr, g.level, g.id);
    gaps.sort_by_key(key);
    waived.sort_by_key(key);

    let test_results = tests.map(|t| {
        let (mut verified, mut unverified) = (Vec::new(), Vec::new());
        for r in requirements.iter().chain(&constraints) {
            match &r.tests {
                Some(v) if v.verified() => verified.push(r.id),
                Some(_) => unverified.push(r.id),
                None => {}
            }
        }
        TestResultsInfo {
            sources: t.sources().to_vec(),
            testcases: t.len(),
            verified,
            unverified,
        }
    });
    let metadata = catalog.metadata();
    Assessment {
        schema_version: REPORT_VERSION,
        generated_at: format!("{:.0}", options.now),
        tool: Tool {
            name: "rampart".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        catalog: CatalogInfo {
            standard: metadata.standard.clone(),
            version: metadata.version.clone(),
        },
        profile: ProfileInfo {
            path: profile.origin().to_owned(),
            sha256: profile.sha256().to_owned(),
            component_location: profile.component_location(),
            waivers: options.waivers.map(|w| w.origin().to_owned()),
        },
        component: profile.component().clone(),
        sl_t,
        sl_c,
        sl_c_with_countermeasures,
        passed: gaps.is_empty(),
        gaps,
        waived,
        requirements,
        constraints,
        live: options.live.cloned(),
        test_results,
    }
}

fn evaluate(
    requirement: &Requirement,
    profile: &Profile,
    live: Option<&LiveEvaluation>,
    tests: Option<&TestResults>,
    counted: &HashMap<RequirementId, (bool, bool)>,
) -> RequirementResult {
    let id = requirement.id();
    let claim = profile.claim(id);
    let declared = claim.map(|c| c.status);
    let mut status = declared.unwrap_or(Status::NotMet);
    let mut reason = match declared {
        None => Some("absent from the profile".to_owned()),
        Some(Status::Partial) => Some("only partially implemented".to_owned()),
        Some(Status::NotMet) => Some("not met".to_owned()),
        Some(Status::Compensated) => Some(format!(
            "met only by a compensating countermeasure (CCSC 2): {}",
            claim
                .and_then(|c| c.countermeasure.as_deref())
                .unwrap_or_default()
        )),
        Some(Status::Met | Status::NotApplicable | Status::Unverified) => None,
    };
    let findings: Vec<LiveFinding> = live
        .map(|l| l.for_requirement(id).cloned().collect())
        .unwrap_or_default();
    let failed: Vec<&LiveFinding> = findings.iter().filter(|f| f.decides_not_met()).collect();
    if !failed.is_empty() && status != Status::NotApplicable {
        let what: Vec<String> = failed
            .iter()
            .map(|f| format!("{} ({} = {})", f.message, f.subject, f.observed))
            .collect();
        reason = Some(format!("live: {}", what.join("; ")));
        status = Status::NotMet;
    }
    let verification = match (tests, claim) {
        (Some(tests), Some(claim)) if status == Status::Met => Some(verify(tests, claim)),
        _ => None,
    };
    if let Some(v) = verification.as_ref().filter(|v| !v.verified()) {
        status = Status::Unverified;
        reason = Some(v.explain());
    }
    let mut counts = matches!(status, Status::Met | Status::NotApplicable);
    let mut counts_cm = counts || status == Status::Compensated;
    if let Some(base) = requirement.parent() {
        let (base_counts, base_counts_cm) = counted.get(&base).copied().unwrap_or((false, false));
        if counts && !base_counts {
            reason = Some(format!("its base requirement {base} does not count"));
        }
        counts &= base_counts;
        counts_cm &= base_counts_cm;
    }
    let location = claim.map_or(profile.component_location(), |c| c.location);
    let mut evidence = claim.map(|c| c.evidence.clone()).unwrap_or_default();
    evidence.extend(
        findings
            .iter()
            .filter(|f| f.outcome == crate::live::Outcome::Pass)
            .map(|f| Evidence::Live(format!("{} = {} ({})", f.subject, f.observed, f.check))),
    );
    RequirementResult {
        id,
        kind: requirement.kind(),
        fr: requirement.fr(),
        title: requirement.title().to_owned(),
        levels: requirement.sl().levels().map(SecurityLevel::get).collect(),
        declared,
        status,
        counts,
        counts_with_countermeasures: counts_cm,
        reason,
        justification: claim.and_then(|c| c.justification.clone()),
        countermeasure: claim.and_then(|c| c.countermeasure.clone()),
        evidence,
        notes: claim.and_then(|c| c.notes.clone()),
        live: findings,
        tests: verification,
        location,
    }
}

/// How the tests `claim` names fared in `tests`.
fn verify(tests: &TestResults, claim: &crate::profile::Claim) -> TestVerification {
    let mut v = TestVerification::default();
    for e in &claim.evidence {
        let Evidence::Test(id) = e else { continue };
        match tests.outcome(id) {
            NamedOutcome::Passed => v.passed.push(id.clone()),
            NamedOutcome::NotRun => v.missing.push(id.clone()),
            NamedOutcome::Failed(cases) => v.failed.extend(cases),
        }
    }
    v
}

/// Claims of `met` that a live check contradicts: the profile says met, the running
/// component says otherwise. Empty when the profile and the live component agree.
pub fn contradictions<'a>(profile: &Profile, live: &'a LiveEvaluation) -> Vec<&'a LiveFinding> {
    live.findings
        .iter()
        .filter(|f| {
            f.decides_not_met()
                && profile
                    .claim(f.requirement)
                    .is_some_and(|c| c.status == Status::Met)
        })
        .collect()
}
