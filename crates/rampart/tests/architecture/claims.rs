//! Rampart's own profile proves its claims with tests (`rampart assess --test-results`):
//! every `met` requirement of `profiles/rampart-gateway.toml` names at least one test, and
//! every test it names exists in the sources. A static check: no build of the named tests.

use std::fs;
use std::path::Path;

use super::{assert_none, root};

#[test]
fn every_met_claim_of_rampart_s_profile_names_a_test_that_exists() {
    let path = root().join("profiles/rampart-gateway.toml");
    let profile: toml::Table = fs::read_to_string(&path).unwrap().parse().unwrap();
    let requirements = profile["requirement"].as_table().unwrap();
    let mut violations = Vec::new();
    let mut met = 0;
    for (id, claim) in requirements {
        if claim.get("status").and_then(toml::Value::as_str) != Some("met") {
            continue;
        }
        met += 1;
        let tests: Vec<&str> = claim
            .get("evidence")
            .and_then(toml::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|e| e.get("test")?.as_str())
                    .collect()
            })
            .unwrap_or_default();
        if tests.is_empty() {
            violations.push(format!(
                "{id}: claimed met, but its evidence names no {{ test = \"crate::binary::module::name\" }}"
            ));
        }
        for test in tests {
            if let Err(why) = resolve(test) {
                violations.push(format!("{id}: test {test}: {why}"));
            }
        }
    }
    assert!(met > 0, "the profile claims nothing met");
    assert_none(
        "every met claim of profiles/rampart-gateway.toml names a test that exists (docs/assess.md, test ids)",
        &violations,
    );
}

#[test]
fn the_test_check_can_fail() {
    assert!(resolve("rampart-identity::it::cr_1_11_lockout").is_ok());
    assert!(
        resolve("rampart-vault::tls::tests::a_client_without_a_certificate_is_refused").is_ok()
    );
    assert!(resolve("rampart-identity::it::no_such_module").is_err());
    assert!(resolve("rampart-vault::tls::tests::no_such_test").is_err());
    assert!(resolve("rampart-nothing::it").is_err());
    // A function that is not a test.
    assert!(resolve("rampart-vault::tls::tests::init").is_err());
}

/// Finds the test module or test function a nextest-style id names: `PACKAGE::BINARY::PATH`
/// for an integration test binary `crates/X/tests/BINARY/`, `PACKAGE::PATH` for unit tests.
fn resolve(test: &str) -> Result<(), String> {
    let segments: Vec<&str> = test.split("::").collect();
    let package = segments[0];
    let dir_name = if package == "rampart" {
        "rampart"
    } else {
        package
            .strip_prefix("rampart-")
            .ok_or("the package is not a rampart crate")?
    };
    let krate = root().join("crates").join(dir_name);
    if !krate.join("Cargo.toml").is_file() {
        return Err(format!("no crate {package} (crates/{dir_name})"));
    }
    let (mut dir, mut file, rest) = match segments.get(1) {
        Some(binary) if krate.join("tests").join(binary).join("main.rs").is_file() => {
            let dir = krate.join("tests").join(binary);
            (dir.clone(), dir.join("main.rs"), &segments[2..])
        }
        _ => {
            let src = krate.join("src");
            let lib = if src.join("lib.rs").is_file() {
                src.join("lib.rs")
            } else {
                src.join("main.rs")
            };
            (src, lib, &segments[1..])
        }
    };
    for (i, segment) in rest.iter().enumerate() {
        let module = [
            dir.join(format!("{segment}.rs")),
            dir.join(segment).join("mod.rs"),
        ]
        .into_iter()
        .find(|p| p.is_file());
        if let Some(module) = module {
            dir = dir.join(segment);
            file = module;
            continue;
        }
        if i + 1 == rest.len() && is_test_fn(&file, segment) {
            return Ok(());
        }
        return Err(format!(
            "no module file {segment}.rs and no #[test] fn {segment} in {}",
            super::relative(&file)
        ));
    }
    let source = fs::read_to_string(&file).unwrap_or_default();
    if source.contains("#[test]") || source.contains("#[tokio::test") {
        Ok(())
    } else {
        Err(format!("{} has no test", super::relative(&file)))
    }
}

/// Whether `file` has `fn name(` under a `#[test]` or `#[tokio::test…]` attribute.
fn is_test_fn(file: &Path, name: &str) -> bool {
    let text = fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let wanted = [format!("fn {name}("), format!("fn {name}<")];
    lines.iter().enumerate().any(|(i, line)| {
        let t = line.trim_start();
        let t = t.strip_prefix("async ").unwrap_or(t);
        if !wanted.iter().any(|w| t.starts_with(w.as_str())) {
            return false;
        }
        lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with("#[") || l.starts_with("//") || l.ends_with(")]"))
            .any(|l| l.starts_with("#[test]") || l.starts_with("#[tokio::test"))
    })
}
