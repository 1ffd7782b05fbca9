//! The web UI end to end in a real headless Chromium, driven through `chromedriver`:
//! banner → login with the initial password → forced password change → TOTP enrolment (the
//! test reads the secret on the page and computes the code) → dashboard → a policy change
//! (edit, validate with an error at its line, stage, review the diff, apply) → the change in
//! the audit view; and an operator who opens the users page gets the HTML 403 page.
//!
//! Every page is saved as a PNG under `target/test-output/ui/`.
//!
//! TLS: the browser trusts nothing special. The server certificate is issued by the test's own
//! CA, so Chromium is told to accept exactly that certificate's public key with
//! `--ignore-certificate-errors-spki-list=<base64 SHA-256 of its SPKI>` (not the blanket
//! `--ignore-certificate-errors`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::harness::{Harness, Options, USER_PASSWORD};

const NEW_PASSWORD: &str = "a long passphrase typed in a browser";

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver; scripts/test does)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The base64 SHA-256 of the server certificate's `SubjectPublicKeyInfo`, as Chromium's
/// `--ignore-certificate-errors-spki-list` takes it.
fn spki_pin(h: &Harness) -> String {
    let pem = std::fs::read(h.data.file(rampart_vault::Entry::Pki).join("server.crt")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    data_encoding::BASE64.encode(&rampart_vault::crypto::sha256(
        cert.tbs_certificate.subject_pki.raw,
    ))
}

async fn browser(driver: &Driver, pin: &str, profile: &std::path::Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
                format!("--ignore-certificate-errors-spki-list={pin}"),
                "--window-size=1280,1000",
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output/ui");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves the whole page as a PNG: the window is made as tall as the page for the picture.
async fn shot(c: &Client, name: &str) {
    let (width, height) = c.get_window_size().await.unwrap();
    let page = c
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(height)
        .clamp(400, 4000);
    let (w, h) = (
        u32::try_from(width).unwrap(),
        u32::try_from(height).unwrap(),
    );
    c.set_window_size(w, u32::try_from(page).unwrap())
        .await
        .unwrap();
    let png = c.screenshot().await.unwrap();
    c.set_window_size(w, h).await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn path_of(c: &Client) -> String {
    let url = c.current_url().await.unwrap();
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn fill(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Clicks and waits until the browser is at a page whose path starts with `expected`.
async fn click_to(c: &Client, css: &str, expected: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(c, expected).await;
}

async fn wait_for_path(c: &Client, expected: &str) {
    for _ in 0..100 {
        if path_of(c).await.starts_with(expected) {
            // Let the page finish loading before anything reads it.
            let _ = c.wait().for_element(Locator::Css("footer")).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "expected {expected}, at {}: {}",
        path_of(c).await,
        c.source().await.unwrap()
    );
}

async fn set_policy_text(c: &Client, text: &str) {
    c.execute(
        "document.getElementById('policy-text').value = arguments[0];",
        vec![serde_json::Value::String(text.to_owned())],
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium: run scripts/test"]
async fn an_administrator_logs_in_enrols_totp_and_changes_the_policy_in_a_browser() {
    let mut options = Options::default();
    options.identity.mfa.required_for_all = true;
    let h = Harness::start_with(options).await;
    let base = format!("https://127.0.0.1:{}", h.addr.port());
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, &spki_pin(&h), profile.path()).await;

    // The banner comes before the credentials (CR 1.12).
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for_path(&c, "/login").await;
    assert!(text_of(&c, "#banner").await.len() > 10);
    shot(&c, "01-login").await;

    // The initial password, then the forced change (CR 1.5).
    fill(&c, "#username", "admin").await;
    fill(&c, "#password", &h.admin_password).await;
    click_to(&c, "form.card button[type=submit]", "/password").await;
    shot(&c, "02-password-change").await;
    fill(&c, "#current", &h.admin_password).await;
    fill(&c, "#new", NEW_PASSWORD).await;
    fill(&c, "#confirm", NEW_PASSWORD).await;
    // MFA is required for everyone here: the guard sends the caller to enrolment.
    click_to(&c, "form.card button[type=submit]", "/totp").await;
    shot(&c, "03-totp").await;
    click_to(&c, "form.card button[type=submit]", "/totp").await;
    let secret = text_of(&c, "#totp-secret").await;
    let svg = c.find(Locator::Css("figure.qr svg")).await.unwrap();
    assert!(svg.is_displayed().await.unwrap(), "the QR code is drawn");
    shot(&c, "04-totp-qr").await;
    let code = rampart_identity::totp::code_at(
        &secret,
        rampart_audit::Clock::now(&rampart_audit::SystemClock::new()),
    )
    .unwrap();
    fill(&c, "#code", &code).await;
    click_to(&c, "form.card button[type=submit]", "/dashboard").await;
    assert!(text_of(&c, "div.notice.ok").await.contains("Two-factor"));

    // The dashboard refreshes itself from /api/v1/status.
    let note = c.wait().at_most(Duration::from_secs(10));
    note.for_element(Locator::XPath(
        "//p[@id='poll-note' and starts-with(., 'Live: updated')]",
    ))
    .await
    .expect("the dashboard polls the status");
    assert_eq!(text_of(&c, "p.state").await.to_lowercase(), "open");
    assert!(text_of(&c, "dd.vector").await.starts_with('{'));
    shot(&c, "05-dashboard").await;
    c.set_window_size(820, 1180).await.unwrap();
    shot(&c, "05-dashboard-tablet").await;
    c.set_window_size(1280, 1000).await.unwrap();

    // A policy change: an error shown at its line, then a valid edit staged and applied.
    c.goto(&format!("{base}/policy")).await.unwrap();
    wait_for_path(&c, "/policy").await;
    shot(&c, "06-policy").await;
    let original: String = c
        .execute(
            "return document.getElementById('policy-text').value;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let broken = format!("{original}\n[broken\n");
    let broken_line = broken.lines().position(|l| l == "[broken").unwrap() + 1;
    set_policy_text(&c, &broken).await;
    click_to(&c, "form.editor button[type=submit]", "/policy/validate").await;
    assert!(text_of(&c, "div.notice.error").await.contains("Not valid"));
    let marked = text_of(&c, "table.listing tr.marked th").await;
    assert_eq!(marked, broken_line.to_string(), "the error is at its line");
    shot(&c, "07-policy-invalid").await;
    let edited = format!("{original}\n# Reviewed in the browser test.\n");
    set_policy_text(&c, &edited).await;
    click_to(&c, "form.editor button[type=submit]", "/policy/validate").await;
    assert!(text_of(&c, "div.notice.ok").await.starts_with("Valid"));
    click_to(
        &c,
        "form.editor button[formaction='/policy/stage']",
        "/policy/diff",
    )
    .await;
    let diff = text_of(&c, "pre.diff").await;
    assert!(diff.contains("+# Reviewed in the browser test."), "{diff}");
    shot(&c, "08-policy-diff").await;
    c.find(Locator::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The script asks before applying.
    c.accept_alert().await.unwrap();
    wait_for_path(&c, "/policy?ok=applied").await;
    assert!(
        h.gateway
            .policy_text()
            .0
            .contains("Reviewed in the browser test")
    );
    shot(&c, "09-policy-applied").await;

    // The change is in the audit view, and the trail verifies.
    c.goto(&format!("{base}/audit?category=configuration_change"))
        .await
        .unwrap();
    wait_for_path(&c, "/audit").await;
    let table = text_of(&c, "table.audit").await;
    assert!(table.contains("policy.stage"), "{table}");
    assert!(table.contains("policy.apply"), "{table}");
    shot(&c, "10-audit").await;
    click_to(&c, "form[action='/audit/verify'] button", "/audit/verify").await;
    assert!(text_of(&c, "div.notice.ok").await.starts_with("Verified"));
    shot(&c, "11-audit-verified").await;

    for (path, name) in [
        ("/users", "12-users"),
        ("/sessions", "13-sessions"),
        ("/alerts", "14-alerts"),
        ("/approvals", "15-approvals"),
        ("/backups", "16-backups"),
        ("/about", "17-about"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        wait_for_path(&c, path).await;
        assert!(!text_of(&c, "h1").await.is_empty());
        shot(&c, name).await;
    }

    // Keyboard: the skip link is the first stop and leads to the main landmark.
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    wait_for_path(&c, "/dashboard").await;
    // U+E004 is WebDriver's Tab key.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("\u{e004}")
        .await
        .unwrap();
    let first = c
        .active_element()
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(first, "#main");

    click_to(&c, "form[action='/logout'] button", "/login").await;
    assert!(text_of(&c, "div.notice.ok").await.contains("logged out"));
    c.close().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium: run scripts/test"]
async fn an_operator_cannot_reach_the_users_page_in_a_browser() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let _ = h.user(&admin, "olga", "operator").await;
    let base = format!("https://127.0.0.1:{}", h.addr.port());
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, &spki_pin(&h), profile.path()).await;
    c.goto(&format!("{base}/login")).await.unwrap();
    wait_for_path(&c, "/login").await;
    fill(&c, "#username", "olga").await;
    fill(&c, "#password", USER_PASSWORD).await;
    click_to(&c, "form.card button[type=submit]", "/dashboard").await;
    // The navigation offers no users page …
    let nav = text_of(&c, "nav[aria-label=Main]").await;
    assert!(!nav.contains("Users"), "{nav}");
    // … and typing its address gives the 403 page.
    c.goto(&format!("{base}/users")).await.unwrap();
    wait_for_path(&c, "/users").await;
    assert_eq!(text_of(&c, "h1").await, "Not allowed");
    assert!(text_of(&c, "div.notice.error").await.contains("403"));
    shot(&c, "18-operator-forbidden").await;
    c.close().await.unwrap();
    h.stop().await;
}
