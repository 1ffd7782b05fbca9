//! The OASIS CSAF 2.0 JSON Schema, compiled into the binary and checked against every CSAF
//! document before it is read (CSAF 2.0 section 9.1.14 makes schema validity the first
//! condition of a valid document; the mandatory tests of section 6.1 come after).
//!
//! The schema refers to FIRST's CVSS schemas by URL; those are compiled in as well and found
//! through a registry, so nothing is fetched. Formats (`date-time`, `uri`, `email`) are
//! checked too, as the CSAF validators do.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::error::InputError;

/// The schema files, unmodified copies in `schemas/csaf-2.0/` (origin and licence there).
const CSAF: &str = include_str!("../../../../schemas/csaf-2.0/csaf_json_schema.json");
const REFERENCED: [(&str, &str); 3] = [
    (
        "https://www.first.org/cvss/cvss-v2.0.json",
        include_str!("../../../../schemas/csaf-2.0/cvss-v2.0.json"),
    ),
    (
        "https://www.first.org/cvss/cvss-v3.0.json",
        include_str!("../../../../schemas/csaf-2.0/cvss-v3.0.json"),
    ),
    (
        "https://www.first.org/cvss/cvss-v3.1.json",
        include_str!("../../../../schemas/csaf-2.0/cvss-v3.1.json"),
    ),
];

/// How many schema violations one error names (a broken document can have thousands).
const MAX_REPORTED: usize = 5;

/// The compiled validator, built once per process; an error here is a defect of the build
/// (the schema files are part of it), reported on every read rather than panicking.
fn validator() -> Result<&'static jsonschema::Validator, &'static str> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(compile)
        .as_ref()
        .map_err(String::as_str)
}

fn compile() -> Result<jsonschema::Validator, String> {
    let parse = |name: &str, text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| format!("the built-in schema {name} is not JSON: {e}"))
    };
    let mut registry = jsonschema::Registry::new();
    for (url, text) in REFERENCED {
        registry = registry
            .add(url, jsonschema::Resource::from_contents(parse(url, text)?))
            .map_err(|e| format!("the built-in schema {url}: {e}"))?;
    }
    let registry = registry
        .prepare()
        .map_err(|e| format!("the built-in CSAF schema registry: {e}"))?;
    jsonschema::draft202012::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&parse("csaf_json_schema.json", CSAF)?)
        .map_err(|e| format!("the built-in CSAF schema does not compile: {e}"))
}

/// Checks `document` against the CSAF 2.0 JSON Schema.
///
/// # Errors
/// [`InputError::CsafSchema`] naming the first violations (JSON pointer in the document and
/// what the schema asks there), and how many there are in all.
pub fn check(document: &serde_json::Value, origin: &str) -> Result<(), InputError> {
    let validator = validator().map_err(|e| InputError::CsafSchema {
        origin: origin.to_owned(),
        at: String::new(),
        message: e.to_owned(),
    })?;
    let mut errors = validator.iter_errors(document);
    let Some(first) = errors.next() else {
        return Ok(());
    };
    let at = first.instance_path().to_string();
    let mut message = first.to_string();
    let mut count = 1usize;
    for error in errors {
        if count < MAX_REPORTED {
            let _ = write!(message, "; {}: {error}", error.instance_path());
        }
        count += 1;
    }
    if count > 1 {
        let _ = write!(message, " ({count} violations in all)");
    }
    Err(InputError::CsafSchema {
        origin: origin.to_owned(),
        at: if at.is_empty() { "/".to_owned() } else { at },
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_schema_compiles() {
        assert!(validator().is_ok(), "{:?}", validator().err());
    }

    #[test]
    fn a_violation_names_where_and_what() {
        let doc = serde_json::json!({"document": {"category": "csaf_base", "csaf_version": "2.0",
            "title": "t", "tracking": {"id": "x"}}});
        let err = check(&doc, "doc.json").unwrap_err().to_string();
        assert!(err.starts_with("doc.json: CSAF 2.0 JSON schema"), "{err}");
        assert!(err.contains("/document"), "{err}");
        assert!(err.contains("publisher"), "{err}");
        assert!(err.contains("violations in all"), "{err}");
    }

    #[test]
    fn a_cvss_score_is_checked_against_firsts_schema() {
        let mut doc = crate::csaf::testing::minimal_document("T-1");
        doc["product_tree"] =
            serde_json::json!({"full_product_names": [{"product_id": "P", "name": "p"}]});
        doc["vulnerabilities"] = serde_json::json!([{"scores": [{"products": ["P"],
            "cvss_v3": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]}]);
        check(&doc, "ok").unwrap();
        doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = 11.0.into();
        let err = check(&doc, "bad").unwrap_err().to_string();
        assert!(err.contains("/vulnerabilities/0/scores/0/cvss_v3"), "{err}");
    }
}
