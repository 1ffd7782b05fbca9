//! Entry points for the fuzz targets in `fuzz/`: the oracles live here, next to the code.

use rampart_modbus::decode_request;

use crate::{CompiledPolicy, Decision, Policy, RoleRef, lint};

/// Splits a fuzz input into the text its first two bytes give the length of (UTF-8, else
/// `None`) and the rest.
fn text_then_adus(data: &[u8]) -> Option<(&str, &[u8])> {
    let (&[hi, lo], rest) = data.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes([hi, lo])).min(rest.len());
    let (text, adus) = rest.split_at(len);
    Some((std::str::from_utf8(text).ok()?, adus))
}

/// Policy parsing and evaluation over arbitrary input: the first two bytes give the length of
/// the policy text, the rest are request ADUs (each prefixed by its length byte).
///
/// Checks: no panic; a policy that loads compiles and lints; every decision is the same when
/// asked twice; an unknown role is always denied; and an allowed request's function, unit and
/// addresses are ones a rule of the role names.
pub fn policy(data: &[u8]) {
    let Some((text, mut requests)) = text_then_adus(data) else {
        return;
    };
    let Ok(policy) = Policy::parse(text, "fuzz") else {
        return;
    };
    let _ = lint(&policy);
    let compiled = CompiledPolicy::compile(policy.clone());
    let mut roles: Vec<RoleRef> = policy
        .roles
        .iter()
        .map(|r| compiled.resolve(Some(&r.name)))
        .collect();
    roles.push(RoleRef::Null);
    roles.push(compiled.resolve(Some("no such role")));
    while let Some((&n, tail)) = requests.split_first() {
        let take = usize::from(n).min(tail.len());
        let (adu, next) = tail.split_at(take);
        requests = next;
        let Ok(request) = decode_request(adu) else {
            continue;
        };
        for &role in &roles {
            let first = compiled.decide(role, &request);
            assert_eq!(
                first,
                compiled.decide(role, &request),
                "decisions are deterministic"
            );
            if role == RoleRef::Unknown {
                assert!(!first.is_allowed(), "an unknown role is denied");
            }
            if let Decision::Allow(allowed) = first {
                let rule_line = allowed.rule_line();
                let role_rules = match compiled.role_label(role) {
                    crate::RoleLabel::Named(name) => policy
                        .role(name)
                        .map(|r| r.rules.as_slice())
                        .unwrap_or_default(),
                    _ => policy.null_role.as_slice(),
                };
                let function = request.function_code().value();
                let rule = role_rules.iter().find(|r| r.line == rule_line);
                assert!(
                    rule.is_some_and(|r| r.units.contains(request.unit_id())
                        && r.functions.iter().any(|k| k.code == function)),
                    "the rule that allowed a request covers its unit and function"
                );
            }
        }
    }
}

/// An IDS baseline file and traffic over it: the first two bytes give the length of the
/// baseline text, the rest are request ADUs (each prefixed by its length byte), observed a
/// second apart by two clients, one in the baseline and one not.
///
/// Checks: no panic; a baseline that loads writes back to a file that loads to the same
/// baseline; detection on it raises alerts with a count of at least 1.
pub fn baseline(data: &[u8]) {
    use crate::{Baseline, Ids, IdsConfig, Observation};
    let Some((text, mut requests)) = text_then_adus(data) else {
        return;
    };
    let Ok(baseline) = Baseline::from_json(text) else {
        return;
    };
    let again = Baseline::from_json(&baseline.to_json());
    assert!(
        again.is_ok(),
        "a baseline that loads must write back loadable: {again:?}"
    );
    let known = baseline.clients.keys().next().cloned().unwrap_or_default();
    let mut ids = Ids::new(IdsConfig::default());
    ids.use_baseline(baseline);
    let mut time_us = 1_700_000_000_000_000u64;
    let mut alerts = Vec::new();
    while let Some((&n, tail)) = requests.split_first() {
        let take = usize::from(n).min(tail.len());
        let (adu, next) = tail.split_at(take);
        requests = next;
        let Ok(request) = decode_request(adu) else {
            continue;
        };
        time_us += 1_000_000;
        for client in [known.as_str(), "fuzz-client"] {
            ids.observe_flow(
                time_us,
                client,
                Some("fuzz-server"),
                Observation::Request {
                    request: &request,
                    decision: None,
                },
                &mut alerts,
            );
            ids.observe_flow(
                time_us + 1_000,
                client,
                Some("fuzz-server"),
                Observation::Answered {
                    unit: request.unit_id(),
                    function: request.function_code().value(),
                    latency_us: u64::from(n) * 1_000,
                },
                &mut alerts,
            );
        }
    }
    ids.flush(time_us + 60_000_000, &mut alerts);
    assert!(alerts.iter().all(|a| a.count >= 1));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fuzz_oracle_runs_on_a_real_policy() {
        let text = crate::DEFAULT_POLICY.as_bytes();
        let mut data = u16::try_from(text.len()).unwrap().to_be_bytes().to_vec();
        data.extend_from_slice(text);
        let read = [0u8, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
        data.push(u8::try_from(read.len()).unwrap());
        data.extend_from_slice(&read);
        super::policy(&data);
        super::policy(&[]);
        super::policy(&[0, 3, b'x', b'=', b'[']);
    }
}
