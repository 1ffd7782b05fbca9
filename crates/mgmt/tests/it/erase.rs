//! `POST /api/v1/erase` (CR 4.2, CR 2.1 RE 4): `vault.erase` always needs a second
//! administrator's approval, at every hardening level; a viewer or an operator can neither
//! ask for it nor approve it; nobody approves their own request; the confirmation names the
//! data directory; with an approval the process's decommissioning is called once and the
//! plane tells the process to stop and erase; a second erase in flight is refused.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::StatusCode;
use rampart_mgmt::api::erase::{Announced, Decommission, EraseOrder};
use serde_json::{Value, json};

use crate::harness::{Client, Harness};

/// Records what it was asked; refuses when `refuse` says so.
#[derive(Default)]
struct Recorder {
    calls: AtomicUsize,
    orders: Mutex<Vec<EraseOrder>>,
    refuse: bool,
}

impl Decommission for Recorder {
    fn announce(&self, order: &EraseOrder) -> Result<Announced, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.orders.lock().unwrap().push(order.clone());
        if self.refuse {
            return Err("the audit trail could not be delivered to the SIEM".to_owned());
        }
        Ok(Announced {
            seq: 4242,
            forwarded_to: None,
        })
    }
}

fn name(h: &Harness) -> String {
    h.data
        .root()
        .canonicalize()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

async fn denials(admin: &Client, permission: &str) -> Vec<Value> {
    admin
        .access_control_events("authorize")
        .await
        .into_iter()
        .filter(|e| e["details"]["permission"] == permission)
        .collect()
}

/// Asks for an approval of `vault.erase` as `requester` and has `approver` approve it.
async fn approved(requester: &Client, approver: &Client) -> i64 {
    let id = requester
        .ask_approval("vault.erase", "decommissioning")
        .await;
    let r = approver.approve(id, "checked").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_administrator_alone_cannot_erase_at_the_lowest_hardening_level() {
    // The harness runs with the defaults: no dual approval for anything else.
    let h = Harness::start().await;
    let hook = Arc::new(Recorder::default());
    assert!(h.mgmt.as_ref().unwrap().set_decommission(hook.clone()));
    let admin = h.admin().await;
    let confirm = json!({ "confirm": name(&h) });
    let r = admin.post("/api/v1/erase", confirm.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "approval-required");
    // An approval id that does not exist is refused too.
    let mut forged = admin.clone();
    forged.approval = Some(999);
    let r = forged.post("/api/v1/erase", confirm).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 0, "nothing announced");
    assert!(h.data.root().join("keys/kek").exists(), "files intact");
    let refused = denials(&admin, "vault.erase").await;
    assert!(
        refused
            .iter()
            .any(|e| e["outcome"] == "denied" && e["actor"]["name"] == "admin"),
        "the refusal is audited: {refused:?}"
    );
    // The requester cannot approve its own request.
    let id = admin.ask_approval("vault.erase", "decommissioning").await;
    let r = admin.approve(id, "").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // Its own, still pending request does not open the route either.
    let mut own = admin.clone();
    own.approval = Some(id);
    let r = own
        .post("/api/v1/erase", json!({ "confirm": name(&h) }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(h.data.root().join("keys/kek").exists(), "files intact");
    assert_eq!(hook.calls.load(Ordering::SeqCst), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_operators_can_neither_ask_nor_approve_nor_erase() {
    let h = Harness::start().await;
    let hook = Arc::new(Recorder::default());
    h.mgmt.as_ref().unwrap().set_decommission(hook.clone());
    let admin = h.admin().await;
    let viewer = h.user(&admin, "viewer1", "viewer").await;
    let operator = h.user(&admin, "operator1", "operator").await;
    let engineer = h.user(&admin, "engineer1", "engineer").await;
    let id = admin.ask_approval("vault.erase", "decommissioning").await;
    for (who, client) in [
        ("viewer", &viewer),
        ("operator", &operator),
        ("engineer", &engineer),
    ] {
        let r = client
            .post("/api/v1/erase", json!({ "confirm": name(&h) }))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.text());
        let r = client
            .post(
                "/api/v1/approvals",
                json!({ "permission": "vault.erase", "reason": "x" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.text());
        let r = client.approve(id, "").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.text());
    }
    assert_eq!(hook.calls.load(Ordering::SeqCst), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_second_administrators_approval_the_erase_is_announced_once_then_ordered() {
    let h = Harness::start().await;
    let hook = Arc::new(Recorder::default());
    let mgmt = h.mgmt.as_ref().unwrap();
    mgmt.set_decommission(hook.clone());
    let admin = h.admin().await;
    let second = h.user(&admin, "second-admin", "admin").await;

    // The confirmation names the directory; the field is named when it is wrong or missing.
    let mut with = admin.clone();
    with.approval = Some(approved(&admin, &second).await);
    let r = with.post("/api/v1/erase", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("confirm"), "{}", r.text());
    with.approval = Some(approved(&admin, &second).await);
    let r = with
        .post("/api/v1/erase", json!({ "confirm": "not-the-name" }))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("confirm"), "{}", r.text());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 0);

    with.approval = Some(approved(&admin, &second).await);
    let r = with
        .post("/api/v1/erase", json!({ "confirm": name(&h) }))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let accepted = r.json();
    assert_eq!(accepted["audit_seq"], 4242);
    assert!(
        accepted["next"]
            .as_str()
            .unwrap()
            .contains("exits with code 3"),
        "{accepted}"
    );
    tokio::time::timeout(Duration::from_secs(5), mgmt.erase_requested())
        .await
        .expect("the process is told to erase");
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    {
        let orders = hook.orders.lock().unwrap();
        assert_eq!(orders[0].actor.name(), "admin");
        assert_eq!(orders[0].data, h.data.root());
    }

    // No second erase while one is in flight, even with another approval.
    with.approval = Some(approved(&admin, &second).await);
    let r = with
        .post("/api/v1/erase", json!({ "confirm": name(&h) }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erase_the_process_refuses_is_not_ordered_and_can_be_tried_again() {
    let h = Harness::start().await;
    let hook = Arc::new(Recorder {
        refuse: true,
        ..Recorder::default()
    });
    let mgmt = h.mgmt.as_ref().unwrap();
    mgmt.set_decommission(hook.clone());
    let admin = h.admin().await;
    let second = h.user(&admin, "second-admin", "admin").await;
    let mut with = admin.clone();
    with.approval = Some(approved(&admin, &second).await);
    let r = with
        .post("/api/v1/erase", json!({ "confirm": name(&h) }))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("nothing was erased"), "{}", r.text());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), mgmt.erase_requested())
            .await
            .is_err(),
        "not ordered"
    );
    // The slot was given back: the next attempt reaches the process again.
    with.approval = Some(approved(&admin, &second).await);
    let r = with
        .post("/api/v1/erase", json!({ "confirm": name(&h) }))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 2);
    assert!(h.data.root().join("keys/kek").exists());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_decommissioning_process_the_route_answers_503() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let second = h.user(&admin, "second-admin", "admin").await;
    let mut with = admin.clone();
    with.approval = Some(approved(&admin, &second).await);
    let r = with
        .post("/api/v1/erase", json!({ "confirm": name(&h) }))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("rampart erase"), "{}", r.text());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backups_page_asks_for_approval_then_erases_with_it_behind_csrf() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let h = Harness::start().await;
    let hook = Arc::new(Recorder::default());
    h.mgmt.as_ref().unwrap().set_decommission(hook.clone());
    let admin = h.admin().await;
    let second = h.user(&admin, "second-admin", "admin").await;
    let engineer = h.user(&admin, "engineer1", "engineer").await;
    // Only administrators see the section; first it asks for the approval.
    let page = engineer.get("/backups").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("erase-h"), "{}", page.text());
    let page = admin.get("/backups").await.text();
    assert!(page.contains("value=\"vault.erase\""), "{page}");
    assert!(page.contains("Ask for approval"), "{page}");
    assert!(!page.contains("/erase?approval="), "{page}");

    let id = approved(&admin, &second).await;
    let page = admin.get("/backups").await.text();
    assert!(page.contains(&format!("/erase?approval={id}")), "{page}");
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..at + page[at..].find('"').unwrap()].to_owned();
    let mut browser = admin.clone();
    browser.csrf = None;
    let path = format!("/erase?approval={id}");
    // Without the form's CSRF field: refused before the handler.
    let r = browser
        .raw(
            hyper::Method::POST,
            &path,
            Some(format!("confirm={}", name(&h)).into_bytes()),
            FORM,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 0);
    let r = browser
        .raw(
            hyper::Method::POST,
            &path,
            Some(format!("csrf={csrf}&confirm={}", name(&h)).into_bytes()),
            FORM,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert!(r.text().contains("Erase accepted"), "{}", r.text());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    h.stop().await;
}
