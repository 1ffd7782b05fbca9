//! The documents the plane serves: the `OpenAPI` 3.1 description (validated against the OAI's
//! schema, and complete), the `CycloneDX` 1.6 SBOM (validated against its schema), the
//! configuration report and the Prometheus metrics.

use hyper::StatusCode;
use rampart_mgmt::route_list;
use serde_json::Value;

use crate::harness::Harness;

fn repo_file(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn load(path: &str) -> Value {
    let path = repo_file(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// The OAI's `OpenAPI` 3.1 schema with its dialect check of every Schema Object.
fn openapi_validator() -> jsonschema::Validator {
    let mut registry = jsonschema::Registry::new();
    for file in ["schema.json", "dialect.json", "meta.json"] {
        let doc = load(&format!("schemas/openapi-3.1/{file}"));
        let id = doc["$id"].as_str().unwrap().to_owned();
        registry = registry
            .add(id, jsonschema::Resource::from_contents(doc))
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    jsonschema::draft202012::options()
        .with_registry(&registry)
        .build(&load("schemas/openapi-3.1/schema-base.json"))
        .unwrap()
}

fn cyclonedx_validator() -> jsonschema::Validator {
    let mut registry = jsonschema::Registry::new();
    for file in ["spdx.schema.json", "jsf-0.82.schema.json"] {
        let doc = load(&format!("schemas/cyclonedx-1.6/{file}"));
        let id = doc["$id"].as_str().unwrap().to_owned();
        registry = registry
            .add(id, jsonschema::Resource::from_contents(doc))
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    jsonschema::draft7::options()
        .with_registry(&registry)
        .build(&load("schemas/cyclonedx-1.6/bom-1.6.schema.json"))
        .unwrap()
}

#[test]
fn the_openapi_document_is_valid_openapi_3_1_and_lists_every_route() {
    let document = rampart_mgmt::openapi_document();
    assert_eq!(document["openapi"], "3.1.0");
    let validator = openapi_validator();
    let found = errors(&validator, &document);
    assert!(found.is_empty(), "{found:#?}");
    for (method, path, _) in route_list() {
        let operation = &document["paths"][path][method.as_str().to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
        assert!(operation["x-rampart-access"].is_string());
    }
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        operations,
        route_list().len(),
        "the document has routes the router lacks"
    );
    // Routes whose work goes on after the answer document the 202 they send (the erase,
    // update and restore tests see it on the wire).
    for (method, path) in [
        ("post", "/api/v1/erase"),
        ("post", "/api/v1/update/install"),
        ("post", "/api/v1/backups/restore"),
    ] {
        let responses = document["paths"][path][method]["responses"]
            .as_object()
            .unwrap();
        assert!(
            responses.contains_key("202"),
            "{method} {path}: {responses:?}"
        );
        assert!(
            !responses.contains_key("200"),
            "{method} {path}: {responses:?}"
        );
    }
    // Every $ref points at a schema that exists.
    let text = document.to_string();
    for name in text.split("\"#/components/schemas/").skip(1) {
        let name = name.split('"').next().unwrap();
        assert!(
            document["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
}

#[test]
fn the_openapi_check_can_fail() {
    let mut document = rampart_mgmt::openapi_document();
    document.as_object_mut().unwrap().remove("info");
    assert!(!openapi_validator().is_valid(&document));
    let mut document = rampart_mgmt::openapi_document();
    document["paths"]["/api/v1/health"]["get"]["responses"] = Value::String("none".into());
    assert!(!openapi_validator().is_valid(&document));
}

#[test]
fn the_sbom_is_valid_cyclonedx_1_6_and_lists_the_linked_crates() {
    let sbom: Value = serde_json::from_str(rampart_mgmt::SBOM_JSON).unwrap();
    let validator = cyclonedx_validator();
    let found = errors(&validator, &sbom);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(sbom["specVersion"], "1.6");
    assert_eq!(sbom["metadata"]["component"]["name"], "rampart");
    let components = sbom["components"].as_array().unwrap();
    let names: Vec<&str> = components
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for expected in [
        "rustls",
        "ring",
        "aws-lc-rs",
        "rusqlite",
        "axum",
        "rampart-gateway",
        "rampart-identity",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from the SBOM"
        );
    }
    // Dev-only crates are not part of the running build.
    assert!(!names.contains(&"proptest") && !names.contains(&"criterion"));
    let hashed = components.iter().filter(|c| c["hashes"].is_array()).count();
    assert!(
        hashed > components.len() / 2,
        "crates.io packages carry their SHA-256"
    );
    let mut bad = sbom.clone();
    bad["components"][0]["hashes"] = serde_json::json!([{ "alg": "SHA-256", "content": "xyz" }]);
    assert!(!validator.is_valid(&bad), "the schema check can fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_documents_need_authentication_and_match() {
    let h = Harness::start().await;
    let anonymous = h.client();
    for path in [
        "/api/v1/openapi.json",
        "/api/v1/sbom",
        "/api/v1/config-report",
        "/metrics",
    ] {
        assert_eq!(
            anonymous.get(path).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let admin = h.admin().await;
    let served = admin.get("/api/v1/openapi.json").await.json();
    assert_eq!(served, rampart_mgmt::openapi_document());
    let sbom = admin.get("/api/v1/sbom").await;
    assert_eq!(
        sbom.headers["content-type"],
        "application/vnd.cyclonedx+json"
    );
    assert_eq!(
        sbom.json(),
        serde_json::from_str::<Value>(rampart_mgmt::SBOM_JSON).unwrap()
    );
    let metrics = admin.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .text()
            .contains("# TYPE rampart_requests_total counter")
    );
    assert!(metrics.text().contains("rampart_mgmt_requests_total"));
    h.stop().await;
}

/// The setting ids the report promises (docs/config-report.md); `rampart assess --live`
/// relies on them.
const SETTING_IDS: &[&str] = &[
    "vault.kek_provider",
    "vault.kek_hardware",
    "vault.tpm",
    "vault.secrets_encrypted",
    "vault.sealed_files",
    "modbus_security.enabled",
    "modbus_security.listen",
    "modbus_security.tls_min_version",
    "modbus_security.cipher_suites",
    "modbus_security.client_certificate",
    "modbus_security.crl_checked",
    "modbus_security.allow_list",
    "modbus_security.allow_any_source",
    "modbus_plain.enabled",
    "modbus_plain.listen",
    "modbus_plain.role",
    "management.listen",
    "management.tls_min_version",
    "management.allow_list",
    "management.allow_any_source",
    "management.hsts",
    "management.max_connections",
    "management.max_unauthenticated",
    "management.max_unauthenticated_per_ip",
    "management.unauthenticated_timeout_s",
    "management.requests_per_second",
    "conduit.default_action",
    "conduit.policy_sha256",
    "conduit.island_mode",
    "conduit.fail_closed",
    "limits.max_connections",
    "limits.max_connections_per_ip",
    "limits.requests_per_second",
    "limits.idle_timeout_s",
    "limits.handshake_timeout_s",
    "identity.password.min_length",
    "identity.password.history",
    "identity.lockout.max_failures",
    "identity.lockout.lock_for_s",
    "identity.mfa.required_for_all",
    "identity.mfa.required_roles",
    "identity.sessions.idle_timeout_s",
    "identity.sessions.lifetime_s",
    "identity.sessions.max_per_account",
    "identity.tokens.max_lifetime_s",
    "identity.approvals.required_for",
    "identity.approvals.always",
    "identity.banner_configured",
    "audit.capacity_events",
    "audit.on_full",
    "audit.signed_checkpoints",
    "audit.forwarding_enabled",
    "time.clock_synchronized",
    "backup.encrypted",
    "sbom.available",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_report_has_every_documented_setting_and_self_test() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let viewer = h.user(&admin, "watcher", "viewer").await;
    let report = viewer.get("/api/v1/config-report").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    let report = report.json();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["component"]["type"], "NDR");
    let settings = report["settings"].as_array().unwrap();
    let value = |id: &str| {
        settings
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("setting {id} missing"))["value"]
            .clone()
    };
    for id in SETTING_IDS {
        let _ = value(id);
    }
    for s in settings {
        assert!(!s["description"].as_str().unwrap().is_empty());
    }
    // Values are the ones in force, not constants.
    assert_eq!(value("modbus_plain.enabled"), false);
    assert_eq!(value("identity.mfa.required_for_all"), false);
    assert_eq!(
        value("conduit.policy_sha256"),
        h.gateway.status().policy.sha256.as_str()
    );
    assert_eq!(value("conduit.island_mode"), false);
    let r = admin
        .put("/api/v1/island", serde_json::json!({ "on": true }))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let again = viewer.get("/api/v1/config-report").await.json();
    let island = again["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "conduit.island_mode")
        .unwrap()["value"]
        .clone();
    assert_eq!(island, true);
    let tests: Vec<(&str, bool)> = report["self_tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["passed"].as_bool().unwrap()))
        .collect();
    for id in [
        "audit.chain_intact",
        "device_key.present",
        "pki.server_certificate_valid",
        "policy.loaded",
        "upstream.reachable",
    ] {
        assert!(
            tests.iter().any(|(t, _)| *t == id),
            "self-test {id} missing"
        );
    }
    assert!(
        tests
            .iter()
            .find(|(t, _)| *t == "audit.chain_intact")
            .unwrap()
            .1
    );
    assert!(
        tests
            .iter()
            .find(|(t, _)| *t == "device_key.present")
            .unwrap()
            .1
    );
    assert!(
        tests
            .iter()
            .find(|(t, _)| *t == "pki.server_certificate_valid")
            .unwrap()
            .1
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_self_test_is_reused_only_while_the_trail_has_not_grown() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let detail = |report: &Value| {
        report["self_tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "audit.chain_intact")
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Reading the report records nothing, so the second read reuses the first verification.
    let first = detail(&admin.get("/api/v1/config-report").await.json());
    let second = detail(&admin.get("/api/v1/config-report").await.json());
    assert!(!first.contains("s ago"), "{first}");
    assert!(second.contains("s ago"), "{second}");
    // An event appended: verified again.
    let r = admin
        .put("/api/v1/island", serde_json::json!({ "on": false }))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let third = detail(&admin.get("/api/v1/config-report").await.json());
    assert!(!third.contains("s ago"), "{third}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crypto_inventory_is_served_to_viewers_and_its_cbom_is_valid_cyclonedx_1_6() {
    let h = Harness::start().await;
    assert_eq!(
        h.client().get("/api/v1/crypto").await.status,
        StatusCode::UNAUTHORIZED
    );
    let admin = h.admin().await;
    let viewer = h.user(&admin, "watcher", "viewer").await;
    let served = viewer.get("/api/v1/crypto").await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text());
    let served = served.json();
    let assets = served.as_array().unwrap();
    let find = |id: &str| {
        assets
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {served:#}"))
    };
    assert_eq!(find("crypto/key/device")["location"], "encrypted-file");
    assert_eq!(find("crypto/key/kek")["location"], "kek-file (software)");
    assert_eq!(find("crypto/key/csrf")["location"], "memory");
    for asset in assets {
        for field in ["algorithm", "location", "purpose", "requirements"] {
            assert!(!asset[field].is_null(), "{field} missing in {asset}");
        }
    }

    let inventory = rampart_mgmt::crypto_inventory::inventory(
        Some(&h.data),
        rampart_mgmt::crypto_inventory::server_key_held(&h.data),
    );
    let cbom = rampart_mgmt::crypto_inventory::to_cyclonedx(&inventory);
    let found = errors(&cyclonedx_validator(), &cbom);
    assert!(found.is_empty(), "{found:#?}");
    let components = cbom["components"].as_array().unwrap();
    assert_eq!(components.len(), inventory.len());
    assert!(
        components
            .iter()
            .all(|c| c["type"] == "cryptographic-asset" && c["cryptoProperties"].is_object())
    );
    h.stop().await;
}
