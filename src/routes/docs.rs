//! The OpenAPI spec (`/openapi.yaml`) and a page that renders it (`/docs`) with Redoc, vendored
//! from its npm package and embedded in the binary: nothing is fetched from a CDN.
use actix_web::http::header;
use actix_web::HttpResponse;

const SPEC: &str = include_str!("../../openapi/openapi.yaml");
const REDOC: &[u8] = include_bytes!("../../openapi/vendor/redoc-2.5.4/redoc.standalone.js");
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>grantd API</title>
</head>
<body>
<redoc spec-url="/openapi.yaml"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
"#;

pub async fn openapi_yaml() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(SPEC)
}

pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}

pub async fn redoc_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(REDOC)
}
