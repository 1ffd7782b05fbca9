//! CR 3.4: a backup made (and signed) by another device is refused, and nothing changes.

use std::io::Cursor;

use rampart_backup::{BackupError, RestoreOptions};

use crate::util::{Device, fingerprint, names, passphrase};

#[test]
fn a_backup_from_another_device_is_refused_onto_a_live_directory() {
    let ours = Device::new(3);
    let theirs = Device::new(3);
    let backup = theirs.backup();
    let before = fingerprint(&ours.path);
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        &ours.path,
        &passphrase(),
        &RestoreOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::WrongDevice { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&ours.key().to_hex()) && text.contains(&theirs.key().to_hex()),
        "{text}"
    );
    assert_eq!(fingerprint(&ours.path), before);
    assert_eq!(names(ours.parent.path()), vec!["rampart-data"]);
}

#[test]
fn a_backup_from_another_device_is_refused_onto_a_wiped_one() {
    let ours = Device::new(1);
    let theirs = Device::new(1);
    let backup = theirs.backup();
    let key = ours.key();
    std::fs::remove_dir_all(&ours.path).unwrap();
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        &ours.path,
        &passphrase(),
        &RestoreOptions {
            device_key: Some(key),
        },
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::WrongDevice { .. }), "{err}");
    assert!(!ours.path.exists());
    assert!(names(ours.parent.path()).is_empty(), "no staging left");
}

#[test]
fn the_operator_key_must_match_the_device_it_restores_onto() {
    let ours = Device::new(1);
    let theirs = Device::new(1);
    let backup = theirs.backup();
    let before = fingerprint(&ours.path);
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        &ours.path,
        &passphrase(),
        &RestoreOptions {
            device_key: Some(theirs.key()),
        },
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::KeyMismatch { .. }), "{err}");
    assert_eq!(fingerprint(&ours.path), before);
}

#[test]
fn a_directory_that_is_not_a_data_directory_is_never_replaced() {
    let device = Device::new(1);
    let backup = device.backup();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "mine").unwrap();
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        other.path(),
        &passphrase(),
        &RestoreOptions {
            device_key: Some(device.key()),
        },
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::TargetNotDataDir(_)), "{err}");
    assert_eq!(names(other.path()), vec!["notes.txt"]);

    // A symbolic link to the data directory: the swap would move the link, so it is refused.
    let link = other.path().join("link");
    std::os::unix::fs::symlink(&device.path, &link).unwrap();
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        &link,
        &passphrase(),
        &RestoreOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::TargetNotDataDir(_)), "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
