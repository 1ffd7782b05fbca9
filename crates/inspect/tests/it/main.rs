//! Integration tests of offline inspection over the reference captures.

mod anomalies;
mod captures;
mod tshark_differential;
mod util;
