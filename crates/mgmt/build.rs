//! Checks that the committed SBOM (`sbom/rampart.cdx.json`, embedded as `SBOM_JSON`) was made
//! from the `Cargo.lock` being built (CR 7.8). It needs nothing the build did not fetch and no
//! network: the SBOM itself is made by `sbom/generate.rs` from `cargo metadata` in the SBOM
//! test, which also proves it exact (see ARCHITECTURE.md, "The SBOM").

#[allow(dead_code)] // The build script uses only the serial number; the test uses the rest.
#[path = "sbom/generate.rs"]
mod generate;

use std::path::PathBuf;

use serde_json::Value;

const REGENERATE: &str = "RAMPART_UPDATE_SBOM=1 cargo test -p rampart-mgmt --test it sbom";

fn main() {
    let Ok(manifest_dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        fail("CARGO_MANIFEST_DIR is not set: run the build through cargo");
    };
    let manifest_dir = PathBuf::from(manifest_dir);
    let lock_path = manifest_dir.join("../../Cargo.lock");
    let sbom_path = manifest_dir.join("sbom/rampart.cdx.json");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    println!("cargo::rerun-if-changed={}", sbom_path.display());
    let lock_text = std::fs::read_to_string(&lock_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", lock_path.display())));
    let sbom_text = std::fs::read_to_string(&sbom_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", sbom_path.display())));
    let sbom: Value = serde_json::from_str(&sbom_text)
        .unwrap_or_else(|e| fail(&format!("{} is not JSON: {e}", sbom_path.display())));
    println!("cargo::rerun-if-env-changed=RAMPART_UPDATE_SBOM");
    let stale =
        sbom["serialNumber"].as_str() != Some(generate::serial_for_lock(&lock_text).as_str());
    if stale && std::env::var_os("RAMPART_UPDATE_SBOM").is_some() {
        // The SBOM test is about to make it again; this build is only for that.
        println!("cargo::warning=the embedded SBOM is stale until the SBOM test rewrites it");
    } else if stale {
        fail(&format!(
            "{} was made from another Cargo.lock; make it again with `{REGENERATE}`",
            sbom_path.display()
        ));
    }
    let recorded = sbom["metadata"]["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == generate::TARGET_PROPERTY)
        .and_then(|p| p["value"].as_str())
        .unwrap_or_default()
        .to_owned();
    if std::env::var("TARGET").is_ok_and(|target| target != recorded) {
        println!(
            "cargo::warning=the embedded SBOM lists the packages linked for {recorded}; \
             packages specific to this target may be missing from it"
        );
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
