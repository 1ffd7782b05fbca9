//! Assessment of a component against IEC 62443-4-2: profiles, evidence, the SL-C vector,
//! the gap to a target and the reports.
//!
//! - [`Profile`]: what a component claims per requirement (TOML, validated against the
//!   catalog with file, line and column in every error).
//! - [`Waivers`]: time-limited, justified acceptance of gaps.
//! - [`live`]: requirements decided from a running gateway's configuration report, by checks
//!   kept as data (`data/live-checks.toml`).
//! - [`test_results`]: `JUnit` XML test reports, the proof a `met` claim's named tests passed.
//! - [`assess`]: the SL-C rule (module [`engine`] documents it), giving an [`Assessment`].
//! - [`report`]: terminal and Markdown text, self-contained HTML, the versioned JSON report,
//!   OSCAL 1.2.1 (component definition, assessment results, POA&M), SARIF 2.1.0, `JUnit` XML,
//!   and the comparison of two JSON reports.
//!
//! # Determinism
//! Every output is a function of its inputs and of the time passed in [`Options::now`]:
//! lists are sorted in the standard's order and OSCAL UUIDs are name-based (v5).
//!
//! # Security model
//! Inputs are files a person wrote or a component served: each is size-capped and parsed
//! into validated types; bad input is an [`InputError`], never a panic. The crate does no
//! network I/O; the caller fetches a config report and hands in the text.

#![forbid(unsafe_code)]
// Input from the network and from files never panics the component: errors are returned.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(missing_docs)]

pub mod engine;
mod error;
mod level;
pub mod live;
mod profile;
pub mod report;
pub mod test_results;
mod waiver;

pub use engine::{
    Assessment, Gap, Options, REPORT_VERSION, RequirementResult, TestResultsInfo, TestVerification,
    WaiverInfo, assess, assess_with_test_results, contradictions,
};
pub use error::InputError;
pub use level::{SlVector, SlVectorError};
pub use profile::{
    CONFIGURED_PREFIX, Claim, Component, Evidence, Location, PROFILE_FORMAT, Profile, Status,
};
pub use waiver::{WAIVER_FORMAT, Waiver, Waivers};

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use rampart_catalog::Catalog;

    use crate::live::{ConfigReport, LiveChecks};
    use crate::report::html::html;
    use crate::report::json;
    use crate::report::junit::junit;
    use crate::report::sarif::sarif_text;
    use crate::{Options, Profile, Waivers, assess};

    /// Reads `data` as every input `rampart assess` takes — a profile, a waiver file, a
    /// configuration report, live checks and a JSON report for `diff` — and, when it is a
    /// profile, assesses it (with the same text as waivers and live report where those
    /// parse) and renders every report. Never panics.
    pub fn inputs(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let catalog = Catalog::builtin();
        let waivers = Waivers::parse(text, "fuzz", catalog).ok();
        let live = ConfigReport::parse(text, "fuzz")
            .ok()
            .map(|report| LiveChecks::builtin().evaluate(&report, "fuzz"));
        let _ = LiveChecks::parse(text, "fuzz", catalog);
        let _ = crate::report::diff::parse_report(text, "fuzz");
        if let Ok(profile) = Profile::parse(text, "fuzz", catalog) {
            let a = assess(
                catalog,
                &profile,
                &Options {
                    sl_t: None,
                    waivers: waivers.as_ref(),
                    live: live.as_ref(),
                    now: jiff::Timestamp::UNIX_EPOCH,
                },
            );
            let _ = (json(&a), html(&a), junit(&a), sarif_text(&a));
        }
    }

    /// Reads `data` as a `JUnit` XML test report (`--test-results`) and, when it parses, asks
    /// for the outcome of test ids taken from its own test cases and checks an assessment of
    /// a small profile against it renders. Never panics.
    pub fn test_results(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let mut results = crate::test_results::TestResults::new();
        if results.add(text, "fuzz").is_err() {
            return;
        }
        for id in [
            "",
            "a",
            "a::b",
            "rampart-assess::it",
            text.get(..8).unwrap_or(text),
        ] {
            let _ = results.outcome(id);
        }
        let catalog = Catalog::builtin();
        let profile = "format = 1\n[component]\nvendor = \"v\"\nproduct = \"p\"\nversion = \"1\"\ntype = \"NDR\"\n[target]\nsl_t = 1\n[requirement.\"CR 1.1\"]\nstatus = \"met\"\nevidence = [{ test = \"a::b\" }]\n";
        if let Ok(profile) = Profile::parse(profile, "fuzz", catalog) {
            let options = Options {
                sl_t: None,
                waivers: None,
                live: None,
                now: jiff::Timestamp::UNIX_EPOCH,
            };
            let a = crate::assess_with_test_results(catalog, &profile, &options, &results);
            let _ = (json(&a), html(&a), junit(&a), sarif_text(&a));
        }
    }
}

#[cfg(test)]
mod tests;
