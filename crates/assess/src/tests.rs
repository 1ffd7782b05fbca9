//! Unit tests of the SL-C rule, the profile checks and waivers on a small hand-made catalog,
//! so that each expected vector can be worked out by hand.

use std::fmt::Write as _;

use jiff::Timestamp;
use rampart_catalog::{Catalog, Fr};

use crate::live::{LiveChecks, LiveEvaluation};
use crate::{Assessment, Options, Profile, SlVector, Status, Waivers, assess};

/// FR1: CR 1.1 (SL 1-4) with RE 1 (2-4) and RE 2 (3-4), CR 1.2 (2-4), NDR 1.6 (1-4, NDR);
/// FR2: CR 2.1 (1-4) with RE 1 (2-4); FR3: CR 3.1 (1-4); CCSC 1. FR4..FR7 are empty, so
/// their SL-C is 4 whatever the profile says.
const CATALOG: &str = r#"
[catalog]
standard = "test"
edition = "test"
version = "0"
revised = "2026-01-01T00:00:00Z"

[[requirement]]
id = "CCSC 1"
kind = "CCSC"
component_types = ["ALL"]
title = "Essential functions"
sl = [1, 2, 3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "CR 1.1"
kind = "CR"
fr = "FR1"
component_types = ["ALL"]
title = "Human user identification and authentication"
sl = [1, 2, 3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "CR 1.1 RE 1"
kind = "RE"
fr = "FR1"
parent = "CR 1.1"
component_types = ["ALL"]
title = "Unique identification"
sl = [2, 3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "CR 1.1 RE 2"
kind = "RE"
fr = "FR1"
parent = "CR 1.1"
component_types = ["ALL"]
title = "Multifactor authentication"
sl = [3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "CR 1.2"
kind = "CR"
fr = "FR1"
component_types = ["ALL"]
title = "Device identification"
sl = [2, 3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "NDR 1.6"
kind = "CR"
fr = "FR1"
component_types = ["NDR"]
title = "Wireless access management"
sl = [1, 2, 3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "CR 2.1"
kind = "CR"
fr = "FR2"
component_types = ["ALL"]
title = "Authorization enforcement"
sl = [1, 2, 3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "CR 2.1 RE 1"
kind = "RE"
fr = "FR2"
parent = "CR 2.1"
component_types = ["ALL"]
title = "Authorization for all users"
sl = [2, 3, 4]
summary = "S."
confidence = "high"

[[requirement]]
id = "CR 3.1"
kind = "CR"
fr = "FR3"
component_types = ["ALL"]
title = "Communication integrity"
sl = [1, 2, 3, 4]
summary = "S."
confidence = "high"
"#;

fn catalog() -> Catalog {
    Catalog::from_toml(CATALOG).unwrap()
}

fn now() -> Timestamp {
    "2026-11-28T07:00:00Z".parse().unwrap()
}

/// A profile of an EDR (so NDR 1.6 does not apply) with SL-T `sl_t` and `entries`.
fn profile_text(component_type: &str, sl_t: &str, entries: &str) -> String {
    format!(
        "format = 1\n\n[component]\nvendor = \"V\"\nproduct = \"P\"\nversion = \"1\"\ntype = \"{component_type}\"\n\n\
         [target]\nsl_t = {sl_t}\n\n{entries}"
    )
}

fn run(component_type: &str, sl_t: &str, entries: &str) -> Assessment {
    let catalog = catalog();
    let profile = Profile::parse(
        &profile_text(component_type, sl_t, entries),
        "p.toml",
        &catalog,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assess(
        &catalog,
        &profile,
        &Options {
            sl_t: None,
            waivers: None,
            live: None,
            now: now(),
        },
    )
}

fn reject(entries: &str) -> String {
    Profile::parse(&profile_text("EDR", "2", entries), "p.toml", &catalog())
        .unwrap_err()
        .to_string()
}

fn met(ids: &[&str]) -> String {
    let mut out = String::new();
    for id in ids {
        let _ = writeln!(out, "[requirement.\"{id}\"]\nstatus = \"met\"");
    }
    out
}

fn gap_ids(a: &Assessment) -> Vec<String> {
    a.gaps.iter().map(|g| g.id.to_string()).collect()
}

#[test]
fn everything_met_reaches_four_everywhere() {
    let a = run(
        "EDR",
        "3",
        &met(&[
            "CR 1.1",
            "CR 1.1 RE 1",
            "CR 1.1 RE 2",
            "CR 1.2",
            "CR 2.1",
            "CR 2.1 RE 1",
            "CR 3.1",
            "CCSC 1",
        ]),
    );
    assert_eq!(a.sl_c, SlVector::uniform(4).unwrap());
    assert!(a.passed);
    assert!(a.gaps.is_empty());
}

#[test]
fn an_empty_profile_reaches_nothing_where_the_fr_has_requirements() {
    let a = run("EDR", "1", "");
    assert_eq!(a.sl_c.levels(), [0, 0, 0, 4, 4, 4, 4]);
    assert_eq!(gap_ids(&a), ["CR 1.1", "CR 2.1", "CR 3.1"]);
    assert!(a.gaps.iter().all(|g| g.reason == "absent from the profile"));
    // An absent requirement is anchored at the [component] table.
    assert_eq!(a.gaps[0].location, a.profile.component_location);
    assert_eq!(a.gaps[0].location.line, 3);
}

#[test]
fn sl_c_stops_at_the_first_level_with_a_requirement_not_met() {
    // FR1: CR 1.1, RE 1 and CR 1.2 met, RE 2 (SL 3) not: SL-C 2.
    let mut entries = met(&["CR 1.1", "CR 1.1 RE 1", "CR 1.2", "CR 2.1", "CR 3.1"]);
    entries.push_str("[requirement.\"CR 1.1 RE 2\"]\nstatus = \"partial\"\n");
    let a = run("EDR", "3", &entries);
    assert_eq!(a.sl_c.get(Fr::Iac), 2);
    // FR2: RE 1 (SL 2) absent: SL-C 1.
    assert_eq!(a.sl_c.get(Fr::Uc), 1);
    assert_eq!(a.sl_c.get(Fr::Si), 4);
    assert_eq!(
        gap_ids(&a),
        ["CR 2.1 RE 1", "CR 1.1 RE 2"]
            .iter()
            .rev()
            .copied()
            .collect::<Vec<_>>()
    );
    let re2 = &a.gaps[0];
    assert_eq!(
        (re2.fr, re2.level, re2.status),
        (Fr::Iac, 3, Status::Partial)
    );
}

#[test]
fn an_re_met_without_its_base_met_does_not_count() {
    let mut entries = met(&["CR 1.1 RE 1", "CR 1.2", "CR 2.1", "CR 3.1"]);
    entries.push_str("[requirement.\"CR 1.1\"]\nstatus = \"not-met\"\n");
    let a = run("EDR", "2", &entries);
    assert_eq!(a.sl_c.get(Fr::Iac), 0);
    let re1 = a
        .requirements
        .iter()
        .find(|r| r.id.to_string() == "CR 1.1 RE 1")
        .unwrap();
    assert_eq!(re1.status, Status::Met);
    assert!(!re1.counts);
    assert_eq!(
        re1.reason.as_deref(),
        Some("its base requirement CR 1.1 does not count")
    );
    assert_eq!(gap_ids(&a), ["CR 1.1", "CR 1.1 RE 1", "CR 2.1 RE 1"]);
}

#[test]
fn not_applicable_with_justification_counts() {
    let mut entries = met(&[
        "CR 1.1",
        "CR 1.1 RE 1",
        "CR 1.1 RE 2",
        "CR 2.1",
        "CR 2.1 RE 1",
        "CR 3.1",
    ]);
    entries.push_str(
        "[requirement.\"CR 1.2\"]\nstatus = \"not-applicable\"\njustification = \"no software processes or devices connect\"\n",
    );
    let a = run("EDR", "4", &entries);
    assert_eq!(a.sl_c.levels(), [4; 7]);
    assert!(a.passed);
}

#[test]
fn compensated_counts_only_with_countermeasures() {
    let mut entries = met(&[
        "CR 1.1",
        "CR 1.1 RE 1",
        "CR 1.1 RE 2",
        "CR 2.1",
        "CR 2.1 RE 1",
        "CR 3.1",
    ]);
    entries.push_str(
        "[requirement.\"CR 1.2\"]\nstatus = \"compensated\"\ncountermeasure = \"device authentication by the upstream firewall\"\n",
    );
    let a = run("EDR", "2", &entries);
    assert_eq!(
        a.sl_c.get(Fr::Iac),
        1,
        "a countermeasure is not the component's capability"
    );
    assert_eq!(a.sl_c_with_countermeasures.get(Fr::Iac), 4);
    assert_eq!(gap_ids(&a), ["CR 1.2"]);
    assert!(!a.passed);
}

#[test]
fn an_sl_t_vector_with_mixed_levels_asks_per_fr() {
    // SL-T {3 1 0 ...}: FR1 needs RE 2, FR2 only CR 2.1, FR3 nothing.
    let entries = met(&["CR 1.1", "CR 1.1 RE 1", "CR 1.2", "CR 2.1"]);
    let a = run("EDR", "[3, 1, 0, 2, 2, 2, 2]", &entries);
    assert_eq!(a.sl_c.levels(), [2, 1, 0, 4, 4, 4, 4]);
    assert_eq!(gap_ids(&a), ["CR 1.1 RE 2"]);
    assert_eq!(a.gaps[0].level, 3);
    // Without the FR3 target, CR 3.1 is not a gap even though SL-C of FR3 is 0.
    assert!(!a.passed);
    let a = run("EDR", "[2, 1, 0, 2, 2, 2, 2]", &entries);
    assert!(a.passed, "{:?}", gap_ids(&a));
}

#[test]
fn the_command_line_sl_t_overrides_the_profile() {
    let catalog = catalog();
    let profile = Profile::parse(
        &profile_text("EDR", "4", &met(&["CR 1.1", "CR 2.1", "CR 3.1"])),
        "p",
        &catalog,
    )
    .unwrap();
    let a = assess(
        &catalog,
        &profile,
        &Options {
            sl_t: Some("1,1,1,1,1,1,1".parse().unwrap()),
            waivers: None,
            live: None,
            now: now(),
        },
    );
    assert!(a.passed);
    assert_eq!(a.sl_t, SlVector::uniform(1).unwrap());
}

#[test]
fn component_specific_requirements_apply_only_to_their_type() {
    let entries = met(&["CR 1.1", "CR 2.1", "CR 3.1"]);
    assert_eq!(run("EDR", "1", &entries).sl_c.get(Fr::Iac), 1);
    let ndr = run("NDR", "1", &entries);
    assert_eq!(ndr.sl_c.get(Fr::Iac), 0);
    assert_eq!(gap_ids(&ndr), ["NDR 1.6"]);
    let message = reject(&met(&["NDR 1.6"]));
    assert!(
        message.contains("applies to NDR components, not to this EDR"),
        "{message}"
    );
}

#[test]
fn profile_mistakes_are_rejected_with_the_place() {
    for (entries, expected) in [
        (
            "[requirement.\"CR 1.9\"]\nstatus = \"met\"\n",
            "p.toml:12:14: requirement.\"CR 1.9\": unknown requirement id 'CR 1.9'",
        ),
        (
            "[requirement.\"CR 1.10\"]\nstatus = \"met\"\n",
            "unknown requirement id 'CR 1.10'; did you mean 'CR 1.1'?",
        ),
        (
            "[requirement.\"CR 1.1 RE 1\"]\nstatus = \"met\"\n",
            "p.toml:12:14: requirement \"CR 1.1 RE 1\" is claimed met but its base requirement \"CR 1.1\" is not in the profile",
        ),
        (
            "[requirement.\"CR 1.2\"]\nstatus = \"not-applicable\"\n",
            "is not-applicable without a justification",
        ),
        (
            "[requirement.\"CR 1.2\"]\nstatus = \"not-applicable\"\njustification = \"  \"\n",
            "without a justification",
        ),
        (
            "[requirement.\"CR 1.2\"]\nstatus = \"compensated\"\n",
            "compensated without a countermeasure",
        ),
        (
            "[requirement.\"CR 1.2\"]\nstatus = \"done\"\n",
            "p.toml:13:10: unknown variant `done`",
        ),
        (
            "[requirement.\"CR 1.2\"]\nstatus = \"met\"\nevidence = [{ file = \"a\", url = \"https://b\" }]\n",
            "exactly one non-empty key",
        ),
        (
            "[requirement.\"CR 1.2\"]\nstatus = \"met\"\nevidense = []\n",
            "unknown field `evidense`",
        ),
        (
            "[requirement.\"CR 1.2\"]\nstatus = \"met\"\n[requirement.\"cr 1.2\"]\nstatus = \"met\"\n",
            "listed twice",
        ),
    ] {
        let message = reject(entries);
        assert!(message.contains(expected), "{entries:?}: {message}");
    }
    // An RE that is not claimed (not-met) without its base is fine.
    run(
        "EDR",
        "1",
        "[requirement.\"CR 1.1 RE 1\"]\nstatus = \"not-met\"\n",
    );
}

#[test]
fn bad_sl_t_and_format_are_rejected() {
    let catalog = catalog();
    for (sl_t, expected) in [
        ("5", "SL 5 is out of range"),
        ("[1, 2, 3]", "has 3"),
        ("\"high\"", "a level 0..4"),
    ] {
        let message = Profile::parse(&profile_text("EDR", sl_t, ""), "p.toml", &catalog)
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{sl_t}: {message}");
        assert!(message.starts_with("p.toml:10:"), "{message}");
    }
    let message = Profile::parse(
        &profile_text("EDR", "1", "").replace("format = 1", "format = 2"),
        "p.toml",
        &catalog,
    )
    .unwrap_err()
    .to_string();
    assert!(message.starts_with("p.toml:1:10: format: 2"), "{message}");
}

#[test]
fn sl_vectors_parse_from_the_command_line() {
    assert_eq!("2".parse::<SlVector>().unwrap().levels(), [2; 7]);
    assert_eq!(
        "3,3,2,2,3,2,2".parse::<SlVector>().unwrap().levels(),
        [3, 3, 2, 2, 3, 2, 2]
    );
    assert_eq!(
        "{3 3 2 2 3 2 2}".parse::<SlVector>().unwrap().to_string(),
        "{3 3 2 2 3 2 2}"
    );
    for bad in ["", "5", "1,2", "1,2,3,4,5,6,7,8", "a"] {
        assert!(bad.parse::<SlVector>().is_err(), "{bad}");
    }
    let json = serde_json::to_value("1,2,3,4,0,1,2".parse::<SlVector>().unwrap()).unwrap();
    assert_eq!(json["FR3"], 3);
    assert_eq!(json["FR5"], 0);
}

#[test]
fn waivers_move_gaps_until_they_expire() {
    let catalog = catalog();
    let profile = Profile::parse(
        &profile_text("EDR", "1", &met(&["CR 1.1", "CR 2.1"])),
        "p",
        &catalog,
    )
    .unwrap();
    let waivers = Waivers::parse(
        "format = 1\n[waiver.\"CR 3.1\"]\njustification = \"TLS lands in 1.1\"\nexpires = 2026-12-31\n",
        "w.toml",
        &catalog,
    )
    .unwrap();
    let at = |now: &str| {
        assess(
            &catalog,
            &profile,
            &Options {
                sl_t: None,
                waivers: Some(&waivers),
                live: None,
                now: now.parse().unwrap(),
            },
        )
    };
    let a = at("2026-12-31T23:00:00Z");
    assert!(a.passed);
    assert!(a.gaps.is_empty());
    assert_eq!(a.waived.len(), 1);
    assert_eq!(a.sl_c.get(Fr::Si), 0, "a waived gap is not met");
    let a = at("2027-01-01T00:00:00Z");
    assert!(!a.passed);
    assert_eq!(gap_ids(&a), ["CR 3.1"]);
    assert!(a.gaps[0].waiver.as_ref().unwrap().expired);
}

#[test]
fn malformed_waivers_name_the_line() {
    let catalog = catalog();
    for (text, expected) in [
        (
            "format = 1\n[waiver.\"CR 3.1\"]\nexpires = 2026-12-31\n",
            "w.toml:2:1: missing field `justification`",
        ),
        (
            "format = 1\n[waiver.\"CR 3.1\"]\njustification = \"x\"\nexpires = \"soon\"\n",
            "w.toml:4:11:",
        ),
        (
            "format = 1\n[waiver.\"CR 3.1\"]\njustification = \"x\"\nexpires = 2026-12-31T10:00:00Z\n",
            "expires must be a date",
        ),
        (
            "format = 1\n[waiver.\"CR 7.9\"]\njustification = \"x\"\nexpires = 2026-12-31\n",
            "w.toml:2:9: waiver.\"CR 7.9\": unknown requirement id",
        ),
        (
            "format = 1\n[waiver.\"CR 3.1\"]\njustification = \"\"\nexpires = 2026-12-31\n",
            "justification must not be empty",
        ),
        ("format = 1\n[waiver.\"CR 3.1\"\n", "w.toml:2:"),
    ] {
        let message = Waivers::parse(text, "w.toml", &catalog)
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}

#[test]
fn builtin_live_checks_are_valid() {
    let checks = LiveChecks::builtin();
    assert!(checks.checks().len() >= 30);
    // Every check decides a requirement that applies to a network device.
    for check in checks.checks() {
        let r = Catalog::builtin().get(check.requirement).unwrap();
        assert!(
            r.applies_to(rampart_catalog::ComponentType::Ndr),
            "{}",
            check.id
        );
    }
}

#[test]
fn a_failing_live_check_overrides_a_met_claim() {
    let catalog = catalog();
    let checks = LiveChecks::parse(
        "format = 1\n[[check]]\nid = \"mfa\"\nrequirement = \"CR 1.1 RE 2\"\nsetting = \"identity.mfa.required_for_all\"\n\
         expect = { equals = true }\neffect = \"not-met\"\nmessage = \"MFA is off\"\n",
        "checks",
        &catalog,
    )
    .unwrap();
    let report = crate::live::ConfigReport::parse(
        r#"{"schema_version":1,"generated_at":"2026-11-28T07:00:00Z",
            "component":{"vendor":"V","product":"P","version":"1","type":"EDR"},
            "settings":[{"id":"identity.mfa.required_for_all","value":false}],"self_tests":[]}"#,
        "report",
    )
    .unwrap();
    let live: LiveEvaluation = checks.evaluate(&report, "https://gw");
    let profile = Profile::parse(
        &profile_text(
            "EDR",
            "3",
            &met(&[
                "CR 1.1",
                "CR 1.1 RE 1",
                "CR 1.1 RE 2",
                "CR 1.2",
                "CR 2.1",
                "CR 2.1 RE 1",
                "CR 3.1",
            ]),
        ),
        "p",
        &catalog,
    )
    .unwrap();
    let a = assess(
        &catalog,
        &profile,
        &Options {
            sl_t: None,
            waivers: None,
            live: Some(&live),
            now: now(),
        },
    );
    assert_eq!(a.sl_c.get(Fr::Iac), 2);
    assert_eq!(gap_ids(&a), ["CR 1.1 RE 2"]);
    assert!(
        a.gaps[0].reason.starts_with("live: MFA is off"),
        "{}",
        a.gaps[0].reason
    );
    let contradicted = crate::contradictions(&profile, &live);
    assert_eq!(contradicted.len(), 1);
    assert_eq!(contradicted[0].check, "mfa");
}
