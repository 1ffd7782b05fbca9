//! Unit tests of the client's rules that the threat tests (`tests/it/tuf_threats.rs`) do not
//! reach directly.

use super::*;

#[test]
fn names_are_percent_encoded_outside_the_unreserved_set() {
    assert_eq!(encode_name("a/b"), "a%2Fb");
    assert_eq!(encode_name("role-1_x.y~"), "role-1_x.y~");
    assert_eq!(encode_name("?#../ é"), "%3F%23..%2F%20%C3%A9");
    assert_eq!(encode("dir/a b", true), "dir/a%20b");
}

#[test]
fn urls_are_joined_with_one_slash() {
    assert_eq!(join("http://h/m", "1.root.json"), "http://h/m/1.root.json");
    assert_eq!(join("http://h/m/", "1.root.json"), "http://h/m/1.root.json");
}

#[test]
fn hashes_need_one_known_algorithm_and_every_known_one_to_match() {
    let digests = Digests::of(b"abc");
    let sha256 = rampart_vault::crypto::sha256_hex(b"abc");
    let good: BTreeMap<String, String> = [("sha256".to_owned(), sha256.clone())].into();
    assert!(check_hashes("t", &good, &digests).is_ok());
    let upper: BTreeMap<String, String> = [("sha256".to_owned(), sha256.to_uppercase())].into();
    assert!(check_hashes("t", &upper, &digests).is_ok());
    let unknown: BTreeMap<String, String> = [("blake2b".to_owned(), "00".to_owned())].into();
    assert!(matches!(
        check_hashes("t", &unknown, &digests),
        Err(TufError::NoKnownHash { .. })
    ));
    assert!(matches!(
        check_hashes("t", &BTreeMap::new(), &digests),
        Err(TufError::NoKnownHash { .. })
    ));
    let bad512: BTreeMap<String, String> = [
        ("sha256".to_owned(), sha256),
        ("sha512".to_owned(), "zz".to_owned()),
    ]
    .into();
    assert!(matches!(
        check_hashes("t", &bad512, &digests),
        Err(TufError::HashMismatch { algorithm, .. }) if algorithm == "sha512"
    ));
}

#[test]
fn metadata_length_must_be_exact_when_given() {
    let meta = MetaFile {
        version: 1,
        length: Some(4),
        hashes: None,
    };
    assert!(check_meta_bytes("snapshot", b"abcd", &meta).is_ok());
    assert!(matches!(
        check_meta_bytes("snapshot", b"abc", &meta),
        Err(TufError::LengthMismatch {
            expected: 4,
            actual: 3,
            ..
        })
    ));
}

#[test]
fn expiry_is_reached_at_the_instant_itself() {
    let at: jiff::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    assert!(check_expiry("timestamp", 1, "2030-01-01T00:00:01Z", at).is_ok());
    assert!(matches!(
        check_expiry("timestamp", 1, "2030-01-01T00:00:00Z", at),
        Err(TufError::Expired { .. })
    ));
    assert!(matches!(
        check_expiry("timestamp", 1, "tomorrow", at),
        Err(TufError::BadMetadata { .. })
    ));
}

#[test]
fn verify_target_checks_length_then_hashes() {
    let info = TargetInfo {
        length: 3,
        hashes: [(
            "sha512".to_owned(),
            metadata_hex(&rampart_vault::crypto::signature::sha512(b"abc")),
        )]
        .into(),
        custom: None,
    };
    assert!(verify_target("t", &info, b"abc").is_ok());
    assert!(matches!(
        verify_target("t", &info, b"abcd"),
        Err(TufError::LengthMismatch { .. })
    ));
    assert!(matches!(
        verify_target("t", &info, b"abd"),
        Err(TufError::HashMismatch { .. })
    ));
}

fn metadata_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
