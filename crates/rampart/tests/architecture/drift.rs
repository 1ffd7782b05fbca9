//! Drift checks: everything a user or integrator meets — every configuration key of the
//! gateway, every CLI command and flag, every management API route, every audit action and
//! every IDS detector — is documented in `docs/` (any Markdown page) or `README.md`. Each list
//! is derived from the code, so a new key, flag, route, action or detector without
//! documentation fails here with its name.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{assert_none, root, sources};

/// Every Markdown page of `docs/` and the README: (path, text).
fn docs() -> Vec<(String, String)> {
    let mut pages: Vec<PathBuf> = Vec::new();
    let mut stack = vec![root().join("docs")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.push(root().join("README.md"));
    pages.sort();
    pages
        .into_iter()
        .map(|p| (super::relative(&p), fs::read_to_string(&p).unwrap()))
        .collect()
}

/// Whether `text` holds `word` with no character of `extra` or alphanumeric on either side.
fn has_word(text: &str, word: &str, extra: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c);
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// The field names of `struct NAME { … }` in `source`.
fn struct_fields(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("struct {name} {{"))
        .unwrap_or_else(|| panic!("struct {name} not found"));
    let body = &source[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
    body.lines()
        .filter_map(|line| {
            let line = line.trim();
            let (field, _) = line.split_once(':')?;
            (!line.starts_with("//") && field.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .then(|| field.to_owned())
        })
        .collect()
}

/// The gateway's configuration keys as `section.key`, from the parser's `Raw*` structs.
fn config_keys() -> Vec<(String, String)> {
    let source = fs::read_to_string(root().join("crates/gateway/src/config.rs")).unwrap();
    let start = source.find("struct RawConfig {").unwrap();
    let top = &source[start..start + source[start..].find("\n}").unwrap()];
    let mut keys = Vec::new();
    for line in top.lines().skip(1) {
        let Some((section, ty)) = line.trim().split_once(": Option<") else {
            continue;
        };
        let raw = ty.trim_end_matches(">,");
        for field in struct_fields(&source, raw) {
            keys.push((section.to_owned(), field));
        }
    }
    assert!(keys.len() > 20, "the config parser changed shape: {keys:?}");
    keys
}

#[test]
fn every_configuration_key_is_documented() {
    let docs = docs();
    let violations: Vec<String> = config_keys()
        .into_iter()
        .filter(|(section, key)| {
            !docs.iter().any(|(_, text)| {
                has_word(text, key, "")
                    && (text.contains(&format!("[{section}]"))
                        || text.contains(&format!("{section}.")))
            })
        })
        .map(|(section, key)| format!("{section}.{key} (crates/gateway/src/config.rs)"))
        .collect();
    assert_none(
        "every gateway configuration key is documented in docs/ next to its [section]",
        &violations,
    );
}

/// `--help` of `rampart` with `path` (e.g. `["audit", "tail"]`).
fn help(path: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(path)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "rampart {path:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommands and long flags a `--help` text lists (clap's layout).
fn commands_and_flags(help: &str) -> (Vec<String>, Vec<String>) {
    let (mut commands, mut flags) = (Vec::new(), Vec::new());
    let mut section = "";
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line.trim_end_matches(':');
            continue;
        }
        let item = line.trim_start();
        // Items are indented by 2 (6 for a long flag without a short one); deeper lines
        // continue a description.
        let indent = line.len() - item.len();
        if indent != 2 && !(indent == 6 && item.starts_with("--")) {
            continue;
        }
        match section {
            "Commands" => {
                let name = item.split_whitespace().next().unwrap_or_default();
                if !name.is_empty() && name != "help" {
                    commands.push(name.to_owned());
                }
            }
            "Options" => {
                let item = item.split_once(", ").map_or(item, |(_, long)| long);
                if let Some(flag) = item
                    .split_whitespace()
                    .next()
                    .filter(|f| f.starts_with("--"))
                {
                    let flag = flag.split(['=', '[', '<']).next().unwrap_or(flag);
                    if flag != "--help" && flag != "--version" {
                        flags.push(flag.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    (commands, flags)
}

#[test]
fn every_cli_command_and_flag_is_documented() {
    let docs = docs();
    let mut violations = Vec::new();
    let mut stack: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = stack.pop() {
        seen += 1;
        assert!(seen < 1000, "the command tree is not finite");
        let (commands, flags) = commands_and_flags(&help(&path));
        let name = format!("rampart {}", path.join(" "));
        if !path.is_empty() && !docs.iter().any(|(_, text)| documents_command(text, &path)) {
            violations.push(format!("command `{name}`"));
        }
        // A flag is documented on a page about its top-level command.
        let top = format!("rampart {}", path.first().map_or("", String::as_str));
        let pages: Vec<&str> = docs
            .iter()
            .filter(|(_, text)| path.is_empty() || has_word(text, top.trim_end(), "-"))
            .map(|(_, text)| text.as_str())
            .collect();
        for flag in flags {
            if !pages.iter().any(|text| has_word(text, &flag, "-")) {
                violations.push(format!("flag `{} {flag}`", name.trim_end()));
            }
        }
        for command in commands {
            let mut sub = path.clone();
            sub.push(command);
            stack.push(sub);
        }
    }
    assert!(
        seen > 30,
        "only {seen} commands: the --help parser is broken"
    );
    violations.sort();
    assert_none(
        "every rampart command is documented as `rampart COMMAND`, and every flag on a page of its command",
        &violations,
    );
}

/// Whether `text` shows the command `rampart PATH…`, spelled out or among alternatives
/// (`rampart user disable|enable|remove NAME`).
fn documents_command(text: &str, path: &[String]) -> bool {
    let name = format!("rampart {}", path.join(" "));
    if has_word(text, &name, "-") {
        return true;
    }
    let (last, parent) = path.split_last().unwrap();
    let mut prefix = String::from("rampart ");
    for p in parent {
        prefix.push_str(p);
        prefix.push(' ');
    }
    text.match_indices(&prefix).any(|(at, _)| {
        let rest = &text[at + prefix.len()..];
        let word = rest
            .split(|c: char| c.is_whitespace() || c == '`')
            .next()
            .unwrap_or("");
        word.contains('|') && word.split('|').any(|w| w == last)
    })
}

/// The management API's routes: the paths of the route table in `crates/mgmt/src/router.rs`.
fn routes() -> Vec<String> {
    let source = fs::read_to_string(root().join("crates/mgmt/src/router.rs")).unwrap();
    let mut routes = Vec::new();
    for method in ["get", "post", "put", "patch", "delete"] {
        let call = format!(".{method}(\"");
        for (at, _) in source.match_indices(&call) {
            let rest = &source[at + call.len()..];
            let path = &rest[..rest.find('"').unwrap()];
            if path.starts_with('/') {
                routes.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes.sort();
    routes.dedup();
    assert!(
        routes.len() > 30,
        "the route table changed shape: {routes:?}"
    );
    routes
}

#[test]
fn every_api_route_is_documented() {
    let docs = docs();
    let violations: Vec<String> = routes()
        .into_iter()
        .filter(|route| {
            // The full path, or the API's table form `GET alerts` (relative to /api/v1/).
            let (method, path) = route.split_once(' ').unwrap();
            let relative = path
                .strip_prefix("/api/v1/")
                .map(|r| format!("{method} {r}"));
            !docs.iter().any(|(_, text)| {
                has_word(text, path, "/-{}:")
                    || relative
                        .as_deref()
                        .is_some_and(|r| has_word(text, r, "/-{}:"))
            })
        })
        .collect();
    assert_none(
        "every management route (crates/mgmt/src/router.rs) is documented",
        &violations,
    );
}

/// Whether `text` is shaped like an audit action: `word.word`, `word-word`, lower case.
fn action_shaped(text: &str) -> bool {
    text.contains(['.', '-'])
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || matches!(c, '.' | '-' | '_'))
}

/// Every audit action the code records: a string literal right after a `Category::…`
/// argument (`NewEvent::builder(Category::X, "action", …)`, the management API's
/// `event(…, Category::X, "action")`) or in an `action: "…"` field.
fn audit_actions() -> Vec<(String, String)> {
    let mut actions = Vec::new();
    for krate in super::crates() {
        for file in sources(&root().join("crates").join(&krate).join("src")) {
            let name = file.file_name().unwrap().to_string_lossy();
            if name == "tests.rs" || file.components().any(|c| c.as_os_str() == "tests") {
                continue;
            }
            let text = fs::read_to_string(&file).unwrap();
            for (at, _) in text.match_indices("Category::") {
                let rest = &text[at..];
                let Some(comma) = rest.find(',') else {
                    continue;
                };
                if !rest[..comma]
                    .chars()
                    .skip(10)
                    .all(|c| c.is_ascii_alphanumeric())
                {
                    continue;
                }
                let after = rest[comma + 1..].trim_start();
                if let Some(literal) = after.strip_prefix('"') {
                    let action = &literal[..literal.find('"').unwrap_or(0)];
                    if action_shaped(action) {
                        actions.push((action.to_owned(), super::relative(&file)));
                    }
                }
            }
            for (at, _) in text.match_indices("action: \"") {
                let literal = &text[at + 9..];
                let action = &literal[..literal.find('"').unwrap_or(0)];
                if action_shaped(action) {
                    actions.push((action.to_owned(), super::relative(&file)));
                }
            }
        }
    }
    actions.sort();
    actions.dedup_by(|a, b| a.0 == b.0);
    assert!(
        actions.len() > 40,
        "the audit calls changed shape: {actions:?}"
    );
    actions
}

#[test]
fn every_audit_action_is_documented() {
    let docs = docs();
    let violations: Vec<String> = audit_actions()
        .into_iter()
        .filter(|(action, _)| !docs.iter().any(|(_, text)| has_word(text, action, ".-")))
        .map(|(action, file)| format!("{action} ({file})"))
        .collect();
    assert_none(
        "every audit action is documented (docs/audit.md)",
        &violations,
    );
}

/// The IDS detectors, as their names in alerts (`Detector`'s `Display`).
fn detectors(path: &Path) -> Vec<String> {
    let source = fs::read_to_string(path).unwrap();
    let mut names: Vec<String> = source
        .lines()
        .filter_map(|line| {
            let (left, right) = line.trim().split_once(" => \"")?;
            left.starts_with("Detector::")
                .then(|| right.trim_end_matches(['"', ',']).to_owned())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_ids_detector_is_documented() {
    let docs = docs();
    let names = detectors(&root().join("crates/conduit/src/ids.rs"));
    assert!(
        names.len() > 10,
        "the detector list changed shape: {names:?}"
    );
    let violations: Vec<String> = names
        .into_iter()
        .filter(|name| !docs.iter().any(|(_, text)| has_word(text, name, "-")))
        .collect();
    assert_none(
        "every IDS detector is documented (docs/ids.md)",
        &violations,
    );
}
