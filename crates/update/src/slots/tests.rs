use std::io::Cursor;

use rampart_vault::DeviceKey;

use super::*;
use crate::bundle::tests::sample;

fn trusted() -> Vec<DevicePublicKey> {
    vec![DeviceKey::danger_insecure_from_seed(&[7; 32]).public_key()]
}

fn now() -> jiff::Timestamp {
    "2026-12-07T10:00:00Z".parse().unwrap()
}

fn options(commit: bool) -> InstallOptions {
    InstallOptions {
        allow_downgrade: false,
        commit,
        max_attempts: DEFAULT_MAX_ATTEMPTS,
        device_target: None,
        now: now(),
    }
}

fn install(slots: &Slots, bytes: &[u8], commit: bool) -> Result<Installed, UpdateError> {
    slots.install(&mut Cursor::new(bytes), &trusted(), &options(commit))
}

fn provisioned() -> (tempfile::TempDir, Slots) {
    let dir = tempfile::tempdir().unwrap();
    let slots = Slots::new(dir.path().join("update"));
    install(&slots, &sample("1.0.0", 1, b"binary one"), true).unwrap();
    (dir, slots)
}

#[test]
fn a_first_install_with_commit_is_the_committed_slot() {
    let (_dir, slots) = provisioned();
    let state = slots.boot_state().unwrap();
    assert_eq!(state.committed(), Some(SlotName::A));
    assert_eq!(state.security_version_floor, 1);
    let boot = slots.choose_boot(&trusted(), now()).unwrap();
    assert_eq!(boot.slot, SlotName::A);
    assert!(boot.trial_attempt.is_none());
}

#[test]
fn an_update_is_tried_then_committed_and_raises_the_floor() {
    let (_dir, slots) = provisioned();
    let installed = install(&slots, &sample("1.1.0", 2, b"binary two"), false).unwrap();
    assert_eq!(installed.slot, SlotName::B);
    let boot = slots.choose_boot(&trusted(), now()).unwrap();
    assert_eq!((boot.slot, boot.trial_attempt), (SlotName::B, Some((1, 3))));
    assert_eq!(slots.boot_state().unwrap().security_version_floor, 1);
    slots.commit(SlotName::B, now()).unwrap();
    let state = slots.boot_state().unwrap();
    assert_eq!(state.committed(), Some(SlotName::B));
    assert_eq!(state.slots[&SlotName::A].state, SlotState::Previous);
    assert_eq!(state.security_version_floor, 2);
}

#[test]
fn a_trial_not_committed_after_its_attempts_falls_back_and_keeps_the_floor() {
    let (_dir, slots) = provisioned();
    install(&slots, &sample("1.1.0", 2, b"binary two"), false).unwrap();
    for attempt in 1..=DEFAULT_MAX_ATTEMPTS {
        let boot = slots.choose_boot(&trusted(), now()).unwrap();
        assert_eq!(boot.trial_attempt, Some((attempt, DEFAULT_MAX_ATTEMPTS)));
    }
    let boot = slots.choose_boot(&trusted(), now()).unwrap();
    assert_eq!(boot.slot, SlotName::A);
    let (slot, reason) = boot.fell_back.unwrap();
    assert_eq!(slot, SlotName::B);
    assert!(reason.contains("not committed after 3"), "{reason}");
    let state = slots.boot_state().unwrap();
    assert_eq!(state.slots[&SlotName::B].state, SlotState::Failed);
    assert_eq!(state.security_version_floor, 1);
}

#[test]
fn a_bundle_below_the_security_version_floor_is_refused() {
    let (_dir, slots) = provisioned();
    install(&slots, &sample("2.0.0", 5, b"binary five"), false).unwrap();
    slots.commit(SlotName::B, now()).unwrap();
    let err = install(&slots, &sample("2.1.0", 4, b"binary four"), false).unwrap_err();
    assert!(
        matches!(
            err,
            UpdateError::SecurityVersionRollback {
                bundle: 4,
                floor: 5
            }
        ),
        "{err}"
    );
}

#[test]
fn an_older_release_is_refused_unless_a_downgrade_is_allowed() {
    let (_dir, slots) = provisioned();
    install(&slots, &sample("1.5.0", 1, b"binary 1.5"), false).unwrap();
    slots.commit(SlotName::B, now()).unwrap();
    let old = sample("1.0.0", 1, b"binary one");
    let err = install(&slots, &old, false).unwrap_err();
    assert!(matches!(err, UpdateError::Downgrade { .. }), "{err}");
    let mut allow = options(false);
    allow.allow_downgrade = true;
    slots
        .install(&mut Cursor::new(&old), &trusted(), &allow)
        .unwrap();
}

#[test]
fn a_slot_modified_after_install_is_not_booted() {
    let (_dir, slots) = provisioned();
    install(&slots, &sample("1.1.0", 2, b"binary two"), false).unwrap();
    let binary = slots.slot_dir(SlotName::B).join("rampart");
    let mut bytes = fs::read(&binary).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&binary, bytes).unwrap();
    let boot = slots.choose_boot(&trusted(), now()).unwrap();
    assert_eq!(boot.slot, SlotName::A);
    assert!(boot.fell_back.unwrap().1.contains("does not match"));
}

#[test]
fn tampered_slots_are_caught() {
    type Tamper = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "a file added",
            Box::new(|d| fs::write(d.join("extra"), b"x").unwrap()),
            "does not list",
        ),
        (
            "the binary a symlink",
            Box::new(|d| {
                fs::remove_file(d.join("rampart")).unwrap();
                std::os::unix::fs::symlink("/bin/true", d.join("rampart")).unwrap();
            }),
            "not a regular file",
        ),
        (
            "a truncated file",
            Box::new(|d| {
                fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("RELEASE-NOTES.md"))
                    .unwrap()
                    .set_len(1)
                    .unwrap();
            }),
            "does not match",
        ),
        (
            "the manifest edited",
            Box::new(|d| {
                let m = fs::read_to_string(d.join(MANIFEST_FILE)).unwrap();
                fs::write(d.join(MANIFEST_FILE), m.replace("1.1.0", "1.1.1")).unwrap();
            }),
            "signature",
        ),
        (
            "the binary group-writable",
            Box::new(|d| {
                fs::set_permissions(d.join("rampart"), fs::Permissions::from_mode(0o770)).unwrap();
            }),
            "writable",
        ),
    ];
    for (what, tamper, expect) in cases {
        let (_dir, slots) = provisioned();
        install(&slots, &sample("1.1.0", 2, b"binary two"), false).unwrap();
        let record = slots.boot_state().unwrap().slots[&SlotName::B].clone();
        tamper(&slots.slot_dir(SlotName::B));
        let err = slots
            .verify_slot(SlotName::B, &record, &trusted())
            .unwrap_err();
        assert!(err.to_string().contains(expect), "{what}: {err}");
    }
}

#[test]
fn swapped_slot_directories_are_caught() {
    let (_dir, slots) = provisioned();
    install(&slots, &sample("1.1.0", 2, b"binary two"), false).unwrap();
    let (a, b) = (slots.slot_dir(SlotName::A), slots.slot_dir(SlotName::B));
    let tmp = slots.dir().join("swap");
    fs::rename(&a, &tmp).unwrap();
    fs::rename(&b, &a).unwrap();
    fs::rename(&tmp, &b).unwrap();
    let err = slots.choose_boot(&trusted(), now()).unwrap_err();
    assert!(err.to_string().contains("not the one installed"), "{err}");
}

#[test]
fn rollback_abandons_a_trial_then_returns_to_the_previous_slot() {
    let (_dir, slots) = provisioned();
    install(&slots, &sample("1.1.0", 1, b"binary two"), false).unwrap();
    let (slot, _) = slots.rollback(now()).unwrap();
    assert_eq!(slot, SlotName::B);
    assert_eq!(
        slots.choose_boot(&trusted(), now()).unwrap().slot,
        SlotName::A
    );
    install(&slots, &sample("1.2.0", 1, b"binary three"), false).unwrap();
    slots.commit(SlotName::B, now()).unwrap();
    let (slot, _) = slots.rollback(now()).unwrap();
    assert_eq!(slot, SlotName::A);
    assert_eq!(slots.boot_state().unwrap().committed(), Some(SlotName::A));
}

#[test]
fn rollback_to_a_slot_below_the_floor_is_refused() {
    let (_dir, slots) = provisioned();
    install(&slots, &sample("1.1.0", 2, b"binary two"), false).unwrap();
    slots.commit(SlotName::B, now()).unwrap();
    let err = slots.rollback(now()).unwrap_err();
    assert!(
        matches!(err, UpdateError::SecurityVersionRollback { .. }),
        "{err}"
    );
}

#[test]
fn commit_applies_only_to_a_trial() {
    let (_dir, slots) = provisioned();
    assert!(slots.commit(SlotName::A, now()).is_err());
    assert!(slots.commit(SlotName::B, now()).is_err());
}

#[test]
fn a_bad_boot_state_is_an_error_not_a_fresh_start() {
    let (_dir, slots) = provisioned();
    fs::write(slots.dir().join("boot-state.json"), b"{ not json").unwrap();
    let err = slots.choose_boot(&trusted(), now()).unwrap_err();
    assert!(matches!(err, UpdateError::BadBootState { .. }), "{err}");
}
