//! CR 4.1 data at rest, migration: a data directory of an earlier release (plain PEM keys) is
//! sealed in place on its first open by the component layer, one audit event per store,
//! never the secret; the second open has nothing left to seal.

use rampart_audit::{AuditReader, Query};
use rampart_gateway::component::Component;
use rampart_vault::DeviceKey;

#[test]
fn a_directory_of_an_earlier_release_is_sealed_and_audited_once() {
    let parent = tempfile::tempdir().unwrap();
    let path = parent.path().join("data");
    // An earlier release's layout: the marker and a plain device key.
    std::fs::create_dir(&path).unwrap();
    std::fs::create_dir(path.join("keys")).unwrap();
    for dir in [&path, &path.join("keys")] {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    rampart_vault::write_atomic(&path.join("LAYOUT"), b"rampart-data 1\n", 0o600).unwrap();
    let key = DeviceKey::generate().unwrap();
    key.danger_store_plain(&path.join("keys/device.key"))
        .unwrap();
    let plain = std::fs::read_to_string(path.join("keys/device.key")).unwrap();

    let (component, _) = Component::open(&path).unwrap();
    assert_eq!(component.data.migrated(), ["keys/device.key"]);
    assert_eq!(
        component.data.device_key().unwrap().public_key(),
        key.public_key()
    );
    component.close().unwrap();
    let (again, _) = Component::open(&path).unwrap();
    assert!(again.data.migrated().is_empty());
    again.close().unwrap();

    let sealed = std::fs::read(path.join("keys/device.key")).unwrap();
    assert!(rampart_vault::at_rest::is_sealed(&sealed));
    let reader = AuditReader::open(&path.join("audit")).unwrap();
    let events = reader.query(&Query::default()).unwrap();
    let sealed_events: Vec<_> = events
        .iter()
        .filter(|e| e.action() == "vault.sealed")
        .collect();
    assert_eq!(sealed_events.len(), 1, "one event for the one store");
    assert_eq!(sealed_events[0].target(), Some("keys/device.key"));
    let body: String = plain.lines().filter(|l| !l.starts_with("-----")).collect();
    for event in &events {
        assert!(
            !format!("{event:?}").contains(&body),
            "the secret in the trail"
        );
    }
}
