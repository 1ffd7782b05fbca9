//! Makes the `CycloneDX` 1.6 SBOM of the `rampart` binary (CR 7.8) from `cargo metadata` output
//! and `Cargo.lock`: the packages it links (normal dependencies, for one target), with versions,
//! licences, package URLs and the SHA-256 checksums of crates.io packages from the lock file.
//! Deterministic: no timestamp, and a serial number derived from the lock file.
//!
//! Shared by two users through `#[path]`: the SBOM test (`tests/it/sbom.rs`), which makes the
//! SBOM and compares it with the committed `sbom/rampart.cdx.json`, and the build script,
//! which only checks that the committed SBOM was made from the `Cargo.lock` being built.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

/// Where the committed SBOM's target triple is recorded.
pub(crate) const TARGET_PROPERTY: &str = "rampart:target";

/// The SBOM of the `rampart` binary for `target`, from `cargo metadata --format-version 1
/// --filter-platform TARGET` output and the text of the lock file.
pub(crate) fn bom(
    metadata: &Value,
    lock_text: &str,
    target: &str,
    tool_version: &str,
) -> Result<Value, String> {
    let lock: toml::Table = lock_text
        .parse()
        .map_err(|e: toml::de::Error| e.to_string())?;
    let mut checksums = HashMap::new();
    for package in lock
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(version), Some(sum)) = (
            package.get("name").and_then(|v| v.as_str()),
            package.get("version").and_then(|v| v.as_str()),
            package.get("checksum").and_then(|v| v.as_str()),
        ) {
            checksums.insert(format!("{name}@{version}"), sum.to_owned());
        }
    }
    let packages: HashMap<&str, &Value> = metadata["packages"]
        .as_array()
        .ok_or("no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let root = packages
        .values()
        .find(|p| p["name"] == "rampart" && p["source"].is_null())
        .ok_or("no rampart package")?;
    let root_id = root["id"].as_str().ok_or("root id")?;
    // Walk normal (non-dev, non-build) dependencies from the binary.
    let mut seen = BTreeSet::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![root_id];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.to_owned()) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if !normal {
                continue;
            }
            if let Some(dep_id) = dep["pkg"].as_str() {
                edges
                    .entry(id.to_owned())
                    .or_default()
                    .insert(dep_id.to_owned());
                stack.push(dep_id);
            }
        }
    }
    let key = |p: &Value| {
        format!(
            "{}@{}",
            p["name"].as_str().unwrap_or(""),
            p["version"].as_str().unwrap_or("")
        )
    };
    let purl = |p: &Value| format!("pkg:cargo/{}", key(p));
    let component = |p: &Value, kind: &str| -> Value {
        let mut c = json!({
            "type": kind,
            "bom-ref": purl(p),
            "name": p["name"],
            "version": p["version"],
            "purl": purl(p),
        });
        if let Some(license) = p["license"].as_str() {
            c["licenses"] = json!([{ "expression": license.replace('/', " OR ") }]);
        }
        if let Some(description) = p["description"].as_str() {
            c["description"] = json!(description.trim());
        }
        if let Some(sum) = checksums.get(&key(p)) {
            c["hashes"] = json!([{ "alg": "SHA-256", "content": sum }]);
        }
        if let Some(repository) = p["repository"].as_str()
            && repository.starts_with("https://")
            && !repository.contains("example.invalid")
        {
            c["externalReferences"] = json!([{ "type": "vcs", "url": repository }]);
        }
        if p["source"].is_null() {
            c["supplier"] = json!({ "name": "Rampart developers" });
        }
        c
    };
    let mut components: Vec<Value> = seen
        .iter()
        .filter(|id| id.as_str() != root_id)
        .filter_map(|id| packages.get(id.as_str()))
        .map(|p| component(p, "library"))
        .collect();
    components.sort_by(|a, b| a["bom-ref"].as_str().cmp(&b["bom-ref"].as_str()));
    let mut dependencies: Vec<Value> = seen
        .iter()
        .filter_map(|id| {
            let p = packages.get(id.as_str())?;
            let depends: Vec<String> = edges
                .get(id)
                .into_iter()
                .flatten()
                .filter_map(|d| packages.get(d.as_str()).map(|p| purl(p)))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            Some(json!({ "ref": purl(p), "dependsOn": depends }))
        })
        .collect();
    dependencies.sort_by(|a, b| a["ref"].as_str().cmp(&b["ref"].as_str()));
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial_for_lock(lock_text),
        "version": 1,
        "metadata": {
            "lifecycles": [{ "phase": "build" }],
            "tools": { "components": [{ "type": "application", "name": "rampart-mgmt SBOM generator",
                                          "version": tool_version }] },
            "component": component(root, "application"),
            "properties": [{ "name": TARGET_PROPERTY, "value": target }],
        },
        "components": components,
        "dependencies": dependencies,
    }))
}

/// A stable serial number for the SBOM of a lock file: a UUID-shaped digest of its text
/// (name-based, like v5). Also how the build script tells that the committed SBOM is stale.
pub(crate) fn serial_for_lock(lock_text: &str) -> String {
    let digest = fnv_pair(lock_text);
    format!(
        "urn:uuid:{:08x}-{:04x}-5{:03x}-{:04x}-{:012x}",
        (digest.0 >> 32) & 0xffff_ffff,
        (digest.0 >> 16) & 0xffff,
        digest.0 & 0x0fff,
        ((digest.1 >> 48) & 0x3fff) | 0x8000,
        digest.1 & 0xffff_ffff_ffff
    )
}

/// Two 64-bit FNV-1a hashes (different offsets) of `text`; only for a stable identifier, not
/// for security (the lock file's own checksums and the build carry that).
fn fnv_pair(text: &str) -> (u64, u64) {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in text.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte.rotate_left(3))).wrapping_mul(0x0100_0000_01b3);
    }
    (a, b)
}
