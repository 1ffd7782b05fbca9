//! The TUF client against the attacks of the specification, each named after its threat:
//! repositories built with the test signer (`tuf_repo`) and read through the file fetcher.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_clock::ManualClock;
use rampart_update::fetch::FileFetcher;
use rampart_update::tuf::{Repository, TufError};
use serde_json::json;

use crate::tuf_repo::{FAR, NOW, Repo, file_url, sha256_hex};

struct Setup {
    _dir: tempfile::TempDir,
    repo: Repo,
    client: PathBuf,
    clock: ManualClock,
}

fn setup() -> Setup {
    setup_with(false)
}

fn setup_with(consistent: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::with_consistent(&dir.path().join("repo"), consistent);
    let client = dir.path().join("client");
    Repository::<FileFetcher>::init(&client, &repo.roots[0]).unwrap();
    Setup {
        repo,
        client,
        clock: ManualClock::new(NOW.parse::<jiff::Timestamp>().unwrap()),
        _dir: dir,
    }
}

impl Setup {
    fn load(&self) -> Repository<FileFetcher> {
        Repository::load(
            &self.client,
            &file_url(&self.repo.metadata),
            &file_url(&self.repo.targets_dir),
            FileFetcher,
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    fn refresh(&self) -> Result<Repository<FileFetcher>, TufError> {
        let mut client = self.load();
        client.refresh()?;
        Ok(client)
    }

    fn local(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.client.join(name)).ok()
    }

    fn download(&self, name: &str) -> Result<Vec<u8>, TufError> {
        let client = self.refresh()?;
        let info = client.target(name)?.expect("the target is listed");
        let mut out = Vec::new();
        client.download_target(&info, name, &mut out)?;
        Ok(out)
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_first_refresh_stores_the_top_level_roles_byte_for_byte_and_nothing_else() {
    let s = setup();
    s.refresh().unwrap();
    assert_eq!(
        files(&s.client),
        [
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );
    for name in [
        "root.json",
        "snapshot.json",
        "targets.json",
        "timestamp.json",
    ] {
        assert_eq!(s.local(name).unwrap(), s.repo.read(name), "{name}");
    }
}

#[test]
fn rollback_of_the_timestamp_is_refused_and_the_trusted_one_kept() {
    let mut s = setup();
    s.repo.new_release();
    s.refresh().unwrap();
    let trusted = s.local("timestamp.json").unwrap();
    s.repo.timestamp["version"] = json!(1);
    s.repo.publish_timestamp();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::Rollback { role, trusted: 2, new: 1 } if role == "timestamp"),
        "{error}"
    );
    assert_eq!(s.local("timestamp.json").unwrap(), trusted);
}

#[test]
fn an_equal_timestamp_version_keeps_the_trusted_file() {
    let mut s = setup();
    s.refresh().unwrap();
    let trusted = s.local("timestamp.json").unwrap();
    // Same version, other content (a later expiry): not taken, not rewritten.
    s.repo.timestamp["expires"] = json!("2099-01-01T00:00:00Z");
    s.repo.publish_timestamp();
    s.refresh().unwrap();
    assert_eq!(s.local("timestamp.json").unwrap(), trusted);
}

#[test]
fn rollback_of_the_snapshot_version_in_the_timestamp_is_refused() {
    let mut s = setup();
    s.repo.new_release();
    s.refresh().unwrap();
    // A newer timestamp naming an older snapshot.
    s.repo.bump("timestamp");
    s.repo.timestamp["meta"]["snapshot.json"] = json!({"version": 1});
    s.repo.publish_timestamp();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::Rollback { role, trusted: 2, new: 1 } if role == "snapshot"),
        "{error}"
    );
}

#[test]
fn rollback_of_targets_in_the_snapshot_is_refused() {
    let mut s = setup();
    s.repo.new_release();
    s.refresh().unwrap();
    s.repo.bump("snapshot");
    s.repo.bump("timestamp");
    s.repo.targets["version"] = json!(1);
    s.repo.publish();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::Rollback { role, trusted: 2, new: 1 } if role == "targets"),
        "{error}"
    );
}

#[test]
fn a_role_removed_from_the_snapshot_is_refused() {
    let mut s = setup();
    s.repo.delegate("targets", "team", 40, &["*"], false);
    s.repo.new_release();
    s.refresh().unwrap();
    s.repo.delegated.clear();
    s.repo.bump("snapshot");
    s.repo.bump("timestamp");
    s.repo.publish();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::RoleRemoved { role, .. } if role == "team"),
        "{error}"
    );
}

#[test]
fn freeze_an_expired_timestamp_is_refused() {
    let mut s = setup();
    s.repo.timestamp["expires"] = json!("2026-06-02T00:00:00Z");
    s.repo.bump("timestamp");
    s.repo.publish_timestamp();
    s.refresh().unwrap();
    s.clock.advance(jiff::SignedDuration::from_hours(25));
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::Expired { role, version: 2, .. } if role == "timestamp"),
        "{error}"
    );
}

#[test]
fn freeze_expired_snapshot_targets_and_root_are_refused() {
    for role in ["snapshot", "targets", "root"] {
        let mut s = setup();
        s.repo.role_mut(role)["expires"] = json!("2020-01-01T00:00:00Z");
        if role == "root" {
            s.repo.bump("root");
            s.repo.publish_root();
        } else {
            s.repo.new_release();
        }
        let error = s.refresh().unwrap_err();
        assert!(
            matches!(&error, TufError::Expired { role: r, .. } if r == role),
            "{role}: {error}"
        );
        if role != "root" {
            assert!(s.local(&format!("{role}.json")).is_none(), "{role} stored");
        }
    }
}

#[test]
fn mix_and_match_a_snapshot_of_another_version_is_refused() {
    let mut s = setup();
    s.repo.new_release();
    // The timestamp names snapshot 2, the server serves a snapshot 3 signed properly.
    s.repo.bump("snapshot");
    let timestamp = s.repo.timestamp.clone();
    s.repo.publish();
    s.repo.timestamp = timestamp;
    s.repo.timestamp["meta"]["snapshot.json"] = json!({"version": 2});
    s.repo.publish_timestamp();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::VersionMismatch { role, expected: 2, new: 3 } if role == "snapshot"),
        "{error}"
    );
}

#[test]
fn mix_and_match_targets_of_another_version_are_refused() {
    let mut s = setup();
    s.repo.with_hashes = false;
    s.repo.new_release();
    // The snapshot says targets 2; targets.json is replaced by a properly signed version 3.
    s.repo.bump("targets");
    let targets = crate::tuf_repo::sign(&s.repo.targets, &s.repo.role_keys("targets"));
    std::fs::write(s.repo.metadata.join("targets.json"), targets).unwrap();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::VersionMismatch { role, expected: 2, new: 3 } if role == "targets"),
        "{error}"
    );
}

#[test]
fn a_snapshot_whose_hash_differs_from_the_timestamp_is_refused() {
    let mut s = setup();
    s.repo.new_release();
    let mut bytes = s.repo.read("snapshot.json");
    // Same length, one whitespace byte changed: the signature still holds, the hash not.
    let at = bytes.iter().position(|&b| b == b' ').unwrap();
    bytes[at] = b'\t';
    std::fs::write(s.repo.metadata.join("snapshot.json"), bytes).unwrap();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::HashMismatch { what, algorithm } if what == "snapshot" && algorithm == "sha256"),
        "{error}"
    );
}

#[test]
fn threshold_not_met_a_timestamp_signed_by_another_key_is_refused() {
    let mut s = setup();
    s.repo.bump("timestamp");
    let bytes = crate::tuf_repo::sign(&s.repo.timestamp, &[crate::tuf_repo::key(99)]);
    std::fs::write(s.repo.metadata.join("timestamp.json"), bytes).unwrap();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::ThresholdNotMet { role, valid: 0, threshold: 1 } if role == "timestamp"),
        "{error}"
    );
    assert!(s.local("timestamp.json").is_none());
}

#[test]
fn threshold_not_met_two_signatures_of_one_key_count_once() {
    let mut s = setup();
    // Threshold 2 for targets, with one key listed: one key's signature cannot meet it.
    s.repo.root["roles"]["targets"]["threshold"] = json!(2);
    s.repo.bump("root");
    s.repo.publish_root();
    s.repo.new_release();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::ThresholdNotMet { role, valid: 1, threshold: 2 } if role == "targets"),
        "{error}"
    );
}

#[test]
fn a_skipped_root_version_is_refused() {
    let mut s = setup();
    // 2.root.json holds a root of version 3.
    s.repo.rotate("timestamp", &[50]);
    s.repo.rotate("timestamp", &[51]);
    std::fs::copy(
        s.repo.metadata.join("3.root.json"),
        s.repo.metadata.join("2.root.json"),
    )
    .unwrap();
    std::fs::remove_file(s.repo.metadata.join("3.root.json")).unwrap();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(
            &error,
            TufError::ThresholdNotMet { .. } | TufError::VersionMismatch { .. }
        ),
        "{error}"
    );
    assert_eq!(s.local("root.json").unwrap(), s.repo.roots[0]);
}

#[test]
fn a_root_of_the_wrong_version_signed_by_the_right_keys_is_refused() {
    let mut s = setup();
    s.repo.root["version"] = json!(3);
    let bytes = crate::tuf_repo::sign(&s.repo.root, &s.repo.role_keys("root"));
    std::fs::write(s.repo.metadata.join("2.root.json"), bytes).unwrap();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::VersionMismatch { role, expected: 2, new: 3 } if role == "root"),
        "{error}"
    );
}

#[test]
fn root_rotation_n_to_n_plus_2_needs_old_and_new_keys() {
    let mut s = setup();
    s.refresh().unwrap();
    s.repo.rotate("root", &[60]);
    s.repo.rotate("root", &[61]);
    s.repo.new_release();
    let client = s.refresh().unwrap();
    assert_eq!(client.trusted_versions().root.version, 3);
    assert_eq!(s.local("root.json").unwrap(), s.repo.roots[2]);

    // Version 4 signed only by the new key: the old root's threshold is not met.
    let mut s2 = setup();
    s2.repo.keys.insert("root".into(), vec![62]);
    s2.repo.root = s2.repo.root_signed(2, false);
    s2.repo.publish_root();
    let error = s2.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::ThresholdNotMet { role, .. } if role == "root"),
        "{error}"
    );
}

#[test]
fn fast_forward_recovery_after_a_timestamp_key_rotation() {
    let mut s = setup();
    // An attacker with the old timestamp key pushed the version up to 1000.
    s.repo.timestamp["version"] = json!(1000);
    s.repo.publish_timestamp();
    s.refresh().unwrap();
    // The maker rotates the timestamp key and goes on at version 2.
    s.repo.rotate("timestamp", &[70]);
    s.repo.timestamp["version"] = json!(2);
    s.repo.publish_timestamp();
    let client = s.refresh().unwrap();
    assert_eq!(client.trusted_versions().timestamp.unwrap().version, 2);
}

#[test]
fn endless_data_a_timestamp_over_its_cap_is_refused() {
    let s = setup();
    let mut big = s.repo.read("timestamp.json");
    big.resize(64 * 1024, b' ');
    std::fs::write(s.repo.metadata.join("timestamp.json"), big).unwrap();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::LengthExceeded { what, .. } if what == "timestamp"),
        "{error}"
    );
}

#[test]
fn endless_data_a_target_longer_than_declared_is_refused() {
    let mut s = setup();
    s.repo.add_target("targets", "app.bin", b"the update");
    s.repo.new_release();
    std::fs::write(s.repo.targets_dir.join("app.bin"), b"the update and more").unwrap();
    let error = s.download("app.bin").unwrap_err();
    assert!(
        matches!(&error, TufError::LengthExceeded { what, max: 10 } if what == "app.bin"),
        "{error}"
    );
    std::fs::write(s.repo.targets_dir.join("app.bin"), b"short").unwrap();
    let error = s.download("app.bin").unwrap_err();
    assert!(matches!(&error, TufError::LengthMismatch { .. }), "{error}");
}

#[test]
fn a_target_with_a_wrong_hash_is_refused_and_a_good_one_downloads() {
    let mut s = setup();
    s.repo.add_target("targets", "app.bin", b"the update");
    s.repo.new_release();
    assert_eq!(s.download("app.bin").unwrap(), b"the update");
    std::fs::write(s.repo.targets_dir.join("app.bin"), b"the UPDATE").unwrap();
    let error = s.download("app.bin").unwrap_err();
    assert!(
        matches!(&error, TufError::HashMismatch { what, algorithm } if what == "app.bin" && algorithm == "sha256"),
        "{error}"
    );
}

#[test]
fn a_target_with_only_unknown_hash_algorithms_is_refused() {
    let mut s = setup();
    s.repo.add_target("targets", "app.bin", b"the update");
    s.repo.targets["targets"]["app.bin"]["hashes"] = json!({"md5": "00"});
    s.repo.new_release();
    let error = s.download("app.bin").unwrap_err();
    assert!(matches!(&error, TufError::NoKnownHash { .. }), "{error}");

    // An unknown algorithm beside a known, matching one is fine; a wrong sha512 is not.
    s.repo.targets["targets"]["app.bin"]["hashes"] =
        json!({"md5": "00", "sha256": sha256_hex(b"the update")});
    s.repo.new_release();
    assert_eq!(s.download("app.bin").unwrap(), b"the update");
    s.repo.targets["targets"]["app.bin"]["hashes"]["sha512"] = json!("00".repeat(64));
    s.repo.new_release();
    let error = s.download("app.bin").unwrap_err();
    assert!(
        matches!(&error, TufError::HashMismatch { algorithm, .. } if algorithm == "sha512"),
        "{error}"
    );
}

#[test]
fn delegations_match_paths_and_stop_at_terminating_roles() {
    let mut s = setup();
    s.repo.delegate("targets", "a/b", 41, &["firmware/*"], true);
    s.repo.delegate("targets", "other", 42, &["*"], false);
    // "other" also lists firmware/one.bin, with other content (the file served is a/b's):
    // the terminating "a/b" is searched first and stops the search.
    s.repo.add_target("other", "firmware/one.bin", b"evil");
    s.repo.add_target("a/b", "firmware/one.bin", b"one");
    s.repo.add_target("other", "two.bin", b"two");
    s.repo.add_target("other", "firmware/three.bin", b"three");
    s.repo.new_release();
    assert_eq!(s.download("firmware/one.bin").unwrap(), b"one");
    assert_eq!(s.download("two.bin").unwrap(), b"two");
    // Terminating "a/b" matches firmware/* but lacks three.bin: "other" is not consulted.
    let client = s.refresh().unwrap();
    assert_eq!(client.target("firmware/three.bin").unwrap(), None);
    assert_eq!(client.target("missing").unwrap(), None);
    // The delegated role is stored under its percent-encoded name, byte for byte.
    assert_eq!(s.local("a%2Fb.json").unwrap(), s.repo.read("a%2Fb.json"));
}

#[test]
fn a_delegated_role_signed_by_a_key_it_was_not_given_is_refused() {
    let mut s = setup();
    s.repo.delegate("targets", "team", 43, &["*"], false);
    s.repo.add_target("team", "x.bin", b"x");
    s.repo.delegated_keys.insert("team".into(), vec![44]);
    s.repo.new_release();
    let client = s.refresh().unwrap();
    let error = client.target("x.bin").unwrap_err();
    assert!(
        matches!(&error, TufError::ThresholdNotMet { role, .. } if role == "team"),
        "{error}"
    );
    assert!(s.local("team.json").is_none());
}

#[test]
fn consistent_snapshots_fetch_versioned_metadata_and_hash_prefixed_targets() {
    let mut s = setup_with(true);
    s.repo.add_target("targets", "dir/app.bin", b"consistent");
    s.repo.new_release();
    // Only versioned names exist for snapshot and targets, only HASH.NAME for the target.
    std::fs::remove_file(s.repo.metadata.join("snapshot.json")).unwrap();
    std::fs::remove_file(s.repo.metadata.join("targets.json")).unwrap();
    std::fs::remove_file(s.repo.targets_dir.join("dir/app.bin")).unwrap();
    assert_eq!(s.download("dir/app.bin").unwrap(), b"consistent");
    assert_eq!(
        s.local("snapshot.json").unwrap(),
        s.repo.read("2.snapshot.json")
    );
}

#[test]
fn metadata_is_stored_only_after_verification() {
    let mut s = setup();
    s.refresh().unwrap();
    let before: Vec<(String, Vec<u8>)> = files(&s.client)
        .into_iter()
        .map(|n| (n.clone(), s.local(&n).unwrap()))
        .collect();
    // A new release whose targets are signed by the wrong key.
    s.repo.keys.insert("targets".into(), vec![98]);
    s.repo.new_release();
    assert!(s.refresh().is_err());
    // Timestamp and snapshot moved on (they verified); targets did not.
    assert_eq!(s.local("targets.json").unwrap(), before[2].1);
    assert_eq!(
        s.local("snapshot.json").unwrap(),
        s.repo.read("snapshot.json")
    );
    assert_eq!(
        files(&s.client),
        [
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );
}

#[test]
fn targets_are_refused_before_a_refresh_and_leftovers_are_cleaned() {
    let s = setup();
    std::fs::write(s.client.join("timestamp.json.tmp-1"), b"partial").unwrap();
    let client = s.load();
    assert!(matches!(client.target("x"), Err(TufError::NotRefreshed)));
    assert_eq!(files(&s.client), ["root.json"]);
    let _ = FAR;
}

#[test]
fn threshold_not_met_one_key_listed_under_two_key_ids_counts_once() {
    let mut s = setup();
    let (id, value) = crate::tuf_repo::key_json(&crate::tuf_repo::key(4));
    s.repo.root["keys"]["alias"] = value;
    s.repo.root["roles"]["targets"]["keyids"] = json!([id, "alias"]);
    s.repo.root["roles"]["targets"]["threshold"] = json!(2);
    s.repo.bump("root");
    s.repo.publish_root();
    s.repo.new_release();
    // The same signature under both key ids.
    let path = s.repo.metadata.join("targets.json");
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut alias = envelope["signatures"][0].clone();
    alias["keyid"] = json!("alias");
    envelope["signatures"].as_array_mut().unwrap().push(alias);
    std::fs::write(&path, serde_json::to_vec(&envelope).unwrap()).unwrap();
    s.repo.snapshot["meta"]["targets.json"] = json!({"version": 2});
    s.repo.publish_snapshot_and_timestamp();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(&error, TufError::ThresholdNotMet { role, valid: 1, threshold: 2 } if role == "targets"),
        "{error}"
    );
}

#[test]
fn succinct_hash_bins_lead_to_the_one_bin_of_a_target() {
    let mut s = setup();
    let (id, value) = crate::tuf_repo::key_json(&crate::tuf_repo::key(45));
    s.repo.targets["delegations"] = json!({"keys": {&id: value}, "succinct_roles":
        {"keyids": [&id], "threshold": 1, "bit_length": 2, "name_prefix": "bin"}});
    for bin in 0..4 {
        let name = format!("bin-{bin:x}");
        s.repo.delegated.insert(
            name.clone(),
            json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                "expires": FAR, "targets": {}}),
        );
        s.repo.delegated_keys.insert(name, vec![45]);
    }
    let target = "firmware.bin";
    let first = u8::from_str_radix(&sha256_hex(target.as_bytes())[..2], 16).unwrap();
    let bin = format!("bin-{:x}", first >> 6);
    s.repo.add_target(&bin, target, b"binned");
    s.repo.new_release();
    assert_eq!(s.download(target).unwrap(), b"binned");
    assert!(s.local(&format!("{bin}.json")).is_some());
    // Only the responsible bin was fetched.
    let bins = files(&s.client)
        .into_iter()
        .filter(|f| f.starts_with("bin-"))
        .count();
    assert_eq!(bins, 1);
}

#[test]
fn an_unsigned_initial_root_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(&dir.path().join("repo"));
    let mut envelope: serde_json::Value = serde_json::from_slice(&repo.roots[0]).unwrap();
    envelope["signatures"][0]["sig"] = json!("00".repeat(64));
    let bytes = serde_json::to_vec(&envelope).unwrap();
    let client = dir.path().join("client");
    let error = Repository::<FileFetcher>::init(&client, &bytes).unwrap_err();
    assert!(
        matches!(&error, TufError::ThresholdNotMet { role, .. } if role == "root"),
        "{error}"
    );
    // Even if such a file is put there by hand, loading refuses it.
    std::fs::create_dir_all(&client).unwrap();
    std::fs::write(client.join("root.json"), &bytes).unwrap();
    let loaded = Repository::load(
        &client,
        "http://127.0.0.1:1/",
        "http://127.0.0.1:1/",
        FileFetcher,
        Arc::new(ManualClock::new(NOW.parse::<jiff::Timestamp>().unwrap())),
    );
    assert!(loaded.is_err());
}

#[test]
fn root_rotations_are_followed_at_most_32_at_a_time() {
    let mut s = setup();
    for seed in 0..33u8 {
        s.repo.rotate("root", &[100 + seed]);
    }
    s.repo.new_release();
    let error = s.refresh().unwrap_err();
    assert!(
        matches!(error, TufError::TooManyRotations { max: 32 }),
        "{error}"
    );
    // The 32 verified versions are kept: the next refresh goes on from version 33.
    assert_eq!(s.local("root.json").unwrap(), s.repo.roots[32]);
    let client = s.refresh().unwrap();
    assert_eq!(client.trusted_versions().root.version, 34);
}

#[test]
fn fast_forward_recovery_after_a_snapshot_key_rotation() {
    let mut s = setup();
    s.repo.snapshot["version"] = json!(500);
    s.repo.publish();
    s.refresh().unwrap();
    s.repo.rotate("snapshot", &[71]);
    s.repo.snapshot["version"] = json!(2);
    s.repo.bump("timestamp");
    s.repo.publish();
    let client = s.refresh().unwrap();
    assert_eq!(client.trusted_versions().snapshot.unwrap().version, 2);
}

/// A file fetcher that records the metadata files asked for.
#[derive(Debug, Default)]
struct Recording(std::sync::Mutex<Vec<String>>);

impl rampart_update::fetch::Fetcher for Recording {
    fn fetch(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, rampart_update::fetch::FetchError> {
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        self.0.lock().unwrap().push(name);
        FileFetcher.fetch(url, max_length, dest)
    }
}

#[test]
fn delegations_are_searched_pre_order_depth_first_each_role_once() {
    // (delegator, role, paths, terminating), then the roles fetched looking for "missing".
    type Delegation<'a> = (&'a str, &'a str, &'a str, bool);
    let cases: &[(&[Delegation<'_>], &[&str])] = &[
        (
            &[("targets", "A", "*", false), ("targets", "B", "*", false)],
            &["A", "B"],
        ),
        (
            &[
                ("targets", "A", "*", false),
                ("targets", "B", "*", false),
                ("A", "C", "*", false),
                ("A", "D", "*", false),
            ],
            &["A", "C", "D", "B"],
        ),
        (
            &[
                ("targets", "A", "*", false),
                ("targets", "B", "*", false),
                ("A", "C", "*", true),
                ("A", "D", "*", false),
            ],
            &["A", "C"],
        ),
        (
            &[
                ("targets", "A", "*.py", false),
                ("targets", "B", "*", false),
                ("A", "C", "*", false),
            ],
            &["B"],
        ),
        (
            &[
                ("targets", "A", "*", false),
                ("targets", "B", "*", false),
                ("B", "C", "*", false),
                ("C", "D", "*", false),
                ("D", "B", "*", false),
            ],
            &["A", "B", "C", "D"],
        ),
        (
            &[
                ("targets", "A", "*", false),
                ("targets", "B", "*", false),
                ("B", "C", "*", false),
                ("A", "C", "*", false),
            ],
            &["A", "C", "B"],
        ),
    ];
    for (n, (delegations, expected)) in cases.iter().enumerate() {
        let mut s = setup();
        for (seed, (delegator, role, paths, terminating)) in delegations.iter().enumerate() {
            if s.repo.delegated.contains_key(*role) {
                // A second delegation to an existing role: only the delegator's entry.
                let keep = s.repo.delegated[*role].clone();
                let keys = s.repo.delegated_keys[*role].clone();
                s.repo
                    .delegate(delegator, role, keys[0], &[paths], *terminating);
                s.repo.delegated.insert((*role).to_owned(), keep);
            } else {
                let seed = 80 + u8::try_from(seed).unwrap();
                s.repo
                    .delegate(delegator, role, seed, &[paths], *terminating);
            }
        }
        s.repo.new_release();
        let mut client = Repository::load(
            &s.client,
            &file_url(&s.repo.metadata),
            &file_url(&s.repo.targets_dir),
            Recording::default(),
            Arc::new(s.clock.clone()),
        )
        .unwrap();
        client.refresh().unwrap();
        assert_eq!(client.target("missing").unwrap(), None);
        let fetched: Vec<String> = client_fetches(&client)
            .into_iter()
            .skip(4)
            .map(|f| f.trim_end_matches(".json").to_owned())
            .collect();
        assert_eq!(fetched, *expected, "case {n}");
    }
}

fn client_fetches(client: &Repository<Recording>) -> Vec<String> {
    client.fetcher().0.lock().unwrap().clone()
}
