//! CSAF 2.0 documents: the product tree walked into [`Product`]s, the vulnerabilities with
//! their product status, scores and remediations, and the mandatory tests of CSAF 2.0
//! section 6.1 that matching depends on.
//!
//! Every document is first checked against the CSAF 2.0 JSON Schema ([`schema`]; a failure
//! rejects it with [`InputError::CsafSchema`]). Then the mandatory tests (a failure rejects
//! the document with [`InputError::CsafMandatory`]):
//! - 6.1.1 every product id used (status, scores, remediations, threats, flags, groups,
//!   relationships) is defined;
//! - 6.1.2 no product id is defined twice;
//! - 6.1.3 no relationship defines a product from itself;
//! - 6.1.4 every product group id used is defined;
//! - 6.1.5 no product group id is defined twice;
//! - 6.1.6 no product is both affected, not affected, fixed or under investigation for one
//!   vulnerability;
//! - 6.1.13 every `purl` helper is a package URL;
//! - 6.1.29 every remediation names products or groups.
//!
//! Noted as [`Advisory::warnings`] (the document is still used, fail-closed):
//! - 6.1.31 a `product_version` that holds a range (`vers:all/*`, `< 2.0`): read as the range;
//! - a `product_version_range` of no known form: its products match as
//!   `under_investigation`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::advisory::{Advisory, Product, Remediation, Score, Source, Status, Vulnerability};
use crate::error::InputError;
use crate::ids::{Cpe, Purl};
use crate::version::Range;

pub mod schema;

/// How deep `branches` may nest (the schema has no limit; real trees are 3–5 deep).
const MAX_BRANCH_DEPTH: usize = 30;

#[derive(Deserialize)]
struct Doc {
    document: DocMeta,
    #[serde(default)]
    product_tree: Option<ProductTree>,
    #[serde(default)]
    vulnerabilities: Vec<Vuln>,
}

#[derive(Deserialize)]
struct DocMeta {
    title: String,
    tracking: Tracking,
}

#[derive(Deserialize)]
struct Tracking {
    id: String,
}

#[derive(Deserialize, Default)]
struct ProductTree {
    #[serde(default)]
    branches: Vec<Branch>,
    #[serde(default)]
    full_product_names: Vec<FullProductName>,
    #[serde(default)]
    relationships: Vec<Relationship>,
    #[serde(default)]
    product_groups: Vec<ProductGroup>,
}

#[derive(Deserialize)]
struct Branch {
    category: String,
    name: String,
    #[serde(default)]
    branches: Vec<Branch>,
    #[serde(default)]
    product: Option<FullProductName>,
}

#[derive(Deserialize, Clone)]
struct FullProductName {
    product_id: String,
    name: String,
    #[serde(default)]
    product_identification_helper: Option<Helper>,
}

#[derive(Deserialize, Clone, Default)]
struct Helper {
    #[serde(default)]
    cpe: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    model_numbers: Vec<String>,
    #[serde(default)]
    skus: Vec<String>,
}

#[derive(Deserialize)]
struct Relationship {
    product_reference: String,
    relates_to_product_reference: String,
    full_product_name: FullProductName,
}

#[derive(Deserialize)]
struct ProductGroup {
    group_id: String,
    product_ids: Vec<String>,
}

#[derive(Deserialize)]
struct Vuln {
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    ids: Vec<VulnId>,
    #[serde(default)]
    product_status: Option<ProductStatus>,
    #[serde(default)]
    scores: Vec<CsafScore>,
    #[serde(default)]
    remediations: Vec<CsafRemediation>,
    #[serde(default)]
    threats: Vec<ProductRefs>,
    #[serde(default)]
    flags: Vec<ProductRefs>,
}

#[derive(Deserialize)]
struct VulnId {
    text: String,
}

#[derive(Deserialize, Default)]
struct ProductStatus {
    #[serde(default)]
    first_affected: Vec<String>,
    #[serde(default)]
    known_affected: Vec<String>,
    #[serde(default)]
    last_affected: Vec<String>,
    #[serde(default)]
    first_fixed: Vec<String>,
    #[serde(default)]
    fixed: Vec<String>,
    #[serde(default)]
    known_not_affected: Vec<String>,
    #[serde(default)]
    under_investigation: Vec<String>,
    #[serde(default)]
    recommended: Vec<String>,
}

#[derive(Deserialize)]
struct CsafScore {
    products: Vec<String>,
    #[serde(default)]
    cvss_v3: Option<Cvss>,
    #[serde(default)]
    cvss_v2: Option<Cvss>,
}

#[derive(Deserialize)]
struct Cvss {
    #[serde(rename = "baseScore")]
    base_score: f64,
    #[serde(rename = "vectorString")]
    vector_string: String,
}

#[derive(Deserialize)]
struct CsafRemediation {
    category: String,
    details: String,
    #[serde(default)]
    product_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct ProductRefs {
    #[serde(default)]
    product_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
}

/// Reads a CSAF 2.0 document; `origin` names it in errors.
///
/// # Errors
/// [`InputError`]: not JSON, not CSAF 2.0 (with serde's line and column), or a failed
/// mandatory test (with its number and a JSON pointer).
pub fn read(text: &str, origin: &str) -> Result<Advisory, InputError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| InputError::syntax(origin, &e))?;
    // The version first: a CSAF 2.1 document fails the 2.0 schema for reasons that would hide
    // the one that matters.
    if let Some(version) = value.pointer("/document/csaf_version")
        && version != "2.0"
    {
        return Err(InputError::invalid(
            origin,
            "/document/csaf_version",
            format!("{version} is not supported (2.0 is)"),
        ));
    }
    schema::check(&value, origin)?;
    let doc: Doc = serde_json::from_value(value).map_err(|e| InputError::syntax(origin, &e))?;
    let fail = |test: &'static str, at: String, message: String| InputError::CsafMandatory {
        origin: origin.to_owned(),
        test,
        at,
        message,
    };
    let tree = doc.product_tree.unwrap_or_default();
    let mut warnings = Vec::new();

    // Products: branches, full_product_names, then relationships (which refer to the others).
    let mut products: Vec<Product> = Vec::new();
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    let mut path = Vec::new();
    for (i, branch) in tree.branches.iter().enumerate() {
        walk(
            branch,
            &format!("/product_tree/branches/{i}"),
            &mut path,
            &mut products,
            &mut warnings,
        )
        .map_err(|(at, message)| fail("6.1.13", at, message))?;
    }
    for (i, fpn) in tree.full_product_names.iter().enumerate() {
        let at = format!("/product_tree/full_product_names/{i}");
        let mut product = Product::named(&fpn.product_id, &fpn.name);
        apply_helper(
            &mut product,
            fpn.product_identification_helper.as_ref(),
            &at,
        )
        .map_err(|(at, message)| fail("6.1.13", at, message))?;
        products.push(product);
    }
    for (index, p) in products.iter().enumerate() {
        if let Some(first) = defined.insert(p.id.clone(), format!("product #{index}")) {
            let _ = first;
            return Err(fail(
                "6.1.2",
                "/product_tree".to_owned(),
                format!("product id {:?} is defined more than once", p.id),
            ));
        }
    }
    // Sets and indexes, so that large documents cost linear time.
    let relationship_ids: std::collections::BTreeSet<&str> = tree
        .relationships
        .iter()
        .map(|r| r.full_product_name.product_id.as_str())
        .collect();
    for (i, rel) in tree.relationships.iter().enumerate() {
        let at = format!("/product_tree/relationships/{i}");
        let id = &rel.full_product_name.product_id;
        if id == &rel.product_reference || id == &rel.relates_to_product_reference {
            return Err(fail(
                "6.1.3",
                format!("{at}/full_product_name/product_id"),
                format!("relationship defines {id:?} from itself"),
            ));
        }
        for (field, reference) in [
            ("product_reference", &rel.product_reference),
            (
                "relates_to_product_reference",
                &rel.relates_to_product_reference,
            ),
        ] {
            if !defined.contains_key(reference) && !relationship_ids.contains(reference.as_str()) {
                return Err(fail(
                    "6.1.1",
                    format!("{at}/{field}"),
                    format!("product id {reference:?} is not defined"),
                ));
            }
        }
        if defined.insert(id.clone(), at.clone()).is_some() {
            return Err(fail(
                "6.1.2",
                format!("{at}/full_product_name/product_id"),
                format!("product id {id:?} is defined more than once"),
            ));
        }
    }
    // A relationship product is the component (`product_reference`) in or on the platform:
    // it takes the component's identity and records the platform.
    let index: BTreeMap<&str, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut from_relationships = Vec::with_capacity(tree.relationships.len());
    for (i, rel) in tree.relationships.iter().enumerate() {
        let at = format!("/product_tree/relationships/{i}");
        let base = index.get(rel.product_reference.as_str()).map_or_else(
            || Product::named(&rel.product_reference, &rel.product_reference),
            |&i| products[i].clone(),
        );
        let mut product = base;
        product.id.clone_from(&rel.full_product_name.product_id);
        product.full_name.clone_from(&rel.full_product_name.name);
        product.platform = Some(rel.relates_to_product_reference.clone());
        apply_helper(
            &mut product,
            rel.full_product_name.product_identification_helper.as_ref(),
            &format!("{at}/full_product_name"),
        )
        .map_err(|(at, message)| fail("6.1.13", at, message))?;
        from_relationships.push(product);
    }
    products.extend(from_relationships);

    // Product groups.
    let mut groups: BTreeMap<&str, &[String]> = BTreeMap::new();
    for (i, group) in tree.product_groups.iter().enumerate() {
        let at = format!("/product_tree/product_groups/{i}");
        for (j, id) in group.product_ids.iter().enumerate() {
            if !defined.contains_key(id) {
                return Err(fail(
                    "6.1.1",
                    format!("{at}/product_ids/{j}"),
                    format!("product id {id:?} is not defined"),
                ));
            }
        }
        if groups.insert(&group.group_id, &group.product_ids).is_some() {
            return Err(fail(
                "6.1.5",
                format!("{at}/group_id"),
                format!(
                    "product group id {:?} is defined more than once",
                    group.group_id
                ),
            ));
        }
    }
    let check_ids = |ids: &[String], at: &str| -> Result<(), InputError> {
        for (j, id) in ids.iter().enumerate() {
            if !defined.contains_key(id) {
                return Err(fail(
                    "6.1.1",
                    format!("{at}/{j}"),
                    format!("product id {id:?} is not defined"),
                ));
            }
        }
        Ok(())
    };
    let expand = |product_ids: &[String],
                  group_ids: &[String],
                  at: &str|
     -> Result<Vec<String>, InputError> {
        check_ids(product_ids, &format!("{at}/product_ids"))?;
        let mut out: Vec<String> = product_ids.to_vec();
        for (j, g) in group_ids.iter().enumerate() {
            match groups.get(g.as_str()) {
                Some(ids) => out.extend(ids.iter().cloned()),
                None => {
                    return Err(fail(
                        "6.1.4",
                        format!("{at}/group_ids/{j}"),
                        format!("product group id {g:?} is not defined"),
                    ));
                }
            }
        }
        Ok(out)
    };

    let mut vulnerabilities = Vec::new();
    for (i, v) in doc.vulnerabilities.iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        let ps = v.product_status.as_ref();
        let mut statuses: Vec<(String, Status)> = Vec::new();
        let mut seen: BTreeMap<&str, (Status, &str)> = BTreeMap::new();
        if let Some(ps) = ps {
            let lists: [(&str, &Vec<String>, Option<Status>); 8] = [
                (
                    "first_affected",
                    &ps.first_affected,
                    Some(Status::KnownAffected),
                ),
                (
                    "known_affected",
                    &ps.known_affected,
                    Some(Status::KnownAffected),
                ),
                (
                    "last_affected",
                    &ps.last_affected,
                    Some(Status::KnownAffected),
                ),
                ("first_fixed", &ps.first_fixed, Some(Status::Fixed)),
                ("fixed", &ps.fixed, Some(Status::Fixed)),
                (
                    "known_not_affected",
                    &ps.known_not_affected,
                    Some(Status::KnownNotAffected),
                ),
                (
                    "under_investigation",
                    &ps.under_investigation,
                    Some(Status::UnderInvestigation),
                ),
                ("recommended", &ps.recommended, None),
            ];
            for (field, ids, status) in lists {
                let list_at = format!("{at}/product_status/{field}");
                check_ids(ids, &list_at)?;
                let Some(status) = status else { continue };
                for id in ids {
                    if let Some((other, other_field)) = seen.get(id.as_str()) {
                        if *other != status {
                            return Err(fail(
                                "6.1.6",
                                list_at,
                                format!("product {id:?} is both {other_field} and {field}"),
                            ));
                        }
                        continue;
                    }
                    seen.insert(id, (status, field));
                    statuses.push((id.clone(), status));
                }
            }
        }
        let mut scores = Vec::new();
        for (j, s) in v.scores.iter().enumerate() {
            check_ids(&s.products, &format!("{at}/scores/{j}/products"))?;
            let cvss = s.cvss_v3.as_ref().or(s.cvss_v2.as_ref());
            scores.push(Score {
                products: s.products.clone(),
                base_score: cvss
                    .map(|c| c.base_score)
                    .filter(|b| (0.0..=10.0).contains(b)),
                vector: cvss.map(|c| c.vector_string.clone()),
            });
        }
        let mut remediations = Vec::new();
        for (j, r) in v.remediations.iter().enumerate() {
            let r_at = format!("{at}/remediations/{j}");
            if r.product_ids.is_empty() && r.group_ids.is_empty() {
                return Err(fail(
                    "6.1.29",
                    r_at,
                    "remediation names no product or group".to_owned(),
                ));
            }
            remediations.push(Remediation {
                category: r.category.clone(),
                details: r.details.clone(),
                url: r.url.clone(),
                products: expand(&r.product_ids, &r.group_ids, &r_at)?,
            });
        }
        for (list, name) in [(&v.threats, "threats"), (&v.flags, "flags")] {
            for (j, t) in list.iter().enumerate() {
                expand(&t.product_ids, &t.group_ids, &format!("{at}/{name}/{j}"))?;
            }
        }
        vulnerabilities.push(Vulnerability {
            cve: v.cve.clone(),
            ids: v.ids.iter().map(|id| id.text.clone()).collect(),
            title: v.title.clone().unwrap_or_default(),
            statuses,
            scores,
            remediations,
        });
    }
    Ok(Advisory {
        id: doc.document.tracking.id,
        source: Source::Csaf,
        title: doc.document.title,
        origin: origin.to_owned(),
        products,
        vulnerabilities,
        warnings,
    })
}

/// Walks a branch: categories on the path become vendor, product name, family and version.
fn walk<'a>(
    branch: &'a Branch,
    at: &str,
    path: &mut Vec<&'a Branch>,
    out: &mut Vec<Product>,
    warnings: &mut Vec<String>,
) -> Result<(), (String, String)> {
    if path.len() >= MAX_BRANCH_DEPTH {
        return Err((
            at.to_owned(),
            format!("branches nest deeper than {MAX_BRANCH_DEPTH}"),
        ));
    }
    path.push(branch);
    if let Some(fpn) = &branch.product {
        let mut product = Product::named(&fpn.product_id, &fpn.name);
        for b in path.iter() {
            match b.category.as_str() {
                "vendor" => product.vendor = Some(b.name.clone()),
                "product_name" => product.name = Some(b.name.clone()),
                "product_family" => product.family = Some(b.name.clone()),
                "product_version" => {
                    let range = Range::exact(&b.name);
                    if looks_like_range(&b.name) {
                        warnings.push(format!(
                            "{at}: product_version {:?} holds a range (CSAF 6.1.31); read as a range",
                            b.name
                        ));
                        product.range = Range::parse(&b.name);
                    } else {
                        product.range = range;
                        product.exact_version = Some(b.name.clone());
                    }
                }
                "product_version_range" => {
                    product.range = Range::parse(&b.name);
                    if !product.range.is_comparable() {
                        warnings.push(format!(
                            "{at}: product_version_range {:?} holds text that is not a version \
                             Rampart compares; products with it match as under_investigation",
                            b.name
                        ));
                    }
                }
                _ => {}
            }
        }
        apply_helper(
            &mut product,
            fpn.product_identification_helper.as_ref(),
            &format!("{at}/product"),
        )?;
        out.push(product);
    }
    for (i, child) in branch.branches.iter().enumerate() {
        walk(child, &format!("{at}/branches/{i}"), path, out, warnings)?;
    }
    path.pop();
    Ok(())
}

/// Whether a `product_version` holds a range (the words and operators of CSAF test 6.1.31).
fn looks_like_range(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("vers:")
        || ["<", ">", "≤", "≥"].iter().any(|op| lower.contains(op))
        || lower.split(|c: char| !c.is_alphanumeric()).any(|w| {
            matches!(
                w,
                "after" | "all" | "before" | "earlier" | "later" | "prior" | "versions"
            )
        })
}

fn apply_helper(
    product: &mut Product,
    helper: Option<&Helper>,
    at: &str,
) -> Result<(), (String, String)> {
    let Some(helper) = helper else { return Ok(()) };
    let at = format!("{at}/product_identification_helper");
    if let Some(text) = &helper.purl {
        let purl = Purl::parse(text).ok_or_else(|| {
            (
                format!("{at}/purl"),
                format!("{text:?} is not a package URL"),
            )
        })?;
        // A versioned purl on a product without a version branch states the version.
        if let (Some(v), Range::All) = (&purl.version, &product.range) {
            product.range = Range::exact(v);
            product.exact_version = Some(v.clone());
        }
        product.purls.push(purl);
    }
    if let Some(text) = &helper.cpe {
        // The schema's pattern is looser than the CPE grammar; a CPE Rampart cannot read
        // does not identify, and the names still do. A CPE with a version on a product
        // without a version branch states the version, as a purl does.
        if let Some(cpe) = Cpe::parse(text) {
            if let (Some(v), Range::All) = (&cpe.version, &product.range) {
                product.range = Range::exact(v);
                product.exact_version = Some(v.clone());
            }
            product.cpes.push(cpe);
        }
    }
    product
        .model_numbers
        .extend(helper.model_numbers.iter().cloned());
    product.model_numbers.extend(helper.skus.iter().cloned());
    Ok(())
}

/// Schema-valid CSAF documents for the unit tests of this crate.
#[cfg(test)]
pub(crate) mod testing {
    /// A `csaf_base` document with every field the schema requires and nothing else: tests
    /// add a `product_tree` and `vulnerabilities`.
    pub(crate) fn minimal_document(id: &str) -> serde_json::Value {
        serde_json::json!({"document": {
            "category": "csaf_base", "csaf_version": "2.0", "title": "t",
            "publisher": {"category": "vendor", "name": "v", "namespace": "https://example.invalid"},
            "tracking": {"id": id, "status": "final", "version": "1",
                "initial_release_date": "2024-01-01T00:00:00Z",
                "current_release_date": "2024-01-01T00:00:00Z",
                "revision_history": [{"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "Initial."}]}}})
    }

    /// [`minimal_document`] with `product_tree` and `vulnerabilities` given as JSON text (`[]`
    /// leaves the vulnerabilities out).
    pub(crate) fn document(id: &str, product_tree: &str, vulnerabilities: &str) -> String {
        let mut doc = minimal_document(id);
        doc["product_tree"] = serde_json::from_str(product_tree).expect("test JSON");
        let vulnerabilities: serde_json::Value =
            serde_json::from_str(vulnerabilities).expect("test JSON");
        // The schema wants at least one vulnerability where the list is given at all.
        if vulnerabilities
            .as_array()
            .is_none_or(|list| !list.is_empty())
        {
            doc["vulnerabilities"] = vulnerabilities;
        }
        doc.to_string()
    }
}
