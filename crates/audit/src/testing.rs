//! Helpers for tests of this crate and of crates that use it. Never for a deployed component.

use rampart_vault::DeviceKey;

use crate::event::{Actor, Category, NewEvent, Outcome, Severity};

/// A signing key derived from `seed` alone: anyone can recompute it, so it proves nothing.
pub fn insecure_signing_key(seed: u8) -> DeviceKey {
    DeviceKey::danger_insecure_from_seed(&[seed; 32])
}

/// A realistic event (a denied Modbus write), varied by `i` so rows differ.
///
/// # Panics
/// Never: the fields are within every limit.
pub fn sample_event(i: u64) -> NewEvent {
    let categories = Category::ALL;
    let category = categories[usize::try_from(i).unwrap_or(0) % categories.len()];
    let outcome = if i.is_multiple_of(3) {
        Outcome::Denied
    } else {
        Outcome::Success
    };
    // The fields are fixed and within every limit, so building cannot fail.
    #[allow(clippy::expect_used)]
    NewEvent::builder(
        category,
        "modbus.write",
        Actor::certificate(format!("CN=hmi-{},O=Plant", i % 8)).expect("valid actor"),
    )
    .source_address(format!("192.0.2.{}:50211", i % 250))
    .interface("conduit:plc-1")
    .target(format!(
        "unit 1 holding registers {}..{}",
        i % 1000,
        i % 1000 + 4
    ))
    .outcome(outcome)
    .severity(if outcome == Outcome::Denied {
        Severity::Warning
    } else {
        Severity::Informational
    })
    .details(
        serde_json::json!({ "function_code": 16, "quantity": 4, "request": i, "role": "operator" }),
    )
    .build()
    .expect("valid event")
}
