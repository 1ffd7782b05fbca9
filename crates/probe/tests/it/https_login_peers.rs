//! The HTTPS login checks against management planes other than Rampart: a Python
//! `http.server` over TLS with the login page of a small PLC — reached by a redirect from `/`
//! that sets a cookie, a CSRF token in a hidden input tied to another cookie, a relative form
//! action, no system use notification, failed logins that
//! say "Unknown user" or "Wrong password", and an account that locks after 3 failures (answered
//! 423) — the same server with no login page at all, with only a JSON login API that its
//! `OpenAPI` document declares (`api`), and with both, where the API forgets the form's lock
//! (`split`). They need python3 and openssl (`scripts/test`), so plain `cargo test` skips
//! them.

use std::path::Path;
use std::process::{Command, Stdio};

use rampart_probe::{LoginAccount, Outcome, Plan};

use crate::util::{Peer, expect, free_port, have, now, result, wait_listening};

const PLC_LOGIN: &str = r##"
import http.server, json, ssl, sys, secrets, urllib.parse
MODE = sys.argv[4]
BARE, API_ONLY, SPLIT = MODE == "bare", MODE == "api", MODE == "split"
RIGHT = "plc-pass-1"
OPENAPI = json.dumps({"openapi": "3.0.3", "info": {"title": "PLC", "version": "1"},
    "paths": {"/api/session/login": {"post": {"requestBody": {"content": {"application/json":
        {"schema": {"$ref": "#/components/schemas/Credentials"}}}}}},
        "/api/tags": {"get": {"security": [{"key": []}]}}},
    "components": {"schemas": {"Credentials": {"type": "object", "required": ["user", "secret"],
        "properties": {"user": {"type": "string"},
                       "secret": {"type": "string", "format": "password"}}}}}}).encode()
PAGE = ('<html><body><h1>PLC web</h1><form method="post" action="login.cgi">'
        '<input type="hidden" name="token" value="%s"><input name="user">'
        '<input type="password" name="pass"><input type="submit" name="go" value="Login">'
        '</form>%s</body></html>')
tokens, failures = set(), {}
class Handler(http.server.BaseHTTPRequestHandler):
    def page(self, status, message):
        token = secrets.token_hex(16)
        tokens.add(token)
        body = (PAGE % (token, message)).encode()
        self.send_response(status)
        self.send_header("Set-Cookie", "sid=%s; Path=/" % token)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def json(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if (API_ONLY or SPLIT) and self.path == "/openapi.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(OPENAPI)))
            self.end_headers()
            self.wfile.write(OPENAPI)
        elif API_ONLY:
            self.json(404, {"error": "not found"})
        elif BARE:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"It works")
        elif self.path == "/":
            self.send_response(302)
            self.send_header("Location", "login.html")
            self.send_header("Set-Cookie", "seen=1; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/login.html":
            self.page(200, "")
        else:
            self.send_response(404)
            self.end_headers()
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if (API_ONLY or SPLIT) and self.path == "/api/session/login":
            try:
                asked = json.loads(self.rfile.read(length))
                user, secret = asked["user"], asked["secret"]
            except (ValueError, KeyError, TypeError):
                self.json(400, {"error": "bad request"})
                return
            if user != "operator":
                self.json(401, {"error": "Unknown user"})
            elif failures.get(user, 0) >= 3 and not SPLIT:
                self.json(423, {"error": "Account locked"})
            elif secret == RIGHT:
                self.json(200, {"token": secrets.token_hex(16)})
            else:
                failures[user] = failures.get(user, 0) + 1
                self.json(401, {"error": "Wrong password"})
            return
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        token = form.get("token", [""])[0]
        if (self.path != "/login.cgi" or token not in tokens
                or "sid=" + token not in self.headers.get("Cookie", "")
                or "seen=1" not in self.headers.get("Cookie", "")
                or form.get("go") != ["Login"]):
            self.page(400, "<p>Bad request</p>")
            return
        tokens.discard(token)
        user = form.get("user", [""])[0]
        if user != "operator":
            self.page(401, "<p>Unknown user</p>")
        elif failures.get(user, 0) >= 3:
            self.page(423, "<p>Account locked</p>")
        elif form.get("pass") == [RIGHT]:
            self.page(200, "<p>Welcome</p>")
        else:
            failures[user] = failures.get(user, 0) + 1
            self.page(401, "<p>Wrong password</p>")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"##;

/// A certificate for 127.0.0.1, made by openssl (the peer's own material).
fn certificate(dir: &Path) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (cert.display().to_string(), key.display().to_string())
}

async fn plc(dir: &Path, mode: &str) -> (Peer, String) {
    assert!(have("python3"), "python3 is not installed");
    let (cert, key) = certificate(dir);
    let port = free_port();
    let peer = Peer(
        Command::new("python3")
            .args(["-c", PLC_LOGIN, &port.to_string(), &cert, &key, mode])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
    (peer, format!("https://127.0.0.1:{port}"))
}

fn login_plan(target: &str, max: u32) -> Plan {
    let checks: Vec<String> = [
        "https-use-notification",
        "https-authenticator-feedback",
        "https-lockout",
    ]
    .map(str::to_owned)
    .to_vec();
    Plan::new(vec![target.parse().unwrap()], Some(&checks), true)
        .unwrap()
        .with_login_account(LoginAccount::new("operator", max).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and openssl: run scripts/test"]
async fn a_plc_login_page_that_tells_too_much_and_locks_after_3_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = plc(dir.path(), "plc").await;
    let plan = login_plan(&target, 10);
    let evidence = tokio::time::timeout(plan.bound(), plan.run(now()))
        .await
        .unwrap();
    let banner = expect(
        &evidence,
        "https-use-notification",
        &target,
        Outcome::NotMet,
    );
    assert!(
        banner.contains("GET /login.html (200) shows a login form and no system use notification"),
        "{banner}"
    );
    let feedback = expect(
        &evidence,
        "https-authenticator-feedback",
        &target,
        Outcome::NotMet,
    );
    assert!(
        feedback.contains("non-existent user says \"unknown user\"")
            && feedback.contains("'operator' says \"wrong password\""),
        "{feedback}"
    );
    // One failure by the feedback check, two by the lockout check, then 423.
    let lockout = expect(&evidence, "https-lockout", &target, Outcome::Met);
    assert!(
        lockout.contains(
            "after 3 failed login(s) (1 of them by https-authenticator-feedback; at most 10"
        ) && lockout.contains("HTTP 423"),
        "{lockout}"
    );
    assert_eq!(
        result(&evidence, "https-lockout", &target).details["threshold"],
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and openssl: run scripts/test"]
async fn a_lockout_above_the_maximum_is_not_met_and_no_login_page_is_not_tested() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = plc(dir.path(), "plc").await;
    let plan = login_plan(&target, 2);
    let evidence = tokio::time::timeout(plan.bound(), plan.run(now()))
        .await
        .unwrap();
    let lockout = expect(&evidence, "https-lockout", &target, Outcome::NotMet);
    assert!(lockout.contains("at most 2 allowed"), "{lockout}");

    let bare_dir = tempfile::tempdir().unwrap();
    let (_bare, bare) = plc(bare_dir.path(), "bare").await;
    let plan = login_plan(&bare, 10);
    let evidence = tokio::time::timeout(plan.bound(), plan.run(now()))
        .await
        .unwrap();
    for id in [
        "https-use-notification",
        "https-authenticator-feedback",
        "https-lockout",
    ] {
        let why = expect(&evidence, id, &bare, Outcome::NotTested);
        assert!(why.contains("no login form"), "{id}: {why}");
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and openssl: run scripts/test"]
async fn a_plane_with_only_a_json_login_api_is_probed_through_its_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = plc(dir.path(), "api").await;
    let evidence = {
        let plan = login_plan(&target, 10);
        tokio::time::timeout(plan.bound(), plan.run(now()))
            .await
            .unwrap()
    };
    // No page to show a notification on: not tested, as before.
    expect(
        &evidence,
        "https-use-notification",
        &target,
        Outcome::NotTested,
    );
    // Found at the second place looked at (/api/v1/openapi.json answers 404), its login
    // operation named by its path and properties ($ref, format: password).
    let feedback = expect(
        &evidence,
        "https-authenticator-feedback",
        &target,
        Outcome::NotMet,
    );
    assert!(
        feedback.contains("non-existent user says \"unknown user\"")
            && feedback.contains("'operator' says \"wrong password\""),
        "{feedback}"
    );
    let details = &result(&evidence, "https-authenticator-feedback", &target).details;
    assert_eq!(details["login_page"], "POST /api/session/login (JSON)");
    assert_eq!(details["password_input"], "secret (JSON property)");
    let lockout = expect(&evidence, "https-lockout", &target, Outcome::Met);
    assert!(
        lockout.contains("after 3 failed login(s)") && lockout.contains("HTTP 423"),
        "{lockout}"
    );
    let details = &result(&evidence, "https-lockout", &target).details;
    assert_eq!(details["threshold"], 3);
    assert_eq!(details["login_route"], "POST /api/session/login (JSON)");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and openssl: run scripts/test"]
async fn a_lock_that_holds_on_the_form_but_not_on_the_json_api_is_not_met() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = plc(dir.path(), "split").await;
    let checks = ["https-lockout".to_owned()];
    let account = LoginAccount::new("operator", 10)
        .unwrap()
        .with_password(zeroize::Zeroizing::new("plc-pass-1".to_owned()));
    let plan = Plan::new(vec![target.parse().unwrap()], Some(&checks), true)
        .unwrap()
        .with_login_account(account);
    let evidence = tokio::time::timeout(plan.bound(), plan.run(now()))
        .await
        .unwrap();
    // The form locks after 3 failures and refuses the password; its API still takes it.
    let lockout = expect(&evidence, "https-lockout", &target, Outcome::NotMet);
    assert!(
        lockout.contains("locked 'operator' through the login form within the maximum")
            && lockout.contains("POST /api/session/login (JSON) accepted it (HTTP 200"),
        "{lockout}"
    );
    let details = &result(&evidence, "https-lockout", &target).details;
    assert_eq!(details["login_route"], "the login form");
    assert_eq!(
        details["other_routes"][0]["verdict"],
        "accepted the right password"
    );
    // 10 wrong passwords through the form, one through the API.
    assert_eq!(details["failed_logins"], 11);
}
