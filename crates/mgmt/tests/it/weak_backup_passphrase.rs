//! Threat: a backup, which holds every private key of the device, protected by a passphrase
//! an attacker holding the file guesses offline ("aaaaaaaaaaaa", a common phrase). The API and
//! the web UI refuse a new backup's passphrase that fails the account password policy
//! (CR 1.7, CR 7.3), with the reason, and accept a strong one.

use hyper::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Client, Harness, Options};

/// On the blocklist configured below.
const BLOCKLISTED: &str = "our site backup passphrase";
const STRONG: &str = "plinth marmot cobalt fjord";

async fn harness_with_blocklist(dir: &tempfile::TempDir) -> Harness {
    let list = dir.path().join("blocklist.txt");
    std::fs::write(&list, format!("{BLOCKLISTED}\n")).unwrap();
    let mut options = Options::default();
    options.identity.password.blocklist_file = Some(list);
    Harness::start_with(options).await
}

/// Weak passphrases and the part of the reason each must show.
const WEAK: [(&str, &str); 4] = [
    (
        "aaaaaaaaaaaa",
        "too short: 12 characters, at least 15 required",
    ),
    ("aaaaaaaaaaaaaaaaaaaa", "too easy to guess"),
    ("qwertyuiopasdfgh", "too easy to guess"),
    (BLOCKLISTED, "list of common or breached passwords"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_a_weak_backup_passphrase_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness_with_blocklist(&dir).await;
    let admin = h.admin().await;
    for (passphrase, reason) in WEAK {
        let r = admin
            .post("/api/v1/backups", json!({ "passphrase": passphrase }))
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{passphrase}: {}",
            r.text()
        );
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("does not meet the password policy") && message.contains(reason),
            "{passphrase}: {message}"
        );
        assert!(
            !message.contains(passphrase),
            "the answer echoes the passphrase"
        );
    }
    // The backup's own floor still answers first for very short ones.
    let r = admin
        .post("/api/v1/backups", json!({ "passphrase": "short" }))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("at least 12"), "{}", r.text());

    let r = admin
        .post("/api/v1/backups", json!({ "passphrase": STRONG }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/octet-stream");
    h.stop().await;
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF field");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn form(client: &Client, fields: &str) -> crate::harness::Answer {
    client
        .raw(
            Method::POST,
            "/backups",
            Some(fields.as_bytes().to_vec()),
            "application/x-www-form-urlencoded",
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backups_page_refuses_a_weak_passphrase_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness_with_blocklist(&dir).await;
    let mut browser = h.admin().await;
    // A browser posting a form sends the CSRF token as a field, not a header.
    browser.csrf = None;
    let page = browser.get("/backups").await.text();
    assert!(page.contains("minlength=\"15\""), "{page}");
    let csrf = csrf_of(&page);
    for (passphrase, reason) in WEAK {
        let p = passphrase.replace(' ', "+");
        let r = form(&browser, &format!("csrf={csrf}&passphrase={p}&confirm={p}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{passphrase}");
        let text = r.text();
        assert!(
            text.contains("does not meet the password policy") && text.contains(reason),
            "{passphrase}: {text}"
        );
        assert!(
            !r.headers.contains_key(hyper::header::CONTENT_DISPOSITION),
            "{passphrase}: a file was sent"
        );
    }
    let p = STRONG.replace(' ', "+");
    let r = form(&browser, &format!("csrf={csrf}&passphrase={p}&confirm={p}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.headers[hyper::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    h.stop().await;
}
