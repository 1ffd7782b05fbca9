//! Integration tests of `rampart-assess`: every output format against its schema, the live
//! checks against a realistic config report, and Rampart's own profile against them.

mod live_fixture;
mod oscal_schema;
mod report_schema;
mod reports;
mod sarif_schema;
mod test_results;
mod util;
