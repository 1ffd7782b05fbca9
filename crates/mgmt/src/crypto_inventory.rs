//! The cryptographic inventory (CR 4.3 use of cryptography): every algorithm and key the
//! component uses, with its length or curve, where the key lives, its purpose and the
//! requirements it serves. One list, rendered as a JSON array (`rampart crypto --format json`,
//! `GET /api/v1/crypto`), a table, or a `CycloneDX` 1.6 cryptographic bill of materials
//! (`cryptographic-asset` components with `cryptoProperties`).

use std::path::Path;

use rampart_vault::DataDir;
use rampart_vault::at_rest::ProviderKind;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

/// Where a key lives.
pub mod location {
    /// Sealed at rest under the KEK (docs/vault.md).
    pub const ENCRYPTED_FILE: &str = "encrypted-file";
    /// Sealed at rest, as a column value inside a store.
    pub const ENCRYPTED_COLUMN: &str = "encrypted-column";
    /// The software KEK file (the `file` provider): no hardware protection.
    pub const KEK_FILE: &str = "kek-file (software)";
    /// Sealed in a TPM 2.0.
    pub const TPM: &str = "tpm";
    /// A credential issued to a client, exported as plain PEM by design.
    pub const ISSUED_TO_CLIENT: &str = "plain-file (issued to client)";
    /// Only in memory, new at every start.
    pub const MEMORY: &str = "memory";
    /// Never stored: derived when needed (a passphrase-derived key), or an algorithm.
    pub const NOT_STORED: &str = "not stored";
    /// Stored as a one-way hash only.
    pub const HASHED: &str = "hashed in store";
}

/// One algorithm or key in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CryptoAsset {
    /// A stable identifier (the CBOM's `bom-ref`).
    pub id: String,
    /// `algorithm` or `key`.
    pub kind: &'static str,
    /// What it is.
    pub name: String,
    /// The algorithm (of the key).
    pub algorithm: &'static str,
    /// Key or output length in bits, where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// The elliptic curve, for EC keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<&'static str>,
    /// Where the key lives (see [`location`]); `not stored` for an algorithm.
    pub location: String,
    /// The file, relative to the data directory, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What it is used for.
    pub purpose: &'static str,
    /// The IEC 62443-4-2 requirements it serves.
    pub requirements: Vec<&'static str>,
    #[serde(skip)]
    primitive: &'static str,
    #[serde(skip)]
    material: Option<&'static str>,
    #[serde(skip)]
    algorithm_ref: Option<&'static str>,
    #[serde(skip)]
    functions: &'static [&'static str],
}

#[allow(clippy::too_many_arguments)] // A table row.
fn algorithm(
    id: &'static str,
    name: &'static str,
    primitive: &'static str,
    bits: Option<u32>,
    curve: Option<&'static str>,
    functions: &'static [&'static str],
    purpose: &'static str,
    requirements: &[&'static str],
) -> CryptoAsset {
    CryptoAsset {
        id: format!("crypto/algorithm/{id}"),
        kind: "algorithm",
        name: name.to_owned(),
        algorithm: name,
        key_bits: bits,
        curve,
        location: location::NOT_STORED.to_owned(),
        path: None,
        purpose,
        requirements: requirements.to_vec(),
        primitive,
        material: None,
        algorithm_ref: None,
        functions,
    }
}

struct KeySpec {
    id: String,
    name: String,
    algorithm_id: &'static str,
    algorithm: &'static str,
    bits: u32,
    curve: Option<&'static str>,
    material: &'static str,
    location: String,
    path: Option<String>,
    purpose: &'static str,
    requirements: &'static [&'static str],
}

fn key(spec: KeySpec) -> CryptoAsset {
    CryptoAsset {
        id: spec.id,
        kind: "key",
        name: spec.name,
        algorithm: spec.algorithm,
        key_bits: Some(spec.bits),
        curve: spec.curve,
        location: spec.location,
        path: spec.path,
        purpose: spec.purpose,
        requirements: spec.requirements.to_vec(),
        primitive: "other",
        material: Some(spec.material),
        algorithm_ref: Some(spec.algorithm_id),
        functions: &[],
    }
}

/// The algorithms of this build, always in use.
fn algorithms() -> Vec<CryptoAsset> {
    vec![
        algorithm(
            "xchacha20-poly1305",
            "XChaCha20-Poly1305",
            "ae",
            Some(256),
            None,
            &["encrypt", "decrypt", "tag"],
            "Envelope encryption of stored secrets (data keys and their wrap by the KEK) and \
             backup encryption",
            &["CR 4.1", "CR 4.3", "CR 7.3 RE 1"],
        ),
        algorithm(
            "ed25519",
            "Ed25519",
            "signature",
            Some(256),
            Some("Ed25519"),
            &["sign", "verify"],
            "Device signatures: audit checkpoints, backups, reports",
            &["CR 3.9", "CR 3.4", "CR 4.3"],
        ),
        algorithm(
            "ecdsa-p256-sha256",
            "ECDSA P-256 with SHA-256",
            "signature",
            Some(256),
            Some("secp256r1"),
            &["sign", "verify"],
            "The local PKI: CA, server and client certificates, CRLs; TLS handshake signatures",
            &["CR 1.8", "CR 1.9", "CR 4.3"],
        ),
        algorithm(
            "tls-aead-suites",
            "TLS 1.3 / 1.2 AES-GCM suites with ECDHE (Modbus/TCP Security v36)",
            "ae",
            Some(256),
            None,
            &["encrypt", "decrypt", "tag"],
            "Confidentiality and integrity of Modbus/TCP Security, the management plane and \
             audit forwarding",
            &["CR 4.1", "CR 4.3", "CR 3.1"],
        ),
        algorithm(
            "sha-256",
            "SHA-256",
            "hash",
            Some(256),
            None,
            &["digest"],
            "Audit hash chain, backup manifests, token and session id hashes, KEK ids",
            &["CR 3.9", "CR 3.4", "CR 4.3"],
        ),
        algorithm(
            "hmac-sha256",
            "HMAC-SHA-256",
            "mac",
            Some(256),
            None,
            &["tag"],
            "CSRF tokens bound to the session",
            &["CR 3.8"],
        ),
        algorithm(
            "hmac-sha1-totp",
            "HMAC-SHA-1 (TOTP, RFC 6238)",
            "mac",
            Some(160),
            None,
            &["tag"],
            "Time-based one-time passwords (the authenticator apps' algorithm)",
            &["CR 1.1 RE 2"],
        ),
        algorithm(
            "argon2id",
            "Argon2id",
            "kdf",
            None,
            None,
            &["keyderive"],
            "Password hashes, and the backup key from its passphrase",
            &["CR 1.5", "CR 1.7", "CR 7.3 RE 1"],
        ),
    ]
}

fn relative(data: &DataDir, path: &Path) -> String {
    path.strip_prefix(data.root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The inventory: the algorithms of this build and, with a data directory, its keys as they
/// are stored (sealed or not, where the KEK is). `server_key` says where the TLS server key
/// is held (the running gateway knows it from its start; [`server_key_held`] reads it from
/// a stopped one's directory).
pub fn inventory(
    data: Option<&DataDir>,
    server_key: Option<rampart_vault::pki::ServerKeyStore>,
) -> Vec<CryptoAsset> {
    let mut assets = algorithms();
    let Some(data) = data else {
        return assets;
    };
    let sealed: std::collections::BTreeMap<&str, bool> = data.secret_files().into_iter().collect();
    let stored = |name: &str| match sealed.get(name) {
        Some(true) => Some(location::ENCRYPTED_FILE.to_owned()),
        Some(false) => Some("plain-file (not yet sealed)".to_owned()),
        None => None,
    };
    if let Some(kek) = data.kek() {
        assets.push(key(KeySpec {
            id: "crypto/key/kek".into(),
            name: format!("Key-encryption key {}", kek.id_hex()),
            algorithm_id: "crypto/algorithm/xchacha20-poly1305",
            algorithm: "XChaCha20-Poly1305",
            bits: 256,
            curve: None,
            material: "secret-key",
            location: match kek.kind() {
                ProviderKind::Tpm => location::TPM.to_owned(),
                _ => location::KEK_FILE.to_owned(),
            },
            path: Some(relative(data, kek.location())),
            purpose: "Wraps the data key of every sealed secret",
            requirements: &["CR 4.1", "CR 1.5 RE 1", "CR 1.9 RE 1", "CR 1.14 RE 1"],
        }));
        assets.push(key(KeySpec {
            id: "crypto/key/data-keys".into(),
            name: "Data keys (one per sealed secret)".into(),
            algorithm_id: "crypto/algorithm/xchacha20-poly1305",
            algorithm: "XChaCha20-Poly1305",
            bits: 256,
            curve: None,
            material: "secret-key",
            location: location::ENCRYPTED_FILE.to_owned(),
            path: None,
            purpose: "Encrypt each stored secret; stored only wrapped by the KEK",
            requirements: &["CR 4.1", "CR 4.3"],
        }));
        if kek.kind() == ProviderKind::Tpm {
            // The TPM provider's own keys (docs/vault.md, "The TPM 2.0 provider").
            assets.push(key(KeySpec {
                id: "crypto/key/tpm-parent".into(),
                name: "TPM parent storage key".into(),
                algorithm_id: "crypto/algorithm/ecdsa-p256-sha256",
                algorithm: "ECC P-256 (TPM storage key, ECDH salting, AES-128-CFB)",
                bits: 256,
                curve: Some("secp256r1"),
                material: "private-key",
                location: location::TPM.to_owned(),
                path: Some(relative(
                    data,
                    &data.file(rampart_vault::Entry::TpmSettings),
                )),
                purpose: "Parent of the sealed KEK, never outside the TPM; salts the sessions \
                          that carry the KEK; evicted by erase",
                requirements: &["CR 1.5 RE 1", "CR 1.9 RE 1", "CR 4.2"],
            }));
            assets.push(key(KeySpec {
                id: "crypto/key/tpm-policy-authority".into(),
                name: "TPM policy authority".into(),
                algorithm_id: "crypto/algorithm/ecdsa-p256-sha256",
                algorithm: "ECDSA P-256",
                bits: 256,
                curve: Some("secp256r1"),
                material: "private-key",
                location: location::ENCRYPTED_FILE.to_owned(),
                path: Some(relative(
                    data,
                    &data.file(rampart_vault::Entry::TpmAuthorityKey),
                )),
                purpose: "Signs the platform states (PCR policies) in which the TPM unseals \
                          the KEK, so a signed update re-authorises it",
                requirements: &["CR 1.14 RE 1", "CR 3.4"],
            }));
        }
    }
    let files = [
        (
            "keys/device.key",
            "device",
            "Device key",
            "crypto/algorithm/ed25519",
            "Ed25519",
            Some("Ed25519"),
            "Signs audit checkpoints, backups and reports",
            &["CR 3.9", "CR 3.4", "CR 1.5"][..],
        ),
        (
            "pki/ca.key",
            "ca",
            "Local CA key",
            "crypto/algorithm/ecdsa-p256-sha256",
            "ECDSA P-256",
            Some("secp256r1"),
            "Issues and revokes client and server certificates",
            &["CR 1.8", "CR 1.9"][..],
        ),
        (
            "pki/server.key",
            "server",
            "Modbus/TCP Security server key",
            "crypto/algorithm/ecdsa-p256-sha256",
            "ECDSA P-256",
            Some("secp256r1"),
            "Authenticates the gateway in TLS handshakes",
            &["CR 1.9", "CR 4.3", "CR 3.1"][..],
        ),
    ];
    // A TLS server key generated in the TPM (`tls_key = "tpm"`): its file is only a sealed
    // reference, the key itself never leaves the TPM.
    // So is a device key made in the TPM (`device_key = "tpm"`), which is ECDSA P-256 there.
    let server_key_in_tpm = server_key == Some(rampart_vault::pki::ServerKeyStore::Tpm);
    let device_key_in_tpm =
        data.device_key_held().ok().flatten() == Some(rampart_vault::KeyStore::Tpm);
    for (path, id, name, mut algorithm_id, mut algorithm, mut curve, purpose, requirements) in files
    {
        let held_in_tpm = match path {
            "pki/server.key" => server_key_in_tpm,
            "keys/device.key" => device_key_in_tpm,
            _ => false,
        };
        if path == "keys/device.key" && device_key_in_tpm {
            (algorithm_id, algorithm, curve) = (
                "crypto/algorithm/ecdsa-p256-sha256",
                "ECDSA P-256",
                Some("secp256r1"),
            );
        }
        if let Some(location) = stored(path) {
            let location = if held_in_tpm {
                location::TPM.to_owned()
            } else {
                location
            };
            assets.push(key(KeySpec {
                id: format!("crypto/key/{id}"),
                name: name.into(),
                algorithm_id,
                algorithm,
                bits: 256,
                curve,
                material: "private-key",
                location,
                path: Some(path.into()),
                purpose,
                requirements,
            }));
        }
    }
    if let Ok(entries) = std::fs::read_dir(data.file(rampart_vault::Entry::PkiClients)) {
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| Path::new(n).extension().is_some_and(|e| e == "key"))
            .collect();
        names.sort();
        for file in names {
            let client = file.trim_end_matches(".key").to_owned();
            assets.push(key(KeySpec {
                id: format!("crypto/key/client/{client}"),
                name: format!("Client key {client}"),
                algorithm_id: "crypto/algorithm/ecdsa-p256-sha256",
                algorithm: "ECDSA P-256",
                bits: 256,
                curve: Some("secp256r1"),
                material: "private-key",
                location: location::ISSUED_TO_CLIENT.to_owned(),
                path: Some(format!("pki/clients/{file}")),
                purpose: "A credential issued to a Modbus client, exported to it as PEM",
                requirements: &["CR 1.2", "CR 1.9"],
            }));
        }
    }
    if data.file(rampart_vault::Entry::Identity).exists() {
        assets.push(key(KeySpec {
            id: "crypto/key/totp-seeds".into(),
            name: "TOTP seeds".into(),
            algorithm_id: "crypto/algorithm/hmac-sha1-totp",
            algorithm: "HMAC-SHA-1",
            bits: 160,
            curve: None,
            material: "seed",
            location: if data.kek().is_some() {
                location::ENCRYPTED_COLUMN.to_owned()
            } else {
                "plain-column (not yet sealed)".to_owned()
            },
            path: Some("identity.db".into()),
            purpose: "Second factor of human accounts",
            requirements: &["CR 1.1 RE 2", "CR 4.1"],
        }));
        assets.push(key(KeySpec {
            id: "crypto/key/passwords".into(),
            name: "Password hashes".into(),
            algorithm_id: "crypto/algorithm/argon2id",
            algorithm: "Argon2id",
            bits: 256,
            curve: None,
            material: "password",
            location: location::HASHED.to_owned(),
            path: Some("identity.db".into()),
            purpose: "Verify passwords without storing them",
            requirements: &["CR 1.5", "CR 1.7"],
        }));
    }
    assets.push(key(KeySpec {
        id: "crypto/key/csrf".into(),
        name: "CSRF key".into(),
        algorithm_id: "crypto/algorithm/hmac-sha256",
        algorithm: "HMAC-SHA-256",
        bits: 256,
        curve: None,
        material: "secret-key",
        location: location::MEMORY.to_owned(),
        path: None,
        purpose: "Binds CSRF tokens to sessions; new at every start, never stored",
        requirements: &["CR 3.8"],
    }));
    assets.push(key(KeySpec {
        id: "crypto/key/backup".into(),
        name: "Backup key".into(),
        algorithm_id: "crypto/algorithm/xchacha20-poly1305",
        algorithm: "XChaCha20-Poly1305",
        bits: 256,
        curve: None,
        material: "secret-key",
        location: location::NOT_STORED.to_owned(),
        path: None,
        purpose: "Encrypts a backup; derived from the operator's passphrase (argon2id), never \
                  stored",
        requirements: &["CR 7.3 RE 1", "CR 4.1"],
    }));
    assets
}

/// The inventory as a JSON array, one object per algorithm or key.
pub fn to_json(assets: &[CryptoAsset]) -> Value {
    serde_json::to_value(assets).unwrap_or(Value::Array(Vec::new()))
}

/// The inventory as a `CycloneDX` 1.6 cryptographic bill of materials.
pub fn to_cyclonedx(assets: &[CryptoAsset]) -> Value {
    let components: Vec<Value> = assets
        .iter()
        .map(|asset| {
            let crypto = if asset.kind == "algorithm" {
                let mut properties = json!({
                    "primitive": asset.primitive,
                    "executionEnvironment": "software-plain-ram",
                    "implementationPlatform": "generic",
                    "cryptoFunctions": asset.functions,
                });
                if let Some(curve) = asset.curve {
                    properties["curve"] = json!(curve);
                }
                if let Some(bits) = asset.key_bits {
                    properties["parameterSetIdentifier"] = json!(bits.to_string());
                }
                json!({ "assetType": "algorithm", "algorithmProperties": properties })
            } else {
                let mut properties = json!({
                    "type": asset.material.unwrap_or("key"),
                    "id": asset.id,
                    "state": "active",
                });
                if let Some(bits) = asset.key_bits {
                    properties["size"] = json!(bits);
                }
                if let Some(reference) = asset.algorithm_ref {
                    properties["algorithmRef"] = json!(reference);
                }
                if matches!(
                    asset.location.as_str(),
                    location::ENCRYPTED_FILE | location::ENCRYPTED_COLUMN
                ) {
                    properties["securedBy"] = json!({
                        "mechanism": "Software",
                        "algorithmRef": "crypto/algorithm/xchacha20-poly1305",
                    });
                }
                json!({
                    "assetType": "related-crypto-material",
                    "relatedCryptoMaterialProperties": properties,
                })
            };
            let mut properties = vec![
                json!({ "name": "rampart:location", "value": asset.location }),
                json!({ "name": "rampart:requirements", "value": asset.requirements.join(", ") }),
            ];
            if let Some(path) = &asset.path {
                properties.push(json!({ "name": "rampart:path", "value": path }));
            }
            json!({
                "type": "cryptographic-asset",
                "bom-ref": asset.id,
                "name": asset.name,
                "description": asset.purpose,
                "cryptoProperties": crypto,
                "properties": properties,
            })
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "component": {
                "type": "application",
                "bom-ref": "rampart",
                "name": "rampart",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "components": components,
    })
}

/// The inventory as a plain-text table.
pub fn to_table(assets: &[CryptoAsset]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 5]> = assets
        .iter()
        .map(|a| {
            let length = match (a.key_bits, a.curve) {
                (_, Some(curve)) => curve.to_owned(),
                (Some(bits), None) => format!("{bits} bit"),
                (None, None) => "-".to_owned(),
            };
            [
                if a.kind == "algorithm" {
                    "(algorithm)".to_owned()
                } else {
                    a.name.clone()
                },
                a.algorithm.to_owned(),
                length,
                a.location.clone(),
                a.requirements.join(", "),
            ]
        })
        .collect();
    let header = ["WHAT", "ALGORITHM", "LENGTH", "LOCATION", "REQUIREMENTS"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: [&str; 5]| {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == 4 {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(w.saturating_sub(cell.chars().count()) + 2));
            }
        }
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    out
}

/// Where the TLS server key in `data` is held, read from its file: for a directory no gateway
/// runs on (this unseals the key file, so a running component asks its gateway instead).
pub fn server_key_held(data: &DataDir) -> Option<rampart_vault::pki::ServerKeyStore> {
    rampart_vault::pki::Pki::open(data)
        .and_then(|pki| pki.server_key_held())
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_data_directory_lists_its_sealed_keys_and_the_software_kek() {
        let parent = tempfile::tempdir().unwrap();
        let (data, _) = DataDir::open_or_init(&parent.path().join("data")).unwrap();
        rampart_vault::pki::Pki::open_or_init(&data).unwrap();
        let assets = inventory(Some(&data), server_key_held(&data));
        assert_eq!(
            server_key_held(&data),
            Some(rampart_vault::pki::ServerKeyStore::File)
        );
        let find = |id: &str| assets.iter().find(|a| a.id == id).unwrap();
        assert_eq!(find("crypto/key/device").location, location::ENCRYPTED_FILE);
        assert_eq!(find("crypto/key/ca").location, location::ENCRYPTED_FILE);
        assert_eq!(find("crypto/key/server").location, location::ENCRYPTED_FILE);
        assert_eq!(find("crypto/key/kek").location, location::KEK_FILE);
        assert_eq!(find("crypto/key/kek").path.as_deref(), Some("keys/kek"));
        assert_eq!(
            find("crypto/key/client/operator").location,
            location::ISSUED_TO_CLIENT
        );
        let json = to_json(&assets);
        assert!(json.as_array().unwrap().len() >= assets.len());
        assert!(to_table(&assets).contains("encrypted-file"));
    }
}
