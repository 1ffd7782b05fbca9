//! The checks of what a management plane shows and answers around its login: the system use
//! notification before it (CR 1.12), the feedback a failed login gives (CR 1.10) and, with
//! consent and a throw-away account the user names, the lockout threshold (CR 1.11).
//!
//! The login form is found generically — on `/login`, else `/`, following one redirect — by
//! the bounded scanner of [`super::page`]: the first form with a `type=password` input, its
//! user name input, its hidden inputs (CSRF tokens) sent back as they came, with the cookies
//! the page set. The
//! probe never knows a password: every password it sends is random, and so is the user name
//! of the non-existent user. Every failed login it makes is recorded by a target that audits
//! (CR 2.8), and each one against the named account counts towards its lockout.

use std::time::Duration;

use hyper::header::{self, HeaderName};
use serde_json::{Value, json};

use super::login_route::{self, JsonLogin, LoginRoute};
use super::page::{self, Form, Page};
use super::{Answer, get, header, request};
use crate::checks::PlanError;
use crate::evidence::Outcome;
use crate::net::Context;
use crate::run::Finding;
use crate::target::Target;

/// The most wrong passwords `https-lockout` sends.
pub const LOCKOUT_CAP: u32 = 20;
/// The default most failed logins after which the account must be locked.
pub const DEFAULT_LOCKOUT_MAX: u32 = 10;
/// The pause between two failed logins of `https-lockout` (each also takes two paced
/// connections: the login page, then the post).
const ATTEMPT_PAUSE: Duration = Duration::from_millis(300);
/// The time `https-lockout` gives itself before it stops and reports what it saw (its bound
/// in the registry is longer).
const LOCKOUT_BUDGET: Duration = Duration::from_secs(100);
/// The most characters of a notification or an answer shown in an observation.
const SHOWN_CHARS: usize = 160;

/// A throw-away account of the target for the login checks (`--login-account`): the
/// authenticator-feedback check compares its failed login with a non-existent user's, and
/// `https-lockout` sends it wrong passwords until it locks. Its password is needed only to
/// decide the lockout of a target that locks without saying so
/// ([`LoginAccount::with_password`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAccount {
    name: String,
    lockout_max: u32,
    password: Option<AccountPassword>,
}

/// The throw-away account's password: zeroized when dropped, never shown.
#[derive(Clone)]
struct AccountPassword(zeroize::Zeroizing<String>);

impl std::fmt::Debug for AccountPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountPassword(redacted)")
    }
}

impl PartialEq for AccountPassword {
    fn eq(&self, other: &AccountPassword) -> bool {
        rampart_vault::crypto::ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for AccountPassword {}

impl LoginAccount {
    /// The account `name`, locked (to be met) after at most `lockout_max` failed logins
    /// (1 to [`LOCKOUT_CAP`]; [`DEFAULT_LOCKOUT_MAX`] is the default).
    ///
    /// # Errors
    /// [`PlanError::LoginAccount`] for an empty name, one longer than 256 characters or with
    /// control characters, and a maximum out of range.
    pub fn new(name: &str, lockout_max: u32) -> Result<LoginAccount, PlanError> {
        if name.trim().is_empty()
            || name.chars().count() > 256
            || name.chars().any(char::is_control)
        {
            return Err(PlanError::LoginAccount(
                "the account name must be 1 to 256 characters without control characters"
                    .to_owned(),
            ));
        }
        if !(1..=LOCKOUT_CAP).contains(&lockout_max) {
            return Err(PlanError::LoginAccount(format!(
                "the lockout maximum must be 1 to {LOCKOUT_CAP}, got {lockout_max}"
            )));
        }
        Ok(LoginAccount {
            name: name.to_owned(),
            lockout_max,
            password: None,
        })
    }

    /// With the account's password: `https-lockout` then logs in once with it before the
    /// wrong passwords (it must work) and once after `lockout_max` of them (it must be
    /// refused), so it decides the lockout of a target that answers a locked account exactly
    /// as a wrong password (as CR 1.10 allows). The password is sent only in the login form
    /// of the target named, never shown, and zeroized when dropped.
    #[must_use]
    pub fn with_password(mut self, password: zeroize::Zeroizing<String>) -> LoginAccount {
        self.password = Some(AccountPassword(password));
        self
    }

    /// The account name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The most failed logins after which the account must be locked.
    pub fn lockout_max(&self) -> u32 {
        self.lockout_max
    }
}

/// What the login checks share during a run.
#[derive(Debug, Default)]
pub(crate) struct LoginContext {
    /// The account named, if any.
    pub(crate) account: Option<LoginAccount>,
    /// Whether intrusive checks may run (a failed login against the account counts towards
    /// its lockout, so the feedback check compares only then).
    pub(crate) intrusive: bool,
    /// Failed logins this run made against the account, by target.
    failures: std::sync::Mutex<Vec<(String, u32)>>,
}

impl LoginContext {
    pub(crate) fn new(account: Option<LoginAccount>, intrusive: bool) -> LoginContext {
        LoginContext {
            account,
            intrusive,
            ..LoginContext::default()
        }
    }

    fn failures(&self, target: &Target) -> u32 {
        let key = target.to_string();
        self.failures.lock().map_or(0, |f| {
            f.iter().find(|(t, _)| *t == key).map_or(0, |(_, n)| *n)
        })
    }

    fn count_failure(&self, target: &Target) {
        let key = target.to_string();
        if let Ok(mut f) = self.failures.lock() {
            match f.iter_mut().find(|(t, _)| *t == key) {
                Some((_, n)) => *n += 1,
                None => f.push((key, 1)),
            }
        }
    }
}

/// A page fetched before any login: where, what it answered, what it says, its cookies.
struct LoginPage {
    path: String,
    status: u16,
    page: Page,
    /// `name=value` of each cookie it (and a redirect to it) set.
    cookies: Vec<String>,
}

/// The `name=value` of each cookie an answer sets.
fn cookies(answer: &Answer) -> impl Iterator<Item = String> + '_ {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .map(|c| c.trim().to_owned())
        .filter(|c| c.contains('='))
}

/// `GET /login`, else `GET /`, each following one redirect on the target (`/` → `/login.html`):
/// the first page with a login form, else the first that answered below 400.
async fn login_page(context: &Context, target: &Target) -> Result<LoginPage, String> {
    let mut shown = None;
    let mut errors = Vec::new();
    let mut visited: Vec<String> = Vec::new();
    for start in ["/login", "/"] {
        let mut path = start.to_owned();
        let mut set = Vec::new();
        for _hop in 0..2 {
            if visited.contains(&path) {
                break;
            }
            visited.push(path.clone());
            let answer = match get(context, target, &path).await {
                Ok(answer) => answer,
                Err(e) => {
                    errors.push(e);
                    break;
                }
            };
            set.extend(cookies(&answer));
            let next = (300..400)
                .contains(&answer.status)
                .then(|| header(&answer.headers, "location"))
                .flatten()
                .and_then(|l| action_path(Some(l), &path, target).ok());
            let found = LoginPage {
                path: path.clone(),
                status: answer.status,
                page: page::scan(&answer.body),
                cookies: set.clone(),
            };
            if found.page.login_form().is_some() {
                return Ok(found);
            }
            if shown.is_none() && answer.status < 300 {
                shown = Some(found);
            }
            match next {
                Some(next) => path = next,
                None => break,
            }
        }
    }
    shown.ok_or_else(|| {
        if errors.is_empty() {
            "neither /login nor / (nor a redirect of theirs) showed a page".to_owned()
        } else {
            errors.join("; ")
        }
    })
}

/// The phrases of a system use notification, for a page that does not mark its notice.
const NOTIFICATION_PHRASES: &[&str] = &[
    "unauthorized",
    "unauthorised",
    "authorized",
    "authorised",
    "monitored",
    "system use",
    "consent to",
    "prohibited",
    "recorded",
];

/// The system use notification of a page: the text of its notice elements, else the sentence
/// around the first notification phrase. `None` when it shows none.
pub(crate) fn notification(page: &Page) -> Option<String> {
    let notice = page.notice_text();
    if notice.chars().any(char::is_alphanumeric) {
        return Some(notice);
    }
    let lower = page.text.to_lowercase();
    let at = NOTIFICATION_PHRASES
        .iter()
        .filter_map(|p| lower.find(p))
        .min()?;
    // The sentence around it: back to the previous sentence end, forward to the next one.
    let text = &page.text;
    let start = text
        .get(..at)
        .and_then(|b| b.rfind(['.', '!', '?']))
        .map_or(0, |i| i + 1);
    let end = text
        .get(at..)
        .and_then(|a| a.find(['.', '!', '?']))
        .map_or(text.len(), |i| at + i + 1);
    text.get(start..end).map(|s| s.trim().to_owned())
}

pub(crate) async fn use_notification(context: &Context, target: &Target) -> Finding {
    let shown = match login_page(context, target).await {
        Ok(shown) => shown,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    let form = shown.page.login_form().is_some();
    let path = shown.path.as_str();
    let finding = match notification(&shown.page) {
        Some(text) => Finding::new(
            Outcome::Met,
            format!(
                "GET {path} ({}) shows a system use notification{}: \"{}\"",
                shown.status,
                if form { " with the login form" } else { "" },
                shorten(&text)
            ),
        )
        .with("notification", page::clip(&text, 4096)),
        None if form => Finding::new(
            Outcome::NotMet,
            format!(
                "GET {path} ({}) shows a login form and no system use notification (no element \
                 marked banner/notice/warning, no text such as \"authorized use only\" or \
                 \"monitored\")",
                shown.status
            ),
        ),
        None => Finding::new(
            Outcome::NotTested,
            format!(
                "no login form at /login or /, and GET {path} ({}) shows no system use \
                 notification: nothing shown before authentication to judge",
                shown.status
            ),
        ),
    };
    finding
        .with("path", path)
        .with("status", shown.status)
        .with("login_form", form)
}

/// Phrases that tell why a login failed or whether the user exists (CR 1.10).
const TELLING_USER: &[&str] = &[
    "unknown user",
    "no such user",
    "user not found",
    "user does not exist",
    "user doesn't exist",
    "unknown account",
    "no such account",
    "account not found",
    "account does not exist",
    "invalid user",
    "invalid username",
    "invalid user name",
    "incorrect username",
    "incorrect user name",
    "wrong username",
    "wrong user name",
    "not registered",
];
const TELLING_PASSWORD: &[&str] = &[
    "wrong password",
    "incorrect password",
    "invalid password",
    "bad password",
    "password is incorrect",
    "password is wrong",
    "password is invalid",
    "password incorrect",
    "password does not match",
];

/// The first phrase of `text` that tells which part of a login was wrong or whether the user
/// exists; "invalid user name or password" and the like tell nothing and are not taken.
pub(crate) fn telling_phrase(text: &str) -> Option<&'static str> {
    new_telling_phrase(text, "")
}

/// The first telling phrase (see [`telling_phrase`]) that `answer` says more often than
/// `before`, the page shown before the login: a help text on the login page ("after five
/// wrong passwords …") is not feedback.
pub(crate) fn new_telling_phrase(answer: &str, before: &str) -> Option<&'static str> {
    let (answer, before) = (answer.to_lowercase(), before.to_lowercase());
    TELLING_USER
        .iter()
        .chain(TELLING_PASSWORD)
        .find(|phrase| telling_count(&answer, phrase) > telling_count(&before, phrase))
        .copied()
}

/// How often `lower` says `phrase` on its own, not as part of a message about both parts.
fn telling_count(lower: &str, phrase: &str) -> usize {
    let about_user = TELLING_USER.contains(&phrase);
    let mut count = 0;
    let mut from = 0;
    while let Some(at) = lower.get(from..).and_then(|l| l.find(phrase)) {
        let joint = if about_user {
            let rest = lower.get(from + at + phrase.len()..).unwrap_or("");
            let after = rest.trim_start_matches([' ', ',', '/', '\u{a0}']);
            // "invalid user" is part of "invalid username …": only whole words count.
            rest.starts_with(char::is_alphanumeric)
                || ["or", "and", "password", "&", "nor"]
                    .iter()
                    .any(|w| after.starts_with(w))
        } else {
            // "wrong user name or password" is one message about both parts.
            let before = lower.get(..from + at).unwrap_or("").trim_end();
            before.ends_with(" or") || before.ends_with('/')
        };
        if !joint {
            count += 1;
        }
        from += at + phrase.len();
    }
    count
}

/// Phrases that say an account or a source is locked or throttled.
const LOCK_PHRASES: &[&str] = &[
    "locked",
    "too many",
    "try again later",
    "temporarily",
    "blocked",
    "suspended",
    "disabled",
];

/// What a failed login answered, as the checks compare it.
#[derive(Debug, Clone)]
struct Attempt {
    status: u16,
    location: Option<String>,
    retry_after: Option<String>,
    /// The visible text of an HTML answer, or the body of any other.
    text: String,
    /// The body with the user name sent and anything token-like replaced.
    normalized: String,
    /// The `Set-Cookie` header values, whole.
    set_cookies: Vec<String>,
}

impl Attempt {
    fn from_answer(answer: &Answer, user: &str) -> Attempt {
        let raw = String::from_utf8_lossy(&answer.body);
        let html = header(&answer.headers, "content-type")
            .is_some_and(|t| t.to_ascii_lowercase().contains("html"))
            || raw.trim_start().starts_with('<');
        let text = if html {
            page::scan(&answer.body).text
        } else {
            page::collapse(&page::clip(&raw, page::MAX_TEXT_CHARS))
        };
        Attempt {
            status: answer.status,
            location: header(&answer.headers, "location").map(|l| normalize(l, user)),
            retry_after: header(&answer.headers, "retry-after").map(ToOwned::to_owned),
            text,
            normalized: normalize(&raw, user),
            set_cookies: answer
                .headers
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(ToOwned::to_owned)
                .collect(),
        }
    }

    fn describe(&self) -> String {
        let mut out = format!("HTTP {}", self.status);
        if let Some(l) = &self.location {
            out = out + " to " + l;
        }
        if let Some(r) = &self.retry_after {
            out = out + " with Retry-After: " + r;
        }
        out
    }

    fn details(&self) -> Value {
        json!({
            "status": self.status,
            "location": self.location,
            "retry_after": self.retry_after,
            "text": shorten(&self.text),
        })
    }
}

/// `text` with `user` (as sent, and as the form encodes it) made `{user}` and every token-like
/// run — at least 16 letters, digits and `-_+/=%`, with a letter and a digit — made
/// `{token}`, whitespace collapsed: two answers that differ only in nonces, CSRF tokens or
/// the name typed compare equal.
pub(crate) fn normalize(text: &str, user: &str) -> String {
    let mut text = text.to_owned();
    if !user.is_empty() {
        text = text.replace(user, "{user}");
        let encoded = form_encode(user);
        if encoded != user {
            text = text.replace(&encoded, "{user}");
        }
    }
    let is_token_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '=' | '%');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let token = run.len() >= 16
            && run.chars().any(|c| c.is_ascii_alphabetic())
            && run.chars().any(|c| c.is_ascii_digit());
        if token {
            out.push_str("{token}");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    page::collapse(&out)
}

/// Where two normalized answers first differ: a few characters of each around it.
fn first_difference(a: &str, b: &str) -> Option<(String, String)> {
    if a == b {
        return None;
    }
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or_else(|| a.len().min(b.len()), |((i, _), _)| i);
    let around = |s: &str| {
        let start = s
            .char_indices()
            .map(|(i, _)| i)
            .filter(|i| *i <= at)
            .rev()
            .nth(30)
            .unwrap_or(0);
        page::clip(s.get(start..).unwrap_or(""), 80)
    };
    Some((around(a), around(b)))
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub(crate) fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
    out
}

/// The body a browser would post for `form` with `user` and `password`: hidden inputs as
/// they came (CSRF tokens), the first named submit button, other inputs empty; check boxes,
/// radio buttons and files left out. `None` when the form has no user name input.
pub(crate) fn form_body(form: &Form, user: &str, password: &str) -> Option<String> {
    let user_input = form.user()?.name.clone();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut submitted = false;
    for input in form.inputs.iter().filter(|i| !i.name.is_empty()) {
        let value = match input.kind.as_str() {
            "hidden" => input.value.clone(),
            "password" => password.to_owned(),
            "submit" | "image" => {
                if submitted {
                    continue;
                }
                submitted = true;
                input.value.clone()
            }
            "checkbox" | "radio" | "file" | "reset" | "button" => continue,
            _ if input.name == user_input => user.to_owned(),
            _ => String::new(),
        };
        fields.push((input.name.clone(), value));
    }
    Some(
        fields
            .iter()
            .map(|(n, v)| format!("{}={}", form_encode(n), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

/// The path a form posts to, on the target: its action resolved against the page's path.
///
/// # Errors
/// A form that posts to another host or scheme: only the target named is contacted.
pub(crate) fn action_path(
    action: Option<&str>,
    page_path: &str,
    target: &Target,
) -> Result<String, String> {
    let action = action.map_or("", str::trim);
    let action = action.split('#').next().unwrap_or("");
    let path = if action.is_empty() {
        page_path.to_owned()
    } else if let Some(rest) = action
        .strip_prefix("https://")
        .or_else(|| action.strip_prefix("//"))
    {
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        let host = if target.host().contains(':') {
            format!("[{}]", target.host())
        } else {
            target.host().to_owned()
        };
        let same = authority.eq_ignore_ascii_case(&format!("{host}:{}", target.port()))
            || (target.port() == 443 && authority.eq_ignore_ascii_case(&host));
        if !same {
            return Err(format!(
                "the login form posts to {}, not to the target: only the target named is \
                 contacted",
                page::clip(action, 100)
            ));
        }
        path.to_owned()
    } else if action.contains("://") || action.starts_with("javascript:") {
        return Err(format!(
            "the login form posts to {}, not to the target over HTTPS",
            page::clip(action, 100)
        ));
    } else if action.starts_with('/') {
        action.to_owned()
    } else if action.starts_with('?') {
        format!("{page_path}{action}")
    } else {
        let dir = page_path
            .rfind('/')
            .map_or("/", |i| page_path.get(..=i).unwrap_or("/"));
        format!("{dir}{action}")
    };
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the login form's action is not a usable path".to_owned());
    }
    Ok(path)
}

/// A random name or password, `prefix` then 24 hex digits.
fn random(prefix: &str) -> Result<String, String> {
    let mut bytes = [0u8; 12];
    rampart_vault::crypto::fill_random(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes
        .iter()
        .fold(prefix.to_owned(), |s, b| s + &format!("{b:02x}")))
}

/// One failed login through `route`: `user` and a random password.
async fn fail_login(
    context: &Context,
    target: &Target,
    route: &LoginRoute,
    user: &str,
) -> Result<Attempt, String> {
    let password = random("Pw-")?;
    log_in(context, target, route, user, &password).await
}

/// One login through `route` with `password`, and how it was answered.
async fn log_in(
    context: &Context,
    target: &Target,
    route: &LoginRoute,
    user: &str,
    password: &str,
) -> Result<Attempt, String> {
    match route {
        LoginRoute::Form => log_in_by_form(context, target, user, password).await,
        LoginRoute::Json(json) => log_in_by_json(context, target, json, user, password).await,
    }
}

/// The `Origin` of requests to the target.
fn origin(target: &Target) -> String {
    if target.host().contains(':') {
        format!("https://[{}]:{}", target.host(), target.port())
    } else {
        format!("https://{}:{}", target.host(), target.port())
    }
}

/// One login through a JSON login operation: an object of the user name and the password.
async fn log_in_by_json(
    context: &Context,
    target: &Target,
    json: &JsonLogin,
    user: &str,
    password: &str,
) -> Result<Attempt, String> {
    let mut credentials = serde_json::Map::new();
    credentials.insert(json.user_property.clone(), Value::from(user));
    credentials.insert(json.password_property.clone(), Value::from(password));
    let body = zeroize::Zeroizing::new(Value::Object(credentials).to_string());
    let headers = [
        (header::CONTENT_TYPE, "application/json".to_owned()),
        (header::ORIGIN, origin(target)),
    ];
    let answer = request(
        context,
        target,
        hyper::Method::POST,
        &json.path,
        &headers,
        body.as_bytes().to_vec(),
    )
    .await?;
    Ok(Attempt::from_answer(&answer, user))
}

/// One login through the target's login form (fetched again for fresh tokens and cookies).
async fn log_in_by_form(
    context: &Context,
    target: &Target,
    user: &str,
    password: &str,
) -> Result<Attempt, String> {
    let shown = login_page(context, target).await?;
    let form = shown
        .page
        .login_form()
        .ok_or("no login form (no form with a type=password input) at /login or /")?;
    if form.method != "post" {
        return Err(format!(
            "the login form's method is {}, not post: the probe does not send credentials in \
             a URL",
            page::clip(&form.method, 20)
        ));
    }
    let path = action_path(form.action.as_deref(), &shown.path, target)?;
    let body = zeroize::Zeroizing::new(
        form_body(form, user, password).ok_or("the login form has no user name input")?,
    );
    let origin = origin(target);
    let mut headers: Vec<(HeaderName, String)> = vec![
        (
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".to_owned(),
        ),
        (header::ORIGIN, origin.clone()),
        (header::REFERER, format!("{origin}{}", shown.path)),
    ];
    if !shown.cookies.is_empty() {
        headers.push((header::COOKIE, shown.cookies.join("; ")));
    }
    let answer = request(
        context,
        target,
        hyper::Method::POST,
        &path,
        &headers,
        body.as_bytes().to_vec(),
    )
    .await?;
    Ok(Attempt::from_answer(&answer, user))
}

/// The route the login checks take: the login form of `shown` when it has one, else the
/// first JSON login operation of the target's `OpenAPI` document. `Err` says why there is
/// none.
async fn first_route(
    context: &Context,
    target: &Target,
    shown: &Result<LoginPage, String>,
) -> Result<LoginRoute, String> {
    let no_form = match shown {
        Ok(shown) if shown.page.login_form().is_some() => return Ok(LoginRoute::Form),
        Ok(shown) => format!(
            "no login form (no form with a type=password input) at /login or /; GET {} \
             answered {}",
            shown.path, shown.status
        ),
        Err(e) => format!("no login form at /login or / ({e})"),
    };
    match login_route::json_logins(context, target).await {
        Ok((_, logins)) if !logins.is_empty() => Ok(LoginRoute::Json(logins[0].clone())),
        Ok((place, _)) => Err(format!(
            "{no_form}; the OpenAPI document at {place} declares no JSON login operation"
        )),
        Err(e) => Err(format!("{no_form}; {e}")),
    }
}

pub(crate) async fn authenticator_feedback(context: &Context, target: &Target) -> Finding {
    let shown = login_page(context, target).await;
    if let Ok(shown) = &shown
        && shown.page.login_form().is_none()
        && let Some(clear) = shown.page.forms.iter().find_map(Form::clear_password)
    {
        return Finding::new(
            Outcome::NotMet,
            format!(
                "the login form at {} takes the password in a visible input ('{}', type={}): \
                 it is not obscured",
                shown.path,
                page::clip(&clear.name, 40),
                page::clip(&clear.kind, 20)
            ),
        );
    }
    let route = match first_route(context, target, &shown).await {
        Ok(route) => route,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    // What was shown before the login, so that only what a failed login adds is judged; the
    // password's input (form) or property (JSON).
    let (login_page, before, password_input) = match (&route, &shown) {
        (LoginRoute::Json(json), _) => (
            route.describe(),
            String::new(),
            format!("{} (JSON property)", json.password_property),
        ),
        (LoginRoute::Form, Ok(shown)) => (
            shown.path.clone(),
            shown.page.text.clone(),
            format!(
                "{} (type=password)",
                shown
                    .page
                    .login_form()
                    .and_then(Form::password)
                    .map(|p| p.name.clone())
                    .unwrap_or_default()
            ),
        ),
        (LoginRoute::Form, Err(e)) => return Finding::new(Outcome::NotTested, e.clone()),
    };
    let unknown_user = match random("probe-") {
        Ok(u) => u,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    let unknown = match fail_login(context, target, &route, &unknown_user).await {
        Ok(a) => a,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    let mut problems = Vec::new();
    if let Some(phrase) = new_telling_phrase(&unknown.text, &before) {
        problems.push(format!(
            "a failed login of a non-existent user says \"{phrase}\""
        ));
    }
    let mut finding_details = vec![
        ("login_page", Value::from(login_page)),
        ("password_input", Value::from(password_input)),
        ("unknown_user", unknown.details()),
    ];
    let mut compared = None;
    match (&context.login.account, context.login.intrusive) {
        (Some(account), true) => match fail_login(context, target, &route, account.name()).await {
            Ok(known) => {
                context.login.count_failure(target);
                if let Some(phrase) = new_telling_phrase(&known.text, &before) {
                    problems.push(format!(
                        "a failed login of the existing account '{}' says \"{phrase}\"",
                        account.name()
                    ));
                }
                if known.status != unknown.status || known.location != unknown.location {
                    problems.push(format!(
                        "the existing account '{}' with a wrong password is answered {}, a \
                         non-existent user {}",
                        account.name(),
                        known.describe(),
                        unknown.describe()
                    ));
                } else if let Some((k, u)) =
                    first_difference(&known.normalized, &unknown.normalized)
                {
                    problems.push(format!(
                        "the answers for the existing account '{}' and a non-existent user \
                         differ: \"…{}…\" against \"…{}…\"",
                        account.name(),
                        k,
                        u
                    ));
                }
                finding_details.push(("existing_account", known.details()));
                compared = Some(account.name().to_owned());
            }
            Err(e) => {
                finding_details.push(("existing_account", Value::from(e)));
            }
        },
        (Some(_), false) => finding_details.push((
            "existing_account",
            Value::from("not compared: a failed login counts towards its lockout (--intrusive)"),
        )),
        (None, _) => finding_details.push((
            "existing_account",
            Value::from("not compared: name one with --intrusive --login-account NAME"),
        )),
    }
    let finding = if problems.is_empty() {
        Finding::new(
            Outcome::Met,
            format!(
                "{} a non-existent user answered {} without saying why{}",
                match &route {
                    LoginRoute::Form => "the password input is obscured (type=password); a \
                                         failed login of"
                        .to_owned(),
                    LoginRoute::Json(_) =>
                        format!("a failed login through {} of", route.describe()),
                },
                unknown.describe(),
                compared.map_or_else(
                    || " (an existing account is compared with --intrusive --login-account)"
                        .to_owned(),
                    |name| format!(
                        ", exactly as the existing account '{name}' with a wrong password"
                    )
                )
            ),
        )
    } else {
        Finding::new(Outcome::NotMet, problems.join("; "))
    };
    finding_details
        .into_iter()
        .fold(finding, |f, (k, v)| f.with(k, v))
}

/// The cookies a login with the throw-away account's password sets (the session cookie that
/// no page shows before a login), and the route it took. `None` without an account and its
/// password; `Err` when the login could not be made or did not succeed.
pub(crate) async fn session_cookies(
    context: &Context,
    target: &Target,
) -> Option<Result<(String, Vec<String>), String>> {
    let account = context.login.account.as_ref()?;
    let password = account.password.as_ref()?;
    let shown = login_page(context, target).await;
    let route = match first_route(context, target, &shown).await {
        Ok(route) => route,
        Err(e) => return Some(Err(e)),
    };
    Some(
        log_in(context, target, &route, account.name(), &password.0)
            .await
            .and_then(|answer| {
                if answer.set_cookies.is_empty() {
                    Err(format!(
                        "a login of '{}' through {} set no cookie ({})",
                        account.name(),
                        route.describe(),
                        answer.describe()
                    ))
                } else {
                    Ok((route.describe(), answer.set_cookies))
                }
            }),
    )
}

/// Why an answer to a failed login looks like a lockout, compared with the first one.
fn lock_signal(attempt: &Attempt, first: Option<&Attempt>) -> Option<String> {
    if matches!(attempt.status, 423 | 429) {
        return Some(attempt.describe());
    }
    if let Some(r) = &attempt.retry_after
        && first.is_none_or(|f| f.retry_after.is_none())
    {
        return Some(format!("{} (Retry-After: {r})", attempt.describe()));
    }
    let first = first?;
    if attempt.status != first.status || attempt.location != first.location {
        return Some(format!(
            "{} where the first failed login was answered {}",
            attempt.describe(),
            first.describe()
        ));
    }
    let lower = attempt.text.to_lowercase();
    let before = first.text.to_lowercase();
    LOCK_PHRASES
        .iter()
        .find(|p| lower.matches(*p).count() > before.matches(*p).count())
        .map(|p| format!("{} saying \"{p}\"", attempt.describe()))
}

pub(crate) async fn lockout(context: &Context, target: &Target) -> Finding {
    let Some(account) = &context.login.account else {
        return Finding::new(
            Outcome::NotTested,
            "needs a throw-away account of the target: --login-account NAME",
        );
    };
    let name = account.name();
    let max = account.lockout_max();
    let shown = login_page(context, target).await;
    let route = match first_route(context, target, &shown).await {
        Ok(route) => route,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    if let Some(password) = &account.password {
        return lockout_with_password(context, target, &route, name, max, &password.0)
            .await
            .with("login_route", route.describe());
    }
    let before = context.login.failures(target);
    let started = tokio::time::Instant::now();
    let mut first: Option<Attempt> = None;
    let mut answers = Vec::new();
    let mut sent = 0u32;
    let mut signal = None;
    while sent < LOCKOUT_CAP && started.elapsed() < LOCKOUT_BUDGET {
        if sent > 0 {
            tokio::time::sleep(ATTEMPT_PAUSE).await;
        }
        let attempt = match fail_login(context, target, &route, name).await {
            Ok(a) => a,
            Err(e) if sent == 0 => return Finding::new(Outcome::NotTested, e),
            Err(e) => {
                let finding = Finding::new(
                    Outcome::NotTested,
                    format!(
                        "after {sent} failed login(s) for '{name}' answered alike, the next could not \
                         be made ({e}): a lockout is not told from an outage"
                    ),
                );
                answers.push(Value::from(e));
                return finding
                    .with("account", name)
                    .with("failed_logins", before + sent)
                    .with("answers", answers);
            }
        };
        sent += 1;
        context.login.count_failure(target);
        answers.push(Value::from(attempt.describe()));
        if let Some(why) = lock_signal(&attempt, first.as_ref()) {
            signal = Some(why);
            break;
        }
        if first.is_none() {
            first = Some(attempt);
        }
    }
    let failures = before + sent;
    let finding = match signal {
        Some(why) if sent <= 1 => Finding::new(
            Outcome::NotTested,
            format!(
                "the first failed login for '{name}' was already answered as locked ({why}): \
                 unlock the account and probe again"
            ),
        ),
        Some(why) => {
            // The answer to failure number `failures` showed the lock: it took effect after
            // the failure before it.
            let threshold = failures - 1;
            let outcome = if threshold <= max {
                Outcome::Met
            } else {
                Outcome::NotMet
            };
            Finding::new(
                outcome,
                format!(
                    "locked '{name}' after {threshold} failed login(s) ({}at most {max} \
                     allowed): the next was answered {why}; the account stays locked until \
                     it unlocks or is unlocked",
                    if before > 0 {
                        format!("{before} of them by https-authenticator-feedback; ")
                    } else {
                        String::new()
                    }
                ),
            )
            .with("threshold", threshold)
        }
        None => Finding::new(
            Outcome::NotTested,
            format!(
                "answered all {sent} failed logins for '{name}' alike ({}): it never locks, or \
                 it locks without saying so (as CR 1.10 allows) — the probe cannot tell which \
                 without the account's password; '{name}' may now be locked",
                first.as_ref().map_or_else(String::new, Attempt::describe)
            ),
        ),
    };
    finding
        .with("account", name)
        .with("login_route", route.describe())
        .with("failed_logins", failures)
        .with("lockout_max", max)
        .with("answers", answers)
}

/// Whether two answers are alike as a login's outcome: same status and same redirect.
fn alike(a: &Attempt, b: &Attempt) -> bool {
    a.status == b.status && a.location == b.location
}

/// `https-lockout` with the account's password: a login with it (must work), `max` wrong
/// passwords, the password again: refused means locked within `max`.
async fn lockout_with_password(
    context: &Context,
    target: &Target,
    route: &LoginRoute,
    name: &str,
    max: u32,
    password: &str,
) -> Finding {
    let control = match log_in(context, target, route, name, password).await {
        Ok(a) => a,
        Err(e) => return Finding::new(Outcome::NotTested, e),
    };
    let mut answers = vec![Value::from(format!(
        "with the password: {}",
        control.describe()
    ))];
    let mut first: Option<Attempt> = None;
    for sent in 1..=max {
        tokio::time::sleep(ATTEMPT_PAUSE).await;
        let attempt = match fail_login(context, target, route, name).await {
            Ok(a) => a,
            Err(e) => {
                return Finding::new(
                    Outcome::NotTested,
                    format!("failed login {sent} for '{name}' could not be made: {e}"),
                )
                .with("answers", answers);
            }
        };
        context.login.count_failure(target);
        answers.push(Value::from(attempt.describe()));
        if first.is_none() {
            if alike(&attempt, &control) {
                return Finding::new(
                    Outcome::NotTested,
                    format!(
                        "a wrong password for '{name}' was answered as the password given ({}): \
                         the password does not log in, or the answers tell nothing",
                        control.describe()
                    ),
                )
                .with("answers", answers);
            }
            first = Some(attempt);
        }
    }
    tokio::time::sleep(ATTEMPT_PAUSE).await;
    let after = match log_in(context, target, route, name, password).await {
        Ok(a) => a,
        Err(e) => {
            return Finding::new(
                Outcome::NotTested,
                format!("the login with the password after {max} failures could not be made: {e}"),
            )
            .with("answers", answers);
        }
    };
    answers.push(Value::from(format!(
        "with the password: {}",
        after.describe()
    )));
    let failed = first.as_ref().is_some_and(|f| alike(&after, f));
    let finding = if alike(&after, &control) {
        Finding::new(
            Outcome::NotMet,
            format!(
                "accepted the right password for '{name}' after {max} failed login(s) ({}): \
                 no lockout within the maximum of {max}",
                after.describe()
            ),
        )
    } else if failed {
        Finding::new(
            Outcome::Met,
            format!(
                "refused the right password for '{name}' after {max} failed login(s), answered \
                 as a wrong one ({}) where it logged in before ({}): locked within the maximum \
                 of {max}; the account stays locked until it unlocks or is unlocked",
                after.describe(),
                control.describe()
            ),
        )
    } else {
        Finding::new(
            Outcome::Met,
            format!(
                "refused the right password for '{name}' after {max} failed login(s) ({}, \
                 where it logged in before: {}): locked within the maximum of {max}",
                after.describe(),
                control.describe()
            ),
        )
    };
    let (finding, more_failures) = if finding.outcome == Outcome::Met {
        lock_on_other_routes(context, target, route, name, password, finding).await
    } else {
        (finding, 0)
    };
    finding
        .with("account", name)
        .with("failed_logins", max + more_failures)
        .with("lockout_max", max)
        .with("answers", answers)
}

/// After `route` locked the account: the target's other login routes (the JSON login
/// operations of its `OpenAPI` document besides `route`) must refuse the right password
/// too, or the lock holds on one door only. Each gets one wrong password (the comparison),
/// then the right one: accepted when answered 2xx and unlike the wrong one. Also how many
/// failed logins that made.
async fn lock_on_other_routes(
    context: &Context,
    target: &Target,
    route: &LoginRoute,
    name: &str,
    password: &str,
    locked: Finding,
) -> (Finding, u32) {
    let others: Vec<LoginRoute> = match login_route::json_logins(context, target).await {
        Ok((_, logins)) => logins
            .into_iter()
            .map(LoginRoute::Json)
            .filter(|other| other != route)
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut seen = Vec::new();
    let mut open = Vec::new();
    let mut failures = 0u32;
    for other in &others {
        tokio::time::sleep(ATTEMPT_PAUSE).await;
        let wrong = fail_login(context, target, other, name).await;
        if wrong.is_ok() {
            context.login.count_failure(target);
            failures += 1;
        }
        tokio::time::sleep(ATTEMPT_PAUSE).await;
        let right = log_in(context, target, other, name, password).await;
        let verdict = match (&wrong, &right) {
            (Ok(wrong), Ok(right))
                if (200..300).contains(&right.status) && !alike(right, wrong) =>
            {
                open.push(format!(
                    "{} accepted it ({}, a wrong password {})",
                    other.describe(),
                    right.describe(),
                    wrong.describe()
                ));
                "accepted the right password"
            }
            (Ok(_), Ok(_)) => "refused the right password",
            _ => "could not be asked",
        };
        seen.push(json!({
            "route": other.describe(),
            "wrong_password": wrong.as_ref().map_or_else(Clone::clone, Attempt::describe),
            "right_password": right.as_ref().map_or_else(Clone::clone, Attempt::describe),
            "verdict": verdict,
        }));
    }
    let finding = if open.is_empty() {
        let observation = if others.is_empty() {
            locked.observation.clone()
        } else {
            format!(
                "{}; the lock holds on the other login route(s) too: {}",
                locked.observation,
                others
                    .iter()
                    .map(LoginRoute::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Finding {
            observation,
            ..locked
        }
    } else {
        Finding {
            outcome: Outcome::NotMet,
            observation: format!(
                "locked '{name}' through {} within the maximum, but the lock does not hold on \
                 every login route: {}",
                route.describe(),
                open.join("; ")
            ),
            ..locked
        }
    };
    (finding.with("other_routes", seen), failures)
}

/// At most [`SHOWN_CHARS`] characters of `text`, with an ellipsis when clipped.
fn shorten(text: &str) -> String {
    if text.chars().count() > SHOWN_CHARS {
        format!("{}…", page::clip(text, SHOWN_CHARS))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        "https://127.0.0.1:8443".parse().unwrap()
    }

    #[test]
    fn telling_phrases_are_found_and_joint_messages_are_not() {
        for telling in [
            "Unknown user 'x'",
            "Error: user not found.",
            "Wrong password for admin",
            "The password is incorrect.",
            "Invalid username.",
        ] {
            assert!(telling_phrase(telling).is_some(), "{telling}");
        }
        for joint in [
            "Invalid username or password",
            "Incorrect user name and/or password.",
            "Login failed: wrong user name, password or code — or the account is locked",
            "Wrong username or password",
            "login failed: wrong user name, password or code, or the account cannot log in now",
            "Invalid user/password",
            "Incorrect login or password",
        ] {
            assert_eq!(telling_phrase(joint), None, "{joint}");
        }
        // Help text the login page shows anyway is not feedback.
        let help = "Forgot it? Five times a wrong password locks the account.";
        assert_eq!(new_telling_phrase(help, help), None);
        assert_eq!(
            new_telling_phrase(&format!("Wrong password. {help}"), help),
            Some("wrong password")
        );
    }

    #[test]
    fn normalizing_hides_tokens_and_the_name_sent() {
        let a = normalize(
            "<input name=csrf value=\"a8F3k2Lm9QxZ7vB1\"> <p>Hello probe-1234</p>",
            "probe-1234",
        );
        let b = normalize(
            "<input name=csrf value=\"Zz99Yy88Xx77Ww66\">\n<p>Hello  operator</p>",
            "operator",
        );
        assert_eq!(a, b);
        assert_ne!(
            normalize("user unknown", "x"),
            normalize("bad password", "x")
        );
        assert_eq!(
            first_difference("same start: A", "same start: B"),
            Some(("same start: A".to_owned(), "same start: B".to_owned()))
        );
        assert_eq!(first_difference("x", "x"), None);
    }

    #[test]
    fn the_form_body_carries_hidden_tokens_and_the_credentials() {
        let page = page::scan(
            b"<form method=post><input type=hidden name=_csrf value='t o&amp;k'>\
              <input name=login><input type=password name=pw><input type=checkbox name=remember>\
              <input name=totp><button type=submit name=go value=1>Go</button>\
              <input type=submit name=other value=2></form>",
        );
        let form = page.login_form().unwrap();
        assert_eq!(
            form_body(form, "al ice", "p&w").unwrap(),
            "_csrf=t+o%26k&login=al+ice&pw=p%26w&totp=&go=1"
        );
        let no_user = page::scan(b"<form method=post><input type=password name=pw></form>");
        assert_eq!(form_body(no_user.login_form().unwrap(), "u", "p"), None);
    }

    #[test]
    fn actions_resolve_on_the_target_and_nowhere_else() {
        let t = target();
        assert_eq!(action_path(None, "/login", &t).unwrap(), "/login");
        assert_eq!(action_path(Some(""), "/", &t).unwrap(), "/");
        assert_eq!(action_path(Some("/auth#x"), "/login", &t).unwrap(), "/auth");
        assert_eq!(
            action_path(Some("?next=/"), "/login", &t).unwrap(),
            "/login?next=/"
        );
        assert_eq!(
            action_path(Some("cgi/login.cgi"), "/", &t).unwrap(),
            "/cgi/login.cgi"
        );
        assert_eq!(
            action_path(Some("https://127.0.0.1:8443/s"), "/", &t).unwrap(),
            "/s"
        );
        for elsewhere in [
            "https://evil.example/s",
            "//evil.example/s",
            "http://127.0.0.1:8443/s",
            "javascript:void(0)",
            "/a b",
        ] {
            assert!(
                action_path(Some(elsewhere), "/", &t).is_err(),
                "{elsewhere}"
            );
        }
    }

    #[test]
    fn a_notification_is_the_marked_notice_or_the_sentence_of_a_phrase() {
        let marked = page::scan(b"<div class=login-banner>Authorized use only.</div><form></form>");
        assert_eq!(notification(&marked).unwrap(), "Authorized use only.");
        let plain = page::scan(
            b"<h1>PLC</h1><p>Welcome. This system is for authorized users only; activity is \
              monitored. Log in.</p>",
        );
        assert_eq!(
            notification(&plain).unwrap(),
            "This system is for authorized users only; activity is monitored."
        );
        let none =
            page::scan(b"<form method=post><input name=u><input type=password name=p></form>");
        assert_eq!(notification(&none), None);
    }

    fn attempt(status: u16, retry_after: Option<&str>, text: &str) -> Attempt {
        Attempt {
            status,
            location: None,
            retry_after: retry_after.map(ToOwned::to_owned),
            text: text.to_owned(),
            normalized: text.to_owned(),
            set_cookies: Vec::new(),
        }
    }

    #[test]
    fn a_lockout_shows_as_a_status_a_retry_after_or_a_new_lock_phrase() {
        let first = attempt(
            401,
            None,
            "Login failed. Accounts are locked after 5 failures.",
        );
        assert_eq!(lock_signal(&first, None), None);
        assert_eq!(lock_signal(&first.clone(), Some(&first)), None);
        assert!(lock_signal(&attempt(429, None, ""), Some(&first)).is_some());
        assert!(lock_signal(&attempt(423, None, ""), None).is_some());
        assert!(lock_signal(&attempt(401, Some("60"), ""), Some(&first)).is_some());
        assert!(lock_signal(&attempt(403, None, ""), Some(&first)).is_some());
        let locked = attempt(
            401,
            None,
            "Login failed. Accounts are locked after 5 failures. Your account is locked.",
        );
        assert!(
            lock_signal(&locked, Some(&first))
                .unwrap()
                .contains("locked")
        );
    }

    #[test]
    fn login_accounts_are_checked() {
        assert!(LoginAccount::new("operator", DEFAULT_LOCKOUT_MAX).is_ok());
        assert!(LoginAccount::new("", 10).is_err());
        assert!(LoginAccount::new("a\nb", 10).is_err());
        assert!(LoginAccount::new("op", 0).is_err());
        assert!(LoginAccount::new("op", LOCKOUT_CAP + 1).is_err());
    }

    #[test]
    fn the_fuzzing_oracle_holds_on_pages_of_every_kind() {
        for page in [
            &b""[..],
            b"<form method=post action='https://evil.example/x'><input name=u><input type=password name=p></form>",
            b"<form method=post action=?a><input name=u><input type=password name=p></form>",
            b"<form method=post action=\"https://127.0.0.1:8443\"><input name=u><input type=password></form>",
            b"<div class=banner>Authorized</div>\xff\xfe<form",
        ] {
            crate::fuzzing::login_page(page);
        }
    }

    #[test]
    fn every_truncation_of_a_login_page_holds_the_oracle() {
        let page = br#"<html><body><section class="banner"><p>Authorized use only &amp; monitored.</p></section>
<form method="post" action="https://127.0.0.1:8443/auth?x=1#f"><input type=hidden name=csrf value='a&#x3D;b'>
<input name="user" autocomplete=username><input type="password" name="pw"><button name=go value=1>Go</button></form>
<!-- comment <form> --><script>if (a < b) {}</script><p class=warning>Locked after 5 failures</p></body></html>"#;
        for end in 0..=page.len() {
            crate::fuzzing::login_page(&page[..end]);
            crate::fuzzing::login_page(&page[end..]);
        }
    }

    #[test]
    fn form_encoding_is_what_browsers_send() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
