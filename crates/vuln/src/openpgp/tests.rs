use super::*;

fn key() -> DeviceKey {
    DeviceKey::danger_insecure_from_seed(&[7; 32])
}

const CREATED: u32 = 1_700_000_000;
const NOW: u64 = 1_800_000_000;

#[test]
fn crc24_matches_rfc_4880() {
    // RFC 4880 section 6.1: the initial value is the CRC of nothing.
    assert_eq!(crc24(b""), 0x00B7_04CE);
    assert_ne!(crc24(b"a"), crc24(b"b"));
}

#[test]
fn packet_lengths_use_the_shortest_new_format_encoding() {
    assert_eq!(packet(2, &[]), vec![0xC2, 0]);
    assert_eq!(packet(2, &[0; 191])[..2], [0xC2, 191]);
    assert_eq!(packet(2, &[0; 192])[..3], [0xC2, 192, 0]);
    assert_eq!(packet(2, &[0; 8383])[..3], [0xC2, 223, 255]);
    assert_eq!(packet(2, &[0; 8384])[..6], [0xC2, 255, 0, 0, 0x20, 0xC0]);
    for len in [0, 1, 191, 192, 1000, 8383, 8384, 70_000] {
        let body = vec![9; len];
        let data = packet(13, &body);
        let parsed = packets(&data).unwrap();
        assert_eq!(
            parsed,
            vec![Packet {
                tag: 13,
                body: &body
            }],
            "{len}"
        );
    }
}

#[test]
fn old_format_headers_are_read_and_bad_lengths_refused() {
    // Old format, tag 13, one-octet and two-octet lengths.
    let parsed = packets(&[0xB4, 2, b'h', b'i', 0xB5, 0, 1, b'x']).unwrap();
    assert_eq!(
        parsed[0],
        Packet {
            tag: 13,
            body: b"hi"
        }
    );
    assert_eq!(
        parsed[1],
        Packet {
            tag: 13,
            body: b"x"
        }
    );
    assert!(
        packets(&[0xB7, b'x'])
            .unwrap_err()
            .0
            .contains("indeterminate")
    );
    assert!(
        packets(&[0xCD, 0xE1, b'x'])
            .unwrap_err()
            .0
            .contains("partial")
    );
    assert!(
        packets(&[0xCD, 5, b'x'])
            .unwrap_err()
            .0
            .contains("past the end")
    );
    assert!(
        packets(&[0x0D])
            .unwrap_err()
            .0
            .contains("not a packet header")
    );
    assert!(packets(&[0xCD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
}

#[test]
fn the_key_packet_is_v4_eddsa_with_the_ed25519_oid_and_a_263_bit_point() {
    let body = key_body(&[0xAB; 32], CREATED);
    assert_eq!(body.len(), 1 + 4 + 1 + 1 + 9 + 2 + 33);
    assert_eq!(body[0], 4);
    assert_eq!(body[5], 22);
    assert_eq!(&body[7..16], &ED25519_OID);
    assert_eq!(&body[16..19], &[0x01, 0x07, 0x40]);
    assert_eq!(mpi(&[0, 0, 1]), vec![0, 1, 1]);
    assert_eq!(mpi(&[0x80, 0]), vec![0, 16, 0x80, 0]);
    assert_eq!(mpi(&[]), vec![0, 0]);
}

#[test]
fn base64_round_trips() {
    for len in 0..40 {
        let data: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i * 37 % 251).unwrap())
            .collect();
        assert_eq!(unbase64(&base64(&data)).unwrap(), data, "{len}");
    }
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert!(unbase64("Zm9v!").is_err());
}

#[test]
fn a_certificate_reads_back_with_its_user_id_and_fingerprint() {
    let key = key();
    let armored = certificate(&key, "Maker PSIRT <psirt@maker.example>", CREATED).unwrap();
    assert!(armored.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"));
    assert!(armored.ends_with("-----END PGP PUBLIC KEY BLOCK-----\n"));
    let public = PublicKey::from_armored(&armored).unwrap();
    assert_eq!(public, {
        let mut expected = PublicKey::of(&key, CREATED);
        expected.user_ids = vec!["Maker PSIRT <psirt@maker.example>".into()];
        expected
    });
    assert_eq!(public.fingerprint().len(), 40);
    assert_eq!(public.key_id(), public.fingerprint[12..]);
    assert!(public.belongs_to(&key));
    assert!(!public.belongs_to(&DeviceKey::danger_insecure_from_seed(&[8; 32])));
    assert!(certificate(&key, " ", CREATED).is_err());
}

#[test]
fn a_certificate_without_a_valid_self_signature_is_refused() {
    let key = key();
    let armored = certificate(&key, "Maker <m@example>", CREATED).unwrap();
    let mut data = dearmor(&armored, "PUBLIC KEY BLOCK").unwrap();
    // Change the user ID: the self-certification no longer covers it.
    let at = data.windows(5).position(|w| w == b"Maker").unwrap();
    data[at] = b'N';
    let e = PublicKey::from_packets(&data).unwrap_err();
    assert!(e.0.contains("no valid self-certification"), "{e}");
    // A key alone.
    let key_only = packets(&data).unwrap()[0].body.to_vec();
    assert!(PublicKey::from_packets(&packet(6, &key_only)).is_err());
    // A secret key packet.
    assert!(
        PublicKey::from_packets(&packet(5, &key_only))
            .unwrap_err()
            .0
            .contains("secret")
    );
}

#[test]
fn other_algorithms_and_versions_are_clear_errors() {
    let mut rsa = vec![4, 0, 0, 0, 0, 1];
    rsa.extend_from_slice(&[0, 8, 0xFF, 0, 8, 3]);
    let e = PublicKey::from_packets(&packet(6, &rsa)).unwrap_err();
    assert!(e.0.contains("algorithm 1 (RSA)"), "{e}");
    let e = PublicKey::from_packets(&packet(6, &[6, 0, 0, 0, 0, 27])).unwrap_err();
    assert!(e.0.contains("version 6"), "{e}");
    let e = Signature::parse(&[3, 0, 0, 0]).unwrap_err();
    assert!(e.0.contains("version 3"), "{e}");
    let e = Signature::parse(&[4, 0, 22, 2, 0, 0, 0, 0]).unwrap_err();
    assert!(e.0.contains("hash algorithm 2"), "{e}");
}

#[test]
fn a_detached_signature_verifies_and_refuses_changes() {
    let key = key();
    let public = PublicKey::from_armored(&certificate(&key, "M <m@e>", CREATED).unwrap()).unwrap();
    let doc = b"{\"document\": {}}\n";
    let sig = sign_detached(&key, &public, doc, CREATED + 10).unwrap();
    assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----\n"));
    let verified = verify_detached(std::slice::from_ref(&public), doc, &sig, NOW).unwrap();
    assert_eq!(verified.fingerprint, public.fingerprint());
    assert_eq!(verified.created, CREATED + 10);

    let e = verify_detached(
        std::slice::from_ref(&public),
        b"{\"document\": {}}",
        &sig,
        NOW,
    )
    .unwrap_err();
    assert!(e.0.contains("does not match"), "{e}");

    let other = DeviceKey::danger_insecure_from_seed(&[9; 32]);
    let other_public =
        PublicKey::from_armored(&certificate(&other, "O <o@e>", CREATED).unwrap()).unwrap();
    let e = verify_detached(std::slice::from_ref(&other_public), doc, &sig, NOW).unwrap_err();
    assert!(e.0.contains("not by any of the trusted keys"), "{e}");
    assert!(verify_detached(&[other_public, public.clone()], doc, &sig, NOW).is_ok());

    // A private key that is not the certificate's.
    assert!(sign_detached(&other, &public, doc, CREATED).is_err());

    // The armor's checksum catches a changed byte; without the checksum line the signature
    // itself does.
    let mut data = dearmor(&sig, "SIGNATURE").unwrap();
    let last = data.len() - 1;
    data[last] ^= 1;
    let mut tampered = armor("SIGNATURE", &data);
    let crc_line = sig.lines().find(|l| l.starts_with('=')).unwrap();
    let own_crc = tampered
        .lines()
        .find(|l| l.starts_with('='))
        .unwrap()
        .to_owned();
    assert!(verify_detached(std::slice::from_ref(&public), doc, &tampered, NOW).is_err());
    tampered = tampered.replace(&own_crc, crc_line);
    let e = verify_detached(std::slice::from_ref(&public), doc, &tampered, NOW).unwrap_err();
    assert!(e.0.contains("CRC-24"), "{e}");

    assert!(
        verify_detached(std::slice::from_ref(&public), doc, "", NOW)
            .unwrap_err()
            .0
            .contains("no '-----BEGIN")
    );
    let e = verify_detached(
        &[public],
        doc,
        &certificate(&key, "M <m@e>", CREATED).unwrap(),
        NOW,
    )
    .unwrap_err();
    assert!(e.0.contains("not an armored signature"), "{e}");
}

#[test]
fn armor_headers_and_a_missing_checksum_are_accepted() {
    let data = b"some bytes".to_vec();
    let armored = armor("SIGNATURE", &data);
    let with_headers = armored.replace(
        "-----BEGIN PGP SIGNATURE-----\n",
        "-----BEGIN PGP SIGNATURE-----\nVersion: test\nComment: x: y\n",
    );
    assert_eq!(dearmor(&with_headers, "SIGNATURE").unwrap(), data);
    let without_crc: String = armored
        .lines()
        .filter(|l| !l.starts_with('='))
        .flat_map(|l| [l, "\r\n"])
        .collect();
    assert_eq!(dearmor(&without_crc, "SIGNATURE").unwrap(), data);
    assert!(
        dearmor(
            &armored.replace("-----END PGP SIGNATURE-----\n", ""),
            "SIGNATURE"
        )
        .is_err()
    );
}

#[test]
fn expired_signatures_and_keys_are_refused() {
    let key = key();
    let public = PublicKey::from_armored(&certificate(&key, "M <m@e>", CREATED).unwrap()).unwrap();
    // A signature with a one-second validity (subpacket 3), by hand.
    let doc = b"doc";
    let body = make_signature(
        &key,
        &public,
        0x00,
        &subpacket(3, &1u32.to_be_bytes()),
        CREATED,
        &[doc],
    );
    let sig = armor("SIGNATURE", &packet(2, &body));
    let e = verify_detached(std::slice::from_ref(&public), doc, &sig, NOW).unwrap_err();
    assert!(e.0.contains("expired"), "{e}");
    assert!(verify_detached(std::slice::from_ref(&public), doc, &sig, u64::from(CREATED)).is_ok());
    let mut expiring = public.clone();
    expiring.expires = Some(NOW);
    let good = sign_detached(&key, &public, doc, CREATED).unwrap();
    let e = verify_detached(&[expiring], doc, &good, NOW).unwrap_err();
    assert!(e.0.contains("key") && e.0.contains("expired"), "{e}");
}

#[test]
fn unknown_critical_subpackets_are_refused() {
    let key = key();
    let public = PublicKey::of(&key, CREATED);
    let body = make_signature(&key, &public, 0x00, &[2, 0x80 | 0x64, 0], CREATED, &[b"d"]);
    let e = Signature::parse(&body).unwrap_err();
    assert!(e.0.contains("critical subpacket of type 100"), "{e}");
}

/// The fuzz target's seed of a valid signature (`fuzz/seeds/vuln_openpgp/valid-signature.asc`:
/// mode byte 2, then a signature of `fuzz` by the target's fixed key) verifies, so the fuzzer
/// starts from the accepting path.
#[test]
fn the_fuzz_seed_of_a_valid_signature_verifies() {
    let public = PublicKey::of(
        &DeviceKey::danger_insecure_from_seed(&[1; 32]),
        1_700_000_000,
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/vuln_openpgp/valid-signature.asc"
    );
    let seed = std::fs::read(path).unwrap();
    let text = std::str::from_utf8(&seed[1..]).unwrap();
    assert_eq!(seed[0], 2);
    verify_detached(&[public], b"fuzz", text, NOW).unwrap();
}

#[test]
fn a_signing_subkey_counts_only_with_its_back_signature() {
    let primary = key();
    let sub = DeviceKey::danger_insecure_from_seed(&[11; 32]);
    let certificate = certificate(&primary, "M <m@e>", CREATED).unwrap();
    let primary_public = PublicKey::from_armored(&certificate).unwrap();
    let sub_public = PublicKey::of(&sub, CREATED + 5);
    let primary_body = key_body(&primary_public.point, CREATED);
    let sub_body = key_body(&sub_public.point, CREATED + 5);
    let prefix = [key_prefix(&primary_body), key_prefix(&sub_body)].concat();
    let with = |extra: &[u8]| {
        let binding = make_signature(
            &primary,
            &primary_public,
            0x18,
            extra,
            CREATED + 5,
            &[&prefix],
        );
        let mut data = dearmor(&certificate, "PUBLIC KEY BLOCK").unwrap();
        data.extend_from_slice(&packet(14, &sub_body));
        data.extend_from_slice(&packet(2, &binding));
        PublicKey::from_packets(&data).unwrap()
    };
    // The "sign" flag without the subkey's back-signature: not a signing subkey.
    assert!(with(&subpacket(27, &[0x02])).signing_subkeys().is_empty());
    // With it: the subkey signs for the primary key.
    let back = make_signature(&sub, &sub_public, 0x19, &[], CREATED + 5, &[&prefix]);
    let mut extra = subpacket(27, &[0x02]);
    extra.extend_from_slice(&subpacket(32, &back));
    let bound = with(&extra);
    assert_eq!(bound.signing_subkeys().len(), 1);
    let doc = b"doc";
    let signature = sign_detached(&sub, &sub_public, doc, CREATED + 10).unwrap();
    let verified = verify_detached(std::slice::from_ref(&bound), doc, &signature, NOW).unwrap();
    assert_eq!(verified.fingerprint, primary_public.fingerprint());
    // Without the "sign" flag: not a signing subkey.
    let mut no_sign = subpacket(27, &[0x0C]);
    no_sign.extend_from_slice(&subpacket(32, &back));
    let unbound = with(&no_sign);
    assert!(unbound.signing_subkeys().is_empty());
    assert!(verify_detached(&[unbound], doc, &signature, NOW).is_err());
}
