//! Oracles for the fuzz targets in `fuzz/` (not part of the API).

use crate::at_rest::{self, Kek, ProviderKind};

/// A sealed value from an untrusted disk: the header parser and `open` under a fixed KEK over
/// arbitrary bytes never panic and never open; the same bytes sealed round-trip, and a
/// changed byte is refused.
pub fn sealed(data: &[u8]) {
    let kek = Kek::from_key(
        ProviderKind::File,
        zeroize::Zeroizing::new([7u8; 32]),
        "fuzz".into(),
    );
    let _ = at_rest::header(data);
    if let Ok(header) = at_rest::header(data) {
        assert!(
            at_rest::open(&kek, &header.name, data).is_err(),
            "fuzzer input opened under the fixed KEK"
        );
    }
    let name = "fuzz/secret";
    let Ok(sealed) = at_rest::seal(&kek, name, data) else {
        return;
    };
    assert_eq!(
        at_rest::open(&kek, name, &sealed)
            .ok()
            .as_deref()
            .map(Vec::as_slice),
        Some(data)
    );
    let mut changed = sealed.clone();
    let at = data.len() % changed.len();
    changed[at] ^= 0x80;
    assert!(at_rest::open(&kek, name, &changed).is_err());
}

/// The TPM provider's policy file (`keys/tpm/policy`) from an untrusted disk: the parser never
/// panics, and what it accepts is written back to text it reads the same.
pub fn tpm_policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = crate::tpm::policy::PolicyFile::parse(text) {
        assert!(file.approved.len() <= crate::tpm::policy::MAX_APPROVED);
        assert_eq!(
            crate::tpm::policy::PolicyFile::parse(&file.to_text()).as_ref(),
            Ok(&file)
        );
    }
}

/// A device public key given by a user or read from an untrusted file (`--key`,
/// `--device-key`, a backup header, an integrity manifest): parsing never panics; a key that
/// parses is Ed25519 (32 bytes) or P-256 (65 bytes), and its PEM and hex forms parse back to
/// it; verifying the input's tail as a signature under it never panics, and never succeeds
/// under a fixed key the fuzzer does not hold.
pub fn device_public_key(data: &[u8]) {
    use crate::{DeviceKey, DeviceKeyAlgorithm, DevicePublicKey};
    let _ = DevicePublicKey::from_p256_point(data);
    let signature: [u8; 64] = std::array::from_fn(|i| data.get(i).copied().unwrap_or(0));
    let fixed = DeviceKey::danger_insecure_from_seed(&[9; 32]).public_key();
    assert!(
        !fixed.verify(data, &signature),
        "fuzzer input verified under the fixed key"
    );
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = DevicePublicKey::parse(text) else {
        return;
    };
    let raw = key.to_bytes();
    match key.algorithm() {
        DeviceKeyAlgorithm::Ed25519 => assert_eq!(raw.len(), 32),
        DeviceKeyAlgorithm::EcdsaP256Sha256 => assert_eq!(raw.len(), 65),
    }
    assert_eq!(DevicePublicKey::parse(&key.to_pem()).as_ref(), Ok(&key));
    assert_eq!(DevicePublicKey::parse(&key.to_hex()).as_ref(), Ok(&key));
    let _ = key.verify(data, &signature);
}
