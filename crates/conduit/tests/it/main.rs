//! Integration tests of the conduit policy engine and IDS, named after what they prove.

mod default_policy;
mod deny_by_default;
mod diagnostics_denial_of_service;
mod ids_detectors;
mod util;
