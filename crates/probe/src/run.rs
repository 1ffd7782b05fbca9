//! The runner: each planned check against its target, one after the other, within its bound.

use std::time::Instant;

use serde_json::{Map, Value};

use crate::checks::{CheckSpec, Plan};
use crate::evidence::{CheckResult, Evidence, Outcome};
use crate::net::{Context, Pacer};
use crate::robustness::floods::Flood;
use crate::robustness::{self, Storm};
use crate::target::Target;

/// What a check found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) outcome: Outcome,
    pub(crate) observation: String,
    pub(crate) details: Map<String, Value>,
}

impl Finding {
    pub(crate) fn new(outcome: Outcome, observation: impl Into<String>) -> Finding {
        Finding {
            outcome,
            observation: observation.into(),
            details: Map::new(),
        }
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

pub(crate) async fn run(plan: &Plan, now: jiff::Timestamp) -> Evidence {
    let context = Context {
        pacer: Pacer::new(),
        now,
        identity: plan.identity.clone(),
        robustness: plan.robustness.clone(),
        login: crate::https::login::LoginContext::new(plan.login.clone(), plan.intrusive),
        openapi: plan.openapi.clone(),
    };
    let mut evidence = Evidence::new(
        now,
        plan.intrusive,
        plan.targets.iter().map(ToString::to_string).collect(),
    );
    for (target, spec) in plan.runs() {
        evidence.checks.push(run_one(&context, target, spec).await);
    }
    evidence
}

async fn run_one(context: &Context, target: &Target, spec: &'static CheckSpec) -> CheckResult {
    let started = Instant::now();
    // A storm's bound follows the storm's duration, which the user may set.
    let bound = if spec.is_storm() {
        context.robustness.storm_bound()
    } else {
        spec.bound
    };
    let finding = match tokio::time::timeout(bound, dispatch(context, target, spec)).await {
        Ok(finding) => finding,
        Err(_) => Finding::new(
            Outcome::NotTested,
            format!(
                "abandoned at its bound of {} s before it could decide",
                bound.as_secs()
            ),
        ),
    };
    CheckResult {
        id: spec.id.to_owned(),
        target: target.to_string(),
        requirements: spec.requirements.iter().map(|r| (*r).to_owned()).collect(),
        outcome: finding.outcome,
        observation: finding.observation,
        details: finding.details,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        bound_ms: u64::try_from(bound.as_millis()).unwrap_or(u64::MAX),
    }
}

/// The checks [`dispatch`] implements (the registry test holds the two together).
#[cfg(test)]
pub(crate) const IMPLEMENTED: &[&str] = &[
    "tls-versions",
    "tls-cipher-suites",
    "tls-compression-renegotiation",
    "tls-certificate",
    "tls-client-certificate",
    "tls-groups",
    "tls-resumption-after-alert",
    "tls-client-renegotiation",
    "modbus-plaintext",
    "modbus-unauthenticated-access",
    "modbus-function-codes",
    "modbus-malformed-frames",
    "modbus-unauthenticated-write",
    "modbus-role-write",
    "https-security-headers",
    "https-cookie-attributes",
    "https-anonymous-api",
    "https-use-notification",
    "https-authenticator-feedback",
    "https-lockout",
    "storm-connections",
    "storm-tls-handshakes",
    "storm-slow-requests",
    "storm-malformed-frames",
    "storm-pipelined-requests",
    "storm-udp-flood",
    "storm-icmp-flood",
    "storm-syn-flood",
];

async fn dispatch(context: &Context, target: &Target, spec: &CheckSpec) -> Finding {
    match spec.id {
        "tls-versions" => crate::tls::versions(context, target).await,
        "tls-cipher-suites" => crate::tls::cipher_suites(context, target).await,
        "tls-compression-renegotiation" => {
            crate::tls::compression_renegotiation(context, target).await
        }
        "tls-certificate" => crate::tls::certificate(context, target).await,
        "tls-client-certificate" => crate::tls::client_certificate(context, target).await,
        "tls-groups" => crate::tls_groups::groups(context, target).await,
        "tls-resumption-after-alert" => {
            crate::tls_resumption::resumption_after_alert(context, target).await
        }
        "tls-client-renegotiation" => {
            crate::tls_renegotiation::client_renegotiation(context, target).await
        }
        "modbus-plaintext" => crate::modbus::plaintext(context, target).await,
        "modbus-unauthenticated-access" => {
            crate::modbus::unauthenticated_access(context, target).await
        }
        "modbus-function-codes" => crate::modbus::function_codes(context, target).await,
        "modbus-malformed-frames" => crate::modbus::malformed_frames(context, target).await,
        "modbus-unauthenticated-write" | "modbus-role-write" => {
            crate::modbus::write_back(context, target).await
        }
        "https-security-headers" => crate::https::security_headers(context, target).await,
        "https-cookie-attributes" => crate::https::cookie_attributes(context, target).await,
        "https-anonymous-api" => crate::https::anonymous_api(context, target).await,
        "https-use-notification" => crate::https::login::use_notification(context, target).await,
        "https-authenticator-feedback" => {
            crate::https::login::authenticator_feedback(context, target).await
        }
        "https-lockout" => crate::https::login::lockout(context, target).await,
        "storm-connections" => robustness::storm(context, target, Storm::Connections).await,
        "storm-tls-handshakes" => robustness::storm(context, target, Storm::Handshakes).await,
        "storm-slow-requests" => robustness::storm(context, target, Storm::SlowRequests).await,
        "storm-malformed-frames" => robustness::storm(context, target, Storm::Malformed).await,
        "storm-pipelined-requests" => robustness::storm(context, target, Storm::Pipelined).await,
        "storm-udp-flood" => robustness::storm(context, target, Storm::Flood(Flood::Udp)).await,
        "storm-icmp-flood" => robustness::storm(context, target, Storm::Flood(Flood::Icmp)).await,
        "storm-syn-flood" => robustness::storm(context, target, Storm::Flood(Flood::Syn)).await,
        other => Finding::new(
            Outcome::NotTested,
            format!("no implementation of the check '{other}'"),
        ),
    }
}
