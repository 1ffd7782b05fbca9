//! Export of the catalog as an OSCAL 1.2.1 catalog model (JSON).
//!
//! Layout: one group per FR (`fr-1`..`fr-7`) plus one for the CCSCs (`ccsc`); one control per
//! common and per component-specific requirement (`cr-1.1`, `ndr-5.2`), with its REs as
//! sub-controls (`cr-1.1-re-1`). Props in Rampart's namespace carry the SL-C levels, the
//! component types and the data's confidence. The standard's own statements are not included:
//! they are copyrighted; each control carries Rampart's summary as an `overview` part instead.

use serde::Serialize;
use uuid::Uuid;

use crate::catalog::{Catalog, Requirement, Selection};
use crate::model::{Fr, Kind};

/// The OSCAL version the export conforms to.
pub const OSCAL_VERSION: &str = "1.2.1";

/// The namespace of Rampart's own props (`security-level`, `component-type`, `confidence`).
pub const PROP_NAMESPACE: &str = "urn:rampart:oscal:iec62443";

/// Fixed namespace for the export's name-based UUIDs, so that the same data always yields the
/// same document UUID and a revision of the data yields a new one.
const UUID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_0a52_43e5_4d1c_9b7e_2f31_6a0d_8c44);

#[derive(Serialize)]
struct Document<'a> {
    catalog: OscalCatalog<'a>,
}

#[derive(Serialize)]
struct OscalCatalog<'a> {
    uuid: Uuid,
    metadata: OscalMetadata<'a>,
    groups: Vec<Group<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct OscalMetadata<'a> {
    title: String,
    last_modified: &'a str,
    version: &'a str,
    oscal_version: &'static str,
    props: Vec<Prop>,
    remarks: String,
}

#[derive(Serialize)]
struct Group<'a> {
    id: String,
    class: &'static str,
    title: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop>,
    controls: Vec<Control<'a>>,
}

#[derive(Serialize)]
struct Control<'a> {
    id: String,
    class: &'static str,
    title: &'a str,
    props: Vec<Prop>,
    parts: Vec<Part<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    controls: Vec<Control<'a>>,
}

#[derive(Serialize)]
struct Part<'a> {
    id: String,
    name: &'static str,
    prose: &'a str,
}

#[derive(Serialize)]
struct Prop {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ns: Option<&'static str>,
    value: String,
}

impl Prop {
    fn plain(name: &'static str, value: impl Into<String>) -> Prop {
        Prop {
            name,
            ns: None,
            value: value.into(),
        }
    }

    fn rampart(name: &'static str, value: impl Into<String>) -> Prop {
        Prop {
            name,
            ns: Some(PROP_NAMESPACE),
            value: value.into(),
        }
    }
}

/// The catalog as an OSCAL 1.2.1 catalog document (`{"catalog": {...}}`).
pub fn catalog_document(catalog: &Catalog) -> serde_json::Value {
    catalog_document_for(catalog, &Selection::default())
}

/// An OSCAL 1.2.1 catalog document holding only the requirements `selection` picks, e.g. the
/// SL-2 set of a network device. Selected REs stay nested under their base requirement, which
/// a selection always picks too (an RE never applies where its base does not).
pub fn catalog_document_for(catalog: &Catalog, selection: &Selection) -> serde_json::Value {
    let meta = catalog.metadata();
    let selected = catalog.select(selection);
    // Name-based: derived from the data, so identical data gives an identical document.
    let content = serde_json::to_vec(&selected).unwrap_or_default();
    let uuid = Uuid::new_v5(&UUID_NAMESPACE, &content);
    let is_selected = |r: &Requirement| selection.matches(r);
    let mut scope: Vec<String> = Vec::new();
    if let Some(t) = selection.component_type {
        scope.push(format!("{t} ({})", t.name()));
    }
    if let Some(level) = selection.level {
        scope.push(format!("SL-C {level}"));
    }
    if let Some(fr) = selection.fr {
        scope.push(format!("{fr} {}", fr.abbreviation()));
    }
    let title_scope = if scope.is_empty() {
        String::new()
    } else {
        format!(" — {}", scope.join(", "))
    };

    let mut groups = vec![Group {
        id: "ccsc".into(),
        class: "common-component-security-constraints",
        title: "Common component security constraints".into(),
        props: Vec::new(),
        controls: catalog
            .requirements()
            .iter()
            .filter(|r| r.kind() == Kind::Ccsc && is_selected(r))
            .map(|r| control(catalog, r, &is_selected))
            .collect(),
    }];
    for fr in Fr::ALL {
        if selection.fr.is_some_and(|wanted| wanted != fr) {
            continue;
        }
        groups.push(Group {
            id: format!("fr-{}", fr.number()),
            class: "foundational-requirement",
            title: format!("FR {} – {} ({})", fr.number(), fr.name(), fr.abbreviation()),
            props: vec![Prop::plain("label", fr.to_string())],
            controls: catalog
                .requirements()
                .iter()
                .filter(|r| r.fr() == Some(fr) && r.kind() == Kind::Cr && is_selected(r))
                .map(|r| control(catalog, r, &is_selected))
                .collect(),
        });
    }
    // OSCAL arrays are non-empty: a filter by FR leaves the other groups out.
    groups.retain(|g| !g.controls.is_empty());

    let document = Document {
        catalog: OscalCatalog {
            uuid,
            metadata: OscalMetadata {
                title: format!(
                    "{} — technical security requirements for IACS components{title_scope}",
                    meta.standard
                ),
                last_modified: &meta.revised,
                version: &meta.version,
                oscal_version: OSCAL_VERSION,
                props: vec![Prop::rampart("edition", &meta.edition)],
                remarks: "Identifiers, titles and SL-C applicability compiled by the Rampart \
                          project from public sources. The standard's requirement text is not \
                          included; each control's overview is a summary in Rampart's own words. \
                          Props in the namespace urn:rampart:oscal:iec62443: security-level (one \
                          per SL-C level at which the requirement applies), component-type (SAR, \
                          EDR, HDR, NDR), confidence (agreement of the sources)."
                    .into(),
            },
            groups,
        },
    };
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_value(document).unwrap_or(serde_json::Value::Null)
}

fn control<'a>(
    catalog: &'a Catalog,
    requirement: &'a Requirement,
    is_selected: &dyn Fn(&Requirement) -> bool,
) -> Control<'a> {
    let id = requirement.id();
    let oscal_id = id.oscal_id();
    let mut props = vec![
        Prop::plain("label", id.to_string()),
        Prop::plain("sort-id", sort_id(requirement)),
    ];
    props.extend(
        requirement
            .sl()
            .levels()
            .map(|level| Prop::rampart("security-level", level.to_string())),
    );
    props.extend(
        requirement
            .component_types()
            .iter()
            .map(|t| Prop::rampart("component-type", t.code())),
    );
    props.push(Prop::rampart(
        "confidence",
        match requirement.confidence() {
            crate::model::Confidence::High => "high",
            crate::model::Confidence::Medium => "medium",
        },
    ));
    Control {
        class: match requirement.kind() {
            Kind::Cr => "component-requirement",
            Kind::Re => "requirement-enhancement",
            Kind::Ccsc => "common-component-security-constraint",
        },
        title: requirement.title(),
        props,
        parts: vec![Part {
            id: format!("{oscal_id}_ovw"),
            name: "overview",
            prose: requirement.summary(),
        }],
        controls: catalog
            .enhancements(id)
            .filter(|re| is_selected(re))
            .map(|re| control(catalog, re, is_selected))
            .collect(),
        id: oscal_id,
    }
}

/// A key that sorts as the standard lists requirements, for tools that sort by `sort-id`.
fn sort_id(requirement: &Requirement) -> String {
    let id = requirement.id();
    let scope = match id.scope() {
        crate::model::Scope::Constraint => 0,
        crate::model::Scope::Common => 1,
        crate::model::Scope::Specific(t) => 2 + t as u8,
    };
    format!(
        "{:02}.{:02}.{}.{:02}",
        id.fr_number().unwrap_or(0),
        id.number(),
        scope,
        id.enhancement().unwrap_or(0)
    )
}
