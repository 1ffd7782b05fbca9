use super::*;

fn kek() -> Kek {
    Kek::from_key(
        ProviderKind::File,
        crypto::random_key().unwrap(),
        PathBuf::from("/nowhere/kek"),
    )
}

#[test]
fn sealed_values_open_only_with_their_kek_and_name() {
    let kek = kek();
    let sealed = seal(&kek, "keys/device.key", b"-----BEGIN PRIVATE KEY-----").unwrap();
    assert!(is_sealed(&sealed));
    let header = header(&sealed).unwrap();
    assert_eq!(header.name, "keys/device.key");
    assert_eq!(header.provider, ProviderKind::File);
    assert_eq!(header.kek_id, kek.id_hex());
    assert_eq!(
        open(&kek, "keys/device.key", &sealed).unwrap().as_slice(),
        b"-----BEGIN PRIVATE KEY-----"
    );
    assert!(matches!(
        open(&kek, "pki/ca.key", &sealed),
        Err(SealError::Name { .. })
    ));
    assert!(matches!(
        open(&self::kek(), "keys/device.key", &sealed),
        Err(SealError::WrongKek { .. })
    ));
    // Two seals of the same secret share nothing but the header.
    let again = seal(&kek, "keys/device.key", b"-----BEGIN PRIVATE KEY-----").unwrap();
    assert_ne!(sealed, again);
}

#[test]
fn every_changed_byte_is_refused() {
    let kek = kek();
    let sealed = seal(&kek, "n", b"secret").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        assert!(
            open(&kek, "n", &bad).is_err(),
            "byte {i} changed, still opens"
        );
    }
    for len in 0..sealed.len() {
        assert!(open(&kek, "n", &sealed[..len]).is_err(), "cut at {len}");
    }
}

#[test]
fn the_plaintext_is_not_in_the_sealed_bytes() {
    let kek = kek();
    let canary = b"CANARY-0123456789abcdef-CANARY";
    let sealed = seal(&kek, "n", canary).unwrap();
    assert!(!sealed.windows(canary.len()).any(|w| w == canary));
}

#[test]
fn kek_files_are_made_once_private_and_shredded() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek");
    let provider = FileKek::new(path.clone());
    assert!(provider.load().unwrap().is_none());
    let made = provider.load_or_create().unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let loaded = provider.load().unwrap().unwrap();
    assert_eq!(made.id_hex(), loaded.id_hex());
    assert!(!format!("{loaded:?}").contains(&hex::encode(loaded.key.as_ref())));
    assert!(provider.destroy().unwrap());
    assert!(!path.exists());
    assert!(!provider.destroy().unwrap());
}

#[test]
fn tpm_is_refused_by_a_binary_without_it() {
    let err = KekConfig::parse("tpm", None);
    if TPM_BUILT {
        assert_eq!(err.unwrap(), KekConfig::Tpm(TpmConfig::default()));
    } else {
        assert!(err.unwrap_err().contains("tpm: not built"));
    }
    assert!(
        KekConfig::parse("hsm", None)
            .unwrap_err()
            .contains("\"file\" or \"tpm\"")
    );
    assert_eq!(
        KekConfig::parse("file", None).unwrap(),
        KekConfig::File { path: None }
    );
}

#[test]
fn a_plain_file_is_sealed_in_place_and_the_plain_copy_shredded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.key");
    crate::write_atomic(&path, b"PLAIN-PEM", 0o600).unwrap();
    let kek = Arc::new(kek());
    remember(Arc::clone(&kek));
    assert!(seal_file_in_place(&kek, &path, "pki/server.key").unwrap());
    assert!(!seal_file_in_place(&kek, &path, "pki/server.key").unwrap());
    assert_eq!(read_secret(&path).unwrap().as_slice(), b"PLAIN-PEM");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing aside"
    );

    // A crash after the plain file was moved aside: the next call completes.
    let aside = dir.path().join("other.key.plain-migrating");
    crate::write_atomic(&aside, b"PLAIN-2", 0o600).unwrap();
    let other = dir.path().join("other.key");
    assert!(seal_file_in_place(&kek, &other, "pki/other.key").unwrap());
    assert_eq!(read_secret(&other).unwrap().as_slice(), b"PLAIN-2");
    assert!(!aside.exists());
}

#[test]
fn a_sealed_file_under_an_unknown_kek_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.key");
    let stranger = kek();
    write_secret(&stranger, &path, "pki/ca.key", b"x", true).unwrap();
    let err = read_secret(&path).unwrap_err().to_string();
    assert!(
        err.contains(&stranger.id_hex()) && err.contains("not loaded"),
        "{err}"
    );
    // Renamed: the name no longer matches.
    remember(Arc::new(stranger));
    let renamed = dir.path().join("server.key");
    fs::rename(&path, &renamed).unwrap();
    let err = read_secret(&renamed).unwrap_err().to_string();
    assert!(err.contains("pki/ca.key"), "{err}");
}

#[test]
fn a_shredded_file_leaves_zeros_in_its_blocks() {
    // A hard link keeps the inode alive after the unlink, so the test sees what the shredding
    // left in the file's blocks: zeros, not the secret.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek");
    FileKek::new(path.clone()).load_or_create().unwrap();
    let witness = dir.path().join("witness");
    fs::hard_link(&path, &witness).unwrap();
    let before = fs::read(&witness).unwrap();
    assert!(before.starts_with(b"rampart-kek 1"));
    assert!(FileKek::new(path.clone()).destroy().unwrap());
    assert!(!path.exists());
    let after = fs::read(&witness).unwrap();
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|b| *b == 0), "the KEK is still readable");
}

#[test]
fn opened_plaintext_is_a_zeroizing_buffer() {
    // The type is the guarantee (`Zeroizing` wipes on drop); the wipe itself is observable
    // on the buffer before it is released.
    use zeroize::Zeroize as _;
    let kek = kek();
    let sealed = seal(&kek, "n", b"TOTP-SEED-CANARY").unwrap();
    let mut plain: Zeroizing<Vec<u8>> = open(&kek, "n", &sealed).unwrap();
    assert_eq!(plain.as_slice(), b"TOTP-SEED-CANARY");
    let mut copy = Zeroizing::new([0u8; 16]);
    copy.copy_from_slice(&plain);
    copy.zeroize();
    assert_eq!(*copy, [0u8; 16]);
    plain.zeroize();
    assert!(plain.is_empty());
}

#[test]
fn the_fuzz_oracle_holds_on_samples() {
    let kek = Kek::from_key(ProviderKind::File, Zeroizing::new([7u8; 32]), "fuzz".into());
    let valid_under_fixed = seal(&kek, "fuzz/secret", b"x").unwrap();
    let under_other = seal(&self::kek(), "fuzz/secret", b"x").unwrap();
    for sample in [
        &b""[..],
        b"RAMPSEAL",
        b"RAMPSEAL\x01\x01\0\0\0\0\0\0\0\0\xff\xff",
        &under_other,
        &[0u8; 300],
    ] {
        crate::fuzzing::sealed(sample);
    }
    // The fixed KEK's own sealing is what the oracle must never see from a fuzzer: it opens.
    assert!(open(&kek, "fuzz/secret", &valid_under_fixed).is_ok());
}

#[test]
fn tpm_settings_are_checked_and_only_for_tpm() {
    let tpm = |tcti: &str, pcrs: &[u8]| TpmConfig {
        tcti: Some(tcti.into()),
        pcrs: Some(pcrs.to_vec()),
    };
    let err = KekConfig::parse_with("file", None, tpm("device:/dev/tpmrm0", &[7])).unwrap_err();
    assert!(err.contains("only for kek_provider = \"tpm\""), "{err}");
    if TPM_BUILT {
        let ok = KekConfig::parse_with("tpm", None, tpm("swtpm:host=127.0.0.1,port=2321", &[16]));
        assert!(ok.is_ok(), "{ok:?}");
        let err = KekConfig::parse_with("tpm", None, tpm("tpm0", &[7])).unwrap_err();
        assert!(err.contains("tpm_tcti"), "{err}");
        let err = KekConfig::parse_with("tpm", None, tpm("device:/dev/tpm0", &[30])).unwrap_err();
        assert!(err.contains("tpm_pcrs"), "{err}");
    }
}
