//! No input makes the parser panic: arbitrary bytes, and valid backups with arbitrary edits.

use std::io::Cursor;
use std::sync::OnceLock;

use proptest::prelude::*;

use crate::util::Device;

fn sample() -> &'static (Vec<u8>, rampart_vault::DevicePublicKey) {
    static SAMPLE: OnceLock<(Vec<u8>, rampart_vault::DevicePublicKey)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let device = Device::new(1);
        (device.backup(), device.key())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        rampart_backup::fuzzing::backup_file(&data);
        let (_, key) = sample();
        prop_assert!(rampart_backup::check_origin(Cursor::new(&data), *key).is_err());
    }

    #[test]
    fn arbitrary_edits_of_a_real_backup_are_refused(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<Option<prop::sample::Index>>(),
    ) {
        let (backup, key) = sample();
        let mut bad = backup.clone();
        let mut changed = false;
        for (at, byte) in edits {
            let i = at.index(bad.len());
            changed |= bad[i] != byte;
            bad[i] = byte;
        }
        if let Some(cut) = cut {
            let len = cut.index(bad.len());
            bad.truncate(len);
            changed = true;
        }
        rampart_backup::fuzzing::backup_file(&bad);
        let result = rampart_backup::check_origin(Cursor::new(&bad), *key);
        prop_assert_eq!(result.is_ok(), !changed);
    }
}
