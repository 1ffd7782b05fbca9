//! Lint findings for a policy that loads but may not say what its author meant.

use std::fmt;

use crate::functions;
use crate::policy::{Policy, Rule};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Worth a look.
    Note,
    /// Probably a mistake or a risk.
    Warning,
}

/// One lint finding, at a line of the policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub level: Level,
    /// The line of the rule or role concerned.
    pub line: usize,
    /// A short stable code: `shadowed`, `overlapping`, `unreachable`, `write-everything`,
    /// `disruptive-diagnostics`.
    pub code: &'static str,
    /// What was found and what to do.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Note => "note",
            Level::Warning => "warning",
        };
        write!(f, "{}: {level}[{}]: {}", self.line, self.code, self.message)
    }
}

/// Lints a policy: shadowed, overlapping and unreachable rules, roles that may write every
/// address, and rules that allow the FC 8 sub-functions that take a device off the bus.
pub fn lint(policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    let scopes = policy
        .roles
        .iter()
        .map(|r| (format!("role '{}'", r.name), r.rules.as_slice()))
        .chain(std::iter::once((
            "the NULL role".to_owned(),
            policy.null_role.as_slice(),
        )));
    for (scope, rules) in scopes {
        for (i, rule) in rules.iter().enumerate() {
            unreachable_parts(&scope, rule, &mut findings);
            for earlier in &rules[..i] {
                if allows_no_more(rule, earlier) {
                    findings.push(Finding {
                        level: Level::Warning,
                        line: rule.line,
                        code: "shadowed",
                        message: format!(
                            "this rule of {scope} allows nothing that the rule at line {} does not; remove it or narrow the other",
                            earlier.line
                        ),
                    });
                } else if overlaps(rule, earlier) {
                    findings.push(Finding {
                        level: Level::Note,
                        line: rule.line,
                        code: "overlapping",
                        message: format!(
                            "this rule of {scope} overlaps the rule at line {} (same units, functions and addresses)",
                            earlier.line
                        ),
                    });
                }
            }
            if rule.write.is_all()
                && rule
                    .functions
                    .iter()
                    .any(|k| functions::writes_table(k.code))
            {
                findings.push(Finding {
                    level: Level::Warning,
                    line: rule.line,
                    code: "write-everything",
                    message: format!(
                        "{scope} may write every address of units {}; least privilege asks for the ranges it needs",
                        rule.units
                    ),
                });
            }
            disruptive_diagnostics(&scope, rule, &mut findings);
        }
    }
    findings.sort_by_key(|f| f.line);
    findings
}

fn unreachable_parts(scope: &str, rule: &Rule, findings: &mut Vec<Finding>) {
    let readers: Vec<u8> = rule
        .functions
        .iter()
        .map(|k| k.code)
        .filter(|c| functions::reads_table(*c))
        .collect();
    let writers: Vec<u8> = rule
        .functions
        .iter()
        .map(|k| k.code)
        .filter(|c| functions::writes_table(*c))
        .collect();
    let mut dead = Vec::new();
    if rule.read.is_empty() {
        dead.extend(readers.iter().copied());
    }
    if rule.write.is_empty() {
        dead.extend(writers.iter().copied());
    }
    dead.sort_unstable();
    dead.dedup();
    if !dead.is_empty() {
        let names: Vec<String> = dead.iter().map(|c| functions::describe(*c)).collect();
        findings.push(Finding {
            level: Level::Warning,
            line: rule.line,
            code: "unreachable",
            message: format!(
                "in {scope}, {} can never be allowed by this rule: it has no {} ranges",
                names.join(", "),
                if rule.read.is_empty() && rule.write.is_empty() {
                    "read or write"
                } else if rule.read.is_empty() {
                    "read"
                } else {
                    "write"
                }
            ),
        });
    }
    if !rule.read.is_empty() && readers.is_empty() {
        findings.push(Finding {
            level: Level::Note,
            line: rule.line,
            code: "unreachable",
            message: format!(
                "in {scope}, this rule's read ranges are unused: none of its functions reads"
            ),
        });
    }
    if !rule.write.is_empty() && writers.is_empty() {
        findings.push(Finding {
            level: Level::Note,
            line: rule.line,
            code: "unreachable",
            message: format!(
                "in {scope}, this rule's write ranges are unused: none of its functions writes"
            ),
        });
    }
}

/// Warns when a rule allows FC 8 sub-function 1 (restart communications option) or 4 (force
/// listen only mode), by naming FC 8 itself or the sub-function: no preset holds them.
fn disruptive_diagnostics(scope: &str, rule: &Rule, findings: &mut Vec<Finding>) {
    let allowed: Vec<String> = functions::DISRUPTIVE_DIAGNOSTICS
        .iter()
        .filter(|&&sub| {
            rule.functions
                .iter()
                .any(|k| k.code == 8 && (k.sub.is_none() || k.sub == Some(sub)))
        })
        .map(|&sub| match sub {
            1 => "8/1 (restart communications option)".to_owned(),
            4 => "8/4 (force listen only mode)".to_owned(),
            other => format!("8/{other}"),
        })
        .collect();
    if allowed.is_empty() {
        return;
    }
    findings.push(Finding {
        level: Level::Warning,
        line: rule.line,
        code: "disruptive-diagnostics",
        message: format!(
            "{scope} may send diagnostics {} to units {}: they take the device off the bus (denial of service); allow them only where maintenance needs them, or list the harmless sub-functions (a preset holds only those)",
            allowed.join(" and "),
            rule.units
        ),
    });
}

/// Whether `rule` allows nothing `other` does not (a superset check on every dimension).
fn allows_no_more(rule: &Rule, other: &Rule) -> bool {
    rule.units.is_subset(&other.units)
        && rule.functions.iter().all(|k| {
            other
                .functions
                .iter()
                .any(|o| o.code == k.code && (o.sub.is_none() || o.sub == k.sub))
        })
        && rule.read.is_subset(&other.read)
        && rule.write.is_subset(&other.write)
        && rule.max_quantity.unwrap_or(u16::MAX) <= other.max_quantity.unwrap_or(u16::MAX)
}

fn overlaps(rule: &Rule, other: &Rule) -> bool {
    rule.units.intersects(&other.units)
        && rule
            .functions
            .iter()
            .any(|k| other.functions.iter().any(|o| o.code == k.code))
        && (rule.read.intersects(&other.read) || rule.write.intersects(&other.write))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(rules: &str) -> Vec<Finding> {
        let text = format!("version = 1\n[[role]]\nname = \"r\"\n{rules}");
        lint(&Policy::parse(&text, "t").unwrap())
    }

    #[test]
    fn a_clean_policy_has_no_findings() {
        let f = findings(
            "[[role.rule]]\nunits = 1\nfunctions = \"read-only\"\nread = \"*\"\n\
             [[role.rule]]\nunits = 1\nfunctions = [6]\nwrite = \"0-19\"\n",
        );
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn shadowed_rules_are_found() {
        let f = findings(
            "[[role.rule]]\nunits = \"*\"\nfunctions = [3]\nread = \"*\"\n\
             [[role.rule]]\nunits = 1\nfunctions = [3]\nread = \"0-9\"\n",
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!((f[0].code, f[0].line), ("shadowed", 8));
        assert!(f[0].to_string().contains("the rule at line 4"), "{}", f[0]);
    }

    #[test]
    fn overlapping_rules_are_noted() {
        let f = findings(
            "[[role.rule]]\nunits = 1\nfunctions = [3]\nread = \"0-9\"\n\
             [[role.rule]]\nunits = 1\nfunctions = [3]\nread = \"5-20\"\nmax_quantity = 5\n",
        );
        assert_eq!(
            f.iter().map(|f| f.code).collect::<Vec<_>>(),
            ["overlapping"]
        );
    }

    #[test]
    fn rules_allowing_restart_or_listen_only_are_warned() {
        for (functions, expected) in [
            ("\"8/1\"", "8/1 (restart communications option) to units 1"),
            ("[\"8/0\", \"8/4\"]", "8/4 (force listen only mode)"),
            (
                "\"diagnostics\"",
                "8/1 (restart communications option) and 8/4 (force listen only mode)",
            ),
            ("8", "8/1 (restart communications option) and 8/4"),
            ("[\"all\", \"8/4\"]", "8/4"),
        ] {
            let f = findings(&format!(
                "[[role.rule]]\nunits = 1\nfunctions = {functions}\n"
            ));
            let warned: Vec<&Finding> = f
                .iter()
                .filter(|f| f.code == "disruptive-diagnostics")
                .collect();
            assert_eq!(warned.len(), 1, "{functions}: {f:#?}");
            assert_eq!(warned[0].level, Level::Warning);
            assert!(
                warned[0].message.contains(expected),
                "{functions}: {}",
                warned[0]
            );
        }
        for functions in ["\"all\"", "[\"8/0\", \"8/2\", \"8/11\"]", "[3]"] {
            let f = findings(&format!(
                "[[role.rule]]\nunits = 1\nfunctions = {functions}\nread = \"*\"\n"
            ));
            assert!(
                f.iter().all(|f| f.code != "disruptive-diagnostics"),
                "{functions}: {f:#?}"
            );
        }
    }

    #[test]
    fn unreachable_functions_and_write_everything_are_warned() {
        let f = findings("[[role.rule]]\nunits = 1\nfunctions = [3, 6]\nwrite = \"*\"\n");
        let codes: Vec<&str> = f.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["unreachable", "write-everything"], "{f:#?}");
        assert!(
            f[0].message.contains("read holding registers (FC 3)"),
            "{}",
            f[0]
        );
    }
}
