//! Integration tests of the requirement catalog against the reference data and the formats it
//! exports.

mod counts;
mod json_round_trip;
mod oscal_schema;
mod spot_checks;
mod util;
