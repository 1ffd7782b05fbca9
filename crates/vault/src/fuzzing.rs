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
