//! The device key: the component's identity. An Ed25519 key sealed in a file ([`DeviceKey`]),
//! or an ECDSA P-256 key generated in the TPM that never leaves it ([`DeviceSigningKey`] with
//! `[vault] device_key = "tpm"`, CR 1.9 RE 1). Both sign 64 bytes (Ed25519's `R ‖ S`, ECDSA's
//! `r ‖ s`), so a checkpoint, manifest or backup keeps one signature format; the public key
//! says which algorithm verifies it ([`DevicePublicKey`]).

use std::fmt;
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
};
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::VaultError;
use crate::crypto::CryptoProvider;

/// The component's Ed25519 signing key.
///
/// # Security
/// The secret half never leaves this type: there is no accessor for it, `Debug` prints only
/// the public key, and the bytes are zeroized on drop.
pub struct DeviceKey {
    key: SigningKey,
}

impl DeviceKey {
    /// A new key from the operating system's random source.
    ///
    /// # Errors
    /// [`VaultError::Random`] if the random source fails.
    pub fn generate() -> Result<DeviceKey, VaultError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        crate::random_bytes(seed.as_mut())?;
        Ok(DeviceKey {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A key derived from `seed` alone, for tests and benchmarks: anyone can recompute it.
    ///
    /// # Security
    /// Never for a deployed component; the name says so.
    #[doc(hidden)]
    pub fn danger_insecure_from_seed(seed: &[u8; 32]) -> DeviceKey {
        DeviceKey {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Reads a key file, sealed ([`crate::at_rest`]) or PKCS#8 PEM; refuses a file that other
    /// users can read.
    ///
    /// # Errors
    /// [`VaultError::Permissions`] for a file readable by group or others, [`VaultError::Io`],
    /// or [`VaultError::BadKey`] for anything but an Ed25519 PKCS#8 PEM key.
    pub fn load(path: &Path) -> Result<DeviceKey, VaultError> {
        let pem = crate::at_rest::read_secret(path)?;
        DeviceKey::from_pem_bytes(path, &pem)
    }

    fn from_pem_bytes(path: &Path, pem: &[u8]) -> Result<DeviceKey, VaultError> {
        if crate::tpm::is_tpm_key(pem) {
            return Err(VaultError::BadKey {
                path: path.to_owned(),
                reason: "the key is held in a TPM: it signs through the TPM, not in software"
                    .into(),
            });
        }
        let pem = std::str::from_utf8(pem).map_err(|_| VaultError::BadKey {
            path: path.to_owned(),
            reason: "not PEM text".into(),
        })?;
        let key = SigningKey::from_pkcs8_pem(pem).map_err(|e| VaultError::BadKey {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(DeviceKey { key })
    }

    /// Writes the key sealed under `kek` for the logical `name` (see [`crate::at_rest`]), mode
    /// 0600; never replaces an existing file.
    ///
    /// # Errors
    /// [`VaultError::Io`] (kind `AlreadyExists` if the file exists).
    pub fn store_sealed(
        &self,
        kek: &crate::at_rest::Kek,
        path: &Path,
        name: &str,
    ) -> Result<(), VaultError> {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| VaultError::BadKey {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        crate::at_rest::write_secret(kek, path, name, pem.as_bytes(), true)
    }

    /// Writes the key as plain PKCS#8 PEM with mode 0600 for a key that lives outside any data
    /// directory and is held by its operator — a maker's update-signing keys, kept offline
    /// (docs/update.md); a component's own keys are sealed ([`DeviceKey::store_sealed`]).
    /// Never replaces an existing file.
    ///
    /// # Errors
    /// [`VaultError::Io`] (kind `AlreadyExists` if the file exists).
    pub fn export_pkcs8(&self, path: &Path) -> Result<(), VaultError> {
        self.danger_store_plain(path)
    }

    /// Writes the key as plain PKCS#8 PEM with mode 0600, as releases before the sealed
    /// format did; never replaces an existing file. For migration tests and fixtures only:
    /// a component stores its key with [`DeviceKey::store_sealed`].
    ///
    /// # Errors
    /// [`VaultError::Io`] (kind `AlreadyExists` if the file exists).
    #[doc(hidden)]
    pub fn danger_store_plain(&self, path: &Path) -> Result<(), VaultError> {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| VaultError::BadKey {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        crate::write_new_atomic(path, pem.as_bytes(), 0o600)
    }

    /// Signs `message` (Ed25519, RFC 8032) with the process default crypto provider.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.sign_with(CryptoProvider::process_default(), message)
    }

    /// Signs `message` (Ed25519, RFC 8032) with `provider`.
    pub fn sign_with(&self, provider: &CryptoProvider, message: &[u8]) -> [u8; 64] {
        let seed = Zeroizing::new(self.key.to_bytes());
        (provider.ed25519_sign)(&seed, message)
    }

    /// Signs `message` (Ed25519, RFC 8032), as a [`Signature`].
    pub fn signature(&self, message: &[u8]) -> Signature {
        Signature(self.sign(message))
    }

    /// The public half.
    pub fn public_key(&self) -> DevicePublicKey {
        DevicePublicKey(Point::Ed25519(self.key.verifying_key()))
    }

    /// The public half's 32 raw bytes (RFC 8032), as formats that carry an Ed25519 point
    /// (`OpenPGP`, TUF) need them.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("public", &self.public_key().to_hex())
            .finish_non_exhaustive()
    }
}

/// The public half of a device key, to verify what the device signed: an Ed25519 key (32
/// bytes) or, for a key held in a TPM, an ECDSA P-256 key (the 65-byte uncompressed point).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DevicePublicKey(Point);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Point {
    Ed25519(VerifyingKey),
    P256([u8; 65]),
}

/// The signature algorithm of a device key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceKeyAlgorithm {
    /// Ed25519 (RFC 8032), strict verification.
    Ed25519,
    /// ECDSA over P-256 with SHA-256 (FIPS 186-5), signatures as `r ‖ s`.
    EcdsaP256Sha256,
}

impl DeviceKeyAlgorithm {
    /// `ed25519` or `ecdsa-p256-sha256`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceKeyAlgorithm::Ed25519 => "ed25519",
            DeviceKeyAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }
}

impl DevicePublicKey {
    /// The raw public key: 32 bytes (Ed25519) or the 65-byte uncompressed point (P-256).
    pub fn to_bytes(self) -> Vec<u8> {
        match self.0 {
            Point::Ed25519(key) => key.to_bytes().to_vec(),
            Point::P256(point) => point.to_vec(),
        }
    }

    /// The 32 raw bytes of an Ed25519 key; `None` for a P-256 key.
    pub fn ed25519_bytes(self) -> Option<[u8; 32]> {
        match self.0 {
            Point::Ed25519(key) => Some(key.to_bytes()),
            Point::P256(_) => None,
        }
    }

    /// Which algorithm verifies this key's signatures.
    pub fn algorithm(self) -> DeviceKeyAlgorithm {
        match self.0 {
            Point::Ed25519(_) => DeviceKeyAlgorithm::Ed25519,
            Point::P256(_) => DeviceKeyAlgorithm::EcdsaP256Sha256,
        }
    }

    /// From 32 raw bytes (Ed25519).
    ///
    /// # Errors
    /// A message if the bytes are not a valid Ed25519 point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<DevicePublicKey, String> {
        VerifyingKey::from_bytes(bytes)
            .map(|key| DevicePublicKey(Point::Ed25519(key)))
            .map_err(|e| format!("not an Ed25519 public key: {e}"))
    }

    /// From an uncompressed P-256 point (`04 ‖ x ‖ y`, 65 bytes).
    ///
    /// # Errors
    /// A message if the bytes are not an uncompressed P-256 point.
    pub fn from_p256_point(point: &[u8]) -> Result<DevicePublicKey, String> {
        let point: [u8; 65] = point.try_into().map_err(|_| {
            format!(
                "not a P-256 public key: {} bytes, expected 65 (04 ‖ x ‖ y)",
                point.len()
            )
        })?;
        if point[0] != 4 {
            return Err("not a P-256 public key: not an uncompressed point (04 ‖ x ‖ y)".into());
        }
        Ok(DevicePublicKey(Point::P256(point)))
    }

    /// Lower-case hex of the raw bytes (64 digits for Ed25519, 130 for P-256).
    pub fn to_hex(self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The key as a `SubjectPublicKeyInfo` PEM (`-----BEGIN PUBLIC KEY-----`), which OpenSSL
    /// reads.
    pub fn to_pem(self) -> String {
        match self.0 {
            // Encoding a valid key into SPKI cannot fail; an empty string would fail loudly on
            // use.
            Point::Ed25519(key) => key.to_public_key_pem(LineEnding::LF).unwrap_or_default(),
            Point::P256(point) => {
                let mut der = crate::crypto::signature::P256_SPKI_PREFIX.to_vec();
                der.extend_from_slice(&point);
                ed25519_dalek::pkcs8::spki::der::pem::encode_string(
                    "PUBLIC KEY",
                    LineEnding::LF,
                    &der,
                )
                .unwrap_or_default()
            }
        }
    }

    /// Parses a public key given as SPKI PEM (Ed25519 or P-256), as 64 hex digits (Ed25519)
    /// or as 130 hex digits (an uncompressed P-256 point).
    ///
    /// # Errors
    /// A message naming what was expected.
    pub fn parse(text: &str) -> Result<DevicePublicKey, String> {
        let text = text.trim();
        if text.starts_with("-----BEGIN PUBLIC KEY-----") {
            let der = crate::crypto::signature::pem_public_key(text)
                .map_err(|e| format!("not a public key PEM: {e}"))?;
            if let Some(point) = der.strip_prefix(&crate::crypto::signature::P256_SPKI_PREFIX[..]) {
                return DevicePublicKey::from_p256_point(point);
            }
            return VerifyingKey::from_public_key_der(&der)
                .map(|key| DevicePublicKey(Point::Ed25519(key)))
                .map_err(|e| format!("not an Ed25519 or P-256 public key PEM: {e}"));
        }
        let expected = "expected a device public key as PEM (-----BEGIN PUBLIC KEY-----), \
                        64 hex digits (Ed25519) or 130 hex digits (P-256)";
        let bytes = hex::decode(text).map_err(|_| expected.to_owned())?;
        match bytes.len() {
            32 => {
                let mut raw = [0u8; 32];
                raw.copy_from_slice(&bytes);
                DevicePublicKey::from_bytes(&raw)
            }
            65 => DevicePublicKey::from_p256_point(&bytes),
            _ => Err(expected.to_owned()),
        }
    }

    /// Whether `signature` is this key's signature over `message` (Ed25519: strict
    /// verification, no malleable or small-order forms; P-256: ECDSA with SHA-256), with the
    /// process default provider.
    pub fn verify(self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.verify_with(CryptoProvider::process_default(), message, signature)
    }

    /// Like [`DevicePublicKey::verify`], with `provider` (for Ed25519; P-256 verifies through
    /// the backend, [`crate::crypto::signature`]).
    pub fn verify_with(
        self,
        provider: &CryptoProvider,
        message: &[u8],
        signature: &[u8; 64],
    ) -> bool {
        match self.0 {
            Point::Ed25519(key) => (provider.ed25519_verify)(&key.to_bytes(), message, signature),
            Point::P256(point) => crate::crypto::signature::VerifyingKey::from_der(
                crate::crypto::signature::SignatureScheme::EcdsaP256Sha256Fixed,
                &point,
            )
            .is_ok_and(|key| key.verify(message, signature)),
        }
    }

    /// Like [`DevicePublicKey::verify`], for a [`Signature`].
    pub fn verify_signature(self, message: &[u8], signature: &Signature) -> bool {
        self.verify(message, &signature.0)
    }

    /// Whether any of `keys` signed `message` with `signature`.
    pub fn any_verifies(keys: &[DevicePublicKey], message: &[u8], signature: &[u8; 64]) -> bool {
        keys.iter().any(|key| key.verify(message, signature))
    }
}

/// The component's own signing key as the data directory holds it: a [`DeviceKey`] sealed in
/// a file, or an ECDSA P-256 key in the TPM (`[vault] device_key = "tpm"`) whose private part
/// never exists outside it. Signing through the TPM can fail (the TPM is gone, busy or
/// refuses), so [`DeviceSigningKey::sign`] is fallible.
pub struct DeviceSigningKey(Held);

enum Held {
    File(DeviceKey),
    #[cfg(feature = "tpm")]
    Tpm(crate::tpm::server_key::TpmSigningKey, DevicePublicKey),
}

impl DeviceSigningKey {
    /// Reads the key file at `path`: sealed ([`crate::at_rest`]) PKCS#8 PEM, or a TPM-held
    /// key's file ([`crate::tpm::server_key::TpmKeyFile`]).
    ///
    /// # Errors
    /// As [`DeviceKey::load`]; [`VaultError::BadKey`] for a TPM-held key in a binary built
    /// without TPM support, or a malformed TPM key file.
    pub fn load(path: &Path) -> Result<DeviceSigningKey, VaultError> {
        let contents = crate::at_rest::read_secret(path)?;
        if crate::tpm::is_tpm_key(&contents) {
            return DeviceSigningKey::from_tpm_file(path, &contents);
        }
        DeviceKey::from_pem_bytes(path, &contents).map(DeviceSigningKey::from)
    }

    #[cfg(feature = "tpm")]
    fn from_tpm_file(path: &Path, contents: &[u8]) -> Result<DeviceSigningKey, VaultError> {
        let bad = |reason: String| VaultError::BadKey {
            path: path.to_owned(),
            reason,
        };
        let file = crate::tpm::server_key::TpmKeyFile::parse(contents).map_err(bad)?;
        let public = DevicePublicKey::from_p256_point(&file.point).map_err(bad)?;
        Ok(DeviceSigningKey(Held::Tpm(
            crate::tpm::server_key::TpmSigningKey::new(file),
            public,
        )))
    }

    #[cfg(not(feature = "tpm"))]
    fn from_tpm_file(path: &Path, _contents: &[u8]) -> Result<DeviceSigningKey, VaultError> {
        Err(VaultError::BadKey {
            path: path.to_owned(),
            reason: "the device key is held in a TPM and this binary was built without TPM \
                     support (cargo feature `tpm`)"
                .into(),
        })
    }

    /// Signs `message`: Ed25519 in software, or ECDSA P-256 with SHA-256 in the TPM
    /// (`r ‖ s`); [`DevicePublicKey::verify`] verifies either.
    ///
    /// # Errors
    /// [`VaultError::Sign`] if the TPM cannot sign (unreachable, busy, refused).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], VaultError> {
        match &self.0 {
            Held::File(key) => Ok(key.sign(message)),
            #[cfg(feature = "tpm")]
            Held::Tpm(key, _) => key.sign_fixed(message).map_err(VaultError::Sign),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> DevicePublicKey {
        match &self.0 {
            Held::File(key) => key.public_key(),
            #[cfg(feature = "tpm")]
            Held::Tpm(_, public) => *public,
        }
    }

    /// Where the key is held: [`crate::KeyStore::File`] or [`crate::KeyStore::Tpm`].
    pub fn held(&self) -> crate::KeyStore {
        match &self.0 {
            Held::File(_) => crate::KeyStore::File,
            #[cfg(feature = "tpm")]
            Held::Tpm(..) => crate::KeyStore::Tpm,
        }
    }
}

impl From<DeviceKey> for DeviceSigningKey {
    fn from(key: DeviceKey) -> DeviceSigningKey {
        DeviceSigningKey(Held::File(key))
    }
}

impl fmt::Debug for DeviceSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceSigningKey")
            .field("held", &self.held())
            .field("public", &self.public_key().to_hex())
            .finish_non_exhaustive()
    }
}

/// A device key's signature (Ed25519's `R ‖ S` or ECDSA P-256's `r ‖ s`): 64 bytes, not yet
/// verified by anyone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// From its 64 bytes.
    pub fn from_bytes(bytes: [u8; 64]) -> Signature {
        Signature(bytes)
    }

    /// From a slice; `None` unless it has exactly 64 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Signature> {
        bytes.try_into().ok().map(Signature)
    }

    /// The 64 bytes.
    pub fn to_bytes(self) -> [u8; 64] {
        self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublicKey({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn keys_sign_store_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        let key = DeviceKey::generate().unwrap();
        key.danger_store_plain(&path).unwrap();
        let loaded = DeviceKey::load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        let signature = loaded.sign(b"checkpoint");
        assert!(key.public_key().verify(b"checkpoint", &signature));
        assert!(!key.public_key().verify(b"checkpoinT", &signature));
        let other = DeviceKey::generate().unwrap();
        assert!(!other.public_key().verify(b"checkpoint", &signature));
    }

    #[test]
    fn public_keys_parse_from_pem_and_hex() {
        let key = DeviceKey::generate().unwrap().public_key();
        assert_eq!(DevicePublicKey::parse(&key.to_pem()).unwrap(), key);
        assert_eq!(DevicePublicKey::parse(&key.to_hex()).unwrap(), key);
        assert!(
            DevicePublicKey::parse("abc")
                .unwrap_err()
                .contains("64 hex digits")
        );
        assert!(
            DevicePublicKey::parse(&"ab".repeat(40))
                .unwrap_err()
                .contains("130 hex digits")
        );
    }

    /// A P-256 device key (as the TPM holds it) publishes, parses and verifies like an
    /// Ed25519 one: PEM that OpenSSL reads, 130 hex digits, `r ‖ s` signatures.
    #[cfg(feature = "signatures")]
    #[test]
    fn p256_public_keys_parse_and_verify_fixed_signatures() {
        let pair = crate::crypto::signature::EcdsaP256SigningKey::generate().unwrap();
        let key = DevicePublicKey::from_p256_point(&pair.public_point()).unwrap();
        assert_eq!(key.algorithm(), DeviceKeyAlgorithm::EcdsaP256Sha256);
        assert_eq!(key.ed25519_bytes(), None);
        assert_eq!(key.to_hex().len(), 130);
        assert_eq!(DevicePublicKey::parse(&key.to_pem()).unwrap(), key);
        assert_eq!(DevicePublicKey::parse(&key.to_hex()).unwrap(), key);
        assert!(key.to_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let signature: [u8; 64] = pair.sign(b"checkpoint").unwrap().try_into().unwrap();
        assert!(key.verify(b"checkpoint", &signature));
        assert!(!key.verify(b"checkpoinT", &signature));
        let mut flipped = signature;
        flipped[5] ^= 1;
        assert!(!key.verify(b"checkpoint", &flipped));
        // An Ed25519 key never verifies a P-256 signature, and the other way round.
        let ed = DeviceKey::generate().unwrap();
        assert!(!ed.public_key().verify(b"checkpoint", &signature));
        assert!(!key.verify(b"checkpoint", &ed.sign(b"checkpoint")));
        assert!(DevicePublicKey::from_p256_point(&[5u8; 65]).is_err());
        assert!(DevicePublicKey::from_p256_point(&[4u8; 33]).is_err());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        DeviceKey::generate()
            .unwrap()
            .danger_store_plain(&path)
            .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = DeviceKey::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("mode 0644") && err.contains("chmod 600"),
            "{err}"
        );
    }

    #[test]
    fn key_files_of_the_previous_release_still_load() {
        // RFC 8410 PKCS#8 for the seed [7; 32]: v1 (no public key), and v2 with the public key
        // as `[1] BIT STRING`, which ed25519-dalek 2 wrote.
        let expected = DeviceKey::danger_insecure_from_seed(&[7u8; 32]).public_key();
        let mut v1 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        v1.extend_from_slice(&[7u8; 32]);
        let mut v2 = vec![
            0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        v2.extend_from_slice(&[7u8; 32]);
        v2.extend_from_slice(&[0x81, 0x21, 0x00]);
        v2.extend_from_slice(&expected.to_bytes());
        for (name, der) in [("v1", v1), ("v2", v2)] {
            let body = data_encoding::BASE64.encode(&der);
            let lines: Vec<&str> = body
                .as_bytes()
                .chunks(64)
                .map(|line| std::str::from_utf8(line).unwrap())
                .collect();
            let pem = format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                lines.join("\n")
            );
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("device.key");
            crate::write_new_atomic(&path, pem.as_bytes(), 0o600).unwrap();
            let loaded = DeviceKey::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(loaded.public_key(), expected, "{name}");
        }
    }

    /// A P-256 key's PEM and hex (verification needs the feature `signatures`).
    #[cfg(feature = "signatures")]
    fn p256_samples() -> Vec<String> {
        let pair = crate::crypto::signature::EcdsaP256SigningKey::generate().unwrap();
        let p256 = DevicePublicKey::from_p256_point(&pair.public_point()).unwrap();
        vec![p256.to_pem(), p256.to_hex()]
    }

    #[cfg(not(feature = "signatures"))]
    fn p256_samples() -> Vec<String> {
        Vec::new()
    }

    #[test]
    fn the_fuzz_oracle_holds_on_samples() {
        let ed = DeviceKey::generate().unwrap().public_key();
        let samples = vec![
            ed.to_pem(),
            ed.to_hex(),
            "04".repeat(65),
            format!("04{}", "ab".repeat(64)),
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
                .to_owned(),
            String::new(),
            "zz".repeat(32),
        ]
        .into_iter()
        .chain(p256_samples());
        for sample in samples {
            crate::fuzzing::device_public_key(sample.as_bytes());
        }
        crate::fuzzing::device_public_key(&[0xff; 100]);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = DeviceKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.public_key().to_hex()));
        assert!(!shown.contains("secret"));
    }
}
