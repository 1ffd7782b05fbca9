//! The ways in to a management plane that the login checks use: its login form, else a JSON
//! login operation that its `OpenAPI` 3 document declares (a plane with no form at all, only
//! an API). Both are found without credentials; the document is read once per check.

use serde_json::Value;

use super::{Answer, get};
use crate::net::Context;
use crate::target::Target;

/// Where an `OpenAPI` document is looked for, in this order: Rampart's place, then the
/// common ones of other frameworks.
pub(crate) const OPENAPI_DOCUMENTS: &[&str] = &[
    super::OPENAPI_DOCUMENT,
    "/openapi.json",
    "/api/openapi.json",
    "/v3/api-docs",
];

/// The most JSON login operations taken from one document.
pub(crate) const MAX_JSON_LOGINS: usize = 3;
/// How many `$ref`s are followed from an operation to its request schema.
const MAX_REF_HOPS: usize = 4;

/// Property names taken for the user name, most telling first.
const USER_PROPERTIES: &[&str] = &[
    "username",
    "user_name",
    "userName",
    "user",
    "login",
    "account",
    "email",
    "name",
];
/// Property names taken for the password (besides any with `format: password`).
const PASSWORD_PROPERTIES: &[&str] = &["password", "passwd", "passphrase", "pass", "pwd"];

/// A JSON login operation: `POST path` of an object with the user name and the password
/// under these property names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonLogin {
    pub(crate) path: String,
    pub(crate) user_property: String,
    pub(crate) password_property: String,
}

/// How the probe logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoginRoute {
    /// The login form of `/login` or `/`, fetched again before each login (fresh tokens and
    /// cookies).
    Form,
    /// A JSON login operation of the target's `OpenAPI` document.
    Json(JsonLogin),
}

impl LoginRoute {
    /// How an observation names the route.
    pub(crate) fn describe(&self) -> String {
        match self {
            LoginRoute::Form => "the login form".to_owned(),
            LoginRoute::Json(json) => format!("POST {} (JSON)", json.path),
        }
    }
}

/// The document the user gave (`--openapi`), else the first `OpenAPI` 3 document readable
/// without credentials at one of [`OPENAPI_DOCUMENTS`]: its place and its JSON login
/// operations (maybe none). `Err` names what each place answered.
pub(crate) async fn json_logins(
    context: &Context,
    target: &Target,
) -> Result<(&'static str, Vec<JsonLogin>), String> {
    if let Some(document) = &context.openapi {
        let logins = openapi_json_logins(document).unwrap_or_default();
        return Ok(("the document given (--openapi)", logins));
    }
    let mut seen = Vec::new();
    for place in OPENAPI_DOCUMENTS {
        match get(context, target, place).await {
            Ok(Answer { status, body, .. }) if (200..300).contains(&status) => {
                if let Some(logins) = openapi_json_logins(&body) {
                    return Ok((place, logins));
                }
                seen.push(format!("{place}: HTTP {status}, not an OpenAPI 3 document"));
            }
            Ok(answer) => seen.push(format!("{place}: HTTP {}", answer.status)),
            Err(e) => {
                seen.push(format!("{place}: {e}"));
                // An outage, not a missing document: asking the other places would only wait.
                break;
            }
        }
    }
    Err(format!("no OpenAPI 3 document ({})", seen.join("; ")))
}

/// The JSON login operations of an `OpenAPI` 3 document, most likely first (a path naming a
/// login, then authentication or a session), at most [`MAX_JSON_LOGINS`]: `POST` operations
/// open to an anonymous caller (`security: []`, or no requirement at all) whose JSON request
/// body is an object with a user name and a password property and requires nothing else the
/// probe could not fill. `None` when the text is not an `OpenAPI` 3 document.
pub(crate) fn openapi_json_logins(document: &[u8]) -> Option<Vec<JsonLogin>> {
    let document: Value = serde_json::from_slice(document).ok()?;
    if !document["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with('3'))
    {
        return None;
    }
    let paths = document["paths"].as_object()?;
    let global_public = document
        .get("security")
        .is_none_or(|s| s.as_array().is_some_and(Vec::is_empty));
    let mut found: Vec<(u8, JsonLogin)> = paths
        .iter()
        .filter(|(path, _)| {
            path.starts_with('/')
                && !path.contains('{')
                && !path.chars().any(|c| c.is_whitespace() || c.is_control())
        })
        .filter_map(|(path, item)| {
            let post = item.get("post")?;
            let public = match post.get("security") {
                Some(security) => security.as_array().is_some_and(Vec::is_empty),
                None => global_public,
            };
            if !public {
                return None;
            }
            let body = resolve(&document, post.get("requestBody")?)?;
            let content = body["content"].as_object()?;
            let schema = content
                .iter()
                .find(|(kind, _)| {
                    let kind = kind.to_ascii_lowercase();
                    kind.starts_with("application/json") || kind.contains("+json")
                })
                .map(|(_, media)| &media["schema"])?;
            let (user_property, password_property) = credential_properties(&document, schema)?;
            let lower = path.to_ascii_lowercase();
            let rank = if lower.contains("login") || lower.contains("signin") {
                0
            } else if ["auth", "session", "token"]
                .iter()
                .any(|w| lower.contains(w))
            {
                1
            } else {
                2
            };
            Some((
                rank,
                JsonLogin {
                    path: path.clone(),
                    user_property,
                    password_property,
                },
            ))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.path.cmp(&b.1.path)));
    Some(
        found
            .into_iter()
            .take(MAX_JSON_LOGINS)
            .map(|(_, login)| login)
            .collect(),
    )
}

/// The user name and password properties of a request schema, when it has both and requires
/// no other.
fn credential_properties(document: &Value, schema: &Value) -> Option<(String, String)> {
    let schema = resolve(document, schema)?;
    let properties = schema["properties"].as_object()?;
    let password = properties
        .iter()
        .find(|(_, p)| resolve(document, p).is_some_and(|p| p["format"] == "password"))
        .map(|(name, _)| name)
        .or_else(|| {
            PASSWORD_PROPERTIES.iter().find_map(|wanted| {
                properties
                    .keys()
                    .find(|name| name.eq_ignore_ascii_case(wanted))
            })
        })?;
    let user = USER_PROPERTIES.iter().find_map(|wanted| {
        properties
            .keys()
            .find(|name| name.eq_ignore_ascii_case(wanted) && *name != password)
    })?;
    let required_other = schema["required"].as_array().is_some_and(|required| {
        required
            .iter()
            .any(|r| r.as_str().is_none_or(|r| r != user && r != password))
    });
    (!required_other).then(|| (user.clone(), password.clone()))
}

/// `value`, or what its local `$ref` (`#/…`) points to, following at most [`MAX_REF_HOPS`].
fn resolve<'a>(document: &'a Value, value: &'a Value) -> Option<&'a Value> {
    let mut value = value;
    for _ in 0..=MAX_REF_HOPS {
        let Some(reference) = value.get("$ref") else {
            return Some(value);
        };
        let pointer = reference.as_str()?.strip_prefix('#')?;
        value = document.pointer(pointer)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logins(document: &str) -> Vec<JsonLogin> {
        openapi_json_logins(document.as_bytes()).expect("an OpenAPI 3 document")
    }

    #[test]
    fn a_public_json_login_operation_is_found_through_its_references() {
        let document = r##"{
            "openapi": "3.1.0",
            "security": [{"session": []}],
            "paths": {
                "/api/v1/auth/login": {"post": {"security": [],
                    "requestBody": {"$ref": "#/components/requestBodies/Login"}}},
                "/api/v1/users": {"post": {"requestBody": {"content": {"application/json":
                    {"schema": {"properties": {"username": {}, "password": {}}}}}}}}
            },
            "components": {
                "requestBodies": {"Login": {"content": {"application/json; charset=utf-8":
                    {"schema": {"$ref": "#/components/schemas/LoginRequest"}}}}},
                "schemas": {"LoginRequest": {"type": "object",
                    "required": ["username", "password"],
                    "properties": {"username": {"type": "string"},
                                   "password": {"type": "string"},
                                   "totp": {"type": ["string", "null"]}}}}
            }
        }"##;
        // The user administration route asks for a session: it is no login.
        assert_eq!(
            logins(document),
            [JsonLogin {
                path: "/api/v1/auth/login".to_owned(),
                user_property: "username".to_owned(),
                password_property: "password".to_owned(),
            }]
        );
    }

    #[test]
    fn the_password_is_found_by_its_format_and_login_paths_come_first() {
        let document = r#"{
            "openapi": "3.0.3",
            "paths": {
                "/session": {"post": {"requestBody": {"content": {"application/vnd.plc+json":
                    {"schema": {"properties": {"email": {}, "secret": {"format": "password"}}}}}}}},
                "/web/signin": {"post": {"requestBody": {"content": {"application/json":
                    {"schema": {"properties": {"Login": {}, "PWD": {}}}}}}}},
                "/form": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded":
                    {"schema": {"properties": {"user": {}, "password": {}}}}}}}},
                "/pin": {"post": {"requestBody": {"content": {"application/json":
                    {"schema": {"required": ["user", "password", "site"],
                                "properties": {"user": {}, "password": {}, "site": {}}}}}}}},
                "/item/{id}": {"post": {"requestBody": {"content": {"application/json":
                    {"schema": {"properties": {"user": {}, "password": {}}}}}}}}
            }
        }"#;
        let found = logins(document);
        let shown: Vec<_> = found
            .iter()
            .map(|l| format!("{} {} {}", l.path, l.user_property, l.password_property))
            .collect();
        // Form-encoded bodies, required fields the probe cannot fill and path parameters
        // are left out.
        assert_eq!(shown, ["/web/signin Login PWD", "/session email secret"]);
    }

    #[test]
    fn anything_else_is_no_document_or_no_login() {
        assert_eq!(openapi_json_logins(b"<html>"), None);
        assert_eq!(
            openapi_json_logins(br#"{"swagger": "2.0", "paths": {}}"#),
            None
        );
        assert_eq!(openapi_json_logins(br#"{"openapi": "3.0.0"}"#), None);
        assert_eq!(
            openapi_json_logins(br#"{"openapi": "3.0.0", "paths": {}}"#),
            Some(Vec::new())
        );
        // A reference loop ends.
        let looping = br##"{"openapi": "3.0.0", "paths": {"/login": {"post":
            {"requestBody": {"$ref": "#/paths/~1login/post/requestBody"}}}}}"##;
        assert_eq!(openapi_json_logins(looping), Some(Vec::new()));
    }

    #[test]
    fn routes_are_named_for_observations() {
        assert_eq!(LoginRoute::Form.describe(), "the login form");
        let json = LoginRoute::Json(JsonLogin {
            path: "/api/login".to_owned(),
            user_property: "user".to_owned(),
            password_property: "password".to_owned(),
        });
        assert_eq!(json.describe(), "POST /api/login (JSON)");
    }
}
