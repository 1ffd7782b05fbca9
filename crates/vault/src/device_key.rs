//! The device key: the component's Ed25519 identity.

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
        let pem = std::str::from_utf8(&pem).map_err(|_| VaultError::BadKey {
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
        DevicePublicKey(self.key.verifying_key())
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("public", &self.public_key().to_hex())
            .finish_non_exhaustive()
    }
}

/// The public half of a device key, to verify what the device signed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DevicePublicKey(VerifyingKey);

impl DevicePublicKey {
    /// The 32 raw bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// From 32 raw bytes.
    ///
    /// # Errors
    /// A message if the bytes are not a valid Ed25519 point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<DevicePublicKey, String> {
        VerifyingKey::from_bytes(bytes)
            .map(DevicePublicKey)
            .map_err(|e| format!("not an Ed25519 public key: {e}"))
    }

    /// Lower-case hex of the raw bytes.
    pub fn to_hex(self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// The key as a `SubjectPublicKeyInfo` PEM (`-----BEGIN PUBLIC KEY-----`), which OpenSSL
    /// reads.
    pub fn to_pem(self) -> String {
        // Encoding a valid key into SPKI cannot fail; an empty string would fail loudly on use.
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// Parses a public key given as SPKI PEM or as 64 hex digits.
    ///
    /// # Errors
    /// A message naming what was expected.
    pub fn parse(text: &str) -> Result<DevicePublicKey, String> {
        let text = text.trim();
        if text.starts_with("-----BEGIN PUBLIC KEY-----") {
            return VerifyingKey::from_public_key_pem(text)
                .map(DevicePublicKey)
                .map_err(|e| format!("not an Ed25519 public key PEM: {e}"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| {
            "expected an Ed25519 public key as PEM (-----BEGIN PUBLIC KEY-----) or 64 hex digits"
                .to_owned()
        })?;
        DevicePublicKey::from_bytes(&bytes)
    }

    /// Whether `signature` is this key's signature over `message` (strict verification:
    /// no malleable or small-order forms accepted), with the process default provider.
    pub fn verify(self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.verify_with(CryptoProvider::process_default(), message, signature)
    }

    /// Like [`DevicePublicKey::verify`], with `provider`.
    pub fn verify_with(
        self,
        provider: &CryptoProvider,
        message: &[u8],
        signature: &[u8; 64],
    ) -> bool {
        (provider.ed25519_verify)(&self.0.to_bytes(), message, signature)
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

/// An Ed25519 signature (RFC 8032): 64 bytes, not yet verified by anyone.
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

    #[test]
    fn debug_never_shows_the_secret() {
        let key = DeviceKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.public_key().to_hex()));
        assert!(!shown.contains("secret"));
    }
}
