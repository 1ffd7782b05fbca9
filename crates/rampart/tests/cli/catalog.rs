//! `rampart catalog`: the table, the machine formats, and bad input.

use rampart_catalog::{Catalog, Requirement};

use crate::util::{ok, rampart, stderr, stdout};

#[test]
fn table_lists_the_ndr_sl3_set_with_counts_per_fr() {
    let text = ok(&["catalog", "--type", "NDR", "--sl", "3"]);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("ID "), "header first");
    assert!(text.contains("NDR 5.2 RE 2"), "{text}");
    assert!(!text.contains("EDR 3.14"), "other types' rows are left out");
    assert!(!text.contains("CR 1.7 RE 2"), "SL-4-only rows are left out");
    assert!(
        text.contains("90 requirements (NDR, SL 3): FR1 23, FR2 19, FR3 20, FR4 5, FR5 6, FR6 3, FR7 10, CCSC 4"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour without a terminal");
}

#[test]
fn json_output_round_trips_through_the_typed_api() {
    let text = ok(&["catalog", "--format", "json"]);
    let rows: Vec<Requirement> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.as_slice(), Catalog::builtin().requirements());

    let filtered: Vec<Requirement> = serde_json::from_str(&ok(&[
        "catalog", "--type", "sar", "--sl", "1", "--fr", "rdf", "--format", "json",
    ]))
    .unwrap();
    let ids: Vec<String> = filtered.iter().map(|r| r.id().to_string()).collect();
    assert_eq!(ids, ["CR 5.1"]);
}

#[test]
fn csv_output_has_one_record_per_requirement() {
    let text = ok(&["catalog", "--format", "csv", "--fr", "FR4"]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert_eq!(headers.len(), 11);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let ids: Vec<&str> = records.iter().map(|r| &r[0]).collect();
    assert_eq!(
        ids,
        ["CR 4.1", "CR 4.2", "CR 4.2 RE 1", "CR 4.2 RE 2", "CR 4.3"]
    );
    let marks: Vec<&str> = (6..10).map(|i| &records[1][i]).collect();
    assert_eq!(marks, ["0", "1", "1", "1"]);
}

#[test]
fn one_requirement_is_shown_with_its_enhancements() {
    let text = ok(&["catalog", "--id", "cr-1.1"]);
    assert!(
        text.starts_with("CR 1.1  Human user identification and authentication"),
        "{text}"
    );
    assert!(text.contains("required at: SL-C 1, 2, 3, 4"), "{text}");
    assert!(
        text.contains("CR 1.1 RE 2  ··34  Multifactor authentication for all interfaces"),
        "{text}"
    );

    let rows: Vec<Requirement> =
        serde_json::from_str(&ok(&["catalog", "--id", "NDR 5.2", "--format", "json"])).unwrap();
    assert_eq!(rows.len(), 4, "the requirement and its three REs");
}

#[test]
fn oscal_output_is_an_oscal_catalog() {
    let text = ok(&["catalog", "--format", "oscal"]);
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["catalog"]["metadata"]["oscal-version"], "1.2.1");
    assert_eq!(
        document,
        rampart_catalog::oscal::catalog_document(Catalog::builtin())
    );
}

/// Bad flags and values: one clear line naming the value and the valid ones, exit code 2.
#[test]
fn bad_input_names_the_value_and_exits_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["catalog", "--type", "XDR"],
            "unknown component type 'XDR' (valid: SAR, EDR, HDR, NDR)",
        ),
        (
            &["catalog", "--sl", "5"],
            "security level '5' is out of range (valid: 1, 2, 3, 4)",
        ),
        (
            &["catalog", "--sl", "0"],
            "security level '0' is out of range",
        ),
        (
            &["catalog", "--fr", "FR8"],
            "unknown foundational requirement 'FR8' (valid: FR1..FR7",
        ),
        (
            &["catalog", "--id", "CR 1.99"],
            "unknown requirement id 'CR 1.99'; did you mean 'CR 1.9'?",
        ),
        (
            &["catalog", "--id", "NDR 5.2 RE 4"],
            "did you mean 'NDR 5.2 RE 1'?",
        ),
        (
            &["catalog", "--id", "banana"],
            "'banana' is not a requirement id",
        ),
        (
            &["catalog", "--format", "xml"],
            "invalid value 'xml' for '--format <FORMAT>'",
        ),
        (
            &["catalog", "--id", "CR 1.1", "--format", "oscal"],
            "--format oscal exports a catalog",
        ),
        (
            &["catalog", "--id", "CR 1.1", "--sl", "2"],
            "cannot be used with",
        ),
        (
            &["catalog", "--frobnicate"],
            "unexpected argument '--frobnicate'",
        ),
    ];
    for (args, message) in cases {
        let output = rampart(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?} wrote to stdout");
    }
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["catalog", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // Dropping our end closes the pipe while rampart is still writing.
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}
