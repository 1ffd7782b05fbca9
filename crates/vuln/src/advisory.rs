//! The advisory model every reader produces: products with what identifies them, and
//! vulnerabilities with a status per product.

use schemars::JsonSchema;
use serde::Serialize;

use crate::ids::{Cpe, Purl};
use crate::version::Range;

/// Where an advisory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A CSAF 2.0 document.
    Csaf,
    /// An OSV JSON record.
    Osv,
    /// The RustSec advisory database.
    Rustsec,
}

/// An advisory: one CSAF document, one OSV record or one RustSec advisory.
#[derive(Debug, Clone)]
pub struct Advisory {
    /// The tracking id (`ICSA-23-166-08`, `GHSA-…`, `RUSTSEC-2025-0023`).
    pub id: String,
    /// The format it was read from.
    pub source: Source,
    /// The title.
    pub title: String,
    /// The file it was read from (or the name the caller gave the text).
    pub origin: String,
    /// Every product the advisory defines.
    pub products: Vec<Product>,
    /// Its vulnerabilities.
    pub vulnerabilities: Vec<Vulnerability>,
    /// What the reader accepted but noted (a range it could not read, a product version that
    /// holds a range): shown to the user, never dropped.
    pub warnings: Vec<String>,
}

impl Advisory {
    /// The product with this id.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
}

/// A product of an advisory and everything that identifies it.
#[derive(Debug, Clone)]
pub struct Product {
    /// The product id within the advisory (`CSAFPID-0001`; for OSV and RustSec, the package).
    pub id: String,
    /// The full product name as the advisory prints it.
    pub full_name: String,
    /// The vendor (the `vendor` branch in CSAF), if stated.
    pub vendor: Option<String>,
    /// The product name (the `product_name` branch), if stated.
    pub name: Option<String>,
    /// The product family (`product_family` branch), if stated.
    pub family: Option<String>,
    /// The versions this product entry stands for.
    pub range: Range,
    /// Whether `range` came from a `product_version` (one version) rather than a range.
    pub exact_version: Option<String>,
    /// Model numbers (`product_identification_helper.model_numbers`, with `*`/`?` wildcards).
    pub model_numbers: Vec<String>,
    /// Package URLs.
    pub purls: Vec<Purl>,
    /// CPE names.
    pub cpes: Vec<Cpe>,
    /// For a product built by a relationship: the id of the product it is part of or
    /// installed on (`relates_to_product_reference`); the identity fields above are those of
    /// the component (`product_reference`).
    pub platform: Option<String>,
}

impl Product {
    /// A product with a name and nothing else, covering all versions.
    pub fn named(id: &str, full_name: &str) -> Product {
        Product {
            id: id.to_owned(),
            full_name: full_name.to_owned(),
            vendor: None,
            name: None,
            family: None,
            range: Range::All,
            exact_version: None,
            model_numbers: Vec::new(),
            purls: Vec::new(),
            cpes: Vec::new(),
            platform: None,
        }
    }
}

/// The status of a product for a vulnerability, in the words of CSAF's `product_status`
/// (and of the JSON report).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Affected (`first_affected`, `known_affected`, `last_affected`).
    KnownAffected,
    /// It might be affected: the advisory says so, or Rampart cannot rule it out.
    UnderInvestigation,
    /// Fixed (`first_fixed`, `fixed`).
    Fixed,
    /// Not affected.
    KnownNotAffected,
}

impl Status {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::KnownAffected => "known_affected",
            Status::UnderInvestigation => "under_investigation",
            Status::Fixed => "fixed",
            Status::KnownNotAffected => "known_not_affected",
        }
    }
}

/// A vulnerability of an advisory.
#[derive(Debug, Clone)]
pub struct Vulnerability {
    /// The CVE id, if any.
    pub cve: Option<String>,
    /// Other ids (GHSA, RUSTSEC, vendor ids).
    pub ids: Vec<String>,
    /// The title or summary.
    pub title: String,
    /// Product id → status, as the advisory states them.
    pub statuses: Vec<(String, Status)>,
    /// CVSS scores and the products they apply to.
    pub scores: Vec<Score>,
    /// Remediations and the products they apply to.
    pub remediations: Vec<Remediation>,
}

/// A CVSS score.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The product ids it applies to; empty means all.
    pub products: Vec<String>,
    /// The base score (0.0–10.0); `None` when only a vector is given that Rampart cannot score.
    pub base_score: Option<f64>,
    /// The vector string.
    pub vector: Option<String>,
}

/// A remediation: what to do about a vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Remediation {
    /// The CSAF category: `vendor_fix`, `mitigation`, `workaround`, `none_available`,
    /// `no_fix_planned`.
    pub category: String,
    /// What to do.
    pub details: String,
    /// Where to read more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The product ids it applies to; empty means all.
    #[serde(skip)]
    pub products: Vec<String>,
}

impl Vulnerability {
    /// The highest base score that applies to any of `products` (or to all products).
    pub fn score_for(&self, products: &[&str]) -> Option<&Score> {
        self.scores
            .iter()
            .filter(|s| {
                s.products.is_empty() || s.products.iter().any(|p| products.contains(&p.as_str()))
            })
            .max_by(|a, b| {
                a.base_score
                    .unwrap_or(-1.0)
                    .total_cmp(&b.base_score.unwrap_or(-1.0))
            })
    }

    /// The remediations that apply to any of `products` (or to all products).
    pub fn remediations_for(&self, products: &[&str]) -> Vec<Remediation> {
        self.remediations
            .iter()
            .filter(|r| {
                r.products.is_empty() || r.products.iter().any(|p| products.contains(&p.as_str()))
            })
            .cloned()
            .collect()
    }
}
