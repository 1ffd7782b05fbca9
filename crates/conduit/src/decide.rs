//! The compiled policy and the decision for one request (NDR 5.2, CR 2.1 RE 1, CR 3.5).

use std::collections::HashMap;
use std::fmt;

use rampart_modbus::{Access, Request, RequestPdu, Span};

use crate::functions;
use crate::policy::{Policy, Rule};
use crate::sets::AddressSet;

/// A role resolved against the policy once per connection, so each decision is a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleRef {
    /// The certificate carried no role (Modbus/TCP Security's NULL role).
    Null,
    /// A role the policy names.
    Named(RoleId),
    /// A role the policy does not name: denied everything.
    Unknown,
}

/// The index of a named role in a [`CompiledPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoleId(usize);

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Allowed: the request, with the rule that allowed it.
    Allow(Allowed<'a>),
    /// Denied, with the reason.
    Deny(Denial<'a>),
}

impl Decision<'_> {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

/// A request the policy allowed, and the proof of it: only [`CompiledPolicy::decide`] makes
/// one, so code that takes an `Allowed` (the gateway's upstream pool) can only be handed a
/// request that a policy allowed for the role it was decided for.
///
/// It carries the decoded request, so that nothing after the decision decodes it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed<'a> {
    request: Request<'a>,
    rule_line: usize,
}

impl<'a> Allowed<'a> {
    /// The request, as decoded and decided.
    pub const fn request(&self) -> &Request<'a> {
        &self.request
    }

    /// The line of the rule that allowed it.
    pub const fn rule_line(&self) -> usize {
        self.rule_line
    }
}

/// Why a request was denied, readable by a person: `role 'viewer' may not use write single
/// register (FC 6) on unit 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial<'p> {
    /// The role, as the policy calls it (`None` for the NULL role or an unknown role).
    pub role: RoleLabel<'p>,
    /// What the request asked that the role may not do.
    pub reason: DenyReason<'p>,
}

/// The role a denial is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleLabel<'p> {
    /// The NULL role.
    Null,
    /// A named role.
    Named(&'p str),
    /// A role the policy does not know.
    Unknown,
}

impl fmt::Display for RoleLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleLabel::Null => f.write_str("the NULL role (a certificate without a role)"),
            RoleLabel::Named(name) => write!(f, "role '{name}'"),
            RoleLabel::Unknown => f.write_str("a role the policy does not name"),
        }
    }
}

/// The check a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason<'p> {
    /// The role is not in the policy.
    UnknownRole,
    /// No rule of the role covers the unit.
    Unit {
        /// The unit id asked for.
        unit: u8,
    },
    /// No rule covers this function for this unit.
    Function {
        /// The unit id.
        unit: u8,
        /// The function code.
        function: u8,
    },
    /// The function is allowed, but not this sub-function (FC 8, FC 43).
    SubFunction {
        /// The function code.
        function: u8,
        /// The sub-function or MEI type.
        sub: u16,
    },
    /// The request reads addresses outside the allowed ranges.
    Read {
        /// What it reads.
        span: Span,
        /// What the role may read with this function.
        allowed: &'p AddressSet,
    },
    /// The request writes addresses outside the allowed ranges.
    Write {
        /// What it writes.
        span: Span,
        /// What the role may write with this function.
        allowed: &'p AddressSet,
    },
    /// The request touches more coils or registers than the rule allows.
    Quantity {
        /// How many it touches.
        quantity: u32,
        /// The rule's cap.
        max: u16,
    },
}

impl fmt::Display for Denial<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = self.role;
        match &self.reason {
            DenyReason::UnknownRole => write!(f, "{role} is denied everything"),
            DenyReason::Unit { unit } => write!(f, "{role} may not address unit {unit}"),
            DenyReason::Function { unit, function } => write!(
                f,
                "{role} may not use {} on unit {unit}",
                functions::describe(*function)
            ),
            DenyReason::SubFunction { function, sub } => write!(
                f,
                "{role} may not use sub-function {sub} of {}",
                functions::describe(*function)
            ),
            DenyReason::Read { span, allowed } => write!(
                f,
                "{role} may not read {} {}-{} (allowed: {allowed})",
                span.table,
                span.range.start(),
                span.range.last()
            ),
            DenyReason::Write { span, allowed } => write!(
                f,
                "{role} may not write {} {}-{} (allowed: {allowed})",
                span.table,
                span.range.start(),
                span.range.last()
            ),
            DenyReason::Quantity { quantity, max } => write!(
                f,
                "{role} may touch at most {max} coils or registers per request, not {quantity}"
            ),
        }
    }
}

/// What one or more rules allow for one function on a class of units.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Grant {
    rule_line: usize,
    /// Allowed sub-functions; `None` allows all.
    subs: Option<Vec<u16>>,
    read: AddressSet,
    write: AddressSet,
    max_quantity: u16,
}

impl Grant {
    fn check(&self, function: u8, sub: Option<u16>, access: Access) -> Result<(), DenyReason<'_>> {
        if let (Some(subs), Some(sub)) = (&self.subs, sub)
            && !subs.contains(&sub)
        {
            return Err(DenyReason::SubFunction { function, sub });
        }
        for (span, allowed, is_read) in [
            (access.read(), &self.read, true),
            (access.write(), &self.write, false),
        ] {
            let Some(span) = span else { continue };
            if !allowed.contains_range(span.range.start(), span.range.last()) {
                return Err(if is_read {
                    DenyReason::Read { span, allowed }
                } else {
                    DenyReason::Write { span, allowed }
                });
            }
            if span.range.count() > u32::from(self.max_quantity) {
                return Err(DenyReason::Quantity {
                    quantity: span.range.count(),
                    max: self.max_quantity,
                });
            }
        }
        Ok(())
    }
}

/// Per role: unit → class of units sharing the same rules; class × function → grants.
#[derive(Debug, Clone, Default)]
struct CompiledRole {
    /// 0: no rule covers the unit; n: `classes[n - 1]`.
    unit_class: Vec<u16>,
    /// Per class, per function code 0..=127: 0 for none, n for `grants[n - 1]`.
    classes: Vec<[u32; 128]>,
    grants: Vec<Vec<Grant>>,
}

impl CompiledRole {
    fn compile(rules: &[Rule]) -> CompiledRole {
        let mut role = CompiledRole {
            unit_class: vec![0; 256],
            ..CompiledRole::default()
        };
        let mut class_of: HashMap<Vec<usize>, u16> = HashMap::new();
        let mut grants_of: HashMap<Vec<Grant>, u32> = HashMap::new();
        for unit in 0..=255u8 {
            let covering: Vec<usize> = (0..rules.len())
                .filter(|&i| rules[i].units.contains(unit))
                .collect();
            if covering.is_empty() {
                continue;
            }
            let class = if let Some(&class) = class_of.get(&covering) {
                class
            } else {
                let table = role.class_table(rules, &covering, &mut grants_of);
                role.classes.push(table);
                // At most 256 classes exist, one per unit.
                let class = u16::try_from(role.classes.len()).unwrap_or(u16::MAX);
                class_of.insert(covering, class);
                class
            };
            role.unit_class[usize::from(unit)] = class;
        }
        role
    }

    fn class_table(
        &mut self,
        rules: &[Rule],
        covering: &[usize],
        grants_of: &mut HashMap<Vec<Grant>, u32>,
    ) -> [u32; 128] {
        let mut table = [0u32; 128];
        for function in 1..=127u8 {
            let mut list: Vec<Grant> = Vec::new();
            for &i in covering {
                let rule = &rules[i];
                let keys: Vec<_> = rule
                    .functions
                    .iter()
                    .filter(|k| k.code == function)
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                let subs = if keys.iter().any(|k| k.sub.is_none()) {
                    None
                } else {
                    Some(keys.iter().filter_map(|k| k.sub).collect())
                };
                let grant = Grant {
                    rule_line: rule.line,
                    subs,
                    read: rule.read.clone(),
                    write: rule.write.clone(),
                    max_quantity: rule.max_quantity.unwrap_or(u16::MAX),
                };
                // A request other than FC 23 reads or writes one range, so rules that differ
                // only in their ranges can share one grant with the union of the ranges;
                // FC 23 reads and writes at once and must match one rule with both.
                let mergeable = list.iter_mut().find(|g| {
                    function != 23 && g.subs == grant.subs && g.max_quantity == grant.max_quantity
                });
                match mergeable {
                    Some(existing) => {
                        existing.read = union(&existing.read, &grant.read);
                        existing.write = union(&existing.write, &grant.write);
                    }
                    None => list.push(grant),
                }
            }
            if list.is_empty() {
                continue;
            }
            let index = *grants_of.entry(list.clone()).or_insert_with(|| {
                self.grants.push(list);
                u32::try_from(self.grants.len()).unwrap_or(u32::MAX)
            });
            table[usize::from(function)] = index;
        }
        table
    }
}

fn union(a: &AddressSet, b: &AddressSet) -> AddressSet {
    AddressSet::from_intervals(a.intervals().iter().chain(b.intervals()).copied())
}

/// A policy compiled for fast decisions: each decision is two table lookups and a range check.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    policy: Policy,
    roles: Vec<CompiledRole>,
    null_role: CompiledRole,
}

impl CompiledPolicy {
    /// Compiles a validated policy.
    pub fn compile(policy: Policy) -> CompiledPolicy {
        let roles = policy
            .roles
            .iter()
            .map(|r| CompiledRole::compile(&r.rules))
            .collect();
        let null_role = CompiledRole::compile(&policy.null_role);
        CompiledPolicy {
            policy,
            roles,
            null_role,
        }
    }

    /// The policy this was compiled from.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Resolves the role a client certificate carries (`None`: no role extension).
    pub fn resolve(&self, role: Option<&str>) -> RoleRef {
        match role {
            None => RoleRef::Null,
            Some(name) => self
                .policy
                .roles
                .iter()
                .position(|r| r.name == name)
                .map_or(RoleRef::Unknown, |i| RoleRef::Named(RoleId(i))),
        }
    }

    /// The name of a resolved role, for logs and audit records.
    pub fn role_label(&self, role: RoleRef) -> RoleLabel<'_> {
        match role {
            RoleRef::Null => RoleLabel::Null,
            RoleRef::Named(RoleId(i)) => RoleLabel::Named(&self.policy.roles[i].name),
            RoleRef::Unknown => RoleLabel::Unknown,
        }
    }

    /// Decides whether `role` may send `request`. Deny by default: only a rule that allows
    /// the unit, the function, every address and the quantity allows a request; the
    /// [`Allowed`] it then returns carries the request.
    pub fn decide<'a>(&'a self, role: RoleRef, request: &Request<'a>) -> Decision<'a> {
        let label = self.role_label(role);
        let compiled = match role {
            RoleRef::Null => &self.null_role,
            RoleRef::Named(RoleId(i)) => &self.roles[i],
            RoleRef::Unknown => {
                return Decision::Deny(Denial {
                    role: label,
                    reason: DenyReason::UnknownRole,
                });
            }
        };
        let deny = |reason| {
            Decision::Deny(Denial {
                role: label,
                reason,
            })
        };
        let unit = request.unit_id();
        let class = compiled.unit_class[usize::from(unit)];
        if class == 0 {
            return deny(DenyReason::Unit { unit });
        }
        let function = request.function_code().value();
        // Request function codes are 1..=127 by construction of `FunctionCode`.
        let list = compiled.classes[usize::from(class - 1)][usize::from(function & 0x7F)];
        if list == 0 {
            return deny(DenyReason::Function { unit, function });
        }
        let sub = match request.pdu() {
            RequestPdu::Diagnostics { sub_function, .. } => Some(*sub_function),
            pdu => pdu.mei_type().map(u16::from),
        };
        let access = request.access();
        let mut first_reason = None;
        for grant in &compiled.grants[(list - 1) as usize] {
            match grant.check(function, sub, access) {
                Ok(()) => {
                    return Decision::Allow(Allowed {
                        request: *request,
                        rule_line: grant.rule_line,
                    });
                }
                Err(reason) => {
                    first_reason.get_or_insert(reason);
                }
            }
        }
        // A grant list is never empty, so a reason was recorded.
        deny(first_reason.unwrap_or(DenyReason::Function { unit, function }))
    }
}
