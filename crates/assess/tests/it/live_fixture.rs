//! The live checks against a realistic config report of a gateway on its default
//! configuration, and Rampart's own profile against what they find.

use rampart_assess::live::{Effect, Outcome};
use rampart_assess::{Options, Status, assess, contradictions};
use rampart_catalog::{Catalog, Fr};

use crate::util::{fixture_live, now, profile};

/// Rampart's catalog, no SL-T override, no waivers: `profile` with `live` evidence, if any.
fn assess_with(
    profile: &rampart_assess::Profile,
    live: Option<&rampart_assess::live::LiveEvaluation>,
) -> rampart_assess::Assessment {
    assess(
        Catalog::builtin(),
        profile,
        &Options {
            sl_t: None,
            waivers: None,
            live,
            now: now(),
        },
    )
}

fn outcome(check: &str) -> Outcome {
    fixture_live()
        .findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no check {check}"))
        .outcome
}

#[test]
fn the_default_configuration_is_decided_setting_by_setting() {
    // MFA is not required for everyone by default: the MFA RE is not met.
    assert_eq!(outcome("mfa-for-all"), Outcome::Fail);
    assert_eq!(outcome("password-history"), Outcome::Fail);
    assert_eq!(outcome("password-min-lifetime"), Outcome::Fail);
    assert_eq!(outcome("password-max-lifetime"), Outcome::Fail);
    assert_eq!(outcome("dual-approval"), Outcome::Fail);
    // No baseline and no advisory data on a fresh gateway: noted, nothing decided.
    assert_eq!(outcome("ids-baseline"), Outcome::Fail);
    assert_eq!(
        outcome("inventory-checked-for-vulnerabilities"),
        Outcome::Fail
    );
    assert_eq!(outcome("no-open-vulnerabilities"), Outcome::Pass);
    // Secrets are sealed, under a software KEK: the hardware REs are not met.
    assert_eq!(outcome("secrets-encrypted-at-rest"), Outcome::Pass);
    assert_eq!(outcome("secrets-sealed-with-cryptography"), Outcome::Pass);
    for check in [
        "hardware-kek-process-authenticators",
        "hardware-kek-private-keys",
        "hardware-kek-symmetric-keys",
        "hardware-tls-key",
        "hardware-device-key",
    ] {
        assert_eq!(outcome(check), Outcome::Fail, "{check}");
    }
    for check in [
        "device-authentication",
        "cipher-suites",
        "default-deny",
        "fail-close",
        "audit-chain",
        "device-key-signs",
        "settings-report",
        "plain-listener",
        "lockout",
        // Access from untrusted networks is held until approved (NDR 1.13 RE 1).
        "untrusted-access-approval",
        "untrusted-networks-exist",
        // A chassis intrusion alarm is watched, and a tamper closes traffic (NDR 3.11).
        "tamper-sensors",
        "tamper-notification",
    ] {
        assert_eq!(outcome(check), Outcome::Pass, "{check}");
    }
    // No check reads a setting the gateway does not report.
    let unknown: Vec<String> = fixture_live()
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Unknown)
        .map(|f| f.check.clone())
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");
}

#[test]
fn untrusted_access_allow_makes_ndr_1_13_re_1_not_met() {
    let path = crate::util::repo_file("crates/assess/tests/fixtures/config-report.json");
    let original = std::fs::read_to_string(path).unwrap();
    for (from, to, check) in [
        (
            r#""id": "management.untrusted_access", "value": "approve""#,
            r#""id": "management.untrusted_access", "value": "allow""#,
            "untrusted-access-approval",
        ),
        (
            r#""id": "management.trusted_any_source", "value": false"#,
            r#""id": "management.trusted_any_source", "value": true"#,
            "untrusted-networks-exist",
        ),
    ] {
        assert!(original.contains(from));
        let text = original.replace(from, to);
        let report = rampart_assess::live::ConfigReport::parse(&text, "r").unwrap();
        let live = rampart_assess::live::LiveChecks::builtin().evaluate(&report, "r");
        let finding = live.findings.iter().find(|f| f.check == check).unwrap();
        assert_eq!(
            (finding.outcome, finding.effect),
            (Outcome::Fail, Effect::NotMet)
        );
        let a = assess_with(&profile("profiles/rampart-gateway.toml"), Some(&live));
        let ndr = a
            .requirements
            .iter()
            .find(|r| r.id.to_string() == "NDR 1.13 RE 1")
            .unwrap();
        assert_eq!(ndr.status, Status::NotMet, "{check}");
    }
    let deny = original.replace(
        r#""id": "management.untrusted_access", "value": "approve""#,
        r#""id": "management.untrusted_access", "value": "deny""#,
    );
    let report = rampart_assess::live::ConfigReport::parse(&deny, "r").unwrap();
    let live = rampart_assess::live::LiveChecks::builtin().evaluate(&report, "r");
    let finding = live
        .findings
        .iter()
        .find(|f| f.check == "untrusted-access-approval")
        .unwrap();
    assert_eq!(finding.outcome, Outcome::Pass, "deny meets it too");
}

#[test]
fn a_plain_listener_is_noted_under_least_functionality() {
    let path = crate::util::repo_file("crates/assess/tests/fixtures/config-report.json");
    let text = std::fs::read_to_string(path).unwrap().replace(
        r#""id": "modbus_plain.enabled", "value": false"#,
        r#""id": "modbus_plain.enabled", "value": true"#,
    );
    let report = rampart_assess::live::ConfigReport::parse(&text, "r").unwrap();
    let live = rampart_assess::live::LiveChecks::builtin().evaluate(&report, "r");
    let finding = live
        .findings
        .iter()
        .find(|f| f.check == "plain-listener")
        .unwrap();
    assert_eq!(
        (finding.outcome, finding.effect),
        (Outcome::Fail, Effect::Note)
    );
    let a = assess_with(&profile("profiles/rampart-gateway.toml"), Some(&live));
    let cr77 = a
        .requirements
        .iter()
        .find(|r| r.id.to_string() == "CR 7.7")
        .unwrap();
    assert_eq!(
        cr77.status,
        Status::Met,
        "a note does not change the status"
    );
    assert!(
        cr77.live
            .iter()
            .any(|f| f.check == "plain-listener" && f.outcome == Outcome::Fail)
    );
}

/// The claims of Rampart's profile that hold only in a configuration other than the embedded
/// default (SL-C is the capability when properly configured): their notes begin with "Met
/// when configured:" and name the setting.
fn configuration_dependent(profile: &rampart_assess::Profile) -> Vec<String> {
    profile
        .claims()
        .filter(|(_, claim)| claim.needs_configuration())
        .map(|(id, _)| id.to_string())
        .collect()
}

#[test]
fn rampart_profile_claims_agree_with_the_live_checks() {
    let profile = profile("profiles/rampart-gateway.toml");
    let live = fixture_live();
    let declared = configuration_dependent(&profile);
    // On the default configuration, the live checks contradict exactly the claims that say
    // which configuration they need, and every one of those.
    let mut contradicted: Vec<String> = contradictions(&profile, &live)
        .iter()
        .map(|f| f.requirement.to_string())
        .collect();
    contradicted.sort();
    contradicted.dedup();
    let mut expected = declared.clone();
    expected.sort();
    assert_eq!(
        contradicted, expected,
        "a claim the default gateway contradicts must say \"Met when configured: …\""
    );
    // Apart from those, the live evidence changes no SL-C: the profile is honest about the
    // default configuration.
    let text =
        std::fs::read_to_string(crate::util::repo_file("profiles/rampart-gateway.toml")).unwrap();
    let mut as_default = text.clone();
    for id in &declared {
        let header = format!("[requirement.\"{id}\"]\nstatus = \"met\"");
        assert!(as_default.contains(&header), "{id}");
        as_default = as_default.replace(
            &header,
            &format!("[requirement.\"{id}\"]\nstatus = \"not-met\""),
        );
    }
    let profile =
        rampart_assess::Profile::parse(&as_default, "p.toml", Catalog::builtin()).unwrap();
    let without = assess_with(&profile, None);
    let with = assess_with(&profile, Some(&live));
    assert_eq!(without.sl_c, with.sl_c);
    assert_eq!(
        with.live.as_ref().unwrap().component.component_type.code(),
        "NDR"
    );
}

#[test]
fn a_contradicted_claim_is_found_and_becomes_not_met() {
    let text = std::fs::read_to_string(crate::util::repo_file("profiles/rampart-gateway.toml"))
        .unwrap()
        .replace(
            "[requirement.\"CR 1.1 RE 2\"]\nstatus = \"partial\"",
            "[requirement.\"CR 1.1 RE 2\"]\nstatus = \"met\"",
        );
    let profile = rampart_assess::Profile::parse(&text, "p.toml", Catalog::builtin()).unwrap();
    let live = fixture_live();
    let contradicted = contradictions(&profile, &live);
    assert!(
        contradicted
            .iter()
            .any(|f| f.requirement.to_string() == "CR 1.1 RE 2")
    );
    let a = assess(
        Catalog::builtin(),
        &profile,
        &Options {
            sl_t: Some("3".parse().unwrap()),
            waivers: None,
            live: Some(&live),
            now: now(),
        },
    );
    let gap = a
        .gaps
        .iter()
        .find(|g| g.id.to_string() == "CR 1.1 RE 2")
        .unwrap();
    assert_eq!(
        (gap.fr, gap.level, gap.status),
        (Fr::Iac, 3, Status::NotMet)
    );
    assert!(
        gap.reason.contains("identity.mfa.required_for_all = false"),
        "{}",
        gap.reason
    );
}
