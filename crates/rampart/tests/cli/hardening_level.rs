//! The hardening level (issue: defaults for SL 2 and beyond as one switch): `[hardening] level`
//! changes what is in force, and the configuration report says so (CR 7.6 RE 1).

use serde_json::Value;

use crate::util::{ok, rampart, stderr};

fn setting(report: &Value, id: &str) -> Value {
    report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from the report"))["value"]
        .clone()
}

#[test]
fn the_configuration_report_shows_the_hardening_level_and_what_it_turns_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    ok(&["user", "list", "--data", data]);
    let report = |config: Option<&str>| -> Value {
        let mut args = vec!["config-report", "--data", data, "--format", "json"];
        let path = dir.path().join("gateway.toml");
        if let Some(text) = config {
            std::fs::write(&path, text).unwrap();
            args.extend(["--config", path.to_str().unwrap()]);
        }
        serde_json::from_str(&ok(&args)).unwrap()
    };
    let default = report(None);
    assert_eq!(setting(&default, "hardening.level"), 1);
    assert_eq!(
        setting(&default, "identity.approvals.required_for"),
        serde_json::json!([])
    );
    assert_eq!(
        setting(&default, "identity.approvals.always"),
        serde_json::json!(["vault.erase"]),
        "erasing the component needs dual approval at every level"
    );
    let hardened = report(Some("[hardening]\nlevel = 2\n"));
    assert_eq!(setting(&hardened, "hardening.level"), 2);
    let approvals = setting(&hardened, "identity.approvals.required_for");
    for p in [
        "policy.apply",
        "user.remove",
        "backup.restore",
        "update.install",
    ] {
        assert!(
            approvals.as_array().unwrap().iter().any(|a| a == p),
            "{approvals}"
        );
    }
    let mfa = setting(&hardened, "identity.mfa.required_for_permissions");
    assert!(
        mfa.as_array().unwrap().iter().any(|a| a == "user.manage"),
        "{mfa}"
    );
    assert_eq!(setting(&hardened, "identity.mfa.required_for_all"), false);
    let strict = report(Some("[hardening]\nlevel = 3\n"));
    assert_eq!(setting(&strict, "identity.mfa.required_for_all"), true);
    // Outside 1 to 4 is bad input, named at its line.
    std::fs::write(dir.path().join("bad.toml"), "[hardening]\nlevel = 7\n").unwrap();
    let bad = rampart(&[
        "config-report",
        "--data",
        data,
        "--config",
        dir.path().join("bad.toml").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("bad.toml:2"), "{}", stderr(&bad));
}
