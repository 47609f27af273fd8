//! Thin actix handlers: extract, call, shape the response.
pub mod admin;
mod authorize;
mod body;
mod docs;
mod health;
mod introspect;
mod jwks;
mod key_context;
mod metadata;
mod metrics;
mod oauth_form;
mod revoke;
mod token;

use actix_web::{web, ResponseError};

use crate::error::AdminError;
use oauth_form::serve;

pub use crate::protocol::JWKS_MAX_AGE_SECS;
pub use body::{read_limited, BodyError};

/// A 503 in the admin API's format that says nothing of the cause (it goes to the logs).
pub fn unavailable(cause: anyhow::Error) -> actix_web::Error {
    tracing::warn!(error.cause_chain = ?cause, "dependency unavailable");
    AdminError::Unavailable(cause).into()
}

/// A known path with a method it does not serve: 405 with `Allow` (RFC 9110 §15.5.6).
async fn method_not_allowed(request: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let pattern = request.match_pattern().unwrap_or_default();
    let allowed: Vec<String> = ROUTES
        .iter()
        .filter(|(_, path)| *path == pattern)
        .map(|(method, _)| method.to_uppercase())
        .collect();
    let mut response = AdminError::MethodNotAllowed.error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}

/// Every (method, path) the server serves, as the OpenAPI spec names them. `tests/api/spec.rs`
/// checks that each is served and that the spec lists exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.yaml"),
    ("get", "/docs"),
    ("get", "/docs/redoc.standalone.js"),
    ("get", "/.well-known/oauth-authorization-server/t/{slug}"),
    ("get", "/t/{slug}/.well-known/oauth-authorization-server"),
    ("get", "/t/{slug}/jwks.json"),
    ("get", "/t/{slug}/authorize"),
    ("post", "/t/{slug}/authorize"),
    ("post", "/t/{slug}/token"),
    ("post", "/t/{slug}/revoke"),
    ("post", "/t/{slug}/introspect"),
    ("post", "/t/{slug}/key-context"),
    ("post", "/admin/v1/tenants"),
    ("get", "/admin/v1/tenants/{slug}"),
    ("patch", "/admin/v1/tenants/{slug}"),
    ("post", "/admin/v1/tenants/{slug}/users"),
    ("post", "/admin/v1/tenants/{slug}/apps"),
    ("get", "/admin/v1/tenants/{slug}/apps"),
    ("get", "/admin/v1/tenants/{slug}/apps/{app_id}"),
    ("patch", "/admin/v1/tenants/{slug}/apps/{app_id}"),
    ("post", "/admin/v1/tenants/{slug}/apps/{app_id}/api-keys"),
    ("get", "/admin/v1/tenants/{slug}/apps/{app_id}/api-keys"),
    (
        "delete",
        "/admin/v1/tenants/{slug}/apps/{app_id}/api-keys/{key_id}",
    ),
    ("post", "/admin/v1/tenants/{slug}/clients"),
    ("get", "/admin/v1/tenants/{slug}/clients/{client_id}"),
    ("patch", "/admin/v1/tenants/{slug}/clients/{client_id}"),
    ("post", "/admin/v1/tenants/{slug}/credential-profiles"),
    ("get", "/admin/v1/tenants/{slug}/credential-profiles"),
    ("post", "/admin/v1/tenants/{slug}/keys/rotate"),
    ("post", "/admin/v1/tenants/{slug}/revocations"),
    ("get", "/admin/v1/tenants/{slug}/audit-events"),
];

/// A resource that answers 405 to the methods it does not serve.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let get = web::get;
    let post = web::post;
    cfg.service(resource("/healthz").route(get().to(health::healthz)))
        .service(resource("/metrics").route(get().to(metrics::metrics)))
        .service(resource("/openapi.yaml").route(get().to(docs::openapi_yaml)))
        .service(resource("/docs").route(get().to(docs::docs_page)))
        .service(resource("/docs/redoc.standalone.js").route(get().to(docs::redoc_js)))
        .service(resource("/readyz").route(get().to(health::readyz)))
        .service(
            resource("/.well-known/oauth-authorization-server/t/{slug}")
                .route(get().to(metadata::metadata)),
        )
        .service(
            web::scope("/t/{slug}")
                .service(
                    resource("/.well-known/oauth-authorization-server")
                        .route(get().to(metadata::metadata)),
                )
                .service(resource("/jwks.json").route(get().to(jwks::jwks)))
                .service(
                    resource("/authorize")
                        .route(get().to(authorize::authorize_get))
                        .route(post().to(authorize::authorize_post)),
                )
                .service(resource("/token").route(post().to(serve::<token::Token>)))
                .service(resource("/revoke").route(post().to(serve::<revoke::Revoke>)))
                .service(resource("/introspect").route(post().to(serve::<introspect::Introspect>)))
                .service(
                    resource("/key-context").route(post().to(serve::<key_context::KeyContext>)),
                ),
        )
        .service(web::scope("/admin/v1").configure(admin::configure));
}
