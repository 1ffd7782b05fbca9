use super::*;

fn registered(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(WRITERS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| is_writer(n))
        .collect();
    names.sort();
    names
}

#[test]
fn live_writers_are_counted_and_ended_ones_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let (a, census) = register(dir.path()).unwrap();
    assert_eq!(census, Census::default());
    let (b, census) = register(dir.path()).unwrap();
    assert_eq!(
        census,
        Census {
            live: 1,
            ended_uncleanly: 0
        }
    );
    assert_eq!(registered(dir.path()).len(), 2);
    // Dropped without closing, as a killed process's lock is released: it ended uncleanly.
    drop(a);
    let (c, census) = register(dir.path()).unwrap();
    assert_eq!(
        census,
        Census {
            live: 1,
            ended_uncleanly: 1
        }
    );
    assert_eq!(registered(dir.path()).len(), 2, "the ended one is removed");
    // Only the last to close learns it is the last.
    assert!(!b.close(Ok).unwrap());
    assert!(c.close(Ok).unwrap());
    assert!(registered(dir.path()).is_empty());
    let (d, census) = register(dir.path()).unwrap();
    assert_eq!(census, Census::default());
    d.withdraw().unwrap();
}

#[test]
fn a_failed_close_keeps_the_registration_and_other_files_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = register(dir.path()).unwrap();
    std::fs::write(dir.path().join(WRITERS_DIR).join("notes.txt"), "x").unwrap();
    let failed: Result<(), StoreError> = a.close(|_| Err(StoreError::Closed));
    assert!(failed.is_err());
    let (b, census) = register(dir.path()).unwrap();
    assert_eq!(
        census.ended_uncleanly, 1,
        "a failed close is not a clean one"
    );
    assert_eq!(census.live, 0);
    b.withdraw().unwrap();
    let mode = std::fs::metadata(dir.path().join(WRITERS_DIR))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
}
