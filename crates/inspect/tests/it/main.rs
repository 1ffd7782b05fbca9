//! Integration tests of offline inspection over the reference captures.

mod captures;
mod tshark_differential;
mod util;
