//! `--test-results`: a `met` claim counts only when the tests it names ran and passed.

use std::fmt::Write as _;

use rampart_assess::test_results::TestResults;
use rampart_assess::{Evidence, Status, assess_with_test_results};
use rampart_catalog::Catalog;

use crate::util::{PROFILES, options, profile};

/// A nextest-style `JUnit` report in which every test Rampart's profile names passed, except
/// the first one named (failed) and the second (absent).
pub(crate) fn rampart_junit() -> String {
    let p = profile(PROFILES[0]);
    let mut cases = String::new();
    let named: Vec<String> = p
        .claims()
        .flat_map(|(_, c)| c.evidence.iter())
        .filter_map(|e| match e {
            Evidence::Test(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    for (i, id) in named.iter().enumerate() {
        // As nextest writes it: the binary id as the class name (the two first parts).
        let mut parts = id.splitn(3, "::");
        let (krate, binary, rest) = (parts.next().unwrap(), parts.next(), parts.next());
        let (classname, name) = match (binary, rest) {
            (Some(b), Some(r)) => (format!("{krate}::{b}"), format!("{r}::case")),
            (Some(b), None) => (krate.to_owned(), format!("{b}::case")),
            _ => (krate.to_owned(), "case".to_owned()),
        };
        match i {
            0 => {
                let _ = writeln!(
                    cases,
                    "<testcase classname=\"{classname}\" name=\"{name}\"><failure message=\"boom\"/></testcase>"
                );
            }
            1 => {}
            _ => {
                let _ = writeln!(
                    cases,
                    "<testcase classname=\"{classname}\" name=\"{name}\"/>"
                );
            }
        }
    }
    format!(
        "<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"all\">\n{cases}</testsuite>\n</testsuites>\n"
    )
}

#[test]
fn met_claims_whose_tests_failed_or_did_not_run_are_unverified() {
    let p = profile(PROFILES[0]);
    let mut tests = TestResults::new();
    tests.add(&rampart_junit(), "junit.xml").unwrap();
    let catalog = Catalog::builtin();
    let believed = rampart_assess::assess(catalog, &p, &options());
    let checked = assess_with_test_results(catalog, &p, &options(), &tests);
    let info = checked.test_results.as_ref().unwrap();
    assert_eq!(info.sources, ["junit.xml"]);
    assert!(!info.unverified.is_empty() && !info.verified.is_empty());
    let all: Vec<_> = checked
        .constraints
        .iter()
        .chain(&checked.requirements)
        .collect();
    for r in &all {
        let declared_met = r.declared == Some(Status::Met);
        let verification = r.tests.as_ref();
        assert_eq!(
            verification.is_some(),
            declared_met && r.status != Status::NotMet,
            "{}",
            r.id
        );
        if r.status == Status::Unverified {
            assert!(!r.counts && !r.counts_with_countermeasures, "{}", r.id);
            let reason = r.reason.as_deref().unwrap();
            assert!(reason.starts_with("unverified: "), "{reason}");
            assert!(info.unverified.contains(&r.id));
        }
    }
    let failed = all
        .iter()
        .find(|r| r.tests.as_ref().is_some_and(|t| !t.failed.is_empty()))
        .expect("the first named test failed");
    assert_eq!(failed.status, Status::Unverified);
    assert!(failed.reason.as_deref().unwrap().contains("failed: "));
    let missing = all
        .iter()
        .find(|r| r.tests.as_ref().is_some_and(|t| !t.missing.is_empty()))
        .expect("the second named test did not run");
    assert!(missing.reason.as_deref().unwrap().contains("not run: "));
    // Unverified claims never raise SL-C.
    for fr in rampart_catalog::Fr::ALL {
        assert!(checked.sl_c.get(fr) <= believed.sl_c.get(fr));
    }
    // The reports say so.
    let table = rampart_assess::report::text::terminal(
        &checked,
        rampart_assess::report::text::Style::default(),
    );
    assert!(table.contains("Unverified met claims"), "{table}");
    assert!(table.contains(&format!(
        "test results from junit.xml ({} test cases)",
        tests.len()
    )));
    let json = rampart_assess::report::json(&checked);
    assert!(json.contains("\"unverified\""), "{json}");
}

#[test]
fn without_tests_named_a_met_claim_is_unverified_and_all_verified_keeps_sl_c() {
    let p = profile(PROFILES[0]);
    let catalog = Catalog::builtin();
    let empty = TestResults::new();
    let checked = assess_with_test_results(catalog, &p, &options(), &empty);
    assert!(
        checked
            .requirements
            .iter()
            .filter(|r| r.declared == Some(Status::Met))
            .all(|r| r.status == Status::Unverified || r.status == Status::NotMet)
    );
    assert_eq!(checked.sl_c.to_string(), "{0 0 0 0 0 0 0}");
}

#[test]
fn a_profile_cannot_declare_unverified() {
    let text = "format = 1\n[component]\nvendor = \"v\"\nproduct = \"p\"\nversion = \"1\"\ntype = \"NDR\"\n[target]\nsl_t = 1\n[requirement.\"CR 1.1\"]\nstatus = \"unverified\"\n";
    let e = rampart_assess::Profile::parse(text, "p.toml", Catalog::builtin()).unwrap_err();
    assert_eq!(e.line, 9, "{e}");
    assert!(e.message.contains("not a status to declare"), "{e}");
}
