//! Test results as evidence: `JUnit` XML reports (`rampart assess --test-results FILE…`).
//!
//! A report is untrusted input (a CI artefact anyone could have produced), so it is read with
//! a size cap ([`MAX_TEST_RESULTS_BYTES`]), a cap on elements, nesting and test cases, and a
//! pull parser that expands no DTD or external entity. Errors name the file, line and column.
//!
//! # Test ids and the matching rule
//! Each `<testcase name=N classname=C>` gets the id `C::N` (just `N` when `C` is empty or
//! absent). `cargo nextest` writes the binary id as the class name and the test path as the
//! name, so a test `lockout::locks_after_max_failures` of the `it` test binary of
//! `rampart-identity` has the id `rampart-identity::it::lockout::locks_after_max_failures`.
//! A test id a profile names matches every test case whose id equals it or starts with it
//! followed by `::` — so `rampart-identity::it::lockout` names the whole module.
//!
//! A named test *passed* when it matches at least one test case, none of its matches failed
//! (`<failure>` or `<error>`) and at least one ran (was not `<skipped>`). The same id in
//! several reports keeps the worst outcome.

use std::collections::BTreeMap;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

use crate::error::{InputError, read_text};

/// The largest `JUnit` report read.
pub const MAX_TEST_RESULTS_BYTES: usize = 64 << 20;
/// The most elements one report may hold.
const MAX_ELEMENTS: usize = 4_000_000;
/// The most test cases, over all reports.
const MAX_TESTCASES: usize = 1_000_000;
/// The deepest nesting of elements.
const MAX_DEPTH: usize = 32;

/// What happened to a test case; ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestOutcome {
    /// Ran and passed.
    Passed,
    /// Did not run (`<skipped>`).
    Skipped,
    /// Failed (`<failure>` or `<error>`).
    Failed,
}

/// The test cases of one or more `JUnit` XML reports, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestResults {
    sources: Vec<String>,
    cases: BTreeMap<String, TestOutcome>,
}

/// How one named test fared: see the module documentation for the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedOutcome {
    /// Matched test cases, all of which ran and passed (or were skipped, with one passing).
    Passed,
    /// No test case matched, or every match was skipped.
    NotRun,
    /// These matching test cases failed.
    Failed(Vec<String>),
}

impl TestResults {
    /// No results yet.
    pub fn new() -> TestResults {
        TestResults::default()
    }

    /// Reads a `JUnit` XML report and adds its test cases.
    ///
    /// # Errors
    /// [`InputError`] with file, line and column: unreadable, larger than
    /// [`MAX_TEST_RESULTS_BYTES`], not UTF-8, not well-formed XML, a `<testcase>` without a
    /// name or inside another, or over the element, depth or test-case limits.
    pub fn add_file(&mut self, path: &Path) -> Result<(), InputError> {
        let text = read_text(path, MAX_TEST_RESULTS_BYTES)?;
        self.add(&text, &path.display().to_string())
    }

    /// Parses report text; `origin` names it in errors. On error nothing is added.
    ///
    /// # Errors
    /// As [`TestResults::add_file`].
    pub fn add(&mut self, text: &str, origin: &str) -> Result<(), InputError> {
        let cases = parse(text, origin, MAX_TESTCASES.saturating_sub(self.cases.len()))?;
        for (id, outcome) in cases {
            let entry = self.cases.entry(id).or_insert(outcome);
            *entry = (*entry).max(outcome);
        }
        self.sources.push(origin.to_owned());
        Ok(())
    }

    /// The reports read, in order.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// How many distinct test cases were read.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether no test case was read.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// The test cases `test_id` matches (equal, or a prefix ending at `::`).
    pub fn matching<'a>(
        &'a self,
        test_id: &'a str,
    ) -> impl Iterator<Item = (&'a str, TestOutcome)> + 'a {
        let test_id = test_id.trim();
        self.cases
            .range::<str, _>((
                std::ops::Bound::Included(test_id),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(id, _)| id.starts_with(test_id))
            .filter(move |(id, _)| {
                id.len() == test_id.len() || id[test_id.len()..].starts_with("::")
            })
            .map(|(id, outcome)| (id.as_str(), *outcome))
    }

    /// How the test `test_id` named in a profile fared.
    pub fn outcome(&self, test_id: &str) -> NamedOutcome {
        let mut ran = false;
        let mut failed = Vec::new();
        for (id, outcome) in self.matching(test_id) {
            match outcome {
                TestOutcome::Passed => ran = true,
                TestOutcome::Skipped => {}
                TestOutcome::Failed => failed.push(id.to_owned()),
            }
        }
        if !failed.is_empty() {
            NamedOutcome::Failed(failed)
        } else if ran {
            NamedOutcome::Passed
        } else {
            NamedOutcome::NotRun
        }
    }
}

/// The id of a test case: `classname::name`, or `name` without a class name.
pub fn case_id(classname: &str, name: &str) -> String {
    let (classname, name) = (classname.trim(), name.trim());
    if classname.is_empty() {
        name.to_owned()
    } else {
        format!("{classname}::{name}")
    }
}

struct Open {
    id: String,
    outcome: TestOutcome,
}

fn parse(
    text: &str,
    origin: &str,
    room: usize,
) -> Result<BTreeMap<String, TestOutcome>, InputError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut cases: BTreeMap<String, TestOutcome> = BTreeMap::new();
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut open: Option<(Open, usize)> = None;
    let mut saw_root = false;
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let offset = usize::try_from(reader.error_position()).unwrap_or(at);
            InputError::at(origin, text, offset, format!("not well-formed XML: {e}"))
        })?;
        let err = |message: String| InputError::at(origin, text, at, message);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(err(format!("more than {MAX_ELEMENTS} elements")));
                }
                if depth == 0 {
                    let element = e.name();
                    let top = element.as_ref();
                    if top != b"testsuites" && top != b"testsuite" {
                        return Err(err(format!(
                            "the root element is <{}>, not <testsuites> or <testsuite>: not a JUnit XML report",
                            String::from_utf8_lossy(top)
                        )));
                    }
                    saw_root = true;
                }
                match e.name().as_ref() {
                    b"testcase" => {
                        if open.is_some() {
                            return Err(err("<testcase> inside another <testcase>".into()));
                        }
                        let id = testcase_id(e).map_err(&err)?;
                        let case = Open {
                            id,
                            outcome: TestOutcome::Passed,
                        };
                        if empty {
                            insert(&mut cases, case, room).map_err(&err)?;
                        } else {
                            open = Some((case, depth));
                        }
                    }
                    b"failure" | b"error" => {
                        if let Some((case, _)) = &mut open {
                            case.outcome = TestOutcome::Failed;
                        }
                    }
                    b"skipped" => {
                        if let Some((case, _)) = &mut open {
                            case.outcome = case.outcome.max(TestOutcome::Skipped);
                        }
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(err(format!("elements nested deeper than {MAX_DEPTH}")));
                    }
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if open.as_ref().is_some_and(|(_, d)| *d == depth)
                    && let Some((case, _)) = open.take()
                {
                    insert(&mut cases, case, room).map_err(&err)?;
                }
            }
            Event::Eof if depth > 0 => {
                return Err(err(format!(
                    "not well-formed XML: the file ends inside {depth} unclosed element(s)"
                )));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(InputError::at(
            origin,
            text,
            0,
            "no <testsuites> or <testsuite> element: not a JUnit XML report",
        ));
    }
    Ok(cases)
}

fn testcase_id(e: &BytesStart<'_>) -> Result<String, String> {
    let mut name = None;
    let mut classname = String::new();
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|e| format!("<testcase>: bad attribute: {e}"))?;
        let key = attribute.key.as_ref();
        if key != b"name" && key != b"classname" {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("<testcase>: bad attribute value: {e}"))?
            .into_owned();
        if key == b"name" {
            name = Some(value);
        } else {
            classname = value;
        }
    }
    match name {
        Some(name) if !name.trim().is_empty() => Ok(case_id(&classname, &name)),
        _ => Err("<testcase> without a name attribute".into()),
    }
}

fn insert(
    cases: &mut BTreeMap<String, TestOutcome>,
    case: Open,
    room: usize,
) -> Result<(), String> {
    if !cases.contains_key(&case.id) && cases.len() >= room {
        return Err(format!("more than {MAX_TESTCASES} test cases"));
    }
    let entry = cases.entry(case.id).or_insert(case.outcome);
    *entry = (*entry).max(case.outcome);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEXTEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="4" failures="1" errors="0" uuid="x" timestamp="2026-01-01T00:00:00Z" time="1.0">
    <testsuite name="rampart-identity::it" tests="3" disabled="0" errors="0" failures="1">
        <testcase name="lockout::locks_after_max_failures" classname="rampart-identity::it" timestamp="t" time="0.1">
        </testcase>
        <testcase name="lockout::unlocks" classname="rampart-identity::it" time="0.1">
            <failure type="test failure" message="assertion failed">thread panicked</failure>
            <system-out>out &amp; more</system-out>
        </testcase>
        <testcase name="mfa::totp" classname="rampart-identity::it"><skipped/></testcase>
    </testsuite>
    <testsuite name="rampart-assess">
        <testcase name="tests::parses" classname="rampart-assess"/>
    </testsuite>
</testsuites>
"#;

    fn results() -> TestResults {
        let mut r = TestResults::new();
        r.add(NEXTEST, "junit.xml").unwrap();
        r
    }

    #[test]
    fn reads_nextest_junit() {
        let r = results();
        assert_eq!(r.len(), 4);
        assert_eq!(
            r.outcome("rampart-identity::it::lockout::locks_after_max_failures"),
            NamedOutcome::Passed
        );
        assert_eq!(
            r.outcome("rampart-assess::tests::parses"),
            NamedOutcome::Passed
        );
    }

    #[test]
    fn a_prefix_names_a_module_and_a_failure_in_it_fails_it() {
        let r = results();
        assert_eq!(
            r.outcome("rampart-identity::it::lockout"),
            NamedOutcome::Failed(vec!["rampart-identity::it::lockout::unlocks".into()])
        );
        // A prefix must end at `::`: `lock` is no module.
        assert_eq!(
            r.outcome("rampart-identity::it::lock"),
            NamedOutcome::NotRun
        );
    }

    #[test]
    fn skipped_or_absent_tests_did_not_run() {
        let r = results();
        assert_eq!(r.outcome("rampart-identity::it::mfa"), NamedOutcome::NotRun);
        assert_eq!(
            r.outcome("rampart-gateway::it::nothing"),
            NamedOutcome::NotRun
        );
    }

    #[test]
    fn the_worst_outcome_of_several_reports_wins() {
        let mut r = results();
        r.add(
            r#"<testsuite name="s"><testcase classname="rampart-assess" name="tests::parses"><error/></testcase></testsuite>"#,
            "second.xml",
        )
        .unwrap();
        assert_eq!(r.sources(), ["junit.xml", "second.xml"]);
        assert!(matches!(
            r.outcome("rampart-assess::tests::parses"),
            NamedOutcome::Failed(_)
        ));
    }

    #[test]
    fn bad_reports_are_errors_with_a_place() {
        let cases = [
            (
                "<testsuites>\n<testcase name=\"a\">\n</testsuites>",
                3,
                "not well-formed",
            ),
            ("<testsuites>\n<testcase name=\"a\">\n", 3, "unclosed"),
            ("<html/>", 1, "not a JUnit XML report"),
            ("", 1, "not a JUnit XML report"),
            (
                "<testsuites>\n  <testcase classname=\"c\"/>\n</testsuites>",
                2,
                "without a name",
            ),
            (
                "<testsuites><testcase name=\"a\">\n<testcase name=\"b\"/></testcase></testsuites>",
                2,
                "inside another",
            ),
            (
                "<testsuites><testcase name=\"&bomb;\"/></testsuites>",
                1,
                "bad attribute value",
            ),
        ];
        for (text, line, message) in cases {
            let e = TestResults::new().add(text, "r.xml").unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.message.contains(message), "{text}: {e}");
            assert!(e.to_string().starts_with("r.xml:"), "{e}");
        }
        let many = format!("<testsuites>{}</testsuites>", "<x/>".repeat(10));
        assert!(TestResults::new().add(&many, "m.xml").is_ok());
        let deep = format!("<testsuites>{}", "<a>".repeat(40));
        let e = TestResults::new().add(&deep, "d.xml").unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e}");
    }

    #[test]
    fn the_fuzz_entry_point_takes_reports_and_garbage() {
        for data in [
            NEXTEST.as_bytes(),
            b"",
            b"<testsuites><testcase",
            &[0xff, 0xfe],
        ] {
            crate::fuzzing::test_results(data);
        }
    }
}
