//! The HTTPS management checks: security headers, cookie attributes, anonymous API access;
//! and, in [`login`], the system use notification, authenticator feedback and the lockout
//! threshold, through a login form found by the bounded scanner of [`page`].
//! One request per connection, hyper's HTTP/1.1 client over the inspecting TLS configuration,
//! the answer's body read up to [`MAX_BODY_BYTES`] (an `OpenAPI` document, a login page).

pub(crate) mod login;
pub(crate) mod login_route;
pub(crate) mod page;

use std::sync::Arc;

use http_body_util::BodyExt as _;
use hyper::header::{HeaderMap, HeaderValue};
use rustls::pki_types::ServerName;
use serde_json::Value;

use crate::evidence::Outcome;
use crate::net::{self, ANSWER_TIMEOUT, Context, HANDSHAKE_TIMEOUT};
use crate::run::Finding;
use crate::target::Target;

/// The most of a body that is read (and then dropped).
const MAX_BODY_BYTES: usize = 1 << 20;
/// The most routes an `OpenAPI` document adds to those asked for.
const MAX_OPENAPI_ROUTES: usize = 20;

/// The API routes asked for without credentials.
pub(crate) const PROTECTED_ROUTES: &[&str] = &[
    "/api/v1/status",
    "/api/v1/config-report",
    "/api/v1/users",
    "/api/v1/audit",
    "/api/v1/policy",
];

/// Where an `OpenAPI` document is looked for (without credentials).
pub(crate) const OPENAPI_DOCUMENT: &str = "/api/v1/openapi.json";

/// A spawned task aborted when this is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An answer: the status and the headers.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    /// The body, empty when it was larger than [`MAX_BODY_BYTES`].
    pub(crate) body: Vec<u8>,
}

async fn get(context: &Context, target: &Target, path: &str) -> Result<Answer, String> {
    request(context, target, hyper::Method::GET, path, &[], Vec::new()).await
}

/// One request on its own connection: `method` on `path` with the extra `headers` and
/// `body`, the answer within [`ANSWER_TIMEOUT`] twice over.
pub(crate) async fn request(
    context: &Context,
    target: &Target,
    method: hyper::Method,
    path: &str,
    headers: &[(hyper::header::HeaderName, String)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    let config = rampart_vault::tls::danger_inspecting_client_config(
        rampart_vault::tls::PROTOCOL_VERSIONS,
        None,
        &[b"http/1.1"],
    )
    .map_err(|e| e.to_string())?;
    let tcp = context
        .connect(target)
        .await
        .map_err(|e| format!("could not connect: {}", net::describe_io(&e)))?;
    let name = ServerName::try_from(target.host().to_owned())
        .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let tls = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_rustls::TlsConnector::from(Arc::clone(&config)).connect(name, tcp),
    )
    .await
    .map_err(|_| "no TLS handshake within 5 s".to_owned())?
    .map_err(|e| format!("TLS handshake: {}", crate::tls::describe_tls_error(&e)))?;
    let exchange = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| format!("HTTP/1.1: {e}"))?;
        // Ended with the exchange, however it ends (an error, the deadline): no connection
        // outlives its check.
        let connection = AbortOnDrop(tokio::spawn(connection));
        let authority = if target.host().contains(':') {
            format!("[{}]:{}", target.host(), target.port())
        } else {
            format!("{}:{}", target.host(), target.port())
        };
        let mut builder = hyper::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::ACCEPT, "text/html, application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("rampart-probe/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in headers {
            builder = builder.header(name, value.as_str());
        }
        let request = builder
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .map_err(|e| format!("building the request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // The body is read (capped) so the server sees a complete exchange, then dropped.
        // Frame by frame, keeping what arrived before an error: many small servers end a
        // close-delimited body without a TLS close_notify, which is an error to rustls.
        let mut body = Vec::new();
        let mut incoming = response.into_body();
        while let Some(Ok(frame)) = incoming.frame().await {
            if let Ok(data) = frame.into_data() {
                if body.len() + data.len() > MAX_BODY_BYTES {
                    body.clear();
                    break;
                }
                body.extend_from_slice(&data);
            }
        }
        drop(connection);
        Ok(Answer {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(ANSWER_TIMEOUT + ANSWER_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{method} {path}: no answer within 6 s"))?
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}

/// The missing security headers of an answer (empty: all present).
pub(crate) fn missing_headers(headers: &HeaderMap) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let hsts_ok = header(headers, "strict-transport-security").is_some_and(|v| {
        v.split(';').any(|d| {
            d.trim()
                .strip_prefix("max-age=")
                .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
                .is_some_and(|n| n > 0)
        })
    });
    if !hsts_ok {
        missing.push("Strict-Transport-Security");
    }
    let csp = header(headers, "content-security-policy");
    if csp.is_none() {
        missing.push("Content-Security-Policy");
    }
    if !header(headers, "x-content-type-options").is_some_and(|v| v.eq_ignore_ascii_case("nosniff"))
    {
        missing.push("X-Content-Type-Options: nosniff");
    }
    let framing = header(headers, "x-frame-options").is_some()
        || csp.is_some_and(|c| c.to_ascii_lowercase().contains("frame-ancestors"));
    if !framing {
        missing.push("X-Frame-Options or CSP frame-ancestors");
    }
    if header(headers, "referrer-policy").is_none() {
        missing.push("Referrer-Policy");
    }
    missing
}

/// The problems of one `Set-Cookie` value (empty: Secure, `HttpOnly` and `SameSite` Strict/Lax).
pub(crate) fn cookie_problems(set_cookie: &str) -> Vec<&'static str> {
    let attributes: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    let mut problems = Vec::new();
    if !attributes.iter().any(|a| a == "secure") {
        problems.push("no Secure");
    }
    if !attributes.iter().any(|a| a == "httponly") {
        problems.push("no HttpOnly");
    }
    let same_site = attributes
        .iter()
        .find_map(|a| a.strip_prefix("samesite=").map(str::trim));
    if !matches!(same_site, Some("strict" | "lax")) {
        problems.push("no SameSite=Strict or Lax");
    }
    problems
}

pub(crate) async fn security_headers(context: &Context, target: &Target) -> Finding {
    let mut answer = get(context, target, "/login").await;
    let mut path = "/login";
    if matches!(&answer, Ok(a) if a.status == 404) {
        answer = get(context, target, "/").await;
        path = "/";
    }
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    let missing = missing_headers(&answer.headers);
    let present: Vec<String> = [
        "strict-transport-security",
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ]
    .iter()
    .filter_map(|name| header(&answer.headers, name).map(|v| format!("{name}: {v}")))
    .collect();
    let finding = if missing.is_empty() {
        Finding::new(
            Outcome::Met,
            format!(
                "GET {path} ({}) carries every security header",
                answer.status
            ),
        )
    } else {
        Finding::new(
            Outcome::NotMet,
            format!(
                "GET {path} ({}) lacks {}",
                answer.status,
                missing.join(", ")
            ),
        )
    };
    finding
        .with("path", path)
        .with("status", answer.status)
        .with("present", present)
        .with("missing", missing)
}

pub(crate) async fn cookie_attributes(context: &Context, target: &Target) -> Finding {
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut errors = Vec::new();
    for path in ["/login", "/"] {
        match get(context, target, path).await {
            Ok(answer) => {
                for value in answer.headers.get_all(hyper::header::SET_COOKIE) {
                    if let Ok(text) = value.to_str() {
                        cookies.push((path.to_owned(), text.to_owned()));
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    // With the throw-away account's password, one login shows the session cookie too.
    let mut login_note = None;
    match login::session_cookies(context, target).await {
        Some(Ok((route, set))) => {
            let label = format!("a login through {route}");
            cookies.extend(set.into_iter().map(|c| (label.clone(), c)));
        }
        Some(Err(e)) => login_note = Some(e),
        None => {}
    }
    if cookies.is_empty() {
        return if errors.len() == 2 {
            Finding::new(Outcome::NotTested, errors.join("; "))
        } else if let Some(e) = login_note {
            Finding::new(
                Outcome::NotTested,
                format!("no cookie is set before a login, and {e}"),
            )
        } else {
            Finding::new(
                Outcome::NotTested,
                "no cookie is set before a login; the session cookie needs a login: give \
                 --login-account with --login-password-file",
            )
        };
    }
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for (path, cookie) in &cookies {
        let name = cookie
            .split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let found = cookie_problems(cookie);
        seen.push(Value::String(format!("{path}: {name}")));
        if !found.is_empty() {
            problems.push(format!("{name} (from {path}): {}", found.join(", ")));
        }
    }
    let finding = if problems.is_empty() {
        Finding::new(
            Outcome::Met,
            format!(
                "{} cookie(s), each Secure, HttpOnly and SameSite",
                cookies.len()
            ),
        )
    } else {
        Finding::new(Outcome::NotMet, problems.join("; "))
    };
    let finding = finding.with("cookies", seen);
    match login_note {
        Some(note) => finding.with("session_login", note),
        None => finding,
    }
}

pub(crate) async fn anonymous_api(context: &Context, target: &Target) -> Finding {
    let mut served = Vec::new();
    let mut refused = 0usize;
    let mut errors = Vec::new();
    let mut routes = serde_json::Map::new();
    let mut paths: Vec<String> = PROTECTED_ROUTES.iter().map(|p| (*p).to_owned()).collect();
    // The document the user gave (`--openapi`) names routes too.
    if let Some(document) = &context.openapi {
        for route in openapi_protected_gets(document)
            .into_iter()
            .take(MAX_OPENAPI_ROUTES)
        {
            if !paths.contains(&route) {
                paths.push(route);
            }
        }
    }
    // A document readable without credentials names more routes: each GET it does not mark
    // public (`security: []`) must refuse an anonymous caller too.
    let openapi = match get(context, target, OPENAPI_DOCUMENT).await {
        Ok(answer) if (200..300).contains(&answer.status) => {
            let extra = openapi_protected_gets(&answer.body);
            let note = format!(
                "readable without credentials; {} protected GET route(s)",
                extra.len()
            );
            for route in extra.into_iter().take(MAX_OPENAPI_ROUTES) {
                if !paths.contains(&route) {
                    paths.push(route);
                }
            }
            note
        }
        Ok(answer) => format!("HTTP {}", answer.status),
        Err(e) => e,
    };
    for path in &paths {
        let path = path.as_str();
        match get(context, target, path).await {
            Ok(answer) => {
                let status = answer.status;
                let to_login = (300..400).contains(&status)
                    && header(&answer.headers, "location").is_some_and(|l| l.contains("login"));
                if status == 401 || status == 403 || to_login {
                    refused += 1;
                } else if (200..300).contains(&status) {
                    served.push(format!("{path} ({status})"));
                }
                routes.insert(path.to_owned(), Value::from(status));
            }
            Err(e) => {
                routes.insert(path.to_owned(), Value::String(e.clone()));
                errors.push(e);
            }
        }
    }
    let finding = if !served.is_empty() {
        Finding::new(
            Outcome::NotMet,
            format!("served to an anonymous caller: {}", served.join(", ")),
        )
    } else if refused > 0 {
        Finding::new(
            Outcome::Met,
            format!("{refused} API route(s) refused an anonymous caller (401/403), none served"),
        )
    } else if let Some(e) = errors.first() {
        Finding::new(Outcome::NotTested, e.clone())
    } else {
        Finding::new(
            Outcome::NotTested,
            "none of the API routes asked for exists there",
        )
    };
    routes.insert(
        format!("{OPENAPI_DOCUMENT} (the document)"),
        Value::String(openapi),
    );
    Finding {
        details: routes,
        ..finding
    }
}

/// The GET routes of an `OpenAPI` 3 document without path parameters whose operation does
/// not declare itself public (`security: []`), sorted. Empty for anything else.
pub(crate) fn openapi_protected_gets(document: &[u8]) -> Vec<String> {
    let Ok(document) = serde_json::from_slice::<Value>(document) else {
        return Vec::new();
    };
    let global_public = document["security"].as_array().is_some_and(Vec::is_empty);
    let mut routes: Vec<String> = document["paths"]
        .as_object()
        .map(|paths| {
            paths
                .iter()
                .filter(|(path, _)| path.starts_with('/') && !path.contains('{'))
                .filter_map(|(path, item)| {
                    let get = item.get("get")?;
                    let public = match get.get("security") {
                        Some(security) => security.as_array().is_some_and(Vec::is_empty),
                        None => global_public,
                    };
                    (!public).then(|| path.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    routes.sort();
    routes
}
