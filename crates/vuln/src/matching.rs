//! Matching an inventory against advisories, fail-closed.
//!
//! For each component, advisory and vulnerability, every product the vulnerability gives a
//! status is a *candidate* when one identity rule ([`Rule`]) ties it to the component and
//! the component's version is not outside the product's versions. Each candidate carries the
//! rule's confidence; a version that cannot be compared with the product's range lowers it
//! to [`UNDECIDED_VERSION_CONFIDENCE`]. The statuses of the candidates then decide, in this
//! order (docs/vulnerabilities.md gives the rules with examples):
//!
//! 1. an affected candidate at or above the threshold → `known_affected`;
//! 2. an affected candidate below it, or a candidate the advisory lists as under
//!    investigation → `under_investigation`;
//! 3. a fixed candidate at or above the threshold → `fixed`;
//! 4. a not-affected candidate at or above the threshold → `known_not_affected`;
//! 5. otherwise nothing is reported: the advisory says nothing about this component.
//!
//! So a component is reported `fixed` or `known_not_affected` only when nothing in the
//! advisory might make it affected: a product that might be affected is never reported not
//! affected.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};

use schemars::JsonSchema;
use serde::Serialize;

use crate::advisory::{Advisory, Product, Remediation, Source, Status, Vulnerability};
use crate::inventory::{Component, Inventory};
use crate::names::{model_matches, normalize, product_key, strip_series, vendor_key};
use crate::version::{Containment, Range, ReleaseLines};
use crate::vex::VexNote;

/// The confidence below which a match is reported `under_investigation` by default.
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// The confidence of a candidate whose version cannot be compared with the product's range.
pub const UNDECIDED_VERSION_CONFIDENCE: f64 = 0.5;

/// Options of [`match_inventory`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Matches below this confidence are `under_investigation` (0.0–1.0).
    pub threshold: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// The identity rule that tied a component to an advisory's product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Package URLs name the same package (type, namespace, name). Confidence 1.0.
    Purl,
    /// CPE vendor and product are equal. Confidence 0.95.
    Cpe,
    /// A model number of the component matches one of the product's `model_numbers`
    /// (wildcards `*`, `?`), vendors not contradicting. Confidence 0.95; 0.85 when either
    /// vendor is unknown or the model number was given as the product's version.
    ModelNumber,
    /// Normalised vendor and product names are equal. Confidence 0.9.
    VendorProduct,
    /// Vendors equal and the product name is a series or family (`PT-7528 series`) of which
    /// the component's name is the stem. Confidence 0.85.
    VendorSeries,
    /// Product names equal, but the vendor of one side is unknown. Confidence 0.7.
    ProductName,
    /// Vendors equal and one product name contains the other word by word
    /// (`SIMATIC STEP 7` in `SIMATIC STEP 7 V5`). Confidence 0.6.
    PartialName,
    /// The component is the platform of a CSAF relationship (the product the vulnerable
    /// component is part of or installed on). Confidence at most 0.6.
    Platform,
}

impl Rule {
    /// The name in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Purl => "purl",
            Rule::Cpe => "cpe",
            Rule::ModelNumber => "model-number",
            Rule::VendorProduct => "vendor-product",
            Rule::VendorSeries => "vendor-series",
            Rule::ProductName => "product-name",
            Rule::PartialName => "partial-name",
            Rule::Platform => "platform",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component matched to a vulnerability of an advisory.
#[derive(Debug, Clone)]
pub struct Match {
    /// The component's reference in the SBOM (`bom-ref`, `SPDXID`).
    pub component: String,
    /// The component's name.
    pub component_name: String,
    /// The component's version.
    pub component_version: Option<String>,
    /// The advisory's tracking id.
    pub advisory: String,
    /// The advisory's format.
    pub source: Source,
    /// The CVE id.
    pub cve: Option<String>,
    /// Other ids of the vulnerability.
    pub ids: Vec<String>,
    /// The vulnerability's title (or the advisory's).
    pub title: String,
    /// The decided status.
    pub status: Status,
    /// The rule of the deciding candidate.
    pub rule: Rule,
    /// Its confidence (0.0–1.0).
    pub confidence: f64,
    /// The advisory's products the decision rests on (full names).
    pub products: Vec<String>,
    /// Why, in words: rule, names, versions.
    pub reason: String,
    /// The highest CVSS base score given for those products.
    pub cvss: Option<f64>,
    /// Its vector.
    pub cvss_vector: Option<String>,
    /// The remediations given for those products.
    pub remediations: Vec<Remediation>,
    /// The VEX statement that applies, if any ([`crate::vex::apply`]).
    pub vex: Option<VexNote>,
}

impl Match {
    /// Whether the match needs action: affected or under investigation, and not covered by
    /// a VEX statement of `known_not_affected` or `fixed`.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            Status::KnownAffected | Status::UnderInvestigation
        ) && !self.vex.as_ref().is_some_and(VexNote::covers)
    }
}

/// A product tied to a component, before the statuses decide.
struct Candidate<'a> {
    product: &'a Product,
    rule: Rule,
    confidence: f64,
    reason: String,
}

/// Matches every component of `inventory` against every advisory.
pub fn match_inventory(
    inventory: &Inventory,
    advisories: &[Advisory],
    options: &Options,
) -> Vec<Match> {
    let mut out = Vec::new();
    // Normalised once: every component is compared with every product.
    let component_keys: Vec<Keys> = inventory
        .components
        .iter()
        .map(|c| Keys::new(c.vendor.as_deref(), &c.name))
        .collect();
    for advisory in advisories {
        let prepared = Prepared::new(advisory);
        for (component, ck) in inventory.components.iter().zip(&component_keys) {
            let candidates: Vec<Candidate<'_>> = advisory
                .products
                .iter()
                .zip(&prepared.keys)
                .zip(&prepared.lines)
                .filter_map(|((p, pk), line)| candidate(component, ck, p, pk, *line, &prepared))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            for vulnerability in &advisory.vulnerabilities {
                if let Some(m) = decide(
                    component,
                    advisory,
                    vulnerability,
                    &candidates,
                    options.threshold,
                ) {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// The candidate for `product`, if an identity rule ties it to `component` and the
/// component's version is not outside its range (nor of another of the release lines the
/// product's siblings bound, `line`).
fn candidate<'a>(
    component: &Component,
    ck: &Keys,
    product: &'a Product,
    pk: &Keys,
    line: Option<(usize, usize)>,
    prepared: &Prepared<'_>,
) -> Option<Candidate<'a>> {
    let found = identify(component, ck, product, pk);
    let (rule, confidence, mut reason, range_overridden) = if let Some(found) = found {
        found
    } else {
        // The platform of a relationship: the component contains the vulnerable part.
        let &i = prepared.index.get(product.platform.as_deref()?)?;
        let (_, confidence, reason, _) = identify(
            component,
            ck,
            &prepared.advisory.products[i],
            &prepared.keys[i],
        )?;
        (
            Rule::Platform,
            confidence.min(0.6),
            format!("{reason}; it is the platform of {:?}", product.full_name),
            true,
        )
    };
    let range = if range_overridden {
        &Range::All
    } else {
        &product.range
    };
    let version = component.version.as_deref();
    if !range_overridden
        && let Some((group, own)) = line
        && let Some(parsed) = version.and_then(crate::version::Version::parse)
        && let Some(of_version) = prepared.line_groups[group].line_of(&parsed)
    {
        if of_version != own {
            // The version's own release line has its own bound: that product decides.
            return None;
        }
        let _ = write!(
            reason,
            "; release line {} (one range per line)",
            prepared.line_groups[group].describe(own)
        );
    }
    let containment = match version {
        Some(v) => range.contains(v),
        None if range.is_all() => Containment::Yes,
        None => Containment::Unknown,
    };
    let confidence = match containment {
        Containment::No => return None,
        Containment::Yes => {
            let _ = write!(
                reason,
                "; version {} in {range}",
                version.unwrap_or("(none)")
            );
            confidence
        }
        Containment::Unknown => {
            let _ = write!(
                reason,
                "; version {} not comparable with {range}",
                version.unwrap_or("(none)")
            );
            confidence.min(UNDECIDED_VERSION_CONFIDENCE)
        }
    };
    Some(Candidate {
        product,
        rule,
        confidence,
        reason,
    })
}

/// The identity rule that ties `component` to `product`, its confidence, the reason, and
/// whether the product's range is to be ignored (the version field held a model number).
fn identify(
    component: &Component,
    ck: &Keys,
    product: &Product,
    pk: &Keys,
) -> Option<(Rule, f64, String, bool)> {
    // Rule purl: decisive either way when both sides carry one.
    if let Some(cp) = &component.purl
        && !product.purls.is_empty()
    {
        return product
            .purls
            .iter()
            .find(|pp| pp.same_package(cp))
            .map(|pp| (Rule::Purl, 1.0, format!("purl {cp} is package {pp}"), false));
    }
    // Rule cpe.
    if let Some(cc) = &component.cpe {
        for pc in &product.cpes {
            if normalize(&pc.vendor) == normalize(&cc.vendor)
                && normalize(&pc.product) == normalize(&cc.product)
            {
                return Some((
                    Rule::Cpe,
                    0.95,
                    format!(
                        "CPE vendor {:?} and product {:?} equal",
                        cc.vendor, cc.product
                    ),
                    false,
                ));
            }
        }
    }
    let component_vendor = &ck.vendor;
    let product_vendor = &pk.vendor;
    let vendors_known = component_vendor.is_some() && product_vendor.is_some();
    // Vendors whose names agree word by word up to the shorter one ("Yokogawa" and
    // "Yokogawa Electric Corporation") are taken as the same at a lower confidence.
    let mut vendor_penalty = 0.0;
    if let (Some(a), Some(b)) = (component_vendor, product_vendor)
        && a != b
    {
        if words_prefix(a, b) || words_prefix(b, a) {
            vendor_penalty = VENDOR_PREFIX_PENALTY;
        } else {
            return None;
        }
    }
    identify_same_vendor(component, ck, product, pk, vendors_known).map(
        |(rule, confidence, reason, overridden)| {
            if vendor_penalty > 0.0 {
                (
                    rule,
                    confidence - vendor_penalty,
                    format!("{reason}; vendor names agree only as far as the shorter one"),
                    overridden,
                )
            } else {
                (rule, confidence, reason, overridden)
            }
        },
    )
}

/// What a vendor match by the shorter name costs in confidence.
const VENDOR_PREFIX_PENALTY: f64 = 0.05;

/// Whether the words of `short` start `long` (the first at least 3 characters).
fn words_prefix(long: &str, short: &str) -> bool {
    short.split(' ').next().is_some_and(|w| w.len() >= 3)
        && format!("{long} ").starts_with(&format!("{short} "))
}

/// The rules after purl and CPE, for a component and product whose vendors do not differ.
fn identify_same_vendor(
    component: &Component,
    ck: &Keys,
    product: &Product,
    pk: &Keys,
    vendors_known: bool,
) -> Option<(Rule, f64, String, bool)> {
    // Rule model-number; a component and a product that both list model numbers, none of
    // them shared, are different products.
    if !component.model_numbers.is_empty() {
        for pattern in &product.model_numbers {
            if let Some(model) = component
                .model_numbers
                .iter()
                .find(|m| model_matches(pattern, m))
            {
                let confidence = if vendors_known { 0.95 } else { 0.85 };
                return Some((
                    Rule::ModelNumber,
                    confidence,
                    format!("model number {model:?} matches {pattern:?}"),
                    false,
                ));
            }
        }
        if let Some(version) = &product.exact_version
            && let Some(model) = component
                .model_numbers
                .iter()
                .find(|m| model_matches(version, m))
        {
            return Some((
                Rule::ModelNumber,
                0.85,
                format!(
                    "model number {model:?} is the product_version {version:?} of {:?}",
                    product.full_name
                ),
                true,
            ));
        }
        if !product.model_numbers.is_empty() {
            return None;
        }
    }
    // Name rules. Each needs a word in common; most pairs have none, and are rejected
    // before any text is built.
    if !ck.words.iter().any(|w| pk.words.contains(w)) {
        return None;
    }
    let vendor_text = product.vendor.as_deref().or(component.vendor.as_deref());
    let product_name = product
        .name
        .as_deref()
        .or(product.family.as_deref())
        .unwrap_or(&product.full_name);
    let advisory_key = product_key(product_name, vendor_text);
    let component_key = product_key(&component.name, vendor_text);
    if advisory_key.is_empty() || component_key.is_empty() {
        return None;
    }
    let names = format!("{:?} ~ {:?}", component.name, product_name);
    if vendors_known {
        let vendor = product.vendor.as_deref().unwrap_or_default();
        if advisory_key == component_key {
            return Some((
                Rule::VendorProduct,
                0.9,
                format!("vendor {vendor:?} and product {names} equal"),
                false,
            ));
        }
        let (stem, series) = strip_series(&advisory_key);
        if series && stem == component_key {
            return Some((
                Rule::VendorSeries,
                0.85,
                format!(
                    "vendor {vendor:?}; {:?} is of the series {product_name:?}",
                    component.name
                ),
                false,
            ));
        }
        if overlap(&stem, series, &component_key) {
            return Some((
                Rule::PartialName,
                0.6,
                format!("vendor {vendor:?}; product names {names} overlap word by word"),
                false,
            ));
        }
        // A parenthesised part of the advisory's name is often the product's short name or
        // series ("Network Power Switch (NPS Series)"): it may name the component too.
        for inner in parenthesised(product_name) {
            let (inner_stem, inner_series) = strip_series(&product_key(inner, vendor_text));
            if !inner_stem.is_empty()
                && (inner_stem == component_key
                    || overlap(&inner_stem, inner_series, &component_key))
            {
                return Some((
                    Rule::PartialName,
                    0.6,
                    format!(
                        "vendor {vendor:?}; {:?} overlaps ({inner}) of {product_name:?}",
                        component.name
                    ),
                    false,
                ));
            }
        }
        return None;
    }
    if advisory_key == component_key || strip_series(&advisory_key).0 == component_key {
        return Some((
            Rule::ProductName,
            0.7,
            format!("product {names} equal, a vendor unknown"),
            false,
        ));
    }
    None
}

/// A component's or product's vendor key and the words of its name, computed once.
struct Keys {
    vendor: Option<String>,
    words: Vec<String>,
}

impl Keys {
    fn new(vendor: Option<&str>, name: &str) -> Keys {
        Keys {
            vendor: vendor.map(vendor_key),
            words: normalize(name)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// An advisory with its products' keys and an index of its product ids.
struct Prepared<'a> {
    advisory: &'a Advisory,
    keys: Vec<Keys>,
    index: std::collections::HashMap<&'a str, usize>,
    /// Per product: its release-line group (into `line_groups`) and its line in it.
    lines: Vec<Option<(usize, usize)>>,
    line_groups: Vec<ReleaseLines>,
}

impl<'a> Prepared<'a> {
    fn new(advisory: &'a Advisory) -> Prepared<'a> {
        let keys: Vec<Keys> = advisory
            .products
            .iter()
            .map(|p| {
                let name = p
                    .name
                    .as_deref()
                    .or(p.family.as_deref())
                    .unwrap_or(&p.full_name);
                Keys::new(p.vendor.as_deref(), name)
            })
            .collect();
        let (lines, line_groups) = release_lines(advisory, &keys);
        Prepared {
            advisory,
            index: advisory
                .products
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.as_str(), i))
                .collect(),
            keys,
            lines,
            line_groups,
        }
    }
}

/// The products an advisory bounds one release line at a time ([`ReleaseLines`]): siblings
/// of one vendor and name, each with a single upper bound and nothing else to tell them apart
/// (no model numbers, purls or CPEs, not part of a relationship), that every vulnerability
/// names all together with one status or not at all. The last condition keeps it fail-closed:
/// were one vulnerability to name only some lines, a version of another line would still be
/// read against that vulnerability's bounds.
fn release_lines(
    advisory: &Advisory,
    keys: &[Keys],
) -> (Vec<Option<(usize, usize)>>, Vec<ReleaseLines>) {
    let mut siblings: BTreeMap<(Option<&str>, Vec<&str>), Vec<usize>> = BTreeMap::new();
    for (i, (product, key)) in advisory.products.iter().zip(keys).enumerate() {
        if product.range.upper_bound().is_some()
            && product.platform.is_none()
            && product.model_numbers.is_empty()
            && product.purls.is_empty()
            && product.cpes.is_empty()
        {
            let words = key.words.iter().map(String::as_str).collect();
            siblings
                .entry((key.vendor.as_deref(), words))
                .or_default()
                .push(i);
        }
    }
    let mut lines = vec![None; advisory.products.len()];
    let mut groups = Vec::new();
    // Each vulnerability's statuses by product id, built only if some siblings split into lines.
    let mut statuses: Option<Vec<HashMap<&str, Status>>> = None;
    for members in siblings.into_values().filter(|m| m.len() >= 2) {
        let bounds: Vec<&crate::version::Version> = members
            .iter()
            .filter_map(|&i| advisory.products[i].range.upper_bound())
            .collect();
        let Some(group) = ReleaseLines::of(&bounds) else {
            continue;
        };
        let statuses = statuses.get_or_insert_with(|| {
            advisory
                .vulnerabilities
                .iter()
                .map(|v| v.statuses.iter().map(|(p, s)| (p.as_str(), *s)).collect())
                .collect()
        });
        let named_together = statuses.iter().all(|of| {
            let first = of.get(advisory.products[members[0]].id.as_str());
            members
                .iter()
                .all(|&i| of.get(advisory.products[i].id.as_str()) == first)
        });
        if !named_together {
            continue;
        }
        for (line, &i) in members.iter().enumerate() {
            lines[i] = Some((groups.len(), line));
        }
        groups.push(group);
    }
    (lines, groups)
}

/// Whether two product keys (of one vendor) might name the same product: one's words occur
/// as a run in the other's; a series stem (`nps` of `NPS Series`) starts the other; or most
/// words are shared (Dice coefficient of the word sets at least [`WORD_OVERLAP`]:
/// `Signum DVB-S2 IRD` and `Signum DVB-S/S2 IRD`).
fn overlap(advisory_key: &str, series: bool, component_key: &str) -> bool {
    if contains_words(advisory_key, component_key) || contains_words(component_key, advisory_key) {
        return true;
    }
    if series
        && advisory_key.len() >= 3
        && format!("{component_key} ").starts_with(&format!("{advisory_key} "))
    {
        return true;
    }
    let a: Vec<&str> = advisory_key.split(' ').collect();
    let b: Vec<&str> = component_key.split(' ').collect();
    let shared = a.iter().filter(|w| b.contains(w)).count();
    #[allow(clippy::cast_precision_loss, reason = "word counts are small")]
    let dice = 2.0 * shared as f64 / (a.len() + b.len()) as f64;
    dice >= WORD_OVERLAP
}

/// The share of words two product names must have in common to overlap ([`overlap`]).
const WORD_OVERLAP: f64 = 0.75;

/// The parenthesised parts of a name, outermost only.
fn parenthesised(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in name.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    start = i + 1;
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(&name[start..i]);
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether the words of `short` occur as a run in `long` (at least 4 characters).
fn contains_words(long: &str, short: &str) -> bool {
    if short.len() < 4 || long.len() <= short.len() {
        return false;
    }
    format!(" {long} ").contains(&format!(" {short} "))
}

fn decide(
    component: &Component,
    advisory: &Advisory,
    vulnerability: &Vulnerability,
    candidates: &[Candidate<'_>],
    threshold: f64,
) -> Option<Match> {
    let mut best: [Option<&Candidate<'_>>; 4] = [None, None, None, None];
    let mut products: [BTreeSet<&str>; 4] = Default::default();
    for (product_id, status) in &vulnerability.statuses {
        let slot = match status {
            Status::KnownAffected => 0,
            Status::UnderInvestigation => 1,
            Status::Fixed => 2,
            Status::KnownNotAffected => 3,
        };
        for c in candidates.iter().filter(|c| &c.product.id == product_id) {
            products[slot].insert(c.product.id.as_str());
            if best[slot].is_none_or(|b| c.confidence > b.confidence) {
                best[slot] = Some(c);
            }
        }
    }
    let (status, winner, slot) = match best {
        [Some(a), ..] if a.confidence >= threshold => (Status::KnownAffected, a, 0),
        [Some(a), ..] => (Status::UnderInvestigation, a, 0),
        [None, Some(u), ..] => (Status::UnderInvestigation, u, 1),
        [None, None, Some(f), _] if f.confidence >= threshold => (Status::Fixed, f, 2),
        [None, None, _, Some(n)] if n.confidence >= threshold => (Status::KnownNotAffected, n, 3),
        _ => return None,
    };
    let ids: Vec<&str> = products[slot].iter().copied().collect();
    let score = vulnerability.score_for(&ids);
    let mut reason = winner.reason.clone();
    if slot == 0 && status == Status::UnderInvestigation {
        let _ = write!(
            reason,
            "; confidence {:.2} below the threshold {threshold:.2}",
            winner.confidence
        );
    }
    Some(Match {
        component: component.bom_ref.clone(),
        component_name: component.name.clone(),
        component_version: component.version.clone(),
        advisory: advisory.id.clone(),
        source: advisory.source,
        cve: vulnerability.cve.clone(),
        ids: vulnerability.ids.clone(),
        title: if vulnerability.title.is_empty() {
            advisory.title.clone()
        } else {
            vulnerability.title.clone()
        },
        status,
        rule: winner.rule,
        confidence: (winner.confidence * 100.0).round() / 100.0,
        products: ids
            .iter()
            .filter_map(|id| advisory.product(id).map(|p| p.full_name.clone()))
            .collect(),
        reason,
        cvss: score.and_then(|s| s.base_score),
        cvss_vector: score.and_then(|s| s.vector.clone()),
        remediations: vulnerability.remediations_for(&ids),
        vex: None,
    })
}

#[cfg(test)]
mod tests;
