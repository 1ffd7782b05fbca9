//! CR 4.1 for backups off the device: only the passphrase opens a backup; the origin check
//! does not need it.

use std::io::Cursor;

use rampart_backup::{BackupError, Passphrase, RestoreOptions};

use crate::util::{Device, fingerprint, passphrase};

#[test]
fn a_wrong_passphrase_is_refused_and_nothing_changes() {
    let device = Device::new(2);
    let backup = device.backup();
    let wrong = Passphrase::new("correct horse battery stapler").unwrap();
    // The origin checks out without any passphrase.
    rampart_backup::check_origin(Cursor::new(&backup), device.key()).unwrap();
    let err = rampart_backup::verify(Cursor::new(&backup), device.key(), &wrong).unwrap_err();
    assert!(matches!(err, BackupError::WrongPassphrase), "{err}");
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    let before = fingerprint(&device.path);
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        &device.path,
        &wrong,
        &RestoreOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::WrongPassphrase), "{err}");
    assert_eq!(fingerprint(&device.path), before);
    rampart_backup::verify(Cursor::new(&backup), device.key(), &passphrase()).unwrap();
}

#[test]
fn the_backup_does_not_contain_the_passphrase_or_plaintext_secrets() {
    let device = Device::new(1);
    let backup = device.backup();
    let key_pem = std::fs::read(device.path.join("keys/device.key")).unwrap();
    let contains = |needle: &[u8]| backup.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(crate::util::PASSPHRASE.as_bytes()));
    assert!(!contains(b"PRIVATE KEY"));
    assert!(!contains(&key_pem[40..80]));
    assert!(!contains(b"SQLite format 3"));
}
