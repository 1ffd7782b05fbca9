//! CR 2.8, CR 6.1 (issue 14): refusals before authentication that used to appear only in
//! the metrics — 429 rate-limit refusals and login forms posted from another site — are in
//! the audit trail, aggregated per source; a login form with an opaque origin (`Origin:
//! null`) is refused.

use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{Client, Harness, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_refusals_are_audited_in_aggregate() {
    let mut options = Options::default();
    options.management.requests_per_second = 1.0;
    options.management.burst = 5.0;
    options.management.refusal_interval = Duration::from_secs(1);
    let h = Harness::start_with(options).await;
    let mut client = h.client();
    client.source = Some("127.0.0.30".parse().unwrap());
    let mut limited = 0u64;
    for _ in 0..20 {
        if client.get("/api/v1/health").await.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited >= 10, "{limited}");
    // The first refusal at once, the rest in the next summary.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let admin = h.admin().await;
    let events = admin.access_control_events("https.rate_limited").await;
    let from_client: Vec<&Value> = events
        .iter()
        .filter(|e| e["source_address"] == "127.0.0.30")
        .collect();
    let counted: u64 = from_client
        .iter()
        .map(|e| e["details"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, limited, "{from_client:?}");
    assert!(from_client.len() <= 3, "aggregated: {from_client:?}");
    assert!(from_client.iter().all(|e| e["outcome"] == "denied"));
    h.stop().await;
}

async fn post_login(client: &Client, headers: &[(&str, String)]) -> StatusCode {
    client
        .raw_with(
            Method::POST,
            "/login",
            Some(b"username=admin&password=wrong-password-here&totp=".to_vec()),
            "application/x-www-form-urlencoded",
            headers,
        )
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_login_is_refused_and_audited() {
    let h = Harness::start().await;
    let client = h.client();
    let cross_site = [
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![("sec-fetch-site", "same-site".to_owned())],
        vec![("origin", "https://evil.example".to_owned())],
        // An opaque origin: a sandboxed frame, a data: page, a cross-site redirect.
        vec![("origin", "null".to_owned())],
    ];
    for headers in &cross_site {
        assert_eq!(
            post_login(&client, headers).await,
            StatusCode::FORBIDDEN,
            "{headers:?}"
        );
    }
    // From this site, or from a client that is no browser: the login is tried (and fails).
    for headers in [
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![("origin", "https://localhost".to_owned())],
        vec![],
    ] {
        assert_eq!(
            post_login(&client, &headers).await,
            StatusCode::UNAUTHORIZED,
            "{headers:?}"
        );
    }
    let admin = h.admin().await;
    let events = admin.access_control_events("ui.login_refused").await;
    let reasons: Vec<&str> = events
        .iter()
        .map(|e| e["details"]["reason"].as_str().unwrap())
        .collect();
    for evidence in [
        "Sec-Fetch-Site: cross-site",
        "Sec-Fetch-Site: same-site",
        "Origin: https://evil.example",
        "Origin: null",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(evidence)),
            "{evidence} not in {reasons:?}"
        );
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_asks_browsers_for_a_real_origin() {
    let h = Harness::start().await;
    let page = h.client().get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    h.stop().await;
}
