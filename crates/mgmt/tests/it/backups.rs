//! Backups through the API: create and download, verify (origin alone, or contents with the
//! passphrase), refuse tampered and foreign backups, and restore — verified and staged while
//! the gateway runs, put in place by the next start (CR 7.3, CR 7.3 RE 1, CR 7.4).

use hyper::{Method, StatusCode};
use rampart_identity::{AccountName, Identity};
use serde_json::json;

use crate::harness::{Client, Harness, USER_PASSWORD};

const PASSPHRASE: &str = "backup passphrase kept in the safe";

async fn backup(admin: &Client) -> Vec<u8> {
    let r = admin
        .post("/api/v1/backups", json!({ "passphrase": PASSPHRASE }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/octet-stream");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".rbk")
    );
    assert_eq!(r.headers["x-rampart-backup-sha256"].len(), 64);
    r.body.to_vec()
}

async fn upload(
    client: &Client,
    path: &str,
    file: Vec<u8>,
    passphrase: Option<&str>,
    confirm: bool,
) -> crate::harness::Answer {
    let mut extra = Vec::new();
    if let Some(p) = passphrase {
        extra.push(("x-rampart-passphrase", p.to_owned()));
    }
    if confirm {
        extra.push(("x-rampart-confirm", "restore".to_owned()));
    }
    client
        .raw_with(
            Method::POST,
            path,
            Some(file),
            "application/octet-stream",
            &extra,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_verifies_and_a_damaged_or_foreign_one_is_refused() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let file = backup(&admin).await;

    let origin = upload(&admin, "/api/v1/backups/verify", file.clone(), None, false).await;
    assert_eq!(origin.status, StatusCode::OK, "{}", origin.text());
    assert_eq!(origin.json()["contents_verified"], false);
    let full = upload(
        &admin,
        "/api/v1/backups/verify",
        file.clone(),
        Some(PASSPHRASE),
        false,
    )
    .await;
    assert_eq!(full.json()["contents_verified"], true, "{}", full.text());
    assert!(full.json()["entries"].as_u64().unwrap() > 5);

    let wrong = upload(
        &admin,
        "/api/v1/backups/verify",
        file.clone(),
        Some("not the passphrase at all"),
        false,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.json()["error"]["code"], "bad-backup");
    for at in [20, file.len() / 2, file.len() - 10] {
        let mut flipped = file.clone();
        flipped[at] ^= 0x01;
        let r = upload(
            &admin,
            "/api/v1/backups/verify",
            flipped,
            Some(PASSPHRASE),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "byte {at}: {}",
            r.text()
        );
    }

    // Another device's backup: refused, for verify and restore, and nothing is staged.
    let other = Harness::start().await;
    let foreign = backup(&other.admin().await).await;
    let r = upload(
        &admin,
        "/api/v1/backups/verify",
        foreign.clone(),
        None,
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = upload(
        &admin,
        "/api/v1/backups/restore",
        foreign,
        Some(PASSPHRASE),
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(
        admin.get("/api/v1/backups/restore").await.status,
        StatusCode::NOT_FOUND
    );
    other.stop().await;

    // An engineer may back up but not restore (only admin holds backup.restore).
    let engineer = h.user(&admin, "eng", "engineer").await;
    assert_eq!(
        engineer
            .post("/api/v1/backups", json!({ "passphrase": PASSPHRASE }))
            .await
            .status,
        StatusCode::OK
    );
    let r = upload(
        &engineer,
        "/api/v1/backups/restore",
        file,
        Some(PASSPHRASE),
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_restore_brings_back_users_policy_keys_and_audit_continuity() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let _ = h.user(&admin, "before", "viewer").await;
    let policy_before = h.gateway.status().policy.sha256;
    let device_key = std::fs::read(h.data.file(rampart_vault::Entry::DeviceKey)).unwrap();
    let file = backup(&admin).await;

    // Changes after the backup, which the restore must undo.
    let _ = h.user(&admin, "after", "viewer").await;
    let r = upload(
        &admin,
        "/api/v1/backups/restore",
        file.clone(),
        Some(PASSPHRASE),
        false,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a restore needs confirming"
    );
    let r = upload(
        &admin,
        "/api/v1/backups/restore",
        file,
        Some(PASSPHRASE),
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["requested_by"], "admin");
    let staged = admin.get("/api/v1/backups/restore").await;
    assert_eq!(staged.status, StatusCode::OK);
    let events = admin
        .get("/api/v1/audit?category=backup_restore")
        .await
        .json();
    let actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"backup.create") && actions.contains(&"backup.restore-staged"),
        "{actions:?}"
    );

    // The next start puts it in place.
    let (_dir, root) = h.shut_down().await;
    let applied = rampart_backup::staged::apply_staged(&root)
        .unwrap()
        .expect("a staged restore");
    assert!(
        applied.replaced.join("identity.db").is_file(),
        "the replaced directory is kept"
    );
    assert!(
        rampart_backup::staged::apply_staged(&root)
            .unwrap()
            .is_none(),
        "applied once"
    );

    let data = rampart_vault::DataDir::open(&root).unwrap();
    assert_eq!(
        std::fs::read(data.file(rampart_vault::Entry::DeviceKey)).unwrap(),
        device_key
    );
    let policy = rampart_gateway::read_policy_file(&data.file(rampart_vault::Entry::Policy))
        .unwrap()
        .0;
    assert_eq!(policy.sha256_hex(), policy_before);
    let identity = Identity::builder(
        data.file(rampart_vault::Entry::Identity),
        std::sync::Arc::new(rampart_identity::MemoryRecorder::default()),
    )
    .open()
    .unwrap();
    let console = identity.local_console("test").unwrap();
    let names: Vec<String> = identity
        .list_accounts(&console)
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert!(names.contains(&"before".to_owned()), "{names:?}");
    assert!(!names.contains(&"after".to_owned()), "{names:?}");
    let _ = (AccountName::parse("before"), USER_PASSWORD);
    let key = data.device_key().unwrap().public_key();
    let report = rampart_audit::verify(&data.file(rampart_vault::Entry::Audit), &key).unwrap();
    assert!(report.is_intact(), "{}", report.statement());
}
