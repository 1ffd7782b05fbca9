//! Integration tests of `rampart-vuln`: the file layer, Rampart's own SBOM against the
//! RustSec data, the JSON report against its schema, and bad input.

mod bad_input;
mod corpus;
mod inventories;
mod openpgp;
mod own_sbom;
mod report_schema;
mod rolie;
mod unseen;
mod util;
mod vex;
