//! Thin actix handlers: extract, call, shape the response.
pub mod admin;
mod authorize;
mod body;
mod health;
mod introspect;
mod jwks;
mod key_context;
mod metadata;
mod oauth_form;
mod revoke;
mod token;

use actix_web::web;

pub use body::read_limited;
pub use jwks::JWKS_MAX_AGE_SECS;

/// A 503 in the admin API's format that says nothing of the cause (it goes to the logs).
pub fn unavailable(cause: anyhow::Error) -> actix_web::Error {
    tracing::warn!(error.cause_chain = ?cause, "dependency unavailable");
    actix_web::error::InternalError::from_response(
        "unavailable",
        actix_web::HttpResponse::ServiceUnavailable()
            .insert_header(("retry-after", "1"))
            .json(serde_json::json!({"error": "unavailable", "message": "a dependency is unavailable; retry later"})),
    )
    .into()
}

/// A known path with a method it does not serve.
async fn method_not_allowed() -> actix_web::HttpResponse {
    actix_web::HttpResponse::MethodNotAllowed()
        .json(serde_json::json!({"error": "method_not_allowed", "message": "this method is not allowed here"}))
}

/// A resource that answers 405 to the methods it does not serve.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let get = web::get;
    let post = web::post;
    cfg.service(resource("/healthz").route(get().to(health::healthz)))
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
                .service(resource("/token").route(post().to(token::token)))
                .service(resource("/revoke").route(post().to(revoke::revoke)))
                .service(resource("/introspect").route(post().to(introspect::introspect)))
                .service(resource("/key-context").route(post().to(key_context::key_context))),
        )
        .service(web::scope("/admin/v1").configure(admin::configure));
}
