//! Version schemes and ranges, with the strings of the CSAF advisories in tests/data/csaf.

use super::*;

/// Checks `range` against `(version, expected)` pairs.
fn check(range: &str, cases: &[(&str, Containment)]) {
    let parsed = Range::parse(range);
    for (version, expected) in cases {
        assert_eq!(
            parsed.contains(version),
            *expected,
            "{version:?} in {range:?} (read as {parsed:?})"
        );
    }
}

use Containment::{No, Unknown, Yes};

#[test]
fn vendor_version_schemes_parse() {
    for text in [
        "V2.50",
        "R3.10.00",
        "FW11",
        "4.8.488.0",
        "1.9-40",
        "V1.5 SP3 Update 2",
        "1.0.0-rc.1",
        "B.06.18",
        "05",
        "v9.3.5",
        "2.x",
    ] {
        assert!(Version::parse(text).is_some(), "{text}");
    }
    for text in [
        "January 2019",
        "MCE_3.x",
        "SR540",
        "NE843_S comcode 150042936",
        "",
        "comcode",
    ] {
        assert!(Version::parse(text).is_none(), "{text}");
    }
}

#[test]
fn vendor_versions_compare() {
    let cmp = |a: &str, b: &str| {
        Version::parse(a)
            .unwrap()
            .compare(&Version::parse(b).unwrap())
    };
    assert_eq!(
        cmp("V1.5 SP3 Update 2", "V1.5 SP3"),
        Some(Ordering::Greater)
    );
    assert_eq!(
        cmp("V1.5 SP3", "V1.5 SP2 Update 9"),
        Some(Ordering::Greater)
    );
    assert_eq!(cmp("V1.5", "V1.5 SP1"), Some(Ordering::Less));
    assert_eq!(cmp("V2.50", "2.50.0"), Some(Ordering::Equal));
    assert_eq!(cmp("R3.10.00", "3.9.99"), Some(Ordering::Greater));
    assert_eq!(cmp("1.0.0-rc.1", "1.0.0"), Some(Ordering::Less));
    assert_eq!(cmp("1.0.0-alpha", "1.0.0-beta"), Some(Ordering::Less));
    assert_eq!(cmp("4.8.488.0", "4.8.488"), Some(Ordering::Equal));
    assert_eq!(cmp("FW11", "10"), Some(Ordering::Greater));
    // Letter tags are schemes: B.06.18 and A.07.00 do not compare.
    assert_eq!(cmp("B.06.18", "A.07.00"), None);
    assert_eq!(cmp("B.06.18", "B.06.20"), Some(Ordering::Less));
}

#[test]
fn operator_ranges_of_ics_advisories() {
    // ICSA-19-003-02 (Yokogawa): `|` joins a lower and an upper bound into an interval.
    check(
        ">= R3.10.00 | <= R3.75.00",
        &[
            ("R3.50.00", Yes),
            ("R3.10.00", Yes),
            ("R3.75.00", Yes),
            ("R3.76.00", No),
            ("R3.09.00", No),
        ],
    );
    check(
        ">=R4.01.00 | <= R6.03.10",
        &[("R6.03.10", Yes), ("R6.04.00", No), ("R4.00.99", No)],
    );
    check(
        ">= R1.02.00 | <= 4.02.00",
        &[("R4.01.00", Yes), ("4.02.01", No)],
    );
    // ICSA-19-094-01 (Omron): a date is not a version.
    check("<= 9.70", &[("9.70", Yes), ("9.5", Yes), ("9.71", No)]);
    check("<= January 2019", &[("2018.12", Unknown), ("9.0", Unknown)]);
    // ICSA-19-211-01 (Wind River).
    check(">=6.5", &[("6.9.4.11", Yes), ("6.4", No)]);
    check(
        ">=5.3|<=6.4",
        &[("6.3", Yes), ("5.3", Yes), ("6.9.4.11", No), ("5.2", No)],
    );
    check("<=2.x", &[("2.5", Yes), ("2", Yes), ("3.0", No)]);
    check(">=MCE_3.x_Cert_Edition", &[("3.0", Unknown)]);
    // ICSA-20-056-03 (Moxa), ICSA-22-277-02 (Hitachi Energy), ICSA-23-152-01 (Advantech).
    check("<= 4.0", &[("3.9", Yes), ("4.0", Yes), ("4.1", No)]);
    check("<= 2.2", &[("2.2", Yes), ("2.3", No)]);
    check("<= 9.1.3", &[("9.1.3", Yes), ("9.1.4", No)]);
    // ICSA-20-308-01 (WAGO): firmware numbers with an FW prefix.
    check(
        "< FW11",
        &[
            ("FW10", Yes),
            ("10", Yes),
            ("03.06.09(18)", Yes),
            ("FW11", No),
            ("12", No),
        ],
    );
    // ICSA-22-314-11 (Siemens SICAM Q100).
    check("< V2.50", &[("V2.40", Yes), ("V2.50", No), ("V2.60", No)]);
    // ICSA-23-082-05 (ABB): model names where versions belong.
    check(
        "H5692448 | G104 | G842 | G224L | G630-4 | G451C(2) | G461(2) | comcode 150047415",
        &[("1.0", Unknown)],
    );
    check("NE843_S comcode 150042936", &[("1.0", Unknown)]);
    // ICSA-23-131-15 (Rockwell): an exact version or a range.
    check(
        "13.0  | < 13.0.1",
        &[("13.0", Yes), ("12.5", Yes), ("13.0.1", No), ("13.1", No)],
    );
    // ICSA-23-243-04 (Digi): four-part and dash-build versions.
    check(
        "<= 4.8.488.0",
        &[("4.8.487.0", Yes), ("4.8.488.0", Yes), ("4.8.489", No)],
    );
    check("<= 1.9-40", &[("1.9-39", Yes), ("1.9-41", No)]);
    check("< 2.26.2.4", &[("2.26.2.3", Yes), ("2.26.2.4", No)]);
    // ICSA-24-011-05 (Schneider), ICSA-24-158-03 (Mitsubishi), ICSA-24-289-02 (Schneider).
    check("<v9.3.5", &[("V9.3.4", Yes), ("9.3.5", No)]);
    check("<=05", &[("05", Yes), ("5", Yes), ("06", No)]);
    check("<=8.1.1.3", &[("8.1.1.3", Yes), ("8.2", No)]);
    // ICSMA-17-255-01 (Philips): a letter-tagged scheme.
    check(
        "< B.06.18",
        &[("B.06.17", Yes), ("B.06.18", No), ("A.07.00", Unknown)],
    );
    // Unseen 2025 advisories: Schneider's SV prefix, WTI's "Firmware_".
    check(
        "vers:all/<SV4.30",
        &[("SV4.20", Yes), ("SV4.30", No), ("4.31", No)],
    );
    check("<SV4.02.01", &[("SV4.02.00", Yes), ("SV4.02.01", No)]);
    check(
        "<=Firmware_6.62",
        &[("6.58", Yes), ("FW6.62", Yes), ("8.06", No)],
    );
    // VA-24-254-02 (TopQuadrant): "0 < 8.0.1" is the interval from 0.
    check("0 < 8.0.1", &[("7.1.3", Yes), ("8.0.1", No)]);
}

#[test]
fn vers_uris() {
    // ICSA-23-166-08 (Siemens), ICSA-19-211-01, ICSA-23-243-04.
    check("vers:all/*", &[("V9.1", Yes), ("anything", Yes)]);
    check(
        "vers:all/<V5.7",
        &[("V5.6 SP2", Yes), ("V5.7", No), ("V5.7 SP1", No)],
    );
    check(
        "vers:generic/>=1.0.0|<2.0.0",
        &[("1.5", Yes), ("2.0.0", No), ("0.9", No)],
    );
    check("vers:semver/<1.0.0", &[("1.0.0-rc.1", Yes), ("1.0.0", No)]);
    check("vers:generic/!=1.2", &[("1.2", No), ("1.3", Yes)]);
    assert!(matches!(Range::parse("vers:"), Range::Unparsed(_)));
}

#[test]
fn cisa_free_text() {
    check(
        "All versions < V1.5 SP3 Update 2",
        &[
            ("V1.5 SP3 Update 1", Yes),
            ("V1.5 SP3", Yes),
            ("V1.5 SP2 Update 9", Yes),
            ("V1.5 SP3 Update 2", No),
            ("V1.6", No),
        ],
    );
    check("prior to 4.1", &[("4.0.9", Yes), ("4.1", No)]);
    check("all versions prior to V4.1", &[("4.0", Yes), ("4.1", No)]);
    check("4.0 and earlier", &[("4.0", Yes), ("4.0.1", No)]);
    check("4.1 and later", &[("4.1", Yes), ("4.0", No)]);
    check("versions before 2.0", &[("1.9", Yes), ("2.0", No)]);
    check("up to 3.2", &[("3.2", Yes), ("3.3", No)]);
    check(
        "1.0 to 2.0",
        &[("1.5", Yes), ("2.0", Yes), ("2.1", No), ("0.9", No)],
    );
    // VA-24-201-01 (Adminer).
    check("all versions", &[("4.8.1", Yes)]);
    check("All Versions", &[("1", Yes)]);
}

#[test]
fn exact_versions() {
    let r = Range::exact("6.9.4.11");
    assert_eq!(r.contains("6.9.4.11"), Yes);
    assert_eq!(r.contains("6.9.4.1"), No);
    // ICSA-19-211-01: a product_version that is not a version matches only itself.
    let r = Range::exact("MCE_3.x");
    assert_eq!(r.contains("MCE_3.x"), Yes);
    assert_eq!(r.contains("3.0"), Unknown);
    assert!(Range::exact("vers:all/*").is_all());
}

#[test]
fn semver_outside_is_rustsec_affected() {
    // RUSTSEC-2025-0023 (tokio): patched and unaffected requirements.
    let reqs = [
        ">= 1.38.2, < 1.39.0",
        ">= 1.42.1, < 1.43.0",
        ">= 1.43.1, < 1.44.0",
        ">= 1.44.2",
        "< 0.2.5",
    ]
    .iter()
    .map(|r| semver::VersionReq::parse(r).unwrap())
    .collect();
    let r = Range::SemverOutside(reqs);
    assert_eq!(r.contains("1.54.1"), No);
    assert_eq!(r.contains("1.38.1"), Yes);
    assert_eq!(r.contains("1.42.0"), Yes);
    assert_eq!(r.contains("0.2.4"), No);
    assert_eq!(r.contains("not-semver"), Unknown);
}

#[test]
fn hostile_text_is_unparsed_not_a_panic() {
    for text in [
        "",
        "|||",
        "<",
        ">=",
        "vers:x",
        "≤",
        "a≤b",
        &"9".repeat(400),
        "99999999999999999999999",
        "<= ¥",
    ] {
        let r = Range::parse(text);
        let _ = r.contains("1.0");
        let _ = r.contains(text);
        let _ = r.to_string();
    }
}

#[test]
fn wildcards_that_break_transitivity_do_not_panic_the_sort() {
    // 2.5 < 2.6, but 2.x equals both: no total order. The sort must neither panic nor
    // claim an answer it cannot give.
    let mut bounds = Vec::new();
    for i in 0..40 {
        bounds.push(format!(">={}.{}", 2, i % 7));
        bounds.push("<=2.x".to_owned());
        bounds.push(format!("<{}.{}", 2 + i % 3, i % 5));
        bounds.push(">2.x".to_owned());
    }
    let range = Range::Constraints(
        bounds
            .iter()
            .map(|b| match Range::parse(b) {
                Range::Constraints(mut c) => c.remove(0),
                other => panic!("{b}: {other:?}"),
            })
            .collect(),
    );
    for version in ["2.5", "2.x", "3.0", "1.0", "B.1"] {
        let _ = range.contains(version);
    }
    let many: Vec<Constraint> = (0..600)
        .map(|i| match Range::parse(&format!(">={i}")) {
            Range::Constraints(mut c) => c.remove(0),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(Range::Constraints(many).contains("5"), Unknown);
}

#[test]
fn random_ranges_and_versions_never_panic() {
    // A deterministic xorshift generator over the pieces version text is made of: a cheap
    // stand-in for the fuzz target `vuln_version_range` that runs with every `cargo test`.
    const PIECES: &[&str] = &[
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "!=",
        "|",
        " ",
        ".",
        "-",
        "_",
        "x",
        "*",
        "V",
        "R",
        "FW",
        "SP",
        "Update",
        "B.",
        "rc",
        "alpha",
        "0",
        "1",
        "2",
        "05",
        "10",
        "99999999999999999999",
        "all versions",
        "prior to ",
        " and later",
        "vers:generic/",
        "vers:",
        "≤",
        "é",
        "(",
        ")",
        " < ",
        " to ",
        "+",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // The low bits are enough for indexes and lengths here.
        usize::from(u16::try_from(state & 0xFFFF).unwrap_or(0))
    };
    let mut text = |n: usize| -> String {
        let len = next() % n;
        (0..len).map(|_| PIECES[next() % PIECES.len()]).collect()
    };
    for _ in 0..20_000 {
        let range = Range::parse(&text(12));
        let version = text(6);
        let first = range.contains(&version);
        assert_eq!(range.contains(&version), first, "{range:?} {version:?}");
        let _ = range.to_string();
        let _ = Range::exact(&version).contains(&text(6));
    }
}

#[test]
fn release_lines_split_bounds_by_their_leading_numbers() {
    let bounds: Vec<Version> = ["V33.017", "V34.014", "V35.013", "V36.011"]
        .iter()
        .map(|t| Version::parse(t).unwrap())
        .collect();
    let refs: Vec<&Version> = bounds.iter().collect();
    let lines = ReleaseLines::of(&refs).unwrap();
    let line = |text: &str| lines.line_of(&Version::parse(text).unwrap());
    assert_eq!(line("34.015"), Some(1));
    assert_eq!(line("V36.2"), Some(3));
    assert_eq!(line("32.011"), None);
    assert_eq!(line("37.1"), None);
    assert_eq!(lines.describe(1), "34.x");
    // Lines told apart by two numbers: 2.3, 2.4 and 3.0.
    let bounds: Vec<Version> = ["2.3.5", "2.4.2", "3.0.1"]
        .iter()
        .map(|t| Version::parse(t).unwrap())
        .collect();
    let refs: Vec<&Version> = bounds.iter().collect();
    let lines = ReleaseLines::of(&refs).unwrap();
    assert_eq!(lines.line_of(&Version::parse("2.4.1").unwrap()), Some(1));
    assert_eq!(lines.line_of(&Version::parse("2.5.0").unwrap()), None);
    assert_eq!(lines.describe(2), "3.0.x");
    // Not lines: one bound; bounds with nothing below their line (`<34`, `<35`); two bounds
    // in one line; bounds of different schemes.
    for set in [
        &["V34.014"][..],
        &["34", "35"],
        &["2.3.5", "2.3.9"],
        &["B.06.18", "C.07.1"],
    ] {
        let bounds: Vec<Version> = set.iter().map(|t| Version::parse(t).unwrap()).collect();
        let refs: Vec<&Version> = bounds.iter().collect();
        assert_eq!(ReleaseLines::of(&refs), None, "{set:?}");
    }
}

#[test]
fn an_upper_bound_is_a_range_of_one_less_than() {
    assert_eq!(
        Range::parse("<V34.014").upper_bound().map(Version::as_str),
        Some("V34.014")
    );
    assert!(Range::parse("<= 2.3").upper_bound().is_some());
    for text in [
        ">= 2.0 | < 3.0",
        "vers:all/*",
        "= 2.0",
        "< 2.x",
        "prior to January",
    ] {
        assert_eq!(Range::parse(text).upper_bound(), None, "{text}");
    }
}
