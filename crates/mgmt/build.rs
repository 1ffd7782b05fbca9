//! Writes the `CycloneDX` 1.6 SBOM of the `rampart` binary into `OUT_DIR` (CR 7.8): the packages
//! it links (normal dependencies, for the target being built) from `cargo metadata`, with
//! versions, licences, package URLs and the SHA-256 checksums of crates.io packages from
//! Cargo.lock. Deterministic: no timestamp, serial number derived from the lock file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.join("../..");
    let lock_path = workspace.join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    println!(
        "cargo::rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("rampart.cdx.json");
    let bom = match build(&workspace, &lock_path) {
        Ok(bom) => bom,
        Err(e) => panic!("cannot build the SBOM: {e}"),
    };
    std::fs::write(&out, serde_json::to_string_pretty(&bom).expect("JSON")).expect("write SBOM");
}

fn build(workspace: &std::path::Path, lock_path: &std::path::Path) -> Result<Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target = std::env::var("TARGET").map_err(|e| e.to_string())?;
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &target,
            "--manifest-path",
        ])
        .arg(workspace.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let lock_text = std::fs::read_to_string(lock_path).map_err(|e| e.to_string())?;
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
    let purl = |p: &Value| {
        format!(
            "pkg:cargo/{}@{}",
            p["name"].as_str().unwrap_or(""),
            p["version"].as_str().unwrap_or("")
        )
    };
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
        let key = format!(
            "{}@{}",
            p["name"].as_str().unwrap_or(""),
            p["version"].as_str().unwrap_or("")
        );
        if let Some(sum) = checksums.get(&key) {
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
    let dependencies: Vec<Value> = seen
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
    // A stable serial number: UUID-shaped digest of the lock file (name-based, like v5).
    let digest = fnv_pair(&lock_text);
    let serial = serial_number(digest);
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "lifecycles": [{ "phase": "build" }],
            "tools": { "components": [{ "type": "application", "name": "rampart-mgmt build script",
                                          "version": std::env::var("CARGO_PKG_VERSION").unwrap_or_default() }] },
            "component": component(root, "application"),
        },
        "components": components,
        "dependencies": dependencies,
    }))
}

#[allow(clippy::cast_possible_truncation)] // Only bits of a digest.
fn serial_number(digest: (u64, u64)) -> String {
    format!(
        "urn:uuid:{:08x}-{:04x}-5{:03x}-{:04x}-{:012x}",
        (digest.0 >> 32) as u32,
        (digest.0 >> 16) as u16,
        (digest.0 & 0x0fff) as u16,
        ((digest.1 >> 48) as u16 & 0x3fff) | 0x8000,
        digest.1 & 0xffff_ffff_ffff
    )
}

/// Two 64-bit FNV-1a hashes (different offsets) of `text`; only for a stable identifier.
fn fnv_pair(text: &str) -> (u64, u64) {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in text.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte.rotate_left(3))).wrapping_mul(0x0100_0000_01b3);
    }
    (a, b)
}
