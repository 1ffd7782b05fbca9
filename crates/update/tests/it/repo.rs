//! The maker's repository: built with tough's editor, then loaded and verified by tough's own
//! client (an independent reader of what we wrote), through key rotations.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use rampart_update::bundle::{BundleFile, FileRole, Release, write_bundle};
use rampart_update::repo::{InitOptions, MakerRepo, Role, Threshold};

fn now() -> jiff::Timestamp {
    // Metadata must be valid for tough's client, which reads the system clock.
    rampart_clock::Clock::now(&rampart_clock::SystemClock::new())
}

fn bundle(
    repo: &MakerRepo,
    dir: &Path,
    version: &str,
    security_version: u64,
) -> std::path::PathBuf {
    let key = repo.release_key().unwrap();
    let path = dir.join(format!("{version}.bundle"));
    let mut out = fs::File::create(&path).unwrap();
    let binary = format!("binary {version}").into_bytes();
    write_bundle(
        &mut out,
        &Release {
            version: version.parse().unwrap(),
            security_version,
            target: "x86_64-unknown-linux-gnu".into(),
            created: now(),
        },
        &[BundleFile {
            name: "rampart".into(),
            role: FileRole::Binary,
            open: Box::new(move || Ok(Box::new(std::io::Cursor::new(binary.clone())) as _)),
        }],
        &key,
    )
    .unwrap();
    path
}

/// Loads the repository with tough's client from a root file, as a device would.
fn load_with_tough(repo: &Path, trusted_root: &[u8]) -> tough::Repository {
    let metadata = url::Url::from_directory_path(repo.join("metadata")).unwrap();
    let targets = url::Url::from_directory_path(repo.join("targets")).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(tough::RepositoryLoader::new(&trusted_root, metadata, targets).load())
        .unwrap()
}

#[test]
fn a_new_repository_with_a_bundle_verifies_under_tough() {
    let dir = tempfile::tempdir().unwrap();
    let repo = MakerRepo::new(dir.path().join("repo"), dir.path().join("keys"));
    let status = repo.init(&InitOptions::new(now())).unwrap();
    assert_eq!(status.versions["root"], 1);
    assert_eq!(status.versions["timestamp"], 1);
    let trusted_root = fs::read(dir.path().join("repo/trust/root.json")).unwrap();

    let path = bundle(&repo, dir.path(), "1.0.0", 1);
    let (name, verified, status) = repo.add_bundle(&path, None, now()).unwrap();
    assert_eq!(name, "rampart-1.0.0-x86_64-unknown-linux-gnu.bundle");
    assert_eq!(verified.manifest.security_version, 1);
    assert_eq!(status.versions["targets"], 2);
    assert_eq!(
        status.targets[&name].custom["rampart"]["security_version"],
        1
    );

    let loaded = load_with_tough(&dir.path().join("repo"), &trusted_root);
    assert!(
        loaded
            .targets()
            .signed
            .targets
            .keys()
            .any(|t| t.raw() == name)
    );
    // The key files are private.
    for entry in fs::read_dir(dir.path().join("keys")).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn every_role_rotates_and_an_old_root_still_walks_forward() {
    let dir = tempfile::tempdir().unwrap();
    let repo = MakerRepo::new(dir.path().join("repo"), dir.path().join("keys"));
    let mut options = InitOptions::new(now());
    options.thresholds.insert(
        Role::Root,
        Threshold {
            keys: 2,
            threshold: 2,
        },
    );
    repo.init(&options).unwrap();
    let first_root = fs::read(dir.path().join("repo/trust/root.json")).unwrap();
    let before = repo.status().unwrap();
    for role in [Role::Timestamp, Role::Snapshot, Role::Targets, Role::Root] {
        let status = repo.rotate(role, now()).unwrap();
        assert_ne!(
            status.keys[role.as_str()].0,
            before.keys[role.as_str()].0,
            "{role} keys unchanged"
        );
    }
    let status = repo.status().unwrap();
    assert_eq!(status.versions["root"], 5);
    assert_eq!(status.keys["root"].1, 2);
    assert_eq!(status.keys["root"].0.len(), 2);
    // A device that trusts root v1 reaches v5 one version at a time.
    let loaded = load_with_tough(&dir.path().join("repo"), &first_root);
    assert_eq!(loaded.root().signed.version.get(), 5);
    // Retired keys are kept apart, not used.
    let names: Vec<String> = fs::read_dir(dir.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.iter().filter(|n| n.ends_with(".retired")).count(), 5);
}

#[test]
fn a_bundle_not_signed_by_the_release_key_is_not_published() {
    let dir = tempfile::tempdir().unwrap();
    let repo = MakerRepo::new(dir.path().join("repo"), dir.path().join("keys"));
    repo.init(&InitOptions::new(now())).unwrap();
    let other = MakerRepo::new(dir.path().join("other"), dir.path().join("other-keys"));
    other.init(&InitOptions::new(now())).unwrap();
    let foreign = bundle(&other, dir.path(), "9.9.9", 9);
    let err = repo.add_bundle(&foreign, None, now()).unwrap_err();
    assert!(
        err.to_string().contains("not a trusted release key"),
        "{err}"
    );
    assert!(repo.status().unwrap().targets.is_empty());
}

#[test]
fn publish_copies_targets_before_metadata_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let repo = MakerRepo::new(dir.path().join("repo"), dir.path().join("keys"));
    repo.init(&InitOptions::new(now())).unwrap();
    let path = bundle(&repo, dir.path(), "1.0.0", 1);
    repo.add_bundle(&path, None, now()).unwrap();
    let web = dir.path().join("web");
    let copied = repo.publish(&web).unwrap();
    assert!(copied >= 5, "{copied}");
    assert_eq!(
        repo.publish(&web).unwrap(),
        1,
        "only the timestamp is rewritten"
    );
    let trusted_root = fs::read(dir.path().join("repo/trust/root.json")).unwrap();
    load_with_tough(&web, &trusted_root);
}

#[test]
fn init_refuses_an_existing_repository_or_key_directory() {
    let dir = tempfile::tempdir().unwrap();
    let repo = MakerRepo::new(dir.path().join("repo"), dir.path().join("keys"));
    repo.init(&InitOptions::new(now())).unwrap();
    assert!(repo.init(&InitOptions::new(now())).is_err());
    let again = MakerRepo::new(dir.path().join("repo2"), dir.path().join("keys"));
    let err = again.init(&InitOptions::new(now())).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}
