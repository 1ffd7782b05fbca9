//! Properties of the human-readable reports and of the comparison of two reports.

use rampart_assess::report::{diff, html, json, junit, text};

use crate::util::assessments;

#[test]
fn the_html_report_is_self_contained() {
    for (name, a) in assessments() {
        let page = html::html(&a);
        assert!(page.starts_with("<!DOCTYPE html>"), "{name}");
        for forbidden in ["<script", "<link", " src=", "@import", "url("] {
            assert!(!page.contains(forbidden), "{name}: {forbidden}");
        }
        assert!(
            page.contains("<svg") && page.contains("SL-T and SL-C per FR"),
            "{name}"
        );
        assert!(page.contains("@media print"));
        for r in &a.requirements {
            assert!(
                page.contains(&format!(">{}<", r.id)),
                "{name}: {} missing from the matrix",
                r.id
            );
        }
    }
}

#[test]
fn reports_are_deterministic() {
    for ((name, a), (_, b)) in assessments().iter().zip(assessments().iter()) {
        assert_eq!(json(a), json(b), "{name}");
        assert_eq!(html::html(a), html::html(b), "{name}");
        assert_eq!(text::markdown(a), text::markdown(b), "{name}");
        assert_eq!(junit::junit(a), junit::junit(b), "{name}");
    }
}

#[test]
fn junit_counts_one_failure_per_gap() {
    for (name, a) in assessments() {
        let xml = junit::junit(&a);
        assert_eq!(xml.matches("<failure ").count(), a.gaps.len(), "{name}");
        assert!(
            xml.contains(&format!("failures=\"{}\"", a.gaps.len())),
            "{name}"
        );
        assert_eq!(xml.matches("<testsuite ").count(), 7);
    }
}

#[test]
fn the_terminal_report_shows_each_fr_and_gap() {
    for (name, a) in assessments() {
        let out = text::terminal(&a, text::Style::default());
        for fr in rampart_catalog::Fr::ALL {
            assert!(
                out.contains(&format!("{fr} {}", fr.abbreviation())),
                "{name}"
            );
        }
        for g in &a.gaps {
            assert!(out.contains(&g.id.to_string()), "{name}: {}", g.id);
        }
        assert!(
            out.trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with(if a.passed { "PASS" } else { "FAIL" })
        );
    }
}

#[test]
fn diff_reports_regressions_and_improvements() {
    let all = assessments();
    let (_, plain) = &all[1];
    let (_, waived) = &all[4];
    assert!(diff::diff(plain, plain).is_empty());
    // Waiving CR 4.2 closes that gap: an improvement, no regression.
    let changes = diff::diff(plain, waived);
    assert!(changes.iter().all(|c| !c.regression), "{changes:?}");
    assert!(
        changes.iter().any(|c| c.text.contains("gap closed CR 4.2")),
        "{changes:?}"
    );
    // The way back is a regression.
    let changes = diff::diff(waived, plain);
    assert!(
        changes
            .iter()
            .any(|c| c.regression && c.text.contains("new gap CR 4.2")),
        "{changes:?}"
    );
    // A lower SL-C is a regression.
    let mut worse = plain.clone();
    worse.sl_c = "0".parse().unwrap();
    let changes = diff::diff(plain, &worse);
    assert!(
        changes
            .iter()
            .any(|c| c.regression && c.text.contains("SL-C 2 → 0")),
        "{changes:?}"
    );
}
