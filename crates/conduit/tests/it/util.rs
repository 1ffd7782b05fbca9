use rampart_conduit::{CompiledPolicy, Decision, Policy};
use rampart_modbus::{AddressRange, Request, RequestPdu};

pub(crate) fn compile(text: &str) -> CompiledPolicy {
    CompiledPolicy::compile(Policy::parse(text, "test.toml").unwrap())
}

pub(crate) fn default_policy() -> CompiledPolicy {
    compile(rampart_conduit::DEFAULT_POLICY)
}

pub(crate) fn range(start: u16, count: u16) -> AddressRange {
    AddressRange::new(start, count).unwrap()
}

pub(crate) fn request(unit: u8, pdu: RequestPdu<'_>) -> Request<'_> {
    Request::new(1, unit, pdu)
}

/// Decides `pdu` on `unit` for `role` (None: the NULL role) and returns the denial text, or
/// `None` when allowed.
pub(crate) fn check(
    policy: &CompiledPolicy,
    role: Option<&str>,
    unit: u8,
    pdu: RequestPdu<'_>,
) -> Option<String> {
    let role = policy.resolve(role);
    match policy.decide(role, &request(unit, pdu)) {
        Decision::Allow { .. } => None,
        Decision::Deny(denial) => Some(denial.to_string()),
    }
}
