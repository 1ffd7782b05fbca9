//! The conduit policy: what each role may do across the conduit, as a TOML file.
//!
//! ```toml
//! version = 1
//!
//! [limits]
//! max_pdu_bytes = 253          # larger PDUs are malformed for this conduit
//! requests_per_second = 100    # per client (token bucket rate)
//! burst = 200                  # per client (bucket size)
//! on_deny = "exception"        # "exception" (Modbus exception 0x01) or "reset" (close)
//!
//! [[role]]
//! name = "operator"
//!
//! [[role.rule]]
//! units = [1]                  # ids, "a-b" ranges, or "*"
//! functions = "read-write"     # a preset, or a list of codes, names and "8/0", "43/14"
//! read = ["*"]                 # addresses the reading functions may touch
//! write = ["0-19"]             # addresses the writing functions may touch
//! max_quantity = 100           # optional cap on registers/coils per request
//!
//! [null_role]                  # a client certificate without a role; absent: deny all
//! ```
//!
//! Deny by default: a request is allowed only if a rule of the client's role allows its unit,
//! its function (and sub-function), every address it reads and writes, and its quantity. A
//! role the policy does not name is denied everything.

use std::ops::Range;

use rampart_vault::crypto::sha256;
use serde::Deserialize;
use toml::Spanned;

use crate::functions::{self, FunctionKey};
use crate::sets::{AddressSet, UnitSet};

/// The policy format version this code reads.
pub const FORMAT_VERSION: u32 = 1;

/// A policy that cannot be loaded, with the place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct PolicyError {
    /// The file name, or `<policy>` for text without a file.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, naming the key and the value.
    pub message: String,
}

/// What the conduit does with a denied request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DenyAction {
    /// Reply with Modbus exception 0x01 (illegal function), as Modbus/TCP Security asks.
    Exception,
    /// Close the connection (TCP reset), telling a probing client as little as possible.
    Reset,
}

/// Limits that apply to every client of the conduit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest PDU accepted, at most 253.
    pub max_pdu_bytes: u16,
    /// Sustained requests per second per client.
    pub requests_per_second: u32,
    /// Requests a client may send at once above the sustained rate.
    pub burst: u32,
    /// What to do with a denied request.
    pub on_deny: DenyAction,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_pdu_bytes: 253,
            requests_per_second: 100,
            burst: 200,
            on_deny: DenyAction::Exception,
        }
    }
}

/// One rule: what it allows, all of it at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The unit ids the rule covers.
    pub units: UnitSet,
    /// The functions the rule allows, sorted and without duplicates.
    pub functions: Vec<FunctionKey>,
    /// The addresses reading functions may touch.
    pub read: AddressSet,
    /// The addresses writing functions may touch.
    pub write: AddressSet,
    /// The most coils or registers one request may touch; `None`: the protocol's limit.
    pub max_quantity: Option<u16>,
    /// The line of the rule in the policy file.
    pub line: usize,
}

/// A role and its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// The role name, as carried in client certificates.
    pub name: String,
    /// What the role is for.
    pub description: Option<String>,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The line of the role in the policy file.
    pub line: usize,
}

/// A validated conduit policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Limits for every client.
    pub limits: Limits,
    /// The named roles, in file order, names unique.
    pub roles: Vec<Role>,
    /// The rules of the NULL role (a certificate without a role); empty denies everything.
    pub null_role: Vec<Rule>,
    /// SHA-256 of the policy text, to say in the audit trail which policy was in force.
    pub sha256: [u8; 32],
}

impl Policy {
    /// Parses and validates policy text; `origin` names it in errors. Reading the file is the
    /// caller's (this crate does no I/O): `rampart_gateway::read_policy_file` reads it with
    /// the [`MAX_POLICY_BYTES`] cap.
    ///
    /// # Errors
    /// [`PolicyError`] with the origin, line and column, for TOML syntax, unknown keys, and
    /// values out of range.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let at = |span: Range<usize>, message: String| {
            let (line, column) = line_column(text, span.start);
            PolicyError {
                origin: origin.to_owned(),
                line,
                column,
                message,
            }
        };
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            at(
                e.span().unwrap_or(0..0),
                e.message().trim_end().replace('\n', "; "),
            )
        })?;
        if *file.version.get_ref() != FORMAT_VERSION {
            return Err(at(
                file.version.span(),
                format!(
                    "version: {} is not a policy format this version reads (expected {FORMAT_VERSION})",
                    file.version.get_ref()
                ),
            ));
        }
        let limits = file.limits.into_limits().map_err(|(span, m)| at(span, m))?;
        let mut roles: Vec<Role> = Vec::with_capacity(file.roles.len());
        for spanned in file.roles {
            let line = line_column(text, spanned.span().start).0;
            let role = spanned.into_inner();
            let name_span = role.name.span();
            let name = role.name.into_inner();
            if let Some(problem) = role_name_problem(&name) {
                return Err(at(name_span, format!("role name '{name}': {problem}")));
            }
            if let Some(first) = roles.iter().find(|r| r.name == name) {
                return Err(at(
                    name_span,
                    format!(
                        "role '{name}' is defined twice (first at line {})",
                        first.line
                    ),
                ));
            }
            roles.push(Role {
                name,
                description: role.description,
                rules: convert_rules(text, role.rules),
                line,
            });
        }
        let null_role = file
            .null_role
            .map(|n| convert_rules(text, n.rules))
            .unwrap_or_default();
        Ok(Policy {
            limits,
            roles,
            null_role,
            sha256: sha256(text.as_bytes()),
        })
    }

    /// The role named `name`.
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The policy hash as lower-case hex.
    pub fn sha256_hex(&self) -> String {
        self.sha256
            .iter()
            .fold(String::with_capacity(64), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }
}

/// Policies are small; anything larger is a mistake or an attack on the loader.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

fn convert_rules(text: &str, rules: Vec<Spanned<RuleFile>>) -> Vec<Rule> {
    rules
        .into_iter()
        .map(|spanned| {
            let line = line_column(text, spanned.span().start).0;
            let rule = spanned.into_inner();
            Rule {
                units: rule.units.0,
                functions: rule.functions.0,
                read: rule.read.0,
                write: rule.write.0,
                max_quantity: rule.max_quantity,
                line,
            }
        })
        .collect()
}

fn role_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 64 {
        return Some("must be 1 to 64 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Some("use lower-case letters, digits, '-' and '_'");
    }
    None
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: Spanned<u32>,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default, rename = "role")]
    roles: Vec<Spanned<RoleFile>>,
    #[serde(default)]
    null_role: Option<NullRoleFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_pdu_bytes: Option<Spanned<u16>>,
    requests_per_second: Option<Spanned<u32>>,
    burst: Option<Spanned<u32>>,
    on_deny: Option<DenyAction>,
}

impl LimitsFile {
    fn into_limits(self) -> Result<Limits, (Range<usize>, String)> {
        let defaults = Limits::default();
        let check = |value: Option<Spanned<u32>>, key: &str, range: Range<u32>, default: u32| {
            let Some(value) = value else {
                return Ok(default);
            };
            let v = *value.get_ref();
            if range.contains(&v) {
                Ok(v)
            } else {
                Err((
                    value.span(),
                    format!(
                        "limits.{key}: {v} is out of range ({}..={})",
                        range.start,
                        range.end - 1
                    ),
                ))
            }
        };
        let max_pdu = self
            .max_pdu_bytes
            .map(|s| Spanned::new(s.span(), u32::from(*s.get_ref())));
        Ok(Limits {
            // A PDU carries at least a function code and one byte; 253 is the protocol's cap.
            max_pdu_bytes: u16::try_from(check(max_pdu, "max_pdu_bytes", 2..254, 253)?)
                .unwrap_or(253),
            requests_per_second: check(
                self.requests_per_second,
                "requests_per_second",
                1..1_000_001,
                defaults.requests_per_second,
            )?,
            burst: check(self.burst, "burst", 1..1_000_001, defaults.burst)?,
            on_deny: self.on_deny.unwrap_or(defaults.on_deny),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "rule")]
    rules: Vec<Spanned<RuleFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NullRoleFile {
    #[serde(default, rename = "rule")]
    rules: Vec<Spanned<RuleFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    units: Units,
    functions: Functions,
    #[serde(default)]
    read: Addresses,
    #[serde(default)]
    write: Addresses,
    #[serde(default, deserialize_with = "quantity")]
    max_quantity: Option<u16>,
    /// Free text for people; ignored.
    #[serde(default, rename = "comment")]
    _comment: Option<String>,
}

fn quantity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let n = u32::deserialize(d)?;
    if (1..=2000).contains(&n) {
        Ok(u16::try_from(n).ok())
    } else {
        Err(serde::de::Error::custom(format!(
            "max_quantity: {n} is out of range (1..=2000, the largest read a request can make)"
        )))
    }
}

/// A scalar or a list of scalars, as `units`, `functions`, `read` and `write` take.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalars {
    One(Scalar),
    Many(Vec<Scalar>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Number(i64),
    Text(String),
}

impl Scalars {
    fn into_vec(self) -> Vec<Scalar> {
        match self {
            Scalars::One(s) => vec![s],
            Scalars::Many(v) => v,
        }
    }
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Number(n) => n.to_string(),
            Scalar::Text(t) => t.trim().to_owned(),
        }
    }
}

/// `units`: ids 0..=255, `"a-b"`, or `"*"`.
#[derive(Deserialize)]
#[serde(try_from = "Scalars")]
struct Units(UnitSet);

impl TryFrom<Scalars> for Units {
    type Error = String;

    fn try_from(value: Scalars) -> Result<Self, Self::Error> {
        let mut set = UnitSet::default();
        for item in value.into_vec() {
            let text = item.text();
            let (first, last) = parse_interval(&text, 255)
                .map_err(|e| format!("units: '{text}' {e} (use ids 0..255, \"a-b\" or \"*\")"))?;
            // parse_interval bounds both ends by 255.
            set.insert_range(
                u8::try_from(first).unwrap_or(u8::MAX),
                u8::try_from(last).unwrap_or(u8::MAX),
            );
        }
        if set.is_empty() {
            return Err("units: the list is empty, so the rule could never apply".into());
        }
        Ok(Units(set))
    }
}

/// `functions`: codes, names, sub-functions and presets.
#[derive(Deserialize)]
#[serde(try_from = "Scalars")]
struct Functions(Vec<FunctionKey>);

impl TryFrom<Scalars> for Functions {
    type Error = String;

    fn try_from(value: Scalars) -> Result<Self, Self::Error> {
        let mut keys = Vec::new();
        for item in value.into_vec() {
            keys.extend(
                functions::parse_entry(&item.text()).map_err(|e| format!("functions: {e}"))?,
            );
        }
        if keys.is_empty() {
            return Err("functions: the list is empty, so the rule could never apply".into());
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(Functions(keys))
    }
}

/// `read` / `write`: addresses, `"a-b"` ranges, or `"*"`.
#[derive(Deserialize, Default)]
#[serde(try_from = "Scalars")]
struct Addresses(AddressSet);

impl TryFrom<Scalars> for Addresses {
    type Error = String;

    fn try_from(value: Scalars) -> Result<Self, Self::Error> {
        let mut intervals = Vec::new();
        for item in value.into_vec() {
            let text = item.text();
            let (first, last) = parse_interval(&text, 65535).map_err(|e| {
                format!("address range '{text}' {e} (use 0..65535, \"a-b\" or \"*\")")
            })?;
            intervals.push((
                u16::try_from(first).unwrap_or(u16::MAX),
                u16::try_from(last).unwrap_or(u16::MAX),
            ));
        }
        Ok(Addresses(AddressSet::from_intervals(intervals)))
    }
}

/// Parses `*`, `n` or `a-b` with both ends in `0..=max`.
fn parse_interval(text: &str, max: u32) -> Result<(u32, u32), String> {
    if text == "*" {
        return Ok((0, max));
    }
    let number = |s: &str| -> Result<u32, String> {
        let s = s.trim();
        let n: u32 = s
            .parse()
            .map_err(|_| "is not a number or range".to_owned())?;
        if n > max {
            return Err(format!("is out of range: {n} > {max}"));
        }
        Ok(n)
    };
    if let Some((a, b)) = text.split_once('-') {
        let (first, last) = (number(a)?, number(b)?);
        if first > last {
            return Err(format!("is reversed: {first} > {last}"));
        }
        Ok((first, last))
    } else {
        let n = number(text)?;
        Ok((n, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
version = 1

[limits]
requests_per_second = 50
on_deny = "reset"

[[role]]
name = "operator"
description = "Runs the process"

[[role.rule]]
units = [1, "3-4"]
functions = "read-only"
read = "*"

[[role.rule]]
units = 1
functions = [6, "write-multiple-registers"]
write = ["0-19"]
max_quantity = 10

[null_role]
"#;

    #[test]
    fn a_policy_parses_with_its_lines() {
        let policy = Policy::parse(GOOD, "good.toml").unwrap();
        assert_eq!(policy.limits.requests_per_second, 50);
        assert_eq!(policy.limits.burst, 200);
        assert_eq!(policy.limits.on_deny, DenyAction::Reset);
        let role = policy.role("operator").unwrap();
        assert_eq!(role.line, 8);
        assert_eq!(role.rules.len(), 2);
        assert_eq!(role.rules[0].units.to_string(), "1, 3-4");
        assert_eq!(role.rules[0].line, 12);
        assert!(role.rules[0].read.is_all());
        assert!(role.rules[0].write.is_empty());
        assert_eq!(role.rules[1].write.to_string(), "0-19");
        assert_eq!(role.rules[1].max_quantity, Some(10));
        assert!(policy.null_role.is_empty());
        assert_eq!(policy.sha256_hex().len(), 64);
    }

    /// Every mistake names the file, the line and the key.
    #[test]
    fn errors_name_line_and_key() {
        let cases = [
            ("version = 2", "1:11: version: 2 is not a policy format"),
            (
                "version = 1\n[limits]\nburst = 0",
                "3:9: limits.burst: 0 is out of range",
            ),
            (
                "version = 1\n[limits]\nmax_pdu_bytes = 300",
                "3:17: limits.max_pdu_bytes: 300",
            ),
            (
                "version = 1\n[limits]\non_deny = \"drop\"",
                "3:11: unknown variant `drop`",
            ),
            ("version = 1\ncolour = 1", "2:1: unknown field `colour`"),
            (
                "version = 1\n[[role]]\nname = \"Op\"",
                "3:8: role name 'Op': use lower-case letters",
            ),
            (
                "version = 1\n[[role]]\nname = \"a\"\n[[role]]\nname = \"a\"",
                "5:8: role 'a' is defined twice (first at line 2)",
            ),
            (
                "version = 1\n[[role]]\nname = \"a\"\n[[role.rule]]\nunits = 300\nfunctions = 3",
                "5:9: units: '300' is out of range: 300 > 255",
            ),
            (
                "version = 1\n[[role]]\nname = \"a\"\n[[role.rule]]\nunits = 1\nfunctions = 3\nwrite = \"20-10\"",
                "7:9: address range '20-10' is reversed: 20 > 10",
            ),
            (
                "version = 1\n[[role]]\nname = \"a\"\n[[role.rule]]\nunits = 1\nfunctions = \"everything\"",
                "6:13: functions: unknown function 'everything'",
            ),
            (
                "version = 1\n[[role]]\nname = \"a\"\n[[role.rule]]\nunits = 1",
                "4:1: missing field `functions`",
            ),
            (
                "version = 1\n[[role]]\nname = \"a\"\n[[role.rule]]\nunits = 1\nfunctions = 3\nmax_quantity = 0",
                "7:16: max_quantity: 0 is out of range",
            ),
            ("version = [", "1:12:"),
        ];
        for (text, expected) in cases {
            let message = Policy::parse(text, "p.toml").unwrap_err().to_string();
            assert!(message.starts_with("p.toml:"), "{message}");
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }
}
