//! A small TUF repository builder for tests: Ed25519 keys of the vault (deterministic seeds),
//! canonical JSON and signatures, files written as a static server would serve them.
//! Test-only: it signs with `DeviceKey::danger_insecure_from_seed`.
//!
//! Shared by the integration tests and, through `#[path]`, the unit tests of `tuf`.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_update::tuf::metadata::canonical_json;
use rampart_vault::DeviceKey;
use serde_json::{Value, json};

/// Far enough in the future for every test.
pub const FAR: &str = "2100-01-01T00:00:00Z";
/// The tests' "now".
pub const NOW: &str = "2026-06-01T00:00:00Z";

pub fn key(seed: u8) -> DeviceKey {
    DeviceKey::danger_insecure_from_seed(&[seed; 32])
}

/// The TUF key object and key id (sha256 of its canonical JSON) of `key`.
pub fn key_json(key: &DeviceKey) -> (String, Value) {
    let value = json!({
        "keytype": "ed25519",
        "scheme": "ed25519",
        "keyval": {"public": key.public_key().to_hex()},
    });
    let id = rampart_vault::crypto::sha256_hex(canonical_json(&value).unwrap());
    (id, value)
}

/// The envelope of `signed` signed by `keys`, pretty-printed (so the bytes differ from the
/// canonical form, as many repositories serve them).
pub fn sign(signed: &Value, keys: &[DeviceKey]) -> Vec<u8> {
    let canonical = canonical_json(signed).unwrap();
    let signatures: Vec<Value> = keys
        .iter()
        .map(|k| json!({"keyid": key_json(k).0, "sig": hex(&k.sign(&canonical))}))
        .collect();
    serde_json::to_vec_pretty(&json!({"signatures": signatures, "signed": signed})).unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{b:02x}"));
        out
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    rampart_vault::crypto::sha256_hex(bytes)
}

pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A repository in `base/metadata` and `base/targets`.
pub struct Repo {
    pub metadata: PathBuf,
    pub targets_dir: PathBuf,
    /// Key seeds of the top-level roles.
    pub keys: BTreeMap<String, Vec<u8>>,
    pub root: Value,
    pub timestamp: Value,
    pub snapshot: Value,
    pub targets: Value,
    /// Delegated roles' `signed`, and their signing keys.
    pub delegated: BTreeMap<String, Value>,
    pub delegated_keys: BTreeMap<String, Vec<u8>>,
    /// The published root files, by version (index 0 = version 1).
    pub roots: Vec<Vec<u8>>,
    /// Whether the timestamp gives the snapshot's length and hashes, and the snapshot those of
    /// the targets roles.
    pub with_hashes: bool,
}

impl Repo {
    /// Version 1 of every role, one key each, published.
    pub fn new(base: &Path) -> Repo {
        Repo::with_consistent(base, false)
    }

    pub fn with_consistent(base: &Path, consistent: bool) -> Repo {
        let metadata = base.join("metadata");
        let targets_dir = base.join("targets");
        std::fs::create_dir_all(&metadata).unwrap();
        std::fs::create_dir_all(&targets_dir).unwrap();
        let mut keys = BTreeMap::new();
        for (seed, role) in ["root", "timestamp", "snapshot", "targets"]
            .iter()
            .enumerate()
        {
            keys.insert((*role).to_owned(), vec![u8::try_from(seed).unwrap() + 1]);
        }
        let mut repo = Repo {
            metadata,
            targets_dir,
            keys,
            root: Value::Null,
            timestamp: json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
                "expires": FAR, "meta": {}}),
            snapshot: json!({"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
                "expires": FAR, "meta": {}}),
            targets: json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                "expires": FAR, "targets": {}}),
            delegated: BTreeMap::new(),
            delegated_keys: BTreeMap::new(),
            roots: Vec::new(),
            with_hashes: true,
        };
        repo.root = repo.root_signed(1, consistent);
        repo.publish_root();
        repo.publish();
        repo
    }

    /// A root `signed` with the current keys.
    pub fn root_signed(&self, version: u64, consistent: bool) -> Value {
        let mut keys = serde_json::Map::new();
        let mut roles = serde_json::Map::new();
        for (role, role_keys) in &self.keys {
            let mut ids = Vec::new();
            for &seed in role_keys {
                let (id, value) = key_json(&key(seed));
                keys.insert(id.clone(), value);
                ids.push(Value::String(id));
            }
            roles.insert(role.clone(), json!({"keyids": ids, "threshold": 1}));
        }
        json!({"_type": "root", "spec_version": "1.0.31", "version": version,
            "expires": FAR, "consistent_snapshot": consistent, "keys": keys, "roles": roles})
    }

    pub fn role_keys(&self, role: &str) -> Vec<DeviceKey> {
        self.keys[role].iter().map(|&s| key(s)).collect()
    }

    /// Publishes `self.root` signed by the root keys as `N.root.json` and `root.json`.
    pub fn publish_root(&mut self) {
        let signers = self.role_keys("root");
        let bytes = sign(&self.root, &signers);
        self.publish_root_bytes(bytes);
    }

    /// Publishes root bytes as they are.
    pub fn publish_root_bytes(&mut self, bytes: Vec<u8>) {
        let version = self.root["version"].as_u64().unwrap();
        std::fs::write(self.metadata.join(format!("{version}.root.json")), &bytes).unwrap();
        std::fs::write(self.metadata.join("root.json"), &bytes).unwrap();
        let index = usize::try_from(version - 1).unwrap();
        if self.roots.len() <= index {
            self.roots.resize(index + 1, Vec::new());
        }
        self.roots[index] = bytes;
    }

    /// Rotates the root: new keys for `role` (seeds given), version + 1, signed by the old
    /// and the new root keys.
    pub fn rotate(&mut self, role: &str, seeds: &[u8]) {
        let old_root_keys: Vec<u8> = self.keys["root"].clone();
        self.keys.insert(role.to_owned(), seeds.to_vec());
        let version = self.root["version"].as_u64().unwrap() + 1;
        let consistent = self.consistent();
        self.root = self.root_signed(version, consistent);
        let mut seeds = old_root_keys.clone();
        for &s in &self.keys["root"] {
            if !seeds.contains(&s) {
                seeds.push(s);
            }
        }
        let signers: Vec<DeviceKey> = seeds.iter().map(|&s| key(s)).collect();
        let bytes = sign(&self.root, &signers);
        self.publish_root_bytes(bytes);
    }

    pub fn consistent(&self) -> bool {
        self.root["consistent_snapshot"].as_bool().unwrap_or(false)
    }

    /// Adds a target file (written under its name, and `HASH.NAME` for consistent snapshots)
    /// to the top-level targets or to a delegated role.
    pub fn add_target(&mut self, role: &str, name: &str, content: &[u8]) {
        let path = self.targets_dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        let hash = sha256_hex(content);
        let hashed = match name.rsplit_once('/') {
            Some((dir, base)) => self.targets_dir.join(dir).join(format!("{hash}.{base}")),
            None => self.targets_dir.join(format!("{hash}.{name}")),
        };
        std::fs::write(hashed, content).unwrap();
        let entry = json!({"length": content.len(), "hashes": {"sha256": hash}});
        self.role_mut(role)["targets"][name] = entry;
    }

    pub fn role_mut(&mut self, role: &str) -> &mut Value {
        match role {
            "root" => &mut self.root,
            "timestamp" => &mut self.timestamp,
            "snapshot" => &mut self.snapshot,
            "targets" => &mut self.targets,
            other => self.delegated.get_mut(other).unwrap(),
        }
    }

    pub fn bump(&mut self, role: &str) {
        let value = self.role_mut(role);
        let version = value["version"].as_u64().unwrap();
        value["version"] = json!(version + 1);
    }

    /// Delegates from `parent` to a new role `name` (key seed `seed`), with `paths`.
    pub fn delegate(
        &mut self,
        parent: &str,
        name: &str,
        seed: u8,
        paths: &[&str],
        terminating: bool,
    ) {
        let (id, value) = key_json(&key(seed));
        let parent_value = self.role_mut(parent);
        if parent_value.get("delegations").is_none() {
            parent_value["delegations"] = json!({"keys": {}, "roles": []});
        }
        parent_value["delegations"]["keys"][&id] = value;
        parent_value["delegations"]["roles"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": name, "keyids": [id], "threshold": 1,
                "terminating": terminating, "paths": paths}));
        self.delegated.insert(
            name.to_owned(),
            json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                "expires": FAR, "targets": {}}),
        );
        self.delegated_keys.insert(name.to_owned(), vec![seed]);
    }

    fn write_meta(&self, name: &str, version: u64, bytes: &[u8]) {
        std::fs::write(self.metadata.join(format!("{name}.json")), bytes).unwrap();
        std::fs::write(self.metadata.join(format!("{version}.{name}.json")), bytes).unwrap();
    }

    fn meta_entry(&self, version: u64, bytes: &[u8]) -> Value {
        if self.with_hashes {
            json!({"version": version, "length": bytes.len(),
                "hashes": {"sha256": sha256_hex(bytes)}})
        } else {
            json!({"version": version})
        }
    }

    /// Signs and writes targets, delegated roles, snapshot and timestamp (the snapshot lists
    /// the current versions; the timestamp the snapshot's). Versions are not changed.
    pub fn publish(&mut self) {
        let mut meta = serde_json::Map::new();
        let targets = sign(&self.targets, &self.role_keys("targets"));
        let version = self.targets["version"].as_u64().unwrap();
        self.write_meta("targets", version, &targets);
        meta.insert("targets.json".into(), self.meta_entry(version, &targets));
        for (name, signed) in &self.delegated {
            let signers: Vec<DeviceKey> =
                self.delegated_keys[name].iter().map(|&s| key(s)).collect();
            let bytes = sign(signed, &signers);
            let version = signed["version"].as_u64().unwrap();
            let encoded = rampart_update::tuf::encode_name(name);
            self.write_meta(&encoded, version, &bytes);
            meta.insert(format!("{name}.json"), self.meta_entry(version, &bytes));
        }
        self.snapshot["meta"] = Value::Object(meta);
        self.publish_snapshot_and_timestamp();
    }

    /// Signs and writes the snapshot as it is, and a timestamp naming it.
    pub fn publish_snapshot_and_timestamp(&mut self) {
        let snapshot = sign(&self.snapshot, &self.role_keys("snapshot"));
        let version = self.snapshot["version"].as_u64().unwrap();
        self.write_meta("snapshot", version, &snapshot);
        self.timestamp["meta"] = json!({"snapshot.json": self.meta_entry(version, &snapshot)});
        self.publish_timestamp();
    }

    /// Signs and writes the timestamp as it is.
    pub fn publish_timestamp(&mut self) {
        let timestamp = sign(&self.timestamp, &self.role_keys("timestamp"));
        std::fs::write(self.metadata.join("timestamp.json"), timestamp).unwrap();
    }

    /// Bumps targets, snapshot and timestamp and publishes.
    pub fn new_release(&mut self) {
        self.bump("targets");
        self.bump("snapshot");
        self.bump("timestamp");
        self.publish();
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.metadata.join(name)).unwrap()
    }
}
