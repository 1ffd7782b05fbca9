//! Verification of signatures made by others (TUF metadata, update manifests): Ed25519,
//! ECDSA P-256 with SHA-256 (ASN.1 DER signatures) and RSA-PSS with SHA-256, over public keys
//! given as raw Ed25519 bytes or as PEM/DER `SubjectPublicKeyInfo`; and SHA-512, which TUF
//! metadata may name beside SHA-256.
//!
//! Ed25519 goes through the provider's strict verification ([`super::CryptoProvider`]); ECDSA
//! and RSA-PSS through aws-lc-rs (`aws_lc_rs::signature::UnparsedPublicKey`), the workspace's
//! one TLS backend, behind the feature `signatures`. Nothing here signs: verification only.

use sha2::Digest as _;

/// The DER `SubjectPublicKeyInfo` of a P-256 key up to its point: `SEQUENCE { SEQUENCE {
/// id-ecPublicKey, prime256v1 }, BIT STRING` (the 65-byte uncompressed point follows).
pub const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Bytes of a SHA-512 digest.
pub const SHA512_LEN: usize = 64;

/// A signature scheme this seam verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// Ed25519 (RFC 8032), strict; the key is the 32 raw bytes of the public point.
    Ed25519,
    /// ECDSA over P-256 with SHA-256; the signature is ASN.1 DER, the key a
    /// `SubjectPublicKeyInfo` (PEM or DER) or an uncompressed SEC1 point.
    EcdsaP256Sha256,
    /// ECDSA over P-256 with SHA-256, the signature as `r ‖ s` (32 bytes each, as a TPM and
    /// a TPM-held device key produce it); the key as for [`SignatureScheme::EcdsaP256Sha256`].
    EcdsaP256Sha256Fixed,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a salt as long as the digest (2048 to 8192
    /// bits); the key a `SubjectPublicKeyInfo` (PEM or DER) or a PKCS#1 `RSAPublicKey`.
    RsaPssSha256,
}

/// Why a public key cannot be used (never why a signature failed: that is just `false`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The PEM armour or its base64 body is malformed.
    #[error("not a PEM public key: {0}")]
    Pem(String),
    /// The key has the wrong length or encoding for its scheme.
    #[error("not a {scheme:?} public key: {reason}")]
    Encoding {
        /// The scheme the key was meant for.
        scheme: SignatureScheme,
        /// What is wrong.
        reason: String,
    },
}

/// A public key of a [`SignatureScheme`], decoded once and verified against many times.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    scheme: SignatureScheme,
    /// Raw 32 bytes (Ed25519) or DER (SPKI, SEC1 point or PKCS#1).
    der: Vec<u8>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VerifyingKey({:?}, {} bytes)",
            self.scheme,
            self.der.len()
        )
    }
}

impl VerifyingKey {
    /// An Ed25519 key from its 32 raw bytes.
    ///
    /// # Errors
    /// [`PublicKeyError::Encoding`] if `raw` is not 32 bytes.
    pub fn ed25519(raw: &[u8]) -> Result<VerifyingKey, PublicKeyError> {
        if raw.len() != 32 {
            return Err(PublicKeyError::Encoding {
                scheme: SignatureScheme::Ed25519,
                reason: format!("{} bytes, expected 32", raw.len()),
            });
        }
        Ok(VerifyingKey {
            scheme: SignatureScheme::Ed25519,
            der: raw.to_vec(),
        })
    }

    /// A key of `scheme` from DER bytes (see [`SignatureScheme`] for the accepted encodings).
    ///
    /// # Errors
    /// [`PublicKeyError::Encoding`] if the bytes are empty or (Ed25519) not 32 bytes long.
    pub fn from_der(scheme: SignatureScheme, der: &[u8]) -> Result<VerifyingKey, PublicKeyError> {
        if scheme == SignatureScheme::Ed25519 {
            return VerifyingKey::ed25519(der);
        }
        if der.is_empty() {
            return Err(PublicKeyError::Encoding {
                scheme,
                reason: "empty".into(),
            });
        }
        Ok(VerifyingKey {
            scheme,
            der: der.to_vec(),
        })
    }

    /// A key of `scheme` from a PEM `PUBLIC KEY` block (SPKI).
    ///
    /// # Errors
    /// [`PublicKeyError::Pem`] if the armour or base64 is malformed.
    pub fn from_pem(scheme: SignatureScheme, pem: &str) -> Result<VerifyingKey, PublicKeyError> {
        VerifyingKey::from_der(scheme, &pem_public_key(pem)?)
    }

    /// The scheme of this key.
    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    /// Whether `signature` is a valid signature of `message` under this key. Any malformed
    /// key or signature is simply `false`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.scheme {
            SignatureScheme::Ed25519 => {
                let (Ok(public), Ok(signature)) = (
                    <&[u8; 32]>::try_from(self.der.as_slice()),
                    <&[u8; 64]>::try_from(signature),
                ) else {
                    return false;
                };
                (super::CryptoProvider::process_default().ed25519_verify)(
                    public, message, signature,
                )
            }
            #[cfg(feature = "signatures")]
            SignatureScheme::EcdsaP256Sha256 => aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
                &self.der,
            )
            .verify(message, signature)
            .is_ok(),
            #[cfg(feature = "signatures")]
            SignatureScheme::EcdsaP256Sha256Fixed => aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                &self.der,
            )
            .verify(message, signature)
            .is_ok(),
            #[cfg(feature = "signatures")]
            SignatureScheme::RsaPssSha256 => aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
                &self.der,
            )
            .verify(message, signature)
            .is_ok(),
            #[cfg(not(feature = "signatures"))]
            SignatureScheme::EcdsaP256Sha256
            | SignatureScheme::EcdsaP256Sha256Fixed
            | SignatureScheme::RsaPssSha256 => false,
        }
    }
}

/// The DER body of the first PEM block labelled `PUBLIC KEY` in `pem`.
///
/// # Errors
/// [`PublicKeyError::Pem`].
pub fn pem_public_key(pem: &str) -> Result<Vec<u8>, PublicKeyError> {
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    let start = pem
        .find(BEGIN)
        .ok_or_else(|| PublicKeyError::Pem(format!("no {BEGIN} line")))?
        + BEGIN.len();
    let length = pem[start..]
        .find(END)
        .ok_or_else(|| PublicKeyError::Pem(format!("no {END} line")))?;
    let body: String = pem[start..start + length]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64_decode(&body).ok_or_else(|| PublicKeyError::Pem("the body is not base64".into()))
}

/// Strict standard base64 (RFC 4648 section 4, with padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && i + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - padding] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * padding;
        let decoded = n.to_be_bytes();
        out.extend_from_slice(&decoded[1..4 - padding]);
    }
    Some(out)
}

/// An incremental SHA-512 computation (FIPS 180-4), for content that may name SHA-512 beside
/// SHA-256 (TUF metadata and targets).
#[derive(Clone, Default)]
pub struct Sha512(sha2::Sha512);

impl Sha512 {
    /// A new computation.
    pub fn new() -> Sha512 {
        Sha512(sha2::Sha512::new())
    }

    /// Adds `data`.
    pub fn update(&mut self, data: impl AsRef<[u8]>) {
        self.0.update(data.as_ref());
    }

    /// The digest of everything added.
    pub fn finish(self) -> [u8; SHA512_LEN] {
        self.0.finalize().into()
    }
}

impl std::fmt::Debug for Sha512 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha512")
    }
}

impl std::io::Write for Sha512 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The SHA-512 digest of `data`.
pub fn sha512(data: impl AsRef<[u8]>) -> [u8; SHA512_LEN] {
    let mut state = Sha512::new();
    state.update(data);
    state.finish()
}

/// Lower-case hex of the SHA-512 of `data`.
pub fn sha512_hex(data: impl AsRef<[u8]>) -> String {
    hex::encode(sha512(data))
}

/// An ECDSA P-256 signing key with SHA-256, held as PKCS#8 (zeroized on drop): the policy
/// authority of the TPM KEK provider signs approved PCR policies with it (`TPM2_PolicyAuthorize`).
/// The signature is the fixed-length `r ‖ s` (64 bytes) the TPM's `TPMS_SIGNATURE_ECDSA` takes.
#[cfg(feature = "signatures")]
pub struct EcdsaP256SigningKey {
    pair: aws_lc_rs::signature::EcdsaKeyPair,
    pkcs8: zeroize::Zeroizing<Vec<u8>>,
}

#[cfg(feature = "signatures")]
impl std::fmt::Debug for EcdsaP256SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EcdsaP256SigningKey(..)")
    }
}

#[cfg(feature = "signatures")]
impl EcdsaP256SigningKey {
    /// A new key from the backend's system random source.
    ///
    /// # Errors
    /// [`super::CryptoError::Random`] if the random source fails.
    pub fn generate() -> Result<EcdsaP256SigningKey, super::CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .map_err(|_| super::CryptoError::Random("ECDSA P-256 key generation failed".into()))?;
        EcdsaP256SigningKey::from_pkcs8(pkcs8.as_ref()).map_err(super::CryptoError::Random)
    }

    /// The key from its PKCS#8 DER.
    ///
    /// # Errors
    /// A message if `der` is not a P-256 PKCS#8 private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<EcdsaP256SigningKey, String> {
        let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der,
        )
        .map_err(|e| format!("not an ECDSA P-256 PKCS#8 private key: {e}"))?;
        Ok(EcdsaP256SigningKey {
            pair,
            pkcs8: zeroize::Zeroizing::new(der.to_vec()),
        })
    }

    /// Its PKCS#8 DER (secret).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Its public key, the uncompressed SEC1 point (`04 ‖ x ‖ y`, 65 bytes).
    pub fn public_point(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair as _;
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs SHA-256(`message`): `r ‖ s`, 32 bytes each.
    ///
    /// # Errors
    /// [`super::CryptoError::Random`] if the nonce cannot be drawn.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, super::CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| super::CryptoError::Random("ECDSA P-256 signing failed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha512_of_abc_is_the_fips_vector() {
        assert_eq!(
            hex::encode(sha512(b"abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn base64_decodes_padding_and_refuses_garbage() {
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("YQ=").is_none());
        assert!(base64_decode("Y===").is_none());
        assert!(base64_decode("YQ==YWJj").is_none());
        assert!(base64_decode("YW*j").is_none());
    }

    #[test]
    fn ed25519_verifies_a_device_key_signature_and_refuses_others() {
        let key = crate::DeviceKey::danger_insecure_from_seed(&[7; 32]);
        let signature = key.sign(b"message");
        let public = VerifyingKey::ed25519(&key.public_bytes()).unwrap();
        assert!(public.verify(b"message", &signature));
        assert!(!public.verify(b"massage", &signature));
        assert!(!public.verify(b"message", &signature[..63]));
        assert!(VerifyingKey::ed25519(&[0; 31]).is_err());
    }

    #[cfg(feature = "signatures")]
    #[test]
    fn an_ecdsa_p256_signing_key_round_trips_and_signs_r_and_s() {
        let key = EcdsaP256SigningKey::generate().unwrap();
        let again = EcdsaP256SigningKey::from_pkcs8(key.pkcs8()).unwrap();
        let point = key.public_point();
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 4);
        assert_eq!(again.public_point(), point);
        let (a, b) = (key.sign(b"policy").unwrap(), key.sign(b"policy").unwrap());
        assert_eq!((a.len(), b.len()), (64, 64));
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(EcdsaP256SigningKey::from_pkcs8(b"not a key").is_err());
        assert_eq!(format!("{key:?}"), "EcdsaP256SigningKey(..)");
    }

    #[cfg(feature = "signatures")]
    #[test]
    fn ecdsa_and_rsa_pss_verify_their_own_signatures() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .unwrap();
        let sig = pair.sign(&rng, b"message").unwrap();
        let key =
            VerifyingKey::from_der(SignatureScheme::EcdsaP256Sha256, pair.public_key().as_ref())
                .unwrap();
        assert!(key.verify(b"message", sig.as_ref()));
        assert!(!key.verify(b"massage", sig.as_ref()));
        let wrong =
            VerifyingKey::from_der(SignatureScheme::RsaPssSha256, pair.public_key().as_ref())
                .unwrap();
        assert!(!wrong.verify(b"message", sig.as_ref()));
    }

    #[test]
    fn pem_bodies_are_extracted() {
        let pem = "-----BEGIN PUBLIC KEY-----\nYWJj\nZGVm\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_public_key(pem).unwrap(), b"abcdef");
        assert!(pem_public_key("YWJj").is_err());
    }
}
