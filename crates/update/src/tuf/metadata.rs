//! TUF 1.0 metadata: the signed envelope, the four top-level roles and delegated targets,
//! keys and the threshold check. Parsing never trusts: [`Envelope::parse`] only checks the
//! shape; [`Envelope::verify`] checks signatures against the keys and threshold of a role.

use std::collections::{BTreeMap, BTreeSet};

use rampart_vault::crypto::signature::{SignatureScheme, VerifyingKey};
use serde::Deserialize;
use serde_json::Value;

use super::TufError;

/// A signed metadata file as received: the raw bytes (stored byte for byte once verified),
/// the canonical JSON of `signed` (what signatures cover), and the signatures.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The bytes exactly as fetched or read.
    pub raw: Vec<u8>,
    /// OLPC canonical JSON of the `signed` object.
    canonical: Vec<u8>,
    /// `signed`, parsed.
    signed: Value,
    /// `(keyid, signature bytes)`, keyids unique.
    signatures: Vec<(String, Vec<u8>)>,
}

impl Envelope {
    /// Parses `raw` as a TUF envelope (`{"signatures": [...], "signed": {...}}`) for `role`.
    ///
    /// # Errors
    /// [`TufError::BadMetadata`] naming what is malformed.
    pub fn parse(role: &str, raw: Vec<u8>) -> Result<Envelope, TufError> {
        let bad = |reason: String| TufError::BadMetadata {
            role: role.to_owned(),
            reason,
        };
        let value: Value =
            serde_json::from_slice(&raw).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Value::Object(mut object) = value else {
            return Err(bad("not a JSON object".into()));
        };
        let signed = object
            .remove("signed")
            .ok_or_else(|| bad("no \"signed\" object".into()))?;
        if !signed.is_object() {
            return Err(bad("\"signed\" is not an object".into()));
        }
        let Some(Value::Array(list)) = object.remove("signatures") else {
            return Err(bad("no \"signatures\" array".into()));
        };
        let mut signatures = Vec::with_capacity(list.len());
        let mut seen = BTreeSet::new();
        for entry in list {
            let keyid = entry
                .get("keyid")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("a signature without a \"keyid\" string".into()))?;
            let sig = entry
                .get("sig")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("the signature of key {keyid} has no \"sig\"")))?;
            if !seen.insert(keyid.to_owned()) {
                return Err(bad(format!("two signatures by key {keyid}")));
            }
            // A signature that is not hex is kept as nothing: it counts as invalid, not as
            // malformed metadata (another valid signature may still meet the threshold).
            signatures.push((keyid.to_owned(), hex_decode(sig).unwrap_or_default()));
        }
        let canonical = canonical_json(&signed).map_err(bad)?;
        Ok(Envelope {
            raw,
            canonical,
            signed,
            signatures,
        })
    }

    /// The `signed` object as `T`, after checking `_type` and `spec_version`.
    ///
    /// # Errors
    /// [`TufError::BadMetadata`].
    pub fn signed<T: for<'de> Deserialize<'de>>(
        &self,
        role: &str,
        expected_type: &str,
    ) -> Result<T, TufError> {
        let bad = |reason: String| TufError::BadMetadata {
            role: role.to_owned(),
            reason,
        };
        let kind = self.signed.get("_type").and_then(Value::as_str);
        if kind != Some(expected_type) {
            return Err(bad(format!(
                "_type is {kind:?}, expected \"{expected_type}\""
            )));
        }
        let spec = self
            .signed
            .get("spec_version")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no spec_version".into()))?;
        let parts: Vec<&str> = spec.split('.').collect();
        if !(2..=3).contains(&parts.len())
            || parts[0] != "1"
            || parts.iter().any(|p| p.parse::<u32>().is_err())
        {
            return Err(bad(format!(
                "spec_version {spec:?} is not a supported 1.x version"
            )));
        }
        if self
            .signed
            .get("version")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            == 0
        {
            return Err(bad("version must be an integer of at least 1".into()));
        }
        T::deserialize(&self.signed).map_err(|e| bad(e.to_string()))
    }

    /// Checks that at least `role.threshold` distinct keys of `role.keyids`, found in `keys`,
    /// signed the canonical `signed` object.
    ///
    /// # Errors
    /// [`TufError::ThresholdNotMet`].
    pub fn verify(
        &self,
        role: &str,
        keys: &BTreeMap<String, Key>,
        role_keys: &RoleKeys,
    ) -> Result<(), TufError> {
        let mut valid = 0u64;
        // A key listed under several key ids still counts once.
        let mut counted: BTreeSet<(&str, &str)> = BTreeSet::new();
        for keyid in &role_keys.keyids {
            let Some(key) = keys.get(keyid) else {
                continue;
            };
            let Some(verifying) = key.verifying_key() else {
                continue;
            };
            let Some((_, sig)) = self.signatures.iter().find(|(id, _)| id == keyid) else {
                continue;
            };
            let identity = (key.keytype.as_str(), key.keyval.public.trim());
            if verifying.verify(&self.canonical, sig) && counted.insert(identity) {
                valid += 1;
            }
        }
        if valid < role_keys.threshold {
            return Err(TufError::ThresholdNotMet {
                role: role.to_owned(),
                valid,
                threshold: role_keys.threshold,
            });
        }
        Ok(())
    }
}

/// The OLPC canonical JSON of `value` (the form TUF signatures cover).
///
/// # Errors
/// A reason if `value` holds something canonical JSON cannot express (a float).
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, String> {
    use serde::Serialize as _;
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    value
        .serialize(&mut serializer)
        .map_err(|e| format!("not canonical JSON: {e}"))?;
    Ok(out)
}

/// Lower- or upper-case hex to bytes.
pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A public key of the metadata (`keytype`, `scheme`, `keyval.public`).
#[derive(Debug, Clone, Deserialize)]
pub struct Key {
    /// `ed25519`, `ecdsa`, `ecdsa-sha2-nistp256`, `rsa`, or a type this client ignores.
    pub keytype: String,
    /// `ed25519`, `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`, or a scheme this client ignores.
    pub scheme: String,
    /// The key value.
    pub keyval: KeyVal,
}

/// `keyval` of a [`Key`].
#[derive(Debug, Clone, Deserialize)]
pub struct KeyVal {
    /// Hex (Ed25519) or PEM SPKI (ECDSA, RSA).
    pub public: String,
}

impl Key {
    /// The key for the vault's verifier, or `None` for a type or scheme this client does not
    /// support or a malformed value: such a key is ignored (its signatures never count).
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        let public = self.keyval.public.trim();
        match (self.keytype.as_str(), self.scheme.as_str()) {
            ("ed25519", "ed25519") => VerifyingKey::ed25519(&hex_decode(public)?).ok(),
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                pem_or_hex(SignatureScheme::EcdsaP256Sha256, public)
            }
            ("rsa", "rsassa-pss-sha256") => pem_or_hex(SignatureScheme::RsaPssSha256, public),
            _ => None,
        }
    }
}

fn pem_or_hex(scheme: SignatureScheme, public: &str) -> Option<VerifyingKey> {
    if public.contains("-----BEGIN") {
        VerifyingKey::from_pem(scheme, public).ok()
    } else {
        VerifyingKey::from_der(scheme, &hex_decode(public)?).ok()
    }
}

/// The keys and threshold of a role.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RoleKeys {
    /// Key ids, unique.
    pub keyids: Vec<String>,
    /// How many of them must sign (at least 1).
    pub threshold: u64,
}

impl RoleKeys {
    fn check(&self, role: &str, owner: &str) -> Result<(), TufError> {
        let bad = |reason: String| TufError::BadMetadata {
            role: owner.to_owned(),
            reason,
        };
        if self.threshold == 0 {
            return Err(bad(format!("role {role}: threshold 0")));
        }
        let unique: BTreeSet<&String> = self.keyids.iter().collect();
        if unique.len() != self.keyids.len() {
            return Err(bad(format!("role {role}: a key id is listed twice")));
        }
        Ok(())
    }
}

/// The `signed` part of `root.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Root {
    /// Version, from 1.
    pub version: u64,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// Whether metadata and targets are fetched under versioned / hash-prefixed names.
    #[serde(default)]
    pub consistent_snapshot: bool,
    /// The keys, by key id.
    pub keys: BTreeMap<String, Key>,
    /// `root`, `timestamp`, `snapshot` and `targets`.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// The four top-level roles.
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "snapshot", "targets", "timestamp"];

impl Root {
    /// Checks the structure: exactly the four roles, valid thresholds.
    ///
    /// # Errors
    /// [`TufError::BadMetadata`].
    pub fn check(&self) -> Result<(), TufError> {
        let names: Vec<&str> = self.roles.keys().map(String::as_str).collect();
        if names != TOP_LEVEL_ROLES {
            return Err(TufError::BadMetadata {
                role: "root".into(),
                reason: format!("roles are {names:?}, expected exactly {TOP_LEVEL_ROLES:?}"),
            });
        }
        for (name, keys) in &self.roles {
            keys.check(name, "root")?;
        }
        Ok(())
    }

    /// The keys of a top-level role (present after [`Root::check`]).
    pub fn role(&self, name: &str) -> &RoleKeys {
        static EMPTY: RoleKeys = RoleKeys {
            keyids: Vec::new(),
            threshold: u64::MAX,
        };
        self.roles.get(name).unwrap_or(&EMPTY)
    }
}

/// An entry of `meta` in timestamp and snapshot.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct MetaFile {
    /// The version of the metadata file.
    pub version: u64,
    /// Its length in bytes, when given.
    pub length: Option<u64>,
    /// Its hashes (algorithm → hex), when given.
    pub hashes: Option<BTreeMap<String, String>>,
}

/// The `signed` part of `timestamp.json` and `snapshot.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetaList {
    /// Version, from 1.
    pub version: u64,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// `snapshot.json` (timestamp), or `targets.json` and delegated roles (snapshot).
    pub meta: BTreeMap<String, MetaFile>,
}

impl MetaList {
    /// The timestamp's snapshot entry.
    ///
    /// # Errors
    /// [`TufError::BadMetadata`] if `meta` is not exactly `snapshot.json`.
    pub fn snapshot_meta(&self) -> Result<&MetaFile, TufError> {
        match (self.meta.len(), self.meta.get("snapshot.json")) {
            (1, Some(meta)) => Ok(meta),
            _ => Err(TufError::BadMetadata {
                role: "timestamp".into(),
                reason: "meta must hold exactly snapshot.json".into(),
            }),
        }
    }
}

/// A target of a targets role.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Hashes (algorithm → hex).
    pub hashes: BTreeMap<String, String>,
    /// Opaque application data.
    pub custom: Option<Value>,
}

/// The `signed` part of `targets.json` and delegated targets roles.
#[derive(Debug, Clone, Deserialize)]
pub struct Targets {
    /// Version, from 1.
    pub version: u64,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// Targets by path.
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegations to other targets roles.
    pub delegations: Option<Delegations>,
}

/// `delegations` of a targets role.
#[derive(Debug, Clone, Deserialize)]
pub struct Delegations {
    /// The keys of the delegated roles.
    pub keys: BTreeMap<String, Key>,
    /// The delegated roles, in order of priority.
    pub roles: Option<Vec<DelegatedRole>>,
    /// Hash-bin delegations (TAP 15).
    pub succinct_roles: Option<SuccinctRoles>,
}

/// One delegated role.
#[derive(Debug, Clone, Deserialize)]
pub struct DelegatedRole {
    /// Its name.
    pub name: String,
    /// Its keys and threshold.
    #[serde(flatten)]
    pub keys: RoleKeys,
    /// Whether the search stops here when this role matches.
    #[serde(default)]
    pub terminating: bool,
    /// Path patterns (`*` and `?` within one path segment).
    pub paths: Option<Vec<String>>,
    /// Prefixes of the hex SHA-256 of a target path.
    pub path_hash_prefixes: Option<Vec<String>>,
}

/// Succinct hash-bin delegations (TAP 15).
#[derive(Debug, Clone, Deserialize)]
pub struct SuccinctRoles {
    /// The keys and threshold of every bin.
    #[serde(flatten)]
    pub keys: RoleKeys,
    /// Bits of the path hash that pick the bin (1 to 32).
    pub bit_length: u32,
    /// Bin names are `NAME_PREFIX-HEX`.
    pub name_prefix: String,
}

impl Targets {
    /// Checks the delegations' structure.
    ///
    /// # Errors
    /// [`TufError::BadMetadata`].
    pub fn check(&self, role: &str) -> Result<(), TufError> {
        let Some(delegations) = &self.delegations else {
            return Ok(());
        };
        let bad = |reason: String| TufError::BadMetadata {
            role: role.to_owned(),
            reason,
        };
        match (&delegations.roles, &delegations.succinct_roles) {
            (Some(_), Some(_)) => {
                return Err(bad("delegations hold both roles and succinct_roles".into()));
            }
            (None, None) => return Err(bad("delegations hold no roles".into())),
            _ => {}
        }
        let mut names = BTreeSet::new();
        for delegated in delegations.roles.iter().flatten() {
            delegated.keys.check(&delegated.name, role)?;
            if TOP_LEVEL_ROLES.contains(&delegated.name.as_str()) {
                return Err(bad(format!(
                    "delegates to the top-level name {}",
                    delegated.name
                )));
            }
            if !names.insert(delegated.name.as_str()) {
                return Err(bad(format!("delegates to {} twice", delegated.name)));
            }
            if delegated.paths.is_some() == delegated.path_hash_prefixes.is_some() {
                return Err(bad(format!(
                    "delegation to {} needs exactly one of paths and path_hash_prefixes",
                    delegated.name
                )));
            }
        }
        if let Some(succinct) = &delegations.succinct_roles {
            succinct.keys.check(&succinct.name_prefix, role)?;
            if !(1..=32).contains(&succinct.bit_length) {
                return Err(bad(format!(
                    "succinct_roles bit_length {} is not 1 to 32",
                    succinct.bit_length
                )));
            }
        }
        Ok(())
    }
}

impl DelegatedRole {
    /// Whether this role is trusted for `target` (its paths or hash prefixes match).
    pub fn matches(&self, target: &str) -> bool {
        if let Some(patterns) = &self.paths {
            return patterns.iter().any(|p| path_matches(p, target));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let hash = rampart_vault::crypto::sha256_hex(target.as_bytes());
            return prefixes.iter().any(|p| hash.starts_with(p.as_str()));
        }
        false
    }
}

impl SuccinctRoles {
    /// The bin responsible for `target`: the first `bit_length` bits of its SHA-256.
    pub fn bin_for(&self, target: &str) -> String {
        let hash = rampart_vault::crypto::sha256(target.as_bytes());
        let first = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
        let bin = first.checked_shr(32 - self.bit_length).unwrap_or(0);
        let width = self.bit_length.div_ceil(4) as usize;
        format!("{}-{bin:0width$x}", self.name_prefix)
    }
}

/// TUF path matching: the pattern and the path have the same number of `/`-separated
/// segments, and each segment matches as a shell glob (`*`, `?`, `[...]`) that never crosses
/// a `/`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern_parts: Vec<&str> = pattern.split('/').collect();
    let path_parts: Vec<&str> = path.split('/').collect();
    pattern_parts.len() == path_parts.len()
        && pattern_parts
            .iter()
            .zip(&path_parts)
            .all(|(p, s)| glob(p.as_bytes(), s.as_bytes()))
}

/// Shell-style glob of one segment, iterative with one backtrack point (linear-ish time).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(&pattern[p..], text[t]) {
                        if matched {
                            p += next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                c if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A `[...]` class at the start of `pattern`: whether `c` is in it, and its length; `None`
/// if the class is not closed (then `[` is literal).
fn class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &ch = pattern.get(i)?;
        if ch == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
            let end = pattern[i + 2];
            matched |= (ch..=end).contains(&c);
            i += 3;
        } else {
            matched |= ch == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_per_segment() {
        assert!(path_matches("*", "file.txt"));
        assert!(!path_matches("*", "dir/file.txt"));
        assert!(path_matches("dir/*", "dir/file.txt"));
        assert!(path_matches("dir/*.txt", "dir/file.txt"));
        assert!(!path_matches("dir/*.txt", "dir/file.tar"));
        assert!(path_matches("*/file?.txt", "a/file1.txt"));
        assert!(!path_matches("*/file?.txt", "a/b/file1.txt"));
        assert!(path_matches("f[0-9].bin", "f7.bin"));
        assert!(!path_matches("f[!0-9].bin", "f7.bin"));
        assert!(path_matches("a*b*c", "aXXbYYc"));
        assert!(!path_matches("a*b*c", "aXXbYY"));
        assert!(path_matches("", ""));
    }

    #[test]
    fn succinct_bins_take_the_leading_bits() {
        let bins = SuccinctRoles {
            keys: RoleKeys {
                keyids: vec![],
                threshold: 1,
            },
            bit_length: 8,
            name_prefix: "bin".into(),
        };
        let hash = rampart_vault::crypto::sha256_hex(b"target");
        assert_eq!(bins.bin_for("target"), format!("bin-{}", &hash[..2]));
        let one = SuccinctRoles {
            bit_length: 1,
            ..bins
        };
        let first = u8::from_str_radix(&hash[..1], 16).unwrap() >> 3;
        assert_eq!(one.bin_for("target"), format!("bin-{first}"));
    }

    #[test]
    fn envelopes_refuse_shapes_that_are_not_tuf() {
        for raw in [
            &b"[]"[..],
            b"{}",
            b"{\"signed\": {}}",
            b"{\"signed\": 1, \"signatures\": []}",
            b"{\"signed\": {}, \"signatures\": [{\"keyid\": \"a\"}]}",
            b"{\"signed\": {}, \"signatures\": [{\"keyid\": \"a\", \"sig\": \"00\"}, {\"keyid\": \"a\", \"sig\": \"00\"}]}",
            b"{\"signed\": {\"f\": 1.5}, \"signatures\": []}",
        ] {
            assert!(
                matches!(
                    Envelope::parse("root", raw.to_vec()),
                    Err(TufError::BadMetadata { .. })
                ),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn spec_version_must_be_1_x() {
        for (spec, ok) in [
            ("1.0.31", true),
            ("1.0", true),
            ("2.0.0", false),
            ("1", false),
            ("1.x.0", false),
        ] {
            let raw = format!(
                r#"{{"signed": {{"_type": "timestamp", "spec_version": "{spec}", "version": 1,
                "expires": "2030-01-01T00:00:00Z", "meta": {{}}}}, "signatures": []}}"#
            );
            let envelope = Envelope::parse("timestamp", raw.into_bytes()).unwrap();
            assert_eq!(
                envelope
                    .signed::<MetaList>("timestamp", "timestamp")
                    .is_ok(),
                ok,
                "{spec}"
            );
            assert!(envelope.signed::<MetaList>("snapshot", "snapshot").is_err());
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let value: Value =
            serde_json::from_str(r#"{"b": [1, "x"], "a": {"d": null, "c": true}}"#).unwrap();
        assert_eq!(
            canonical_json(&value).unwrap(),
            br#"{"a":{"c":true,"d":null},"b":[1,"x"]}"#
        );
    }

    #[test]
    fn unknown_key_types_are_ignored() {
        let key = Key {
            keytype: "rsa".into(),
            scheme: "rsa-pkcs1v15-sha256".into(),
            keyval: KeyVal {
                public: String::new(),
            },
        };
        assert!(key.verifying_key().is_none());
        let key = Key {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyval: KeyVal {
                public: "00".repeat(31),
            },
        };
        assert!(key.verifying_key().is_none());
    }
}
