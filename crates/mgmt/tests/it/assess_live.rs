//! Rampart's own profile (`profiles/rampart-gateway.toml`) stays true: the live checks of
//! `rampart assess --live` run against the configuration report of a gateway started here,
//! and no requirement the profile claims as met is contradicted by the running component,
//! except those whose claim names the configuration it needs.

use hyper::StatusCode;
use rampart_assess::live::{ConfigReport, LiveChecks, Outcome};
use rampart_assess::{Profile, contradictions};
use rampart_catalog::Catalog;

use crate::harness::Harness;

fn repo_file(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_profile_agrees_with_a_running_gateway() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let answer = admin.get("/api/v1/config-report").await;
    assert_eq!(answer.status, StatusCode::OK);
    let report = ConfigReport::parse(&answer.text(), "live").unwrap();
    let live = LiveChecks::builtin().evaluate(&report, &format!("https://{}", h.addr));
    let unknown: Vec<&str> = live
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Unknown)
        .map(|f| f.check.as_str())
        .collect();
    assert!(
        unknown.is_empty(),
        "checks the running gateway cannot answer: {unknown:?}"
    );
    let profile = Profile::from_file(
        &repo_file("profiles/rampart-gateway.toml"),
        Catalog::builtin(),
    )
    .unwrap();
    // Only the claims that name the configuration they need ("Met when configured: …", SL-C
    // being the capability when properly configured) may be contradicted by the embedded
    // default, and each of those is: the live checks tell the two apart.
    let contradicted: Vec<String> = contradictions(&profile, &live)
        .iter()
        .filter(|f| {
            !profile
                .claim(f.requirement)
                .is_some_and(rampart_assess::Claim::needs_configuration)
        })
        .map(|f| format!("{} ({}): {}", f.requirement, f.check, f.message))
        .collect();
    assert!(
        contradicted.is_empty(),
        "the profile claims met, the gateway says no: {contradicted:#?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assess_fixture_has_the_shape_of_the_real_report() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let real: serde_json::Value = admin.get("/api/v1/config-report").await.json();
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file("crates/assess/tests/fixtures/config-report.json"))
            .unwrap(),
    )
    .unwrap();
    let ids = |doc: &serde_json::Value, key: &str| -> Vec<String> {
        let mut ids: Vec<String> = doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    for key in ["settings", "self_tests"] {
        let (real_ids, fixture_ids) = (ids(&real, key), ids(&fixture, key));
        let missing: Vec<&String> = fixture_ids
            .iter()
            .filter(|i| !real_ids.contains(i))
            .collect();
        assert!(
            missing.is_empty(),
            "the fixture has {key} the gateway does not report: {missing:?}"
        );
    }
    h.stop().await;
}
