//! Policy learning: a least-privilege policy from observed traffic.
//!
//! Each client (a certificate role, or an address from a capture) becomes a role whose rules
//! allow exactly the units, functions and address ranges it was seen using, and nothing else.
//! The result is a starting point for review, not a policy to deploy blindly: it encodes what
//! happened, including anything an attacker did during the observation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use rampart_modbus::{Request, RequestPdu};

use crate::functions::{self, FunctionKey};
use crate::sets::{AddressSet, UnitSet};

/// What one client did with one function on one unit.
#[derive(Default, Clone)]
struct Usage {
    count: u64,
    read: Vec<(u16, u16)>,
    write: Vec<(u16, u16)>,
    max_quantity: u32,
}

/// Collects observed requests and writes the policy that allows exactly them.
#[derive(Default)]
pub struct Learner {
    /// client → (unit, function) → usage.
    clients: BTreeMap<String, BTreeMap<(u8, FunctionKey), Usage>>,
    requests: u64,
}

impl Learner {
    /// An empty learner.
    pub fn new() -> Learner {
        Learner::default()
    }

    /// Records one request from `client`.
    pub fn observe(&mut self, client: &str, request: &Request<'_>) {
        self.requests += 1;
        let function = request.function_code().value();
        let sub = match request.pdu() {
            RequestPdu::Diagnostics { sub_function, .. } => Some(*sub_function),
            pdu => pdu.mei_type().map(u16::from),
        };
        let key = (
            request.unit_id(),
            FunctionKey {
                code: function,
                sub,
            },
        );
        let usage = self
            .clients
            .entry(client.to_owned())
            .or_default()
            .entry(key)
            .or_default();
        usage.count += 1;
        let access = request.access();
        if let Some(span) = access.read() {
            usage.read.push((span.range.start(), span.range.last()));
            usage.max_quantity = usage.max_quantity.max(span.range.count());
        }
        if let Some(span) = access.write() {
            usage.write.push((span.range.start(), span.range.last()));
            usage.max_quantity = usage.max_quantity.max(span.range.count());
        }
    }

    /// What a learned IDS baseline says each client did, as the learner's observations: the
    /// policy it proposes allows each client the units and functions it used, with the
    /// ranges it read and wrote in the tables those functions address and its largest
    /// quantity. A baseline keeps no FC 8 sub-function or FC 43 MEI type, so those appear as
    /// the function alone, which the policy reads as the harmless preset diagnostics only.
    pub fn from_baseline(baseline: &crate::Baseline) -> Learner {
        use rampart_modbus::Table;
        let mut learner = Learner::new();
        for (client, learned) in &baseline.clients {
            let usages = learner.clients.entry(client.clone()).or_default();
            for function in &learned.functions {
                let (reads, writes): (&[Table], &[Table]) = match function.function {
                    1 => (&[Table::Coils], &[]),
                    2 => (&[Table::DiscreteInputs], &[]),
                    3 | 24 => (&[Table::HoldingRegisters], &[]),
                    4 => (&[Table::InputRegisters], &[]),
                    5 | 15 => (&[], &[Table::Coils]),
                    6 | 16 | 22 => (&[], &[Table::HoldingRegisters]),
                    23 => (&[Table::HoldingRegisters], &[Table::HoldingRegisters]),
                    _ => (&[], &[]),
                };
                let key = (
                    function.unit,
                    FunctionKey {
                        code: function.function,
                        sub: None,
                    },
                );
                let usage = usages.entry(key).or_default();
                usage.count += function.requests;
                usage.max_quantity = usage.max_quantity.max(function.max_quantity);
                for table in reads {
                    if let Some(ranges) = learned.ranges(function.unit, *table) {
                        usage.read.extend(ranges.read.iter().map(|[a, b]| (*a, *b)));
                    }
                }
                for table in writes {
                    if let Some(ranges) = learned.ranges(function.unit, *table) {
                        usage
                            .write
                            .extend(ranges.written.iter().map(|[a, b]| (*a, *b)));
                    }
                }
            }
            learner.requests += learned.requests;
        }
        learner
    }

    /// How many requests were observed.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The learned policy as TOML text, with comments that say what was seen.
    pub fn policy_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Learned by `rampart policy learn` from {} requests of {} clients.\n\
             # Each role allows exactly what its client was seen doing. Review before use:\n\
             # rename roles to the roles your client certificates carry, and widen or narrow\n\
             # ranges where the observation was not representative.\nversion = 1\n",
            self.requests,
            self.clients.len()
        );
        for (client, usages) in &self.clients {
            let _ = writeln!(
                out,
                "[[role]]\nname = \"{}\"\ndescription = \"Learned from client {}\"\n",
                role_name(client),
                client.replace('"', "'")
            );
            for rule in rules_of(usages) {
                let _ = writeln!(out, "# {} requests", rule.count);
                let _ = writeln!(
                    out,
                    "[[role.rule]]\nunits = \"{}\"",
                    units_text(&rule.units)
                );
                let functions: Vec<String> =
                    rule.functions.iter().map(|k| format!("\"{k}\"")).collect();
                let _ = writeln!(out, "functions = [{}]", functions.join(", "));
                if !rule.read.is_empty() {
                    let _ = writeln!(out, "read = [{}]", ranges_text(&rule.read));
                }
                if !rule.write.is_empty() {
                    let _ = writeln!(out, "write = [{}]", ranges_text(&rule.write));
                }
                if let Some(q) = rule.max_quantity {
                    let _ = writeln!(out, "max_quantity = {q}");
                }
                out.push('\n');
            }
        }
        out
    }

    /// A readable report of what was seen, per client and function.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} requests from {} clients",
            self.requests,
            self.clients.len()
        );
        for (client, usages) in &self.clients {
            let total: u64 = usages.values().map(|u| u.count).sum();
            let _ = writeln!(
                out,
                "\n{client} → role '{}': {total} requests",
                role_name(client)
            );
            for ((unit, key), usage) in usages {
                let mut line = format!(
                    "  unit {unit:>3}  {:<42} {:>7}×",
                    describe_key(*key),
                    usage.count
                );
                let read = AddressSet::from_intervals(usage.read.iter().copied());
                let write = AddressSet::from_intervals(usage.write.iter().copied());
                if !read.is_empty() {
                    let _ = write!(line, "  read {read}");
                }
                if !write.is_empty() {
                    let _ = write!(line, "  write {write}");
                }
                if !functions::is_public(key.code) {
                    line.push_str("  ⚠ non-public function");
                }
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }
}

struct LearnedRule {
    units: UnitSet,
    functions: Vec<FunctionKey>,
    read: AddressSet,
    write: AddressSet,
    max_quantity: Option<u32>,
    count: u64,
}

/// What a rule allows apart from its units: the key that groups units into one rule.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    functions: Vec<FunctionKey>,
    read: Vec<(u16, u16)>,
    write: Vec<(u16, u16)>,
}

/// Units and ranges: functions seen with the same ones share a rule.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Scope {
    units: Vec<u8>,
    read: Vec<(u16, u16)>,
    write: Vec<(u16, u16)>,
}

/// What was seen with one shape.
#[derive(Default)]
struct Seen {
    units: BTreeSet<u8>,
    count: u64,
    quantity: u32,
}

/// Groups the usages into rules: first one per (function, ranges) with every unit that used
/// it, then functions with the same units and ranges share one rule.
fn rules_of(usages: &BTreeMap<(u8, FunctionKey), Usage>) -> Vec<LearnedRule> {
    let mut shapes: BTreeMap<Shape, Seen> = BTreeMap::new();
    for ((unit, key), usage) in usages {
        let read = AddressSet::from_intervals(usage.read.iter().copied());
        let write = AddressSet::from_intervals(usage.write.iter().copied());
        let shape = Shape {
            functions: vec![*key],
            read: read.intervals().to_vec(),
            write: write.intervals().to_vec(),
        };
        let seen = shapes.entry(shape).or_default();
        seen.units.insert(*unit);
        seen.count += usage.count;
        seen.quantity = seen.quantity.max(usage.max_quantity);
    }
    let mut merged: BTreeMap<Scope, (Shape, Seen)> = BTreeMap::new();
    for (shape, seen) in shapes {
        let key = Scope {
            units: seen.units.iter().copied().collect(),
            read: shape.read.clone(),
            write: shape.write.clone(),
        };
        let entry = merged.entry(key).or_insert_with(|| {
            (
                Shape {
                    functions: Vec::new(),
                    read: shape.read.clone(),
                    write: shape.write.clone(),
                },
                Seen {
                    units: seen.units.clone(),
                    ..Seen::default()
                },
            )
        });
        entry.0.functions.extend(shape.functions);
        entry.1.count += seen.count;
        entry.1.quantity = entry.1.quantity.max(seen.quantity);
    }
    merged
        .into_values()
        .map(|(shape, seen)| {
            let mut units = UnitSet::default();
            for unit in seen.units {
                units.insert_range(unit, unit);
            }
            LearnedRule {
                units,
                functions: shape.functions,
                read: AddressSet::from_intervals(shape.read),
                write: AddressSet::from_intervals(shape.write),
                max_quantity: (seen.quantity > 0).then_some(seen.quantity),
                count: seen.count,
            }
        })
        .collect()
}

fn describe_key(key: FunctionKey) -> String {
    match key.sub {
        Some(sub) => format!("{} /{sub}", functions::describe(key.code)),
        None => functions::describe(key.code),
    }
}

fn units_text(units: &UnitSet) -> String {
    units.to_string().replace(", ", "\", \"")
}

fn ranges_text(set: &AddressSet) -> String {
    set.intervals()
        .iter()
        .map(|(a, b)| {
            if a == b {
                format!("\"{a}\"")
            } else {
                format!("\"{a}-{b}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A policy role name for a client: lower-case letters, digits and `-`.
fn role_name(client: &str) -> String {
    let mut name: String = client
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(57);
    format!("client-{}", name.trim_matches('-'))
}

#[cfg(test)]
mod tests {
    use rampart_modbus::{AddressRange, FunctionCode};

    use super::*;
    use crate::{CompiledPolicy, Policy};

    fn req(unit: u8, pdu: RequestPdu<'_>) -> Request<'_> {
        Request::new(1, unit, pdu)
    }

    #[test]
    fn the_learned_policy_allows_exactly_what_was_seen() {
        let mut learner = Learner::new();
        let seen = [
            req(
                1,
                RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 10).unwrap()),
            ),
            req(
                1,
                RequestPdu::ReadHoldingRegisters(AddressRange::new(10, 10).unwrap()),
            ),
            req(
                2,
                RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 20).unwrap()),
            ),
            req(
                1,
                RequestPdu::WriteSingleRegister {
                    address: 7,
                    value: 1,
                },
            ),
            req(
                1,
                RequestPdu::Diagnostics {
                    sub_function: 0,
                    data: &[1, 2],
                },
            ),
            req(
                1,
                RequestPdu::Other {
                    function: FunctionCode::new(90).unwrap(),
                    data: &[0],
                },
            ),
        ];
        for r in &seen {
            learner.observe("10.0.0.5:5020", r);
        }
        let text = learner.policy_toml();
        let policy = CompiledPolicy::compile(
            Policy::parse(&text, "learned").unwrap_or_else(|e| panic!("{e}\n{text}")),
        );
        let role = policy.resolve(Some("client-10-0-0-5-5020"));
        for r in &seen {
            assert!(policy.decide(role, r).is_allowed(), "{r:?}\n{text}");
        }
        let not_seen = [
            req(
                1,
                RequestPdu::ReadHoldingRegisters(AddressRange::new(20, 1).unwrap()),
            ),
            req(
                3,
                RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 1).unwrap()),
            ),
            req(
                1,
                RequestPdu::WriteSingleRegister {
                    address: 8,
                    value: 1,
                },
            ),
            req(
                2,
                RequestPdu::WriteSingleRegister {
                    address: 7,
                    value: 1,
                },
            ),
            req(
                1,
                RequestPdu::Diagnostics {
                    sub_function: 4,
                    data: &[0, 0],
                },
            ),
            req(
                1,
                RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 21).unwrap()),
            ),
        ];
        for r in &not_seen {
            assert!(
                !policy.decide(role, r).is_allowed(),
                "{r:?} allowed\n{text}"
            );
        }
        let report = learner.report();
        assert!(report.contains("6 requests from 1 clients"), "{report}");
        assert!(report.contains("non-public function"), "{report}");
    }
}
