//! The `OpenAPI` 3.1 document, written from the route table and the request and answer types'
//! JSON Schemas (2020-12, the dialect `OpenAPI` 3.1 uses), so it cannot drift from the code.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::middleware::Access;
use crate::router::{Answer, Route, api_table};

/// The document as JSON text (built once).
pub fn document_json() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::to_string_pretty(&document()).unwrap_or_else(|_| "{}".to_owned())
    })
    .clone()
}

/// The document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let routes = api_table();
    let mut paths = Map::new();
    for route in &routes {
        let operation = operation(route, &mut generator);
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(route.method.as_str().to_ascii_lowercase(), operation);
        }
    }
    // The error envelope is referenced from every operation's error responses.
    let _ = generator.subschema_for::<crate::error::ErrorEnvelope>();
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    let mut tags: Vec<&str> = routes.iter().map(|r| r.tag).collect();
    tags.sort_unstable();
    tags.dedup();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Rampart management API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "HTTPS management plane of the Rampart secure Modbus/TCP gateway (IEC 62443-4-2 NDR).",
            "description": "Log in with POST /api/v1/auth/login (session cookie; send the returned \
                CSRF token as X-CSRF-Token on state-changing requests) or send an API token as \
                Authorization: Bearer. Every route other than the banner, login and health needs \
                one of them; x-rampart-access names the permission a route needs. Errors share \
                one envelope: {\"error\": {\"status\", \"code\", \"message\"}}.",
            "license": { "name": "Apache-2.0 OR MIT", "identifier": "Apache-2.0 OR MIT" }
        },
        "tags": tags.iter().map(|t| json!({ "name": t })).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::middleware::SESSION_COOKIE,
                             "description": "Session id set by POST /api/v1/auth/login." },
                "token": { "type": "http", "scheme": "bearer",
                           "description": "An API token (CR 1.14)." }
            },
            "responses": {
                "Error": {
                    "description": "An error in the common envelope.",
                    "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } }
                }
            }
        },
        "security": [ { "session": [] }, { "token": [] } ],
    })
}

fn operation(route: &Route, generator: &mut schemars::SchemaGenerator) -> Value {
    let mut op = Map::new();
    let id = format!(
        "{}{}",
        route.method.as_str().to_ascii_lowercase(),
        route
            .path
            .split('/')
            .filter(|s| !s.is_empty() && *s != "api" && *s != "v1")
            .map(|s| {
                let s = s.trim_start_matches('{').trim_end_matches('}');
                s.split(['-', '.', '_'])
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<String>()
            })
            .collect::<String>()
    );
    op.insert("operationId".into(), json!(id));
    op.insert("summary".into(), json!(route.summary));
    op.insert("tags".into(), json!([route.tag]));
    op.insert(
        "x-rampart-access".into(),
        json!(match route.access {
            Access::Public => "public".to_owned(),
            Access::Authenticated => "authenticated".to_owned(),
            Access::Permission(p) => p.as_str().to_owned(),
        }),
    );
    if route.access == Access::Public {
        op.insert("security".into(), json!([]));
    }
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = if matches!(name, "id" | "handle") {
                json!({ "type": "integer", "format": "int64" })
            } else {
                json!({ "type": "string" })
            };
            json!({ "name": name, "in": "path", "required": true, "schema": schema })
        })
        .collect();
    if let Some(query) = route.query {
        let reference = query(generator);
        let name = reference
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .map(str::to_owned);
        let definition = name.and_then(|n| generator.definitions().get(&n).cloned());
        if let Some(Value::Object(definition)) = definition
            && let Some(Value::Object(properties)) = definition.get("properties")
        {
            let required: Vec<&str> = definition
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (name, schema) in properties {
                let mut schema = schema.clone();
                let description = schema.as_object_mut().and_then(|o| o.remove("description"));
                let mut parameter = json!({
                    "name": name, "in": "query",
                    "required": required.contains(&name.as_str()),
                    "schema": schema,
                });
                if let Some(d) = description {
                    parameter["description"] = d;
                }
                parameters.push(parameter);
            }
        }
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = route.body {
        let schema = serde_json::to_value(body(generator)).unwrap_or_default();
        op.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": schema } } }),
        );
    }
    let mut responses = Map::new();
    let success = match route.answer {
        Answer::Json(schema) => {
            let schema = serde_json::to_value(schema(generator)).unwrap_or_default();
            json!({ "description": "Success.",
                    "content": { "application/json": { "schema": schema } } })
        }
        Answer::Media(media) => {
            let media = media.split(';').next().unwrap_or(media).trim();
            // A JSON document of its own format (OpenAPI, CycloneDX), bytes, or text.
            let schema = if media == "application/json" || media.ends_with("+json") {
                json!({ "type": "object" })
            } else if media == "application/octet-stream" {
                json!({ "type": "string", "contentMediaType": media })
            } else {
                json!({ "type": "string" })
            };
            json!({ "description": "Success.", "content": { media: { "schema": schema } } })
        }
        Answer::Empty => json!({ "description": "Done; no content." }),
    };
    let code = match (route.answer, route.success) {
        (Answer::Empty, _) => "204",
        (_, Some(code)) => code,
        (_, None) => "200",
    };
    responses.insert(code.into(), success);
    let error = json!({ "$ref": "#/components/responses/Error" });
    if route.body.is_some() || route.query.is_some() || route.path.contains('{') {
        responses.insert("400".into(), error.clone());
    }
    if route.access != Access::Public {
        responses.insert("401".into(), error.clone());
        responses.insert("403".into(), error.clone());
    }
    responses.insert("429".into(), error.clone());
    responses.insert("default".into(), error);
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}
