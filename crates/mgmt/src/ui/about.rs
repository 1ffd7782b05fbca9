//! Version, SBOM, certificates and the licences of the components. Each page calls the API handler
//! it fronts.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{Ctx, layout, respond};
use crate::middleware::Caller;
use crate::state::AppState;

/// SHA-256 fingerprint of the first certificate in a PEM file, as colon-separated hex.
fn fingerprint(path: &std::path::Path) -> String {
    let Ok(pem) = std::fs::read(path) else {
        return "unreadable".to_owned();
    };
    match x509_parser::pem::parse_x509_pem(&pem) {
        Ok((_, pem)) => rampart_vault::crypto::sha256(&pem.contents)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        Err(_) => "not a PEM certificate".to_owned(),
    }
}

/// Licences of the components in the SBOM, with how many components carry each.
fn licences() -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    if let Ok(sbom) = serde_json::from_str::<serde_json::Value>(crate::SBOM_JSON) {
        for component in sbom["components"].as_array().into_iter().flatten() {
            for licence in component["licenses"].as_array().into_iter().flatten() {
                let name = licence["expression"]
                    .as_str()
                    .or_else(|| licence["license"]["id"].as_str())
                    .or_else(|| licence["license"]["name"].as_str())
                    .unwrap_or("unknown");
                *counts.entry(name.to_owned()).or_default() += 1;
            }
        }
    }
    counts.into_iter().collect()
}

pub(crate) async fn about(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let ctx = Ctx::of(&state, &caller);
    let pki = state.services.data.file(rampart_vault::Entry::Pki);
    let body = html! {
        dl.facts {
            dt { "Version" } dd { "Rampart " (env!("CARGO_PKG_VERSION")) }
            dt { "Licence" } dd { (env!("CARGO_PKG_LICENSE")) }
            dt { "Management certificate (SHA-256)" } dd { code.fp { (fingerprint(&pki.join("server.crt"))) } }
            dt { "Local CA (SHA-256)" } dd { code.fp { (fingerprint(&pki.join("ca.crt"))) } }
        }
        ul.actions {
            li { a href="/api/v1/sbom" download { "Download the SBOM (CycloneDX 1.6 JSON)" } }
            li { a href="/api/v1/config-report" { "Configuration report (JSON)" } }
            li { a href="/api/v1/openapi.json" { "API description (OpenAPI 3.1)" } }
        }
        h2 { "Licences of the components" }
        div.scroll {
        table {
            thead { tr { th scope="col" { "Licence" } th scope="col" { "Components" } } }
            tbody { @for (name, n) in licences() { tr { td { (name) } td { (n) } } } }
        }
        }
    };
    respond(
        StatusCode::OK,
        layout(Some(&ctx), "About", "/about", &[], body),
    )
}
