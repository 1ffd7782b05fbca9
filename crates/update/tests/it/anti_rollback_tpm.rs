//! The security-version floor in a TPM 2.0 NV counter (a swtpm started here, tpm2-tools as
//! the attacker's tools): a data directory whose KEK is in the TPM keeps the floor in a
//! monotonic counter, so an old boot-state file put back, a deleted one, or the counter's index
//! undefined and defined again never lowers it. Needs the vault's feature `tpm`
//! (`scripts/test` runs it with it); without it there is no hardware floor to test.

use rampart_update::slots::{BootState, Slots};
use rampart_vault::anti_rollback;
use rampart_vault::at_rest::{KekConfig, TpmConfig};

#[path = "../../../vault/tests/it/swtpm.rs"]
mod swtpm;

fn write_state(slots: &Slots, floor: u64) {
    let state = BootState {
        security_version_floor: floor,
        ..BootState::default()
    };
    std::fs::create_dir_all(slots.dir()).unwrap();
    std::fs::write(
        slots.dir().join("boot-state.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
}

#[test]
#[ignore = "needs swtpm: run scripts/test"]
fn tpm_the_security_version_floor_survives_an_old_boot_state_and_a_redefined_counter() {
    if !rampart_vault::at_rest::TPM_BUILT {
        eprintln!("built without the vault's feature tpm: scripts/test runs this with it");
        return;
    }
    let tpm = swtpm::Swtpm::start();
    let parent = tempfile::tempdir().unwrap();
    let config = KekConfig::Tpm(TpmConfig {
        tcti: Some(tpm.tcti()),
        pcrs: Some(vec![16]),
    });
    let (data, _) =
        rampart_vault::DataDir::open_or_init_with(&parent.path().join("data"), &config).unwrap();
    assert_eq!(anti_rollback::floor().unwrap(), Some(0), "a new counter");
    assert!(data.root().join("keys/tpm/counter").exists());

    let slots = Slots::new(parent.path().join("update"));
    // A first commit at security version 3 (the file written, then the counter raised, as
    // `Slots::commit` does).
    write_state(&slots, 3);
    assert_eq!(slots.boot_state().unwrap().security_version_floor, 3);
    assert_eq!(anti_rollback::floor().unwrap(), Some(3), "counted on read");
    // The old boot state (floor 0) put back: the hardware's floor wins.
    write_state(&slots, 0);
    assert_eq!(slots.boot_state().unwrap().security_version_floor, 3);
    // Deleted: the same.
    std::fs::remove_file(slots.dir().join("boot-state.json")).unwrap();
    assert_eq!(slots.boot_state().unwrap().security_version_floor, 3);
    // A raise only rises.
    assert_eq!(anti_rollback::raise(2).unwrap(), Some(3));
    assert_eq!(anti_rollback::raise(5).unwrap(), Some(5));
    assert!(anti_rollback::raise(5 + anti_rollback::MAX_STEP + 1).is_err());

    // The attacker undefines the counter and defines a new one at the same index: a TPM counter
    // starts at least at the highest value any counter of the TPM had, so the floor holds.
    let index = tpm
        .tool_ok("tpm2_getcap", &["handles-nv-index"])
        .lines()
        .find_map(|l| l.trim().strip_prefix("- ").map(str::to_owned))
        .expect("the counter's NV index");
    tpm.tool_ok("tpm2_nvundefine", &[&index, "-C", "o"]);
    tpm.tool_ok(
        "tpm2_nvdefine",
        &[
            &index,
            "-C",
            "o",
            "-s",
            "8",
            "-a",
            "nt=counter|ownerwrite|ownerread|no_da",
        ],
    );
    tpm.tool_ok("tpm2_nvincrement", &[&index, "-C", "o"]);
    let floor = anti_rollback::floor().unwrap().unwrap();
    assert!(floor >= 5, "the floor fell to {floor}");
    write_state(&slots, 0);
    assert!(slots.boot_state().unwrap().security_version_floor >= 5);
}
