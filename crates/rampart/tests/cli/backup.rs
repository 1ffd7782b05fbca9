//! `rampart backup create|verify|restore`: exit codes, messages, audit events.

use std::process::Output;

use crate::util::{ok, rampart, stderr, stdout, with_stdin};

const PASS: &str = "correct horse battery staple\n";

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

/// A data directory with a user and some audit events, and a backup of it.
struct Setup {
    dir: tempfile::TempDir,
    data: String,
    file: String,
    key: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").to_str().unwrap().to_owned();
    let added = with_stdin(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "operator",
            "--data",
            &data,
            "--password-stdin",
        ],
        "plinth marmot cobalt fjord\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let file = dir.path().join("device.rbk").to_str().unwrap().to_owned();
    let out = with_stdin(
        &[
            "backup",
            "create",
            &file,
            "--data",
            &data,
            "--passphrase-stdin",
        ],
        PASS,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let key = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("device key: "))
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 64, "{text}");
    assert!(text.contains("sha256:"), "{text}");
    Setup {
        dir,
        data,
        file,
        key,
    }
}

fn actions(data: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(&["audit", "query", "--data", data, "--format", "json"])).unwrap()
}

#[test]
fn create_is_audited_without_the_passphrase_and_refuses_to_overwrite() {
    let s = setup();
    let events = actions(&s.data);
    let created = events
        .iter()
        .find(|e| e["action"] == "backup.create")
        .unwrap();
    assert_eq!(created["outcome"], "success");
    assert_eq!(created["target"], s.file.as_str());
    assert_eq!(created["details"]["device_key"], s.key.as_str());
    assert_eq!(created["details"]["sha256"].as_str().unwrap().len(), 64);
    assert!(!serde_json::to_string(&events).unwrap().contains("horse"));

    let again = with_stdin(
        &[
            "backup",
            "create",
            &s.file,
            "--data",
            &s.data,
            "--passphrase-stdin",
        ],
        PASS,
    );
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    let forced = with_stdin(
        &[
            "backup",
            "create",
            &s.file,
            "--data",
            &s.data,
            "--passphrase-stdin",
            "--force",
        ],
        PASS,
    );
    assert!(forced.status.success(), "{}", stderr(&forced));

    let fresh = s.dir.path().join("fresh.rbk");
    let fresh = fresh.to_str().unwrap();
    let weak = with_stdin(
        &[
            "backup",
            "create",
            fresh,
            "--data",
            &s.data,
            "--passphrase-stdin",
        ],
        "short\n",
    );
    assert_eq!(code(&weak), 2);
    assert!(stderr(&weak).contains("at least 12"), "{}", stderr(&weak));
    let missing = with_stdin(
        &[
            "backup",
            "create",
            fresh,
            "--data",
            "/nonexistent/rampart",
            "--passphrase-stdin",
        ],
        PASS,
    );
    assert_eq!(code(&missing), 2, "{}", stderr(&missing));
    assert!(!std::path::Path::new(fresh).exists());
}

/// Threat: a backup, which holds every private key, protected by a passphrase an attacker
/// holding the file guesses offline. The account password policy applies: exit 2 with the
/// reason, no file, and nothing of the passphrase in the trail.
#[test]
fn a_guessable_backup_passphrase_is_refused_with_the_reason() {
    let s = setup();
    let file = s.dir.path().join("weak.rbk");
    let file = file.to_str().unwrap();
    let before = actions(&s.data)
        .iter()
        .filter(|e| e["action"] == "backup.create")
        .count();
    for (passphrase, reason) in [
        (
            "aaaaaaaaaaaa",
            "too short: 12 characters, at least 15 required",
        ),
        ("aaaaaaaaaaaaaaaaaaaa", "too easy to guess"),
        // On the common-password lists the strength estimate carries.
        ("passwordpassword", "too easy to guess"),
        ("qwertyuiopasdfgh", "too easy to guess"),
    ] {
        let out = with_stdin(
            &[
                "backup",
                "create",
                file,
                "--data",
                &s.data,
                "--passphrase-stdin",
            ],
            &format!("{passphrase}\n"),
        );
        assert_eq!(code(&out), 2, "{passphrase}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("does not meet the password policy") && err.contains(reason),
            "{passphrase}: {err}"
        );
        assert!(!err.contains(passphrase), "{passphrase}: echoed");
        assert!(
            !std::path::Path::new(file).exists(),
            "{passphrase}: written"
        );
    }
    let events = actions(&s.data);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["action"] == "backup.create")
            .count(),
        before,
        "a refused passphrase creates nothing"
    );
    assert!(!serde_json::to_string(&events).unwrap().contains("qwerty"));
    let strong = with_stdin(
        &[
            "backup",
            "create",
            file,
            "--data",
            &s.data,
            "--passphrase-stdin",
        ],
        "plinth marmot cobalt fjord\n",
    );
    assert!(strong.status.success(), "{}", stderr(&strong));
    assert!(std::path::Path::new(file).is_file());
}

#[test]
fn verify_exit_codes_name_what_failed() {
    let s = setup();
    let text = ok(&["backup", "verify", &s.file, "--data", &s.data]);
    assert!(text.starts_with("signature OK"), "{text}");
    let full = with_stdin(
        &[
            "backup",
            "verify",
            &s.file,
            "--device-key",
            &s.key,
            "--passphrase-stdin",
        ],
        PASS,
    );
    assert!(full.status.success(), "{}", stderr(&full));
    assert!(
        stdout(&full).contains("match the manifest"),
        "{}",
        stdout(&full)
    );

    let wrong = with_stdin(
        &[
            "backup",
            "verify",
            &s.file,
            "--data",
            &s.data,
            "--passphrase-stdin",
        ],
        "correct horse battery stapler\n",
    );
    assert_eq!(code(&wrong), 1);
    assert!(
        stderr(&wrong).contains("wrong passphrase"),
        "{}",
        stderr(&wrong)
    );

    let mut bytes = std::fs::read(&s.file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    let bad = s.dir.path().join("bad.rbk");
    std::fs::write(&bad, &bytes).unwrap();
    let out = rampart(&["backup", "verify", bad.to_str().unwrap(), "--data", &s.data]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("bad signature"), "{}", stderr(&out));

    let other = s.dir.path().join("other");
    // Another device's data directory (a first write initialises it).
    ok(&[
        "audit",
        "append",
        "--data",
        other.to_str().unwrap(),
        "--category",
        "control_system",
        "--action",
        "init",
    ]);
    let out = rampart(&[
        "backup",
        "verify",
        &s.file,
        "--data",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("another device"), "{}", stderr(&out));

    let out = rampart(&["backup", "verify", "/nonexistent.rbk", "--data", &s.data]);
    assert_eq!(code(&out), 2);
    let out = rampart(&["backup", "verify", &s.file, "--device-key", "nothex"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("64 hex digits"), "{}", stderr(&out));
    let empty = s.dir.path().join("empty");
    let out = rampart(&[
        "backup",
        "verify",
        &s.file,
        "--data",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--device-key"), "{}", stderr(&out));
    let junk = s.dir.path().join("junk.rbk");
    std::fs::write(&junk, b"not a backup at all").unwrap();
    let out = rampart(&[
        "backup",
        "verify",
        junk.to_str().unwrap(),
        "--data",
        &s.data,
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not a Rampart backup"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn restore_after_a_wipe_brings_users_back_and_the_audit_trail_continues() {
    let s = setup();
    let public = s.dir.path().join("device.pub");
    std::fs::copy(format!("{}/keys/device.pub", s.data), &public).unwrap();
    std::fs::remove_dir_all(&s.data).unwrap();

    let args = [
        "backup",
        "restore",
        &s.file,
        "--data",
        &s.data,
        "--passphrase-stdin",
        "--yes",
    ];
    let out = with_stdin(&args, PASS);
    assert_eq!(code(&out), 2, "no trust anchor: {}", stderr(&out));
    assert!(stderr(&out).contains("device key"), "{}", stderr(&out));
    assert!(!std::path::Path::new(&s.data).exists());

    let out = with_stdin(
        &[&args[..], &["--device-key", public.to_str().unwrap()]].concat(),
        PASS,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("audit trail continues"),
        "{}",
        stdout(&out)
    );

    let users = ok(&["user", "list", "--data", &s.data, "--format", "json"]);
    assert!(users.contains("\"alice\""), "{users}");
    let report = ok(&["audit", "verify", "--data", &s.data]);
    assert!(report.contains("intact"), "{report}");
    let events = actions(&s.data);
    let restored = events
        .iter()
        .find(|e| e["action"] == "backup.restore")
        .unwrap();
    assert_eq!(restored["outcome"], "success");
    assert_eq!(restored["category"], "backup_restore");
    assert_eq!(restored["details"]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn restore_refuses_bad_backups_changes_nothing_and_records_the_refusal() {
    let s = setup();
    let mut bytes = std::fs::read(&s.file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let bad = s.dir.path().join("bad.rbk");
    std::fs::write(&bad, &bytes).unwrap();
    let users = ok(&["user", "list", "--data", &s.data]);
    let out = with_stdin(
        &[
            "backup",
            "restore",
            bad.to_str().unwrap(),
            "--data",
            &s.data,
            "--passphrase-stdin",
            "--yes",
        ],
        PASS,
    );
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("bad signature"), "{}", stderr(&out));
    let out = with_stdin(
        &[
            "backup",
            "restore",
            &s.file,
            "--data",
            &s.data,
            "--passphrase-stdin",
            "--yes",
        ],
        "correct horse battery stapler\n",
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ok(&["user", "list", "--data", &s.data]), users);
    let mut names: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["bad.rbk", "data", "device.rbk"],
        "no staging or replaced directory"
    );
    let refused: Vec<_> = actions(&s.data)
        .into_iter()
        .filter(|e| e["action"] == "backup.restore")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|e| e["outcome"] == "failure"));

    // Without --yes and without a terminal, nothing happens.
    let out = with_stdin(
        &[
            "backup",
            "restore",
            &s.file,
            "--data",
            &s.data,
            "--passphrase-stdin",
        ],
        PASS,
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));

    // A backup of another device is refused.
    let other = setup();
    let out = with_stdin(
        &[
            "backup",
            "restore",
            &other.file,
            "--data",
            &s.data,
            "--passphrase-stdin",
            "--yes",
        ],
        PASS,
    );
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("another device"), "{}", stderr(&out));
    let out = with_stdin(
        &[
            "backup",
            "restore",
            &other.file,
            "--data",
            &s.data,
            "--passphrase-stdin",
            "--yes",
            "--device-key",
            &other.key,
        ],
        PASS,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not the device key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ok(&["user", "list", "--data", &s.data]), users);
}
