//! The conformance binary `rampart-tuf-client` through its command line, on repositories of
//! the test signer read with `file://` URLs.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::tuf_repo::{Repo, file_url};

fn client(args: &[&str]) -> i32 {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart-tuf-client"))
        .args(args)
        .output()
        .unwrap();
    output.status.code().unwrap_or(-1)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn init_refresh_download_and_cache_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::new(&dir.path().join("repo"));
    repo.add_target("targets", "dir/app bin", b"version 1");
    repo.new_release();
    let root = dir.path().join("root.json");
    std::fs::write(&root, &repo.roots[0]).unwrap();
    let metadata = dir.path().join("metadata");
    let targets = dir.path().join("targets");
    let meta_url = file_url(&repo.metadata);
    let target_url = file_url(&repo.targets_dir);

    assert_eq!(
        client(&["--metadata-dir", path(&metadata), "init", path(&root)]),
        0
    );
    assert_eq!(
        client(&[
            "--metadata-dir",
            path(&metadata),
            "--metadata-url",
            &meta_url,
            "refresh"
        ]),
        0
    );
    let download = |name: &str| {
        client(&[
            "--metadata-dir",
            path(&metadata),
            "--metadata-url",
            &meta_url,
            "--target-name",
            name,
            "--target-base-url",
            &target_url,
            "--target-dir",
            path(&targets),
            "download",
        ])
    };
    assert_eq!(download("dir/app bin"), 0);
    let stored = targets.join("dir%2Fapp%20bin");
    assert_eq!(std::fs::read(&stored).unwrap(), b"version 1");

    // Cached: with the served file gone, the verified local copy is enough.
    std::fs::remove_file(repo.targets_dir.join("dir/app bin")).unwrap();
    assert_eq!(download("dir/app bin"), 0);

    // Changed: replaced under the same name.
    repo.add_target("targets", "dir/app bin", b"version 2");
    repo.new_release();
    assert_eq!(download("dir/app bin"), 0);
    assert_eq!(std::fs::read(&stored).unwrap(), b"version 2");
    let mut names: Vec<_> = std::fs::read_dir(&targets)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["dir%2Fapp%20bin"]);

    // Failures exit 1: an unknown target, a rollback, a usage error.
    assert_eq!(download("missing"), 1);
    repo.timestamp["version"] = json!(1);
    repo.publish_timestamp();
    assert_eq!(
        client(&[
            "--metadata-dir",
            path(&metadata),
            "--metadata-url",
            &meta_url,
            "refresh"
        ]),
        1
    );
    assert_eq!(client(&["refresh"]), 1);
    assert_eq!(
        client(&["--metadata-dir", path(&metadata), "init", "/nonexistent"]),
        1
    );
}
