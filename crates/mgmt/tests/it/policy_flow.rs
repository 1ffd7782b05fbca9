//! Policy view, validate (errors at the line), stage, diff and apply — alone and with dual
//! approval — and the audit trail showing the change.

use hyper::StatusCode;
use rampart_identity::{IdentityConfig, Permission};
use serde_json::json;

use crate::harness::{Harness, Options};

fn edited(text: &str) -> String {
    // A real edit: the default policy's rate limit, halved.
    let mut out = String::new();
    let mut changed = false;
    for line in text.lines() {
        if !changed && line.trim_start().starts_with("requests_per_second") {
            out.push_str("requests_per_second = 100\n");
            changed = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(changed, "the default policy sets requests_per_second");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_stage_diff_apply_and_audit() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let current = admin.get("/api/v1/policy").await.json();
    let text = current["text"].as_str().unwrap().to_owned();
    assert_eq!(current["sha256"].as_str().unwrap().len(), 64);

    // Errors come with line and column.
    let broken = format!("{text}\n[[roles]]\nname = \"x\"\nunknown_key = 1\n");
    let v = admin
        .post("/api/v1/policy/validate", json!({ "text": broken }))
        .await
        .json();
    assert_eq!(v["valid"], false);
    let problem = &v["problems"][0];
    assert_eq!(problem["level"], "error");
    assert!(
        problem["line"].as_u64().unwrap() > text.lines().count() as u64,
        "{problem}"
    );
    let r = admin
        .put("/api/v1/policy/staged", json!({ "text": broken }))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line")
    );

    let new_text = edited(&text);
    let staged = admin
        .put("/api/v1/policy/staged", json!({ "text": new_text }))
        .await;
    assert_eq!(staged.status, StatusCode::OK, "{}", staged.text());
    let sha = staged.json()["sha256"].as_str().unwrap().to_owned();
    let diff = admin.get("/api/v1/policy/diff").await.json();
    let unified = diff["unified"].as_str().unwrap();
    assert!(unified.contains("+requests_per_second = 100"), "{unified}");

    // Applying checks that the reviewed version is the staged one.
    let r = admin
        .post("/api/v1/policy/apply", json!({ "sha256": "0".repeat(64) }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let old_sha = h.gateway.status().policy.sha256;
    let r = admin
        .post("/api/v1/policy/apply", json!({ "sha256": sha }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["new_sha256"], sha.as_str());
    assert_eq!(h.gateway.status().policy.sha256, sha);
    assert_eq!(h.gateway.requests_per_second(), 100);
    // Persisted for the next start, and the staging area is empty again.
    let on_disk = std::fs::read_to_string(h.gateway.policy_path()).unwrap();
    assert_eq!(on_disk, new_text);
    assert_eq!(
        admin.get("/api/v1/policy/staged").await.status,
        StatusCode::NOT_FOUND
    );

    // The audit view shows who applied it, and the gateway's reload with both hashes.
    let events = admin
        .get("/api/v1/audit?category=configuration_change&limit=1000")
        .await
        .json();
    let events = events["events"].as_array().unwrap();
    let apply = events
        .iter()
        .find(|e| e["action"] == "policy.apply")
        .expect("policy.apply");
    assert_eq!(apply["actor"]["name"], "admin");
    assert_eq!(apply["details"]["new_sha256"], sha.as_str());
    let reload = events
        .iter()
        .find(|e| e["action"] == "policy.reload" && e["outcome"] == "success")
        .expect("policy.reload");
    assert_eq!(reload["details"]["old_sha256"], old_sha.as_str());
    assert_eq!(reload["details"]["new_sha256"], sha.as_str());
    let verify = admin.post("/api/v1/audit/verify", json!({})).await.json();
    assert_eq!(verify["intact"], true, "{verify}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_dual_approval_a_second_administrator_must_approve() {
    let mut options = Options::default();
    let mut identity = options.identity.clone();
    identity.approvals.required_for = [Permission::PolicyApply].into_iter().collect();
    options.identity = IdentityConfig { ..identity };
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    let second = h.user(&admin, "second-admin", "admin").await;
    let text = admin.get("/api/v1/policy").await.json()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let staged = admin
        .put("/api/v1/policy/staged", json!({ "text": edited(&text) }))
        .await
        .json();
    let sha = staged["sha256"].as_str().unwrap().to_owned();

    let r = admin
        .post("/api/v1/policy/apply", json!({ "sha256": sha }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "approval-required");
    let id = admin.ask_approval("policy.apply", "halve the rate").await;
    // Nobody approves their own request.
    let r = admin.approve(id, "").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = second.approve(id, "checked").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "approved");

    let mut with_approval = admin.clone();
    let r = with_approval
        .raw(
            hyper::Method::POST,
            "/api/v1/policy/apply",
            Some(serde_json::to_vec(&json!({ "sha256": sha })).unwrap()),
            "application/json",
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "without the header the approval is not used"
    );
    with_approval.approval = Some(id);
    let r = with_approval
        .post("/api/v1/policy/apply", json!({ "sha256": sha }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(h.gateway.status().policy.sha256, sha);
    // Redeemed once only.
    let r = with_approval
        .post("/api/v1/policy/apply", json!({ "sha256": sha }))
        .await;
    assert_ne!(r.status, StatusCode::OK);
    h.stop().await;
}
