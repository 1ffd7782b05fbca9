use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn hash() -> AuditEntryHash {
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        .parse()
        .unwrap()
}

#[test]
fn a_stored_cursor_reads_back_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("siem_6514.cursor");
    let mut file = CursorFile::open(&path).unwrap();
    assert_eq!(file.cursor(), Cursor::default());
    assert!(!path.exists(), "nothing is written before the first send");
    let mut cursor = Cursor::default();
    cursor.mark_sent(12, 10);
    cursor.mark_delivered(7, Some(hash()), 5);
    file.store(cursor).unwrap();
    drop(file);
    let file = CursorFile::open(&path).unwrap();
    let read = file.cursor();
    assert_eq!(read, cursor);
    assert_eq!((read.delivered(), read.sent()), (7, 12));
    assert_eq!(
        (read.checkpoint_delivered(), read.checkpoint_sent()),
        (5, 10)
    );
    assert_eq!(read.delivered_hash(), Some(hash()));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn delivered_never_passes_sent_and_never_goes_back() {
    let mut cursor = Cursor::default();
    cursor.mark_delivered(5, Some(hash()), 3);
    assert_eq!((cursor.sent(), cursor.checkpoint_sent()), (5, 3));
    cursor.mark_delivered(4, None, 1);
    assert_eq!((cursor.delivered(), cursor.checkpoint_delivered()), (5, 3));
    assert_eq!(cursor.delivered_hash(), Some(hash()));
    cursor.mark_sent(2, 0);
    assert_eq!(cursor.sent(), 5);
}

#[test]
fn malformed_cursors_are_refused_not_reset() {
    let good = "rampart-forward-cursor 1\ndelivered 7\ndelivered-hash -\nsent 9\n\
                checkpoint-delivered 0\ncheckpoint-sent 0\n";
    assert!(Cursor::parse(good).is_ok());
    for (text, reason) in [
        ("", "does not start"),
        ("rampart-forward-cursor 2\n", "does not start"),
        (&good.replace("sent 9", "sent 6"), "past sent"),
        (&good.replace("delivered 7", "delivered x"), "not a number"),
        (
            &good.replace("delivered-hash -", "delivered-hash 12"),
            "64 hex",
        ),
        (&good.replace("sent 9\n", ""), "'sent' is missing"),
        (&format!("{good}sent 9\n"), "twice"),
        (&format!("{good}extra 1\n"), "unknown field"),
        (&format!("{good}junk\n"), "malformed line"),
    ] {
        let err = Cursor::parse(text).unwrap_err();
        assert!(err.contains(reason), "{text:?}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.cursor");
    std::fs::write(&path, "x".repeat(5000)).unwrap();
    assert!(matches!(
        CursorFile::open(&path),
        Err(ForwardError::Cursor { .. })
    ));
}

#[test]
fn a_cursor_is_locked_while_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.cursor");
    let first = CursorFile::open(&path).unwrap();
    assert!(matches!(
        CursorFile::open(&path),
        Err(ForwardError::Busy { .. })
    ));
    drop(first);
    CursorFile::open(&path).unwrap();
}

#[test]
fn cursor_names_are_safe_file_names() {
    let dir = Path::new("/data/forward");
    for (collector, name) in [
        ("siem.example.org:6514", "siem.example.org_6514.cursor"),
        ("[2001:db8::1]:6514", "_2001_db8__1__6514.cursor"),
        ("../../etc/passwd:1", ".._.._etc_passwd_1.cursor"),
    ] {
        assert_eq!(cursor_path(dir, collector), dir.join(name), "{collector}");
    }
}
