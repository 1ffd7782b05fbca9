//! Bounded input: a hostile header cannot make a reader allocate or compute much — its KDF
//! parameters and lengths are refused before any allocation, and before the signature check.

use std::io::Cursor;

use rampart_backup::BackupError;

use crate::util::Device;

type Edit = Box<dyn Fn(&mut serde_json::Value)>;

/// Replaces the header JSON of `backup` with `edit(header)`, fixing the length field.
fn with_header(backup: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let len = u32::from_be_bytes(backup[10..14].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&backup[14..14 + len]).unwrap();
    edit(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = backup[..10].to_vec();
    out.extend_from_slice(&u32::try_from(json.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&backup[14 + len..]);
    out
}

#[test]
fn hostile_kdf_parameters_are_refused_before_any_work() {
    let device = Device::new(1);
    let backup = device.backup();
    for (field, value) in [
        ("m_kib", serde_json::json!(u32::MAX)),
        ("m_kib", serde_json::json!(4 * 1024 * 1024)),
        ("t", serde_json::json!(1_000_000)),
        ("p", serde_json::json!(255)),
        ("m_kib", serde_json::json!(1)),
    ] {
        let bad = with_header(&backup, |h| h["kdf"][field] = value.clone());
        let started = std::time::Instant::now();
        let err = rampart_backup::check_origin(Cursor::new(&bad), device.key()).unwrap_err();
        assert!(
            matches!(err, BackupError::KdfBounds { .. }),
            "{field}={value}: {err}"
        );
        assert!(
            started.elapsed().as_millis() < 500,
            "refused before argon2 ran"
        );
    }
}

#[test]
fn huge_lengths_are_refused_before_allocation() {
    let device = Device::new(1);
    let backup = device.backup();
    let mut bad = backup.clone();
    bad[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = rampart_backup::check_origin(Cursor::new(&bad), device.key()).unwrap_err();
    assert!(err.to_string().contains("header length"), "{err}");
    let bad = with_header(&backup, |h| {
        h["plaintext_size"] = serde_json::json!(u64::MAX);
    });
    let err = rampart_backup::check_origin(Cursor::new(&bad), device.key()).unwrap_err();
    assert!(err.to_string().contains("plaintext size"), "{err}");
}

#[test]
fn unknown_algorithms_and_fields_are_refused() {
    let device = Device::new(1);
    let backup = device.backup();
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|h| h["kdf"]["algorithm"] = "pbkdf2".into()),
            "argon2id",
        ),
        (
            Box::new(|h| h["aead"]["algorithm"] = "aes-256-gcm".into()),
            "AEAD",
        ),
        (
            Box::new(|h| h["aead"]["segment_size"] = 1.into()),
            "segment size",
        ),
        (Box::new(|h| h["extra"] = 1.into()), "unknown field"),
        (
            Box::new(|h| h["layout"] = "rampart-data 2".into()),
            "layout",
        ),
        (Box::new(|h| h["created"] = "yesterday".into()), "created"),
    ];
    for (edit, want) in cases {
        let bad = with_header(&backup, edit);
        let err = rampart_backup::check_origin(Cursor::new(&bad), device.key())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
    // A header edited within bounds is caught by the signature.
    let bad = with_header(&backup, |h| h["producer"] = "someone else".into());
    let err = rampart_backup::check_origin(Cursor::new(&bad), device.key()).unwrap_err();
    assert!(matches!(err, BackupError::BadSignature { .. }), "{err}");
}
