//! The committed SBOM is exactly the one of this build (CR 7.8): made again here from `cargo
//! metadata` and `Cargo.lock` by the same generator, it must equal `sbom/rampart.cdx.json`
//! byte for byte. With `RAMPART_UPDATE_SBOM=1` the test writes the file instead (after a
//! dependency change), atomically.

#[path = "../../sbom/generate.rs"]
mod generate;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn host_target() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc).arg("-vV").output().expect("rustc -vV");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("a host line in rustc -vV")
        .to_owned()
}

/// `cargo metadata` for `target`; may download package manifests (the registry is reachable
/// wherever the tests are built), never changes the lock file.
fn metadata(target: &str) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", target, "--manifest-path"])
        .arg(workspace().join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

fn generated() -> String {
    let target = host_target();
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap();
    let bom = generate::bom(
        &metadata(&target),
        &lock,
        &target,
        env!("CARGO_PKG_VERSION"),
    )
    .unwrap();
    serde_json::to_string_pretty(&bom).unwrap() + "\n"
}

#[test]
fn the_committed_sbom_is_exactly_the_one_of_this_build() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sbom/rampart.cdx.json");
    let fresh = generated();
    if std::env::var_os("RAMPART_UPDATE_SBOM").is_some() {
        let temp = path.with_extension("json.tmp");
        std::fs::write(&temp, &fresh).unwrap();
        std::fs::File::open(&temp).unwrap().sync_all().unwrap();
        std::fs::rename(&temp, &path).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    if committed != fresh {
        let committed: Value = serde_json::from_str(&committed).unwrap();
        let fresh: Value = serde_json::from_str(&fresh).unwrap();
        let refs = |v: &Value| -> std::collections::BTreeSet<String> {
            v["components"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["bom-ref"].as_str().map(str::to_owned))
                .collect()
        };
        let (old, new) = (refs(&committed), refs(&fresh));
        panic!(
            "sbom/rampart.cdx.json is not the SBOM of this build; run \
             `RAMPART_UPDATE_SBOM=1 cargo test -p rampart-mgmt --test it sbom`.\n\
             only in the committed file: {:?}\nonly in this build: {:?}",
            old.difference(&new).collect::<Vec<_>>(),
            new.difference(&old).collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_sbom_names_each_linked_package_once_with_the_lock_files_checksum() {
    if std::env::var_os("RAMPART_UPDATE_SBOM").is_some() {
        return; // This build embeds the SBOM being replaced.
    }
    let sbom: Value = serde_json::from_str(rampart_mgmt::SBOM_JSON).unwrap();
    let lock: toml::Table = std::fs::read_to_string(workspace().join("Cargo.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let locked: std::collections::HashMap<String, Option<String>> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!(
                    "pkg:cargo/{}@{}",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                ),
                p.get("checksum")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned),
            )
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for component in sbom["components"].as_array().unwrap() {
        let purl = component["purl"].as_str().unwrap();
        assert!(seen.insert(purl), "{purl} listed twice");
        let Some(checksum) = locked.get(purl) else {
            panic!("{purl} is not in Cargo.lock");
        };
        let listed = component["hashes"][0]["content"].as_str();
        assert_eq!(listed, checksum.as_deref(), "{purl}: checksum");
        assert!(
            component["licenses"].is_array(),
            "{purl}: every linked package names its licence"
        );
    }
    // The build script's staleness check agrees with the committed file.
    let lock_text = std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap();
    assert_eq!(
        sbom["serialNumber"].as_str(),
        Some(generate::serial_for_lock(&lock_text).as_str())
    );
    assert_ne!(
        generate::serial_for_lock(&(lock_text + "\n")),
        sbom["serialNumber"].as_str().unwrap(),
        "another lock file gives another serial number"
    );
}
