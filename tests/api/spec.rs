//! The published OpenAPI spec and the server agree: every route the server registers is in the
//! spec, every path in the spec is served, and `/openapi.yaml`, `/docs` and `/metrics` work.
use std::collections::BTreeSet;

use grantd::routes::ROUTES;

use crate::helpers::spawn_app;

/// (method, path) pairs of the spec's `paths`, read from its two-space YAML layout.
fn spec_operations(spec: &str) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    let mut in_paths = false;
    let mut path = None;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line.trim_end() == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            path = Some(format!(
                "/{}",
                p.trim_end()
                    .trim_end_matches(':')
                    .trim_matches('\'')
                    .trim_matches('"')
            ));
        } else if let (Some(p), Some(method)) = (&path, line.strip_prefix("    ")) {
            let method = method.trim_end().trim_end_matches(':');
            if ["get", "post", "put", "patch", "delete"].contains(&method) {
                operations.insert((method.to_owned(), p.clone()));
            }
        }
    }
    operations
}

#[test]
fn the_spec_lists_exactly_the_routes_the_server_registers() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml"))
            .unwrap();
    let in_spec = spec_operations(&spec);
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&in_spec).collect();
    let extra: Vec<_> = in_spec.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in the spec: {missing:?}"
    );
    assert!(extra.is_empty(), "in the spec but not served: {extra:?}");
}

#[tokio::test]
async fn every_route_in_the_table_is_served() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    for (method, path) in ROUTES {
        let url = app.url(
            &path
                .replace("{slug}", &f.slug)
                .replace("{app_id}", &f.app_id)
                .replace("{client_id}", &f.client_id)
                .replace("{key_id}", &uuid::Uuid::new_v4().to_string()),
        );
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .http
            .request(method.clone(), &url)
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        assert_ne!(status, 405, "{method} {path}");
        assert!(
            !(status == 404 && body.is_empty()),
            "{method} {path} is not routed"
        );
        assert!(status < 500 || status == 503, "{method} {path} -> {status}");
    }
}

#[tokio::test]
async fn the_spec_and_its_documentation_page_are_served() {
    let app = spawn_app().await;
    let spec = app.http.get(app.url("/openapi.yaml")).send().await.unwrap();
    assert_eq!(spec.headers()["content-type"], "application/yaml");
    assert!(spec.text().await.unwrap().starts_with("openapi: 3.1"));
    let page = app
        .http
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("spec-url=\"/openapi.yaml\"") && page.contains("/docs/redoc.standalone.js")
    );
    let script = app
        .http
        .get(app.url("/docs/redoc.standalone.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.bytes().await.unwrap().len() > 500_000,
        "the vendored bundle, not a CDN link"
    );
}

#[tokio::test]
async fn metrics_count_requests_tokens_and_store_calls() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let token = crate::revocation::cc_token(&app, &f, None).await;
    crate::revocation::introspect(&app, &f, &token).await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for needle in [
        "grantd_http_requests_total{method=\"POST\",route=\"/t/{slug}/token\",status=\"200\"}",
        "grantd_http_request_duration_seconds_bucket",
        &format!(
            "grantd_tokens_issued_total{{grant_type=\"client_credentials\",tenant=\"{}\"}} 1",
            f.slug
        ),
        "grantd_store_duration_seconds_bucket{operation=\"is_revoked\"",
        "grantd_db_pool_connections",
    ] {
        assert!(
            text.contains(needle),
            "missing {needle} in {}",
            text.lines()
                .filter(|l| l.contains("store"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(!text.contains(&f.client_secret) && !text.contains(&token));
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let response = app.http.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    let response = app
        .http
        .put(app.url("/admin/v1/tenants/x"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, PATCH");
}

#[tokio::test]
async fn whole_decimals_are_accepted_as_integers() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let (status, body) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/tenants/{}", f.slug),
            Some(serde_json::json!({"rate_limit": {"per_second": 50.0, "burst": 100}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["rate_limit"],
        serde_json::json!({"per_second": 50, "burst": 100})
    );
    let (status, _) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/tenants/{}", f.slug),
            Some(serde_json::json!({"rate_limit": {"per_second": 1.5, "burst": 1}})),
        )
        .await;
    assert_eq!(status, 422);
}
