//! Reports of an [`Assessment`](crate::Assessment) for people and machines.

pub mod diff;
pub mod html;
pub mod junit;
pub mod matrix;
pub mod oscal;
pub mod sarif;
pub mod text;

use crate::engine::Assessment;

/// The versioned JSON report (`schemas/assess/report.schema.json`), pretty-printed.
///
/// # Panics
/// Never: the report holds only values that serialise.
pub fn json(assessment: &Assessment) -> String {
    // Invariant: the report holds only strings, numbers, booleans and maps with string keys,
    // which always serialise.
    #[allow(clippy::expect_used)]
    let mut text = serde_json::to_string_pretty(assessment).expect("the report serialises");
    text.push('\n');
    text
}

/// Escapes text for XML and HTML element content and attribute values (also used by
/// `rampart-probe`'s `JUnit` report); control characters XML 1.0 cannot carry become spaces.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters; they carry nothing a reader needs.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
