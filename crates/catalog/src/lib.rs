//! The IEC 62443-4-2:2019 requirement catalog.
//!
//! IEC 62443-4-2 states the technical security requirements for components of industrial
//! automation and control systems (IACS): software applications (SAR), embedded devices (EDR),
//! host devices (HDR) and network devices (NDR). Each requirement belongs to one of seven
//! foundational requirements ([`Fr`]) and is part of the requirement set for one or more
//! capability security levels (SL-C 1..4).
//!
//! This crate holds every requirement of the 2019 edition (all component requirements, their
//! enhancements, the component-specific requirements and the four common component security
//! constraints) as typed, validated data, and answers the questions the rest of Rampart asks:
//!
//! - [`Catalog::builtin`] — the shipped catalog, validated on first use.
//! - [`Catalog::find`] — a requirement by id as a person types it, with a suggestion on a typo.
//! - [`Catalog::select`] — requirements by component type, SL and FR.
//! - [`Catalog::required`] — the set a component type must meet for an SL-C, per FR.
//! - [`oscal::catalog_document`] — the catalog as an OSCAL 1.2.1 catalog.
//!
//! # Data and its provenance
//! The data lives in `data/iec62443-4-2.toml`; `data/README.md` gives its sources and the
//! decision taken for every row where they disagree. Summaries are Rampart's own words; the
//! standard's text is not reproduced.
//!
//! # Security model
//! Pure data and logic: no I/O beyond parsing text handed in. Every type is parsed, not merely
//! checked ([`RequirementId`], [`SecurityLevel`], [`Requirement`]), so downstream code cannot
//! hold an inconsistent requirement.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod catalog;
mod error;
mod model;
pub mod oscal;

pub use catalog::{Catalog, Metadata, RequiredSet, Requirement, Selection};
pub use error::{CatalogError, LookupError, ParseError};
pub use model::{
    ComponentType, ComponentTypes, Confidence, Fr, Kind, RequirementId, Scope, SecurityLevel,
    SlMarks,
};
