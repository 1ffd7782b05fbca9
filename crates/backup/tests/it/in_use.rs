//! A restore never swaps a directory a running component holds open.

use std::io::Cursor;

use rampart_backup::{BackupError, RestoreOptions};

use crate::util::{Device, names, passphrase};

#[test]
fn restore_is_refused_while_the_audit_trail_is_open() {
    let device = Device::new(1);
    let backup = device.backup();
    let audit = device.audit();
    assert_eq!(
        rampart_backup::in_use(&device.path).unwrap().as_deref(),
        Some("audit/audit.sqlite3")
    );
    let err = rampart_backup::restore(
        Cursor::new(&backup),
        &device.path,
        &passphrase(),
        &RestoreOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::InUse { .. }), "{err}");
    assert!(err.to_string().contains("stop it first"), "{err}");
    assert_eq!(names(device.parent.path()), vec!["rampart-data"]);
    // The probe did not disturb the open store.
    audit
        .append(rampart_audit::testing::sample_event(1))
        .unwrap();
    audit.close().unwrap();
    drop(audit);
    assert_eq!(rampart_backup::in_use(&device.path).unwrap(), None);
    rampart_backup::restore(
        Cursor::new(&backup),
        &device.path,
        &passphrase(),
        &RestoreOptions::default(),
    )
    .unwrap();
}
