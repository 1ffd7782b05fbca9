use argon2::password_hash::PasswordHasher as _;

use super::*;

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Every provider the known-answer tests run against (in the spirit of rustls' provider tests):
/// a provider must compute the same answers whatever its random source.
fn providers() -> [CryptoProvider; 3] {
    [
        CryptoProvider::rust_crypto(),
        *CryptoProvider::process_default(),
        CryptoProvider::danger_seeded(1),
    ]
}

const FAST: Argon2Params = Argon2Params {
    m_kib: 8,
    t: 1,
    p: 1,
    output_len: None,
};

#[test]
fn sha256_matches_fips_180_4_one_shot_and_incremental() {
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(hex(&sha256(b"abc")), abc);
    let mut hasher = Sha256::new();
    hasher.update(b"a");
    hasher.update(b"bc");
    assert_eq!(hex(&hasher.finish()), abc);
    assert_eq!(sha256_hex(""), hex(&sha256([])));
    for provider in providers() {
        assert_eq!(hex(&provider.sha256(b"abc")), abc, "{provider:?}");
        let mut hasher = provider.sha256_hasher();
        hasher.update(b"ab");
        let fork = hasher.clone();
        hasher.update(b"c");
        assert_eq!(hex(&hasher.finish()), abc, "{provider:?}");
        assert_eq!(fork.finish(), provider.sha256(b"ab"), "{provider:?}");
    }
}

#[test]
fn hmacs_match_rfc_4231_and_rfc_2202() {
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    for provider in providers() {
        assert_eq!(
            provider.hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            "{provider:?}"
        );
        assert_eq!(
            provider.hmac_sha1(b"Jefe", b"what do ya want for nothing?"),
            hmac_sha1(b"Jefe", b"what do ya want for nothing?"),
            "{provider:?}"
        );
    }
}

#[test]
fn ct_eq_compares_content_and_length() {
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"abcd"));
}

#[test]
fn password_hashes_are_the_phc_strings_argon2_writes() {
    // Byte compatibility with the hashes stored before the seam: the argon2 crate's own PHC
    // string for the same salt is exactly ours.
    let provider = CryptoProvider::danger_seeded(1);
    let ours = provider.hash_password(&FAST, b"hunter2").unwrap();
    assert!(ours.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{ours}");
    let mut salt = [0u8; PASSWORD_SALT_LEN];
    CryptoProvider::danger_seeded(1)
        .fill_random(&mut salt)
        .unwrap();
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8, 1, 1, None).unwrap(),
    );
    let theirs = argon.hash_password_with_salt(b"hunter2", &salt).unwrap();
    assert_eq!(ours, theirs.to_string());

    assert!(provider.verify_password(b"hunter2", &ours).unwrap());
    assert!(!provider.verify_password(b"hunter3", &ours).unwrap());
    let info = PasswordHashInfo::parse(&ours).unwrap();
    assert_eq!(
        info.params,
        Argon2Params {
            output_len: Some(32),
            ..FAST
        }
    );
    assert!(!format!("{info:?}").contains(&ours[ours.len() - 10..]));
}

#[test]
fn only_argon2id_v19_phc_strings_are_verified() {
    let provider = CryptoProvider::rust_crypto();
    let argon2i = "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    for stored in [
        "",
        "plain",
        argon2i,
        "$argon2id$v=16$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
    ] {
        assert!(PasswordHashInfo::parse(stored).is_none(), "{stored}");
        assert!(provider.verify_password(b"x", stored).is_err(), "{stored}");
    }
}

#[test]
fn the_kdf_is_argon2id_raw_output() {
    let provider = CryptoProvider::rust_crypto();
    let key = provider.derive_key(&FAST, b"pass", b"saltsalt").unwrap();
    let mut expected = [0u8; 32];
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8, 1, 1, Some(32)).unwrap(),
    )
    .hash_password_into(b"pass", b"saltsalt", &mut expected)
    .unwrap();
    assert_eq!(*key, expected);
    assert!(matches!(
        provider.derive_key(&FAST, b"pass", b"short"),
        Err(CryptoError::Kdf(_))
    ));
}

#[test]
fn aead_round_trips_and_detects_changes() {
    for provider in providers() {
        aead_round_trips_with(&provider);
    }
}

fn aead_round_trips_with(provider: &CryptoProvider) {
    let key = [3u8; 32];
    let nonce = [5u8; 24];
    let mut data = b"backup segment".to_vec();
    let tag = provider.seal(&key, &nonce, b"aad", &mut data).unwrap();
    assert_ne!(data, b"backup segment");
    let sealed = data.clone();
    provider
        .open(&key, &nonce, b"aad", &mut data, &tag)
        .unwrap();
    assert_eq!(data, b"backup segment");
    for (key, nonce, aad) in [
        ([4u8; 32], nonce, &b"aad"[..]),
        (key, [6u8; 24], &b"aad"[..]),
        (key, nonce, &b"AAD"[..]),
    ] {
        let mut data = sealed.clone();
        assert_eq!(
            provider.open(&key, &nonce, aad, &mut data, &tag),
            Err(CryptoError::Open)
        );
    }
}

#[test]
fn ed25519_matches_rfc_8032_test_1() {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        &mut seed,
    )
    .unwrap();
    let key = crate::DeviceKey::danger_insecure_from_seed(&seed);
    assert_eq!(
        key.public_key().to_hex(),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let signature = key.sign(b"");
    assert_eq!(
        hex(&signature),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    assert!(key.public_key().verify(b"", &signature));
}

#[test]
fn ed25519_verification_is_strict() {
    let key = crate::DeviceKey::danger_insecure_from_seed(&[9; 32]);
    let public = key.public_bytes();
    let signature = key.sign(b"message");
    let verify = CryptoProvider::rust_crypto().ed25519_verify;
    assert!(verify(&public, b"message", &signature));
    // RFC 8032 is deterministic: the provider's signature is the device key's.
    let sign = CryptoProvider::rust_crypto().ed25519_sign;
    assert_eq!(sign(&[9; 32], b"message"), signature);
    assert!(!verify(&public, b"messagE", &signature));
    // The identity point (small order) never verifies.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(!verify(&identity, b"message", &[0u8; 64]));
}

#[test]
fn the_seeded_provider_is_reproducible_and_the_default_is_not() {
    let a = CryptoProvider::danger_seeded(42);
    let b = CryptoProvider::danger_seeded(42);
    assert_eq!(*a.random_key().unwrap(), *b.random_key().unwrap());
    assert_eq!(
        a.hash_password(&FAST, b"pw").unwrap(),
        b.hash_password(&FAST, b"pw").unwrap()
    );
    assert_ne!(
        *CryptoProvider::danger_seeded(43).random_key().unwrap(),
        *CryptoProvider::danger_seeded(42).random_key().unwrap()
    );
    let default = CryptoProvider::process_default();
    assert_ne!(
        *default.random_key().unwrap(),
        *default.random_key().unwrap()
    );
    assert_ne!(
        default.hash_password(&FAST, b"pw").unwrap(),
        default.hash_password(&FAST, b"pw").unwrap()
    );
    assert_eq!(
        format!("{a:?}"),
        "CryptoProvider { name: \"danger-seeded\", .. }"
    );
}

#[test]
fn sha1_matches_fips_180_vectors() {
    // FIPS 180-2 appendix A.1, and the empty string.
    assert_eq!(
        hex(&sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
