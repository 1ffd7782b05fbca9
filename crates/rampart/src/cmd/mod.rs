//! One module per subcommand: argument types and the glue to the library crates.

pub(crate) mod assess;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod catalog;
pub(crate) mod config_report;
pub(crate) mod crypto;
pub(crate) mod docs;
pub(crate) mod erase;
pub(crate) mod forward;
pub(crate) mod identity;
pub(crate) mod ids;
pub(crate) mod inspect;
pub(crate) mod integrity;
pub(crate) mod pki;
pub(crate) mod policy;
pub(crate) mod probe;
pub(crate) mod up;
pub(crate) mod update;
pub(crate) mod vuln;
