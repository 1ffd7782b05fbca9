//! Inventories (CR 7.8): the components of a product, read from CycloneDX 1.4–1.6 JSON and
//! SPDX 2.3 JSON SBOMs.
//!
//! A component is identified by whatever it carries: purl, CPE, vendor (CycloneDX
//! `manufacturer.name`, else `supplier.name`, else `publisher`/`author`, else the purl
//! namespace; SPDX `supplier`, else `originator`, else the purl namespace), name, version,
//! and model numbers (CycloneDX properties named [`MODEL_NUMBER_PROPERTY`], several allowed).

use serde_json::Value;

use crate::error::InputError;
use crate::ids::{Cpe, Purl};

/// The CycloneDX component property that carries a model number (order number, article
/// number, SKU) of a hardware or firmware component. Several properties of this name give
/// several model numbers.
pub const MODEL_NUMBER_PROPERTY: &str = "rampart:model-number";

/// The most components an inventory may hold.
const MAX_COMPONENTS: usize = 200_000;
/// How deep CycloneDX components may nest.
const MAX_DEPTH: usize = 32;

/// The format an inventory was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InventoryFormat {
    /// CycloneDX JSON, with its `specVersion` minor (4, 5 or 6).
    CycloneDx(u8),
    /// SPDX 2.3 (or 2.2) JSON.
    Spdx,
}

/// A component of an inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The reference the SBOM gives it: CycloneDX `bom-ref`, SPDX `SPDXID`; when a CycloneDX
    /// component has none, its purl, else `name@version`.
    pub bom_ref: String,
    /// The name.
    pub name: String,
    /// The version, if stated.
    pub version: Option<String>,
    /// The vendor, if stated or implied by the purl namespace.
    pub vendor: Option<String>,
    /// The package URL, if any.
    pub purl: Option<Purl>,
    /// The CPE, if any.
    pub cpe: Option<Cpe>,
    /// Model numbers ([`MODEL_NUMBER_PROPERTY`]).
    pub model_numbers: Vec<String>,
}

/// The components of one SBOM.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The format read.
    pub format: InventoryFormat,
    /// The components, the SBOM's subject (CycloneDX `metadata.component`) first.
    pub components: Vec<Component>,
    /// The CycloneDX `serialNumber` and `version`, for BOM-Links from a VEX document.
    pub serial: Option<(String, u64)>,
}

impl Inventory {
    /// Reads a CycloneDX or SPDX JSON SBOM; `origin` names it in errors.
    ///
    /// # Errors
    /// [`InputError`] when the text is not JSON, neither format, an unsupported version, or
    /// a component lacks a name.
    pub fn from_json(text: &str, origin: &str) -> Result<Inventory, InputError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| InputError::syntax(origin, &e))?;
        if value.get("bomFormat").is_some() {
            cyclonedx(&value, origin)
        } else if value.get("spdxVersion").is_some() {
            spdx(&value, origin)
        } else {
            Err(InputError::invalid(
                origin,
                "/",
                "neither a CycloneDX (bomFormat) nor an SPDX (spdxVersion) JSON document",
            ))
        }
    }
}

fn cyclonedx(value: &Value, origin: &str) -> Result<Inventory, InputError> {
    if value.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(InputError::invalid(
            origin,
            "/bomFormat",
            "must be \"CycloneDX\"",
        ));
    }
    let spec = value
        .get("specVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let minor = match spec {
        "1.4" => 4,
        "1.5" => 5,
        "1.6" => 6,
        other => {
            return Err(InputError::invalid(
                origin,
                "/specVersion",
                format!("CycloneDX {other:?} is not supported (1.4, 1.5 and 1.6 are)"),
            ));
        }
    };
    let mut components = Vec::new();
    if let Some(subject) = value.pointer("/metadata/component") {
        read_cdx_component(subject, "/metadata/component", origin, 0, &mut components)?;
    }
    if let Some(list) = value.get("components") {
        let list = list
            .as_array()
            .ok_or_else(|| InputError::invalid(origin, "/components", "must be an array"))?;
        for (i, c) in list.iter().enumerate() {
            read_cdx_component(c, &format!("/components/{i}"), origin, 0, &mut components)?;
        }
    }
    let serial = value
        .get("serialNumber")
        .and_then(Value::as_str)
        .filter(|s| s.starts_with("urn:uuid:"))
        .map(|s| {
            (
                s.to_owned(),
                value.get("version").and_then(Value::as_u64).unwrap_or(1),
            )
        });
    Ok(Inventory {
        format: InventoryFormat::CycloneDx(minor),
        components,
        serial,
    })
}

fn read_cdx_component(
    value: &Value,
    at: &str,
    origin: &str,
    depth: usize,
    out: &mut Vec<Component>,
) -> Result<(), InputError> {
    if depth > MAX_DEPTH {
        return Err(InputError::invalid(
            origin,
            at,
            format!("components nest deeper than {MAX_DEPTH}"),
        ));
    }
    if out.len() >= MAX_COMPONENTS {
        return Err(InputError::invalid(
            origin,
            at,
            format!("more than {MAX_COMPONENTS} components"),
        ));
    }
    let obj = value
        .as_object()
        .ok_or_else(|| InputError::invalid(origin, at, "a component must be an object"))?;
    let string = |key: &str| -> Result<Option<String>, InputError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(InputError::invalid(
                origin,
                &format!("{at}/{key}"),
                "must be a string",
            )),
        }
    };
    let name = string("name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            InputError::invalid(origin, &format!("{at}/name"), "a component needs a name")
        })?;
    let stated_version = string("version")?.filter(|v| !v.trim().is_empty());
    let purl = match string("purl")? {
        Some(text) => Some(Purl::parse(&text).ok_or_else(|| {
            InputError::invalid(
                origin,
                &format!("{at}/purl"),
                format!("{text:?} is not a package URL"),
            )
        })?),
        None => None,
    };
    let cpe = match string("cpe")? {
        Some(text) => Some(Cpe::parse(&text).ok_or_else(|| {
            InputError::invalid(
                origin,
                &format!("{at}/cpe"),
                format!("{text:?} is not a CPE name"),
            )
        })?),
        None => None,
    };
    // Without a `version`, the purl's or the CPE's version is the component's.
    let version = stated_version
        .or_else(|| purl.as_ref().and_then(|p| p.version.clone()))
        .or_else(|| cpe.as_ref().and_then(|c| c.version.clone()));
    let named = |key: &str| {
        obj.get(key)
            .and_then(|v| v.get("name"))
            .and_then(Value::as_str)
    };
    let vendor = named("manufacturer")
        .or_else(|| named("supplier"))
        .or_else(|| obj.get("publisher").and_then(Value::as_str))
        .or_else(|| {
            obj.get("group")
                .and_then(Value::as_str)
                .filter(|_| purl.is_none())
        })
        .map(str::to_owned)
        .or_else(|| purl.as_ref().and_then(|p| p.namespace.clone()))
        .filter(|v| !v.trim().is_empty());
    let mut model_numbers = Vec::new();
    if let Some(props) = obj.get("properties").and_then(Value::as_array) {
        for p in props {
            if p.get("name").and_then(Value::as_str) == Some(MODEL_NUMBER_PROPERTY)
                && let Some(v) = p
                    .get("value")
                    .and_then(Value::as_str)
                    .filter(|v| !v.trim().is_empty())
            {
                model_numbers.push(v.trim().to_owned());
            }
        }
    }
    let bom_ref = string("bom-ref")?
        .or_else(|| purl.as_ref().map(ToString::to_string))
        .unwrap_or_else(|| match &version {
            Some(v) => format!("{name}@{v}"),
            None => name.clone(),
        });
    out.push(Component {
        bom_ref,
        name,
        version,
        vendor,
        purl,
        cpe,
        model_numbers,
    });
    if let Some(children) = obj.get("components").and_then(Value::as_array) {
        for (i, c) in children.iter().enumerate() {
            read_cdx_component(c, &format!("{at}/components/{i}"), origin, depth + 1, out)?;
        }
    }
    Ok(())
}

fn spdx(value: &Value, origin: &str) -> Result<Inventory, InputError> {
    let version = value
        .get("spdxVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !matches!(version, "SPDX-2.3" | "SPDX-2.2") {
        return Err(InputError::invalid(
            origin,
            "/spdxVersion",
            format!("{version:?} is not supported (SPDX-2.3 and SPDX-2.2 are)"),
        ));
    }
    let packages = match value.get("packages") {
        None => &Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(InputError::invalid(origin, "/packages", "must be an array")),
    };
    if packages.len() > MAX_COMPONENTS {
        return Err(InputError::invalid(
            origin,
            "/packages",
            format!("more than {MAX_COMPONENTS} packages"),
        ));
    }
    let mut components = Vec::new();
    for (i, p) in packages.iter().enumerate() {
        let at = format!("/packages/{i}");
        let field = |key: &str| {
            p.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let id = field("SPDXID").ok_or_else(|| {
            InputError::invalid(origin, &format!("{at}/SPDXID"), "a package needs an SPDXID")
        })?;
        let name = field("name").ok_or_else(|| {
            InputError::invalid(origin, &format!("{at}/name"), "a package needs a name")
        })?;
        let mut purl = None;
        let mut cpe = None;
        if let Some(refs) = p.get("externalRefs").and_then(Value::as_array) {
            for (j, r) in refs.iter().enumerate() {
                let kind = r.get("referenceType").and_then(Value::as_str).unwrap_or("");
                let locator = r
                    .get("referenceLocator")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let at = format!("{at}/externalRefs/{j}/referenceLocator");
                match kind {
                    "purl" if purl.is_none() => {
                        purl = Some(Purl::parse(locator).ok_or_else(|| {
                            InputError::invalid(
                                origin,
                                &at,
                                format!("{locator:?} is not a package URL"),
                            )
                        })?);
                    }
                    "cpe23Type" | "cpe22Type" if cpe.is_none() => {
                        cpe = Some(Cpe::parse(locator).ok_or_else(|| {
                            InputError::invalid(
                                origin,
                                &at,
                                format!("{locator:?} is not a CPE name"),
                            )
                        })?);
                    }
                    _ => {}
                }
            }
        }
        let vendor = field("supplier")
            .and_then(spdx_agent)
            .or_else(|| field("originator").and_then(spdx_agent))
            .or_else(|| purl.as_ref().and_then(|p: &Purl| p.namespace.clone()));
        components.push(Component {
            bom_ref: id.to_owned(),
            name: name.to_owned(),
            version: field("versionInfo")
                .filter(|v| *v != "NOASSERTION")
                .map(str::to_owned),
            vendor,
            purl,
            cpe,
            model_numbers: Vec::new(),
        });
    }
    Ok(Inventory {
        format: InventoryFormat::Spdx,
        components,
        serial: None,
    })
}

/// `Organization: Siemens AG (email)` → `Siemens AG`; `NOASSERTION` → none.
fn spdx_agent(text: &str) -> Option<String> {
    let rest = text
        .strip_prefix("Organization:")
        .or_else(|| text.strip_prefix("Person:"))
        .or_else(|| text.strip_prefix("Tool:"))?;
    let name = rest.split('(').next().unwrap_or_default().trim();
    (!name.is_empty()).then(|| name.to_owned())
}
