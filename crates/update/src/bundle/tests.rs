use std::io::Cursor;

use super::*;

fn key(seed: u8) -> DeviceKey {
    DeviceKey::danger_insecure_from_seed(&[seed; 32])
}

fn release(version: &str, security_version: u64) -> Release {
    Release {
        version: version.parse().unwrap(),
        security_version,
        target: "x86_64-unknown-linux-gnu".into(),
        created: "2026-12-07T00:00:00Z".parse().unwrap(),
    }
}

fn file(name: &str, role: FileRole, content: &'static [u8]) -> BundleFile<'static> {
    BundleFile {
        name: name.into(),
        role,
        open: Box::new(move || Ok(Box::new(content) as Box<dyn Read>)),
    }
}

pub(crate) fn sample(version: &str, security_version: u64, binary: &'static [u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_bundle(
        &mut out,
        &release(version, security_version),
        &[
            file("rampart", FileRole::Binary, binary),
            file("sbom.cdx.json", FileRole::Sbom, b"{}"),
            file("RELEASE-NOTES.md", FileRole::ReleaseNotes, b"notes\n"),
        ],
        &key(7),
    )
    .unwrap();
    out
}

#[test]
fn a_bundle_round_trips_and_verifies_under_its_release_key() {
    let bytes = sample("1.2.3", 4, b"\x7fELF binary");
    let verified = verify_bundle(&mut Cursor::new(&bytes), &[key(7).public_key()]).unwrap();
    assert_eq!(verified.manifest.version.to_string(), "1.2.3");
    assert_eq!(verified.manifest.security_version, 4);
    assert_eq!(verified.manifest.binary().name, "rampart");
    assert_eq!(verified.manifest.files.len(), 3);
}

#[test]
fn a_bundle_signed_by_another_key_is_refused_before_any_file_is_read() {
    let bytes = sample("1.0.0", 1, b"bin");
    let err = read_header(&mut Cursor::new(&bytes), &[key(8).public_key()]).unwrap_err();
    assert!(matches!(err, BundleError::Signature(_)), "{err}");
}

#[test]
fn a_binary_that_does_not_match_its_manifest_is_refused() {
    let mut bytes = sample("1.0.0", 1, b"the real binary");
    let at = bytes.windows(4).position(|w| w == b"real").unwrap();
    bytes[at] ^= 1;
    let err = verify_bundle(&mut Cursor::new(&bytes), &[key(7).public_key()]).unwrap_err();
    assert!(
        matches!(&err, BundleError::FileMismatch { name, .. } if name == "rampart"),
        "{err}"
    );
}

#[test]
fn a_truncated_or_extended_bundle_is_refused() {
    let bytes = sample("1.0.0", 1, b"binary bytes");
    let trusted = [key(7).public_key()];
    for cut in [1, 5, bytes.len() / 2, bytes.len() - 1] {
        let err = verify_bundle(&mut Cursor::new(&bytes[..cut]), &trusted).unwrap_err();
        assert!(
            matches!(
                err,
                BundleError::NotABundle(_) | BundleError::FileMismatch { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"more");
    let err = verify_bundle(&mut Cursor::new(&longer), &trusted).unwrap_err();
    assert!(matches!(err, BundleError::NotABundle(_)), "{err}");
}

#[test]
fn header_lengths_over_the_caps_are_refused_without_allocating() {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    let err = read_header_unverified(&mut Cursor::new(&bytes)).unwrap_err();
    assert!(err.to_string().contains("manifest length"), "{err}");
    let err = read_header_unverified(&mut Cursor::new(b"NOTABNDL....")).unwrap_err();
    assert!(err.to_string().contains("RMPBNDL1"), "{err}");
}

type Change = Box<dyn Fn(&mut Manifest)>;

#[test]
fn manifests_that_contradict_themselves_are_refused() {
    let base = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        product: "rampart".into(),
        version: "1.0.0".parse().unwrap(),
        security_version: 1,
        target: "x".into(),
        created: "2026-12-07T00:00:00Z".parse().unwrap(),
        files: vec![FileEntry {
            name: "rampart".into(),
            role: FileRole::Binary,
            length: 1,
            sha256: "0".repeat(64),
        }],
    };
    base.check().unwrap();
    let cases: Vec<(&str, Change)> = vec![
        ("format", Box::new(|m| m.format = "other".into())),
        ("format_version", Box::new(|m| m.format_version = 2)),
        ("no files", Box::new(|m| m.files.clear())),
        ("path", Box::new(|m| m.files[0].name = "../rampart".into())),
        ("hidden", Box::new(|m| m.files[0].name = ".rampart".into())),
        (
            "reserved",
            Box::new(|m| m.files[0].name = MANIFEST_FILE.into()),
        ),
        ("hash", Box::new(|m| m.files[0].sha256 = "ABC".into())),
        ("length", Box::new(|m| m.files[0].length = FILE_MAX + 1)),
        (
            "two binaries",
            Box::new(|m| {
                let mut second = m.files[0].clone();
                second.name = "other".into();
                m.files.push(second);
            }),
        ),
        (
            "duplicate",
            Box::new(|m| {
                let mut second = m.files[0].clone();
                second.role = FileRole::Sbom;
                m.files.push(second);
            }),
        ),
    ];
    for (what, change) in cases {
        let mut m = base.clone();
        change(&mut m);
        assert!(m.check().is_err(), "{what} accepted");
    }
}
