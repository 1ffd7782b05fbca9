use super::*;
use rampart_vault::DeviceKey;

fn key(seed: u8) -> rampart_vault::DeviceSigningKey {
    DeviceKey::danger_insecure_from_seed(&[seed; 32]).into()
}

fn at() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000).unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    targets: Vec<Target>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("rampart"), b"\x7fELF binary bytes").unwrap();
    fs::write(root.join("policy.toml"), b"[limits]\nrate = 10\n").unwrap();
    fs::create_dir(root.join("pki")).unwrap();
    fs::write(root.join("pki/ca.crt"), b"-----BEGIN CERTIFICATE-----\n").unwrap();
    let targets = vec![
        Target::new("binary", root.join("rampart"), Expect::File),
        Target::new("policy", root.join("policy.toml"), Expect::File),
        Target::new("trust-anchor:ca.crt", root.join("pki/ca.crt"), Expect::File),
        Target::new("pki", root.join("pki"), Expect::Directory),
        Target::new(
            "audit-settings",
            root.join("audit.toml"),
            Expect::OptionalFile,
        ),
    ];
    Fixture { dir, targets }
}

impl Fixture {
    fn seal(&self, sequence: u64, by: &rampart_vault::DeviceSigningKey) -> SignedManifest {
        Manifest::seal(
            &self.targets,
            measure(&self.targets),
            sequence,
            Some("a".into()),
            at(),
            by,
        )
        .unwrap()
    }

    fn check(
        &self,
        manifest: &SignedManifest,
        floor: Option<u64>,
        slot: Option<&str>,
    ) -> Vec<Finding> {
        let expected = Expected {
            key: key(1).public_key(),
            floor,
            slot,
        };
        check(manifest, &expected, &measure(&self.targets))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn names(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(ToString::to_string).collect()
}

#[test]
fn an_untouched_component_passes() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    assert_eq!(f.check(&m, Some(1), Some("a")), vec![]);
    // And the manifest survives its file form.
    let parsed = SignedManifest::parse(&m.to_bytes().unwrap(), "test").unwrap();
    assert_eq!(parsed, m);
    assert_eq!(f.check(&parsed, Some(1), Some("a")), vec![]);
}

#[test]
fn a_flipped_byte_is_a_changed_file() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    let mut bytes = fs::read(f.path("rampart")).unwrap();
    bytes[3] ^= 1;
    fs::write(f.path("rampart"), bytes).unwrap();
    let found = f.check(&m, None, Some("a"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(names(&found)[0].starts_with("binary ("), "{found:?}");
    assert!(names(&found)[0].contains("content changed"));
}

#[test]
fn a_truncated_file_is_named_truncated() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    fs::write(f.path("policy.toml"), b"[limits]").unwrap();
    let found = names(&f.check(&m, None, Some("a")));
    assert!(found[0].contains("truncated"), "{found:?}");
}

#[test]
fn a_symlink_in_place_of_a_file_is_refused_even_to_the_same_content() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    fs::copy(f.path("policy.toml"), f.path("copy.toml")).unwrap();
    fs::remove_file(f.path("policy.toml")).unwrap();
    std::os::unix::fs::symlink(f.path("copy.toml"), f.path("policy.toml")).unwrap();
    let found = names(&f.check(&m, None, Some("a")));
    assert!(found[0].contains("is now symlink"), "{found:?}");
    // Nor is a symlink ever sealed.
    let err = Manifest::seal(&f.targets, measure(&f.targets), 2, None, at(), &key(1)).unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
}

#[test]
fn a_trust_anchor_added_to_a_measured_directory_is_found() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    fs::write(f.path("pki/evil-ca.crt"), b"x").unwrap();
    let found = names(&f.check(&m, None, Some("a")));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("evil-ca.crt"), "{found:?}");
}

#[test]
fn an_optional_file_that_appears_is_found() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    fs::write(f.path("audit.toml"), b"max_events = 1\n").unwrap();
    let found = names(&f.check(&m, None, Some("a")));
    assert!(found[0].contains("was a absent"), "{found:?}");
}

#[test]
fn a_manifest_signed_by_another_key_is_refused() {
    let f = fixture();
    let m = f.seal(1, &key(2));
    let found = names(&f.check(&m, None, Some("a")));
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("not by this device's key"), "{found:?}");
}

#[test]
fn an_edited_manifest_does_not_verify() {
    let f = fixture();
    let mut m = f.seal(1, &key(1));
    fs::write(f.path("policy.toml"), b"[limits]\nrate = 99999\n").unwrap();
    // The attacker re-measures and edits the manifest, but cannot sign it.
    m.signed.entries = measure(&f.targets);
    let found = names(&f.check(&m, None, Some("a")));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("edited"), "{found:?}");
}

#[test]
fn an_older_signed_manifest_is_a_rollback() {
    let f = fixture();
    let old = f.seal(1, &key(1));
    let _new = f.seal(2, &key(1));
    let found = f.check(&old, Some(2), Some("a"));
    assert_eq!(
        found,
        vec![Finding::Rollback {
            sequence: 1,
            floor: 2
        }]
    );
}

#[test]
fn a_renamed_slot_is_found() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    let found = f.check(&m, None, Some("b"));
    assert_eq!(
        found,
        vec![Finding::Slot {
            sealed: Some("a".into()),
            running: Some("b".into())
        }]
    );
}

#[test]
fn a_different_target_set_is_found() {
    let f = fixture();
    let m = f.seal(1, &key(1));
    let mut fewer = f.targets.clone();
    fewer.pop();
    let expected = Expected {
        key: key(1).public_key(),
        floor: None,
        slot: Some("a"),
    };
    let found = names(&check(&m, &expected, &measure(&fewer)));
    assert!(found[0].contains("audit-settings"), "{found:?}");
}

#[test]
fn malformed_manifests_are_refused_with_a_reason() {
    let oversized = vec![b' '; usize::try_from(MANIFEST_MAX).unwrap() + 1];
    for (bytes, reason) in [
        (&b"not json"[..], "expected"),
        (b"{}", "missing field"),
        (&oversized[..], "larger than"),
    ] {
        let err = SignedManifest::parse(bytes, "m.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.json") && err.contains(reason), "{err}");
    }
    let f = fixture();
    let mut m = f.seal(1, &key(1));
    m.signature = "00".into();
    let err = SignedManifest::parse(&m.to_bytes().unwrap(), "m.json").unwrap_err();
    assert!(err.to_string().contains("64 bytes"), "{err}");
    let mut m = f.seal(1, &key(1));
    m.signed.entries.push(m.signed.entries[0].clone());
    let err = SignedManifest::parse(&m.to_bytes().unwrap(), "m.json").unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[test]
fn the_log_replays_and_catches_an_edited_line() {
    let f = fixture();
    let log = MeasurementLog::new(f.path("integrity/measurements.log"));
    let measured = measure(&f.targets);
    let first = log.append("seal", &measured).unwrap();
    let second = log.append("start", &measured).unwrap();
    assert_ne!(first, second);
    let text = fs::read_to_string(log.path()).unwrap();
    let replay = replay(&text).unwrap();
    assert_eq!(replay.lines.len(), 2 * measured.len());
    assert_eq!(replay.running, second);
    // Edit one line's hash: the running digest no longer holds.
    let edited = text.replacen(&measured[1].sha256, &"0".repeat(64), 1);
    assert!(
        replay_err(&edited).contains("line 2"),
        "{}",
        replay_err(&edited)
    );
    // Drop a line: the index gap is named.
    let dropped: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .flat_map(|(_, l)| [l, "\n"])
        .collect();
    assert!(
        replay_err(&dropped).contains("line 3"),
        "{}",
        replay_err(&dropped)
    );
}

fn replay_err(text: &str) -> String {
    replay(text).unwrap_err()
}

#[test]
fn the_log_rotates_and_continues_its_chain() {
    let f = fixture();
    let log = MeasurementLog::new(f.path("measurements.log"));
    let measured = measure(&f.targets);
    let mut last = String::new();
    while fs::metadata(log.path()).map_or(0, |m| m.len()) <= LOG_MAX {
        last = log.append("recheck", &measured).unwrap();
    }
    let after = log.append("recheck", &measured).unwrap();
    let rotated = fs::read_to_string(f.path("measurements.log.1")).unwrap();
    let current = fs::read_to_string(log.path()).unwrap();
    assert!(current.len() < rotated.len());
    assert_eq!(replay(&rotated).unwrap().running, last);
    // The rotated file and the current one replay as one chain.
    assert_eq!(
        replay(&format!("{rotated}{current}")).unwrap().running,
        after
    );
    // The current file alone replays from its first line's prev.
    assert_eq!(replay(&current).unwrap().running, after);
}

#[test]
fn arbitrary_log_text_never_panics() {
    for text in [
        "",
        "\n",
        "{}",
        "{\"index\":0}",
        &"x".repeat(LOG_LINE_MAX + 1),
    ] {
        let _ = replay(text);
    }
}
