use std::path::{Path, PathBuf};

use rampart_assess::live::{ConfigReport, LiveChecks, LiveEvaluation};
use rampart_assess::{Assessment, Options, Profile, Waivers, assess};
use rampart_catalog::Catalog;

/// The path of a file in the repository, from this crate's manifest directory.
pub(crate) fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// Every committed profile: Rampart's own and the examples.
pub(crate) const PROFILES: [&str; 4] = [
    "profiles/rampart-gateway.toml",
    "examples/sar-hmi-studio.toml",
    "examples/edr-rtu.toml",
    "examples/hdr-historian.toml",
];

pub(crate) fn now() -> jiff::Timestamp {
    "2026-11-28T07:00:00Z".parse().unwrap()
}

/// The options every test assessment uses: no waivers, no live evidence.
pub(crate) fn options() -> Options<'static> {
    Options {
        sl_t: None,
        waivers: None,
        live: None,
        now: now(),
    }
}

pub(crate) fn profile(relative: &str) -> Profile {
    let text = std::fs::read_to_string(repo_file(relative)).unwrap();
    Profile::parse(&text, relative, Catalog::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn fixture_live() -> LiveEvaluation {
    let path = repo_file("crates/assess/tests/fixtures/config-report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let report = ConfigReport::parse(&text, "config-report.json").unwrap();
    LiveChecks::builtin().evaluate(&report, "https://127.0.0.1:8443")
}

/// Assessments covering every branch of the reports: each committed profile as is, the SAR
/// example with its waivers, and Rampart's profile with live evidence.
pub(crate) fn assessments() -> Vec<(String, Assessment)> {
    let catalog = Catalog::builtin();
    let mut out: Vec<(String, Assessment)> = PROFILES
        .iter()
        .map(|p| {
            let a = assess(
                catalog,
                &profile(p),
                &Options {
                    sl_t: None,
                    waivers: None,
                    live: None,
                    now: now(),
                },
            );
            ((*p).to_owned(), a)
        })
        .collect();
    let waivers =
        Waivers::from_file(&repo_file("examples/sar-hmi-studio.waivers.toml"), catalog).unwrap();
    out.push((
        "sar with waivers".into(),
        assess(
            catalog,
            &profile(PROFILES[1]),
            &Options {
                sl_t: None,
                waivers: Some(&waivers),
                live: None,
                now: now(),
            },
        ),
    ));
    let mut tests = rampart_assess::test_results::TestResults::new();
    tests
        .add(&crate::test_results::rampart_junit(), "junit.xml")
        .unwrap();
    out.push((
        "rampart with test results".into(),
        rampart_assess::assess_with_test_results(
            catalog,
            &profile(PROFILES[0]),
            &options(),
            &tests,
        ),
    ));
    let live = fixture_live();
    out.push((
        "rampart with live".into(),
        assess(
            catalog,
            &profile(PROFILES[0]),
            &Options {
                sl_t: None,
                waivers: None,
                live: Some(&live),
                now: now(),
            },
        ),
    ));
    out
}

/// A validator for a schema file; the draft comes from the schema's `$schema`.
pub(crate) fn validator(relative: &str) -> jsonschema::Validator {
    let path = repo_file(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

pub(crate) fn errors(
    validator: &jsonschema::Validator,
    document: &serde_json::Value,
) -> Vec<String> {
    validator
        .iter_errors(document)
        .take(20)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}
