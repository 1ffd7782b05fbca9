//! Secure updates through the management API (NDR 3.10, 3.12, 3.13): status, a check and a
//! download through TUF, an install into the other slot, rollback — each behind
//! `update.install` and audited.

use hyper::StatusCode;
use rampart_update::bundle::{BundleFile, FileRole, Release, write_bundle};
use rampart_update::device::{Channel, Device};
use rampart_update::repo::MakerRepo;

use crate::harness::Harness;

/// Publishes version `version` of a (tiny) bundle into the harness's supplier repository.
fn publish(h: &Harness, version: &str, security_version: u64) {
    let scratch = h.dir.path();
    let maker = MakerRepo::new(scratch.join("maker-repo"), scratch.join("maker-keys"));
    let now = rampart_audit::Clock::now(&rampart_audit::SystemClock::new());
    let path = scratch.join(format!("{version}.bundle"));
    let mut out = std::fs::File::create(&path).unwrap();
    let content = format!("the gateway binary {version}").into_bytes();
    write_bundle(
        &mut out,
        &Release {
            version: version.parse().unwrap(),
            security_version,
            target: format!(
                "{}-unknown-{}-gnu",
                std::env::consts::ARCH,
                std::env::consts::OS
            ),
            created: now,
        },
        &[BundleFile {
            name: "rampart".into(),
            role: FileRole::Binary,
            open: Box::new(move || Ok(Box::new(std::io::Cursor::new(content.clone())) as _)),
        }],
        &maker.release_key().unwrap(),
    )
    .unwrap();
    maker.add_bundle(&path, None, now).unwrap();
}

fn configure_channel(h: &Harness) {
    let update = h.data.dir(rampart_vault::Entry::Update).unwrap();
    Device::new(
        update,
        std::sync::Arc::new(rampart_audit::SystemClock::new()),
    )
    .set_channel(&Channel {
        format: "rampart-update-channel".into(),
        supplier: format!("file://{}", h.dir.path().join("maker-repo").display()),
        owner: None,
        ca: None,
    })
    .unwrap();
}

fn actions(h: &Harness) -> Vec<String> {
    h.audit
        .reader()
        .unwrap()
        .query(&rampart_audit::Query::default())
        .unwrap()
        .iter()
        .map(|e| e.action().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_checks_downloads_installs_and_rolls_back_an_update() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let status = admin.get("/api/v1/update").await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text());
    let status = status.json();
    assert_eq!(status["running_slot"], "a");
    assert_eq!(status["provisioned"], true);
    assert_eq!(status["boot_state"]["slots"]["a"]["state"], "committed");

    // No repository yet: a clear conflict, not a failure of the gateway.
    let answer = admin
        .post("/api/v1/update/check", serde_json::json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text());

    configure_channel(&h);
    publish(&h, "1.1.0", 2);
    let answer = admin
        .post("/api/v1/update/check", serde_json::json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["available"]["version"], "1.1.0");
    let answer = admin
        .post("/api/v1/update/install", serde_json::json!({}))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::CONFLICT,
        "nothing downloaded: {}",
        answer.text()
    );
    let answer = admin
        .post("/api/v1/update/download", serde_json::json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let answer = admin
        .post("/api/v1/update/install", serde_json::json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text());
    assert_eq!(answer.json()["slot"], "b");
    let status = admin.get("/api/v1/update").await.json();
    assert_eq!(status["boot_state"]["slots"]["b"]["state"], "trial");
    assert!(status["downloaded"].is_null(), "{status}");

    let answer = admin
        .post("/api/v1/update/rollback", serde_json::json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let status = admin.get("/api/v1/update").await.json();
    assert_eq!(status["boot_state"]["slots"]["b"]["state"], "failed");

    let report = admin.get("/api/v1/config-report").await.json();
    let setting = |id: &str| {
        report["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map_or_else(|| panic!("no setting {id}"), |s| s["value"].clone())
    };
    assert_eq!(setting("update.provisioned"), true);
    assert_eq!(setting("update.repository"), true);
    assert_eq!(setting("update.verified_boot"), true);
    assert_eq!(setting("update.security_version_floor"), 1);

    let actions = actions(&h);
    for action in [
        "update.checked",
        "update.downloaded",
        "update.installed",
        "update.rolled_back",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_holders_of_update_install_may_change_the_software() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let operator = h.user(&admin, "ops", "operator").await;
    for path in [
        "/api/v1/update/check",
        "/api/v1/update/download",
        "/api/v1/update/install",
        "/api/v1/update/rollback",
        "/api/v1/update/restart",
    ] {
        let answer = operator.post(path, serde_json::json!({})).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            answer.text()
        );
    }
    h.stop().await;
}
