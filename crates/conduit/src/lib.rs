//! The conduit: what may cross between the zones a Modbus gateway joins (FR5 restricted data
//! flow; NDR 5.2 zone boundary protection; CR 2.1 authorisation enforcement; CR 6.2
//! continuous monitoring).
//!
//! - [`Policy`]: a TOML policy of roles and rules (units, functions with presets, separate
//!   read and write address ranges, quantity caps) and global limits, validated with errors
//!   that name the line and key.
//! - [`CompiledPolicy`]: the policy compiled into lookup tables; [`CompiledPolicy::decide`]
//!   gives [`Decision::Allow`] with an [`Allowed`] request (the proof that the gateway's
//!   upstream requires before it forwards anything) or [`Decision::Deny`] with a reason a
//!   person can read.
//! - [`lint`]: shadowed, overlapping and unreachable rules, roles that may write everything,
//!   and rules that allow the disruptive FC 8 sub-functions.
//!
//! # Security model
//! Deny by default: a role the policy does not name, the NULL role without rules, any unit,
//! function or address no rule names, and every vendor-specific or user-defined function code
//! (no preset includes one) are denied, and so are the FC 8 sub-functions that restart the
//! device's communications or silence it, unless a rule names them. The crate works on parsed
//! frames from `rampart-modbus` and does no I/O.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod baseline;
mod decide;
pub mod functions;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod learn;
mod lint;
mod policy;
mod sets;

pub use baseline::{Adaptation, Baseline, BaselineError};
pub use decide::{
    Allowed, CompiledPolicy, Decision, Denial, DenyReason, RoleId, RoleLabel, RoleRef,
};
pub use ids::{
    Alert, Detector, Ids, IdsConfig, LearningPeriod, LearningState, Observation, Severity,
    Technique,
};
pub use learn::Learner;
pub use lint::{Finding, Level, lint};
pub use policy::{
    DenyAction, FORMAT_VERSION, Limits, MAX_POLICY_BYTES, Policy, PolicyError, Role, Rule,
};
pub use sets::{AddressSet, UnitSet};

/// The default policy of `rampart up` (`policies/default.toml`): unit 1; `viewer` reads
/// everything; `operator` also writes holding registers 0-19 and coils 0-15; `engineer` uses
/// every public function code (FC 8 only with the harmless diagnostics of a preset); the NULL
/// role nothing.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.toml");
