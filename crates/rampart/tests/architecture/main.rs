//! The architecture test (in the spirit of rust-analyzer's `tidy`): the rules ARCHITECTURE.md
//! states about the whole workspace, checked on its manifests and sources, so that the map
//! stays true. Each test names the rule; a failure lists every place that breaks it.

mod claims;
mod drift;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/rampart is two levels below the root")
        .to_owned()
}

/// Every crate directory under `crates/`, by directory name.
fn crates() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn manifest(krate: &str) -> toml::Table {
    let path = root().join("crates").join(krate).join("Cargo.toml");
    fs::read_to_string(&path)
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The dependencies a crate ships with (normal and build), with their features. Test code
/// (dev-dependencies) never ships and may use what it needs to attack the component.
fn shipped_dependencies(krate: &str) -> Vec<(String, Vec<String>)> {
    let manifest = manifest(krate);
    let mut out = Vec::new();
    let mut tables = vec![];
    for section in ["dependencies", "build-dependencies"] {
        if let Some(table) = manifest.get(section).and_then(toml::Value::as_table) {
            tables.push(table.clone());
        }
    }
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            for section in ["dependencies", "build-dependencies"] {
                if let Some(table) = target.get(section).and_then(toml::Value::as_table) {
                    tables.push(table.clone());
                }
            }
        }
    }
    for table in tables {
        for (name, spec) in table {
            let package = spec
                .get("package")
                .and_then(toml::Value::as_str)
                .map_or_else(|| name.clone(), str::to_owned);
            let features = spec
                .get("features")
                .and_then(toml::Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(toml::Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            out.push((package, features));
        }
    }
    out
}

/// The source files of a crate (src, tests, benches, examples).
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "target") {
                    continue;
                }
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Lines of code (not comments) of `path`, numbered from 1.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let t = line.trim_start();
            !(t.starts_with("//") || t.starts_with("* ") || t.starts_with("/*"))
        })
        .map(|(i, line)| (i + 1, line.to_owned()))
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn assert_none(rule: &str, violations: &[String]) {
    assert!(
        violations.is_empty(),
        "{rule} — broken at:\n  {}",
        violations.join("\n  ")
    );
}

/// The crates at the I/O edge: they may hold sockets, an async runtime and TLS sessions.
/// `vault` builds the TLS configurations (it names rustls) but opens no socket. `probe`
/// connects only to the targets its caller names, each probe rate- and time-bounded. `update`
/// fetches from the one repository its caller configures, and `tough` runs on tokio.
const IO_EDGE: &[&str] = &["gateway", "mgmt", "forward", "probe", "update", "rampart"];
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-rustls",
    "tokio-util",
    "hyper",
    "hyper-util",
    "axum",
    "tower",
    "mio",
    "socket2",
    "reqwest",
    "ureq",
    "signal-hook",
];

#[test]
fn only_the_io_edge_knows_sockets_runtimes_and_tls() {
    let mut violations = Vec::new();
    for krate in crates() {
        if IO_EDGE.contains(&krate.as_str()) {
            continue;
        }
        for (dependency, _) in shipped_dependencies(&krate) {
            let tls_outside_vault = dependency == "rustls" && krate != "vault";
            if IO_CRATES.contains(&dependency.as_str()) || tls_outside_vault {
                violations.push(format!(
                    "crates/{krate}/Cargo.toml: depends on {dependency}"
                ));
            }
        }
        for file in sources(&root().join("crates").join(&krate).join("src")) {
            for (n, line) in code_lines(&file) {
                for socket in ["TcpStream", "TcpListener", "UdpSocket"] {
                    if line.contains(socket) {
                        violations.push(format!("{}:{n}: uses {socket}", relative(&file)));
                    }
                }
            }
        }
    }
    assert_none(
        "only gateway, mgmt, forward, probe, update and the binary open sockets or run \
         tokio/hyper; \
         only vault and they name rustls",
        &violations,
    );
}

/// Cryptographic implementations: only the vault's crypto seam names them.
const CRYPTO_CRATES: &[&str] = &[
    "ring",
    "aws-lc-rs",
    "aws-lc-sys",
    "openssl",
    "sha1",
    "sha2",
    "sha3",
    "md-5",
    "digest",
    "hmac",
    "argon2",
    "scrypt",
    "pbkdf2",
    "chacha20poly1305",
    "aes-gcm",
    "aead",
    "ed25519-dalek",
    "ed25519",
    "x25519-dalek",
    "curve25519-dalek",
    "p256",
    "ecdsa",
    "rsa",
    "getrandom",
    "rand",
    "rand_core",
    "blake2",
    "blake3",
    "subtle",
];
/// Features that pick a cryptographic backend in rustls, rcgen and tokio-rustls.
const BACKEND_FEATURES: &[&str] = &["ring", "aws_lc_rs", "aws-lc-rs", "fips"];

#[test]
fn only_the_vault_names_a_crypto_crate_or_backend() {
    let mut violations = Vec::new();
    for krate in crates() {
        if krate == "vault" {
            continue;
        }
        for (dependency, features) in shipped_dependencies(&krate) {
            if CRYPTO_CRATES.contains(&dependency.as_str()) {
                violations.push(format!(
                    "crates/{krate}/Cargo.toml: depends on {dependency}"
                ));
            }
            for feature in features {
                if BACKEND_FEATURES.contains(&feature.as_str()) {
                    violations.push(format!(
                        "crates/{krate}/Cargo.toml: enables {dependency}/{feature}"
                    ));
                }
            }
        }
    }
    assert_none(
        "only crates/vault depends on cryptographic crates or picks the TLS backend",
        &violations,
    );
}

/// Reads of the wall clock that must go through `rampart_clock::Clock`.
const CLOCK_READS: &[&str] = &[
    "SystemTime::now(",
    "Timestamp::now(",
    "Zoned::now(",
    "OffsetDateTime::now_utc(",
    "OffsetDateTime::now_local(",
    "Utc::now(",
    "Local::now(",
];

#[test]
fn the_system_time_is_read_only_by_the_clock() {
    let the_clock = root().join("crates/clock/src/lib.rs");
    let this_test = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/architecture/main.rs");
    let mut files = sources(&root().join("crates"));
    files.extend(sources(&root().join("fuzz")));
    let mut violations = Vec::new();
    for file in files {
        if file == the_clock || file == this_test {
            continue;
        }
        for (n, line) in code_lines(&file) {
            for read in CLOCK_READS {
                if line.contains(read) {
                    violations.push(format!("{}:{n}: {}", relative(&file), line.trim()));
                }
            }
        }
    }
    assert_none(
        "the wall clock is read only in crates/clock (rampart_clock::SystemClock)",
        &violations,
    );
}

#[test]
fn every_crate_is_in_the_code_map_and_the_workspace() {
    let architecture = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mapped: BTreeSet<String> = architecture
        .lines()
        .filter_map(|line| line.strip_prefix("### `crates/"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect();
    let workspace: toml::Table = fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let members: BTreeSet<String> = workspace["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str()?.strip_prefix("crates/").map(str::to_owned))
        .collect();
    let on_disk: BTreeSet<String> = crates().into_iter().collect();
    let mut violations = Vec::new();
    for krate in &on_disk {
        if !mapped.contains(krate) {
            violations.push(format!(
                "crates/{krate}: no \"### `crates/{krate}`\" section in ARCHITECTURE.md"
            ));
        }
        if !members.contains(krate) {
            violations.push(format!("crates/{krate}: not a workspace member"));
        }
    }
    for krate in mapped.difference(&on_disk) {
        violations.push(format!(
            "ARCHITECTURE.md maps crates/{krate}, which does not exist"
        ));
    }
    assert_none(
        "the code map names every crate, and only those",
        &violations,
    );
}

#[test]
fn every_crate_forbids_unsafe_code() {
    let mut violations = Vec::new();
    for krate in crates() {
        let dir = root().join("crates").join(&krate).join("src");
        let entry = if dir.join("lib.rs").exists() {
            dir.join("lib.rs")
        } else {
            dir.join("main.rs")
        };
        let text = fs::read_to_string(&entry).unwrap();
        if !text.contains("#![forbid(unsafe_code)]") {
            violations.push(relative(&entry));
        }
    }
    assert_none("every crate root says #![forbid(unsafe_code)]", &violations);
}

#[test]
fn public_error_enums_are_non_exhaustive() {
    let mut violations = Vec::new();
    for krate in crates() {
        for file in sources(&root().join("crates").join(&krate).join("src")) {
            let lines: Vec<String> = fs::read_to_string(&file)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(rest) = line.trim_start().strip_prefix("pub enum ") else {
                    continue;
                };
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.ends_with("Error") {
                    continue;
                }
                let attributes = lines[..i]
                    .iter()
                    .rev()
                    .take_while(|l| {
                        let t = l.trim_start();
                        t.starts_with("#[") || t.starts_with("///") || t.starts_with(')')
                    })
                    .any(|l| l.contains("non_exhaustive"));
                if !attributes {
                    violations.push(format!("{}:{}: {name}", relative(&file), i + 1));
                }
            }
        }
    }
    assert_none("public error enums are #[non_exhaustive]", &violations);
}

/// The crates that read network or file input: a panic there is a denial of service.
const INPUT_CRATES: &[&str] = &[
    "gateway", "mgmt", "forward", "identity", "backup", "assess", "vuln", "probe", "update",
];

#[test]
fn crates_that_read_input_deny_panics() {
    let mut violations = Vec::new();
    for krate in INPUT_CRATES {
        let root_file = root().join("crates").join(krate).join("src/lib.rs");
        let text = fs::read_to_string(&root_file).unwrap();
        if !text.contains("#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]") {
            violations.push(relative(&root_file));
        }
    }
    assert_none(
        "crates that read network or file input deny unwrap, expect and panic outside tests",
        &violations,
    );
}

/// The crates of pure logic: the catalog, the Modbus codec and the conduit policy and IDS;
/// and the vulnerability matcher, whose one file layer is `load.rs`.
const PURE_CRATES: &[&str] = &["catalog", "modbus", "conduit", "vuln"];
/// Files of the pure crates that are their thin I/O layer.
const IO_LAYERS: &[&str] = &["crates/vuln/src/load.rs"];

#[test]
fn pure_crates_do_no_io() {
    let mut violations = Vec::new();
    for krate in PURE_CRATES {
        for file in sources(&root().join("crates").join(krate).join("src")) {
            if file.file_name().is_some_and(|n| n == "tests.rs")
                || IO_LAYERS.contains(&relative(&file).as_str())
            {
                continue;
            }
            for (n, line) in code_lines(&file) {
                for io in [
                    "std::fs",
                    "fs::",
                    "File::",
                    "std::net",
                    "std::process",
                    "std::env",
                ] {
                    if line.contains(io) {
                        violations.push(format!("{}:{n}: {}", relative(&file), line.trim()));
                    }
                }
            }
        }
    }
    assert_none(
        "catalog, modbus, conduit and the vuln matcher do no I/O (files are read by their \
         callers, or vuln's load.rs, capped)",
        &violations,
    );
}
