//! CR 3.4: one flipped byte anywhere — magic, header, ciphertext, signature — is refused with
//! a clear error, and the restore target is unchanged.

use std::io::Cursor;

use rampart_backup::{BackupError, RestoreOptions};

use crate::util::{Device, fingerprint, names, passphrase};

fn positions(len: usize) -> Vec<usize> {
    let mut p = vec![0, 7, 8, 9, 10, 13, 14, 20, 60, 200, 300];
    // Ciphertext: its start is after the header; sample it and the end.
    p.extend([
        len / 4,
        len / 2,
        len * 3 / 4,
        len - 65,
        len - 64,
        len - 32,
        len - 1,
    ]);
    p.retain(|&i| i < len);
    p
}

#[test]
fn every_flipped_byte_is_refused_and_nothing_changes() {
    let device = Device::new(20);
    let key = device.key();
    let backup = device.backup();
    let before = fingerprint(&device.path);
    for at in positions(backup.len()) {
        for bit in [0x01u8, 0x80] {
            let mut bad = backup.clone();
            bad[at] ^= bit;
            let err = rampart_backup::check_origin(Cursor::new(&bad), key).unwrap_err();
            assert!(err.is_bad_backup(), "byte {at}: {err}");
            let err = rampart_backup::restore(
                Cursor::new(&bad),
                &device.path,
                &passphrase(),
                &RestoreOptions::default(),
            )
            .unwrap_err();
            assert!(err.is_bad_backup(), "byte {at}: {err}");
            let text = err.to_string();
            assert!(
                [
                    "bad signature",
                    "another device",
                    "not a Rampart backup",
                    "version",
                    "header",
                    "truncated",
                    "after its signature",
                    "argon2id parameter",
                ]
                .iter()
                .any(|w| text.contains(w)),
                "byte {at}: unclear error: {text}"
            );
        }
    }
    assert_eq!(fingerprint(&device.path), before, "the target is unchanged");
    assert_eq!(
        names(device.parent.path()),
        vec!["rampart-data"],
        "no staging left"
    );
}

#[test]
fn a_flipped_ciphertext_byte_is_a_bad_signature() {
    let device = Device::new(1);
    let backup = device.backup();
    let mut bad = backup.clone();
    let middle = backup.len() / 2;
    bad[middle] ^= 0x40;
    let err = rampart_backup::check_origin(Cursor::new(&bad), device.key()).unwrap_err();
    assert!(matches!(err, BackupError::BadSignature { .. }), "{err}");
}

#[test]
fn truncated_or_extended_files_are_refused() {
    let device = Device::new(1);
    let key = device.key();
    let backup = device.backup();
    for len in [
        0,
        1,
        8,
        13,
        14,
        100,
        backup.len() / 2,
        backup.len() - 64,
        backup.len() - 1,
    ] {
        let err = rampart_backup::check_origin(Cursor::new(&backup[..len]), key).unwrap_err();
        assert!(
            matches!(err, BackupError::Truncated { .. } | BackupError::Header(_)),
            "{len}: {err}"
        );
    }
    let err = rampart_backup::check_origin(Cursor::new(&backup[..backup.len() - 1]), key)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("truncated") && err.contains("signature"),
        "{err}"
    );
    let mut longer = backup.clone();
    longer.push(0);
    let err = rampart_backup::check_origin(Cursor::new(&longer), key).unwrap_err();
    assert!(matches!(err, BackupError::TrailingData { .. }), "{err}");
}
