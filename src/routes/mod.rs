//! Thin actix handlers: extract, call, shape the response.
pub mod admin;
mod authorize;
mod body;
mod health;
mod introspect;
mod jwks;
mod metadata;
mod oauth_form;
mod revoke;
mod token;

use actix_web::web;

pub use body::read_limited;
pub use jwks::JWKS_MAX_AGE_SECS;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route(
            "/.well-known/oauth-authorization-server/t/{slug}",
            web::get().to(metadata::metadata),
        )
        .service(
            web::scope("/t/{slug}")
                .route(
                    "/.well-known/oauth-authorization-server",
                    web::get().to(metadata::metadata),
                )
                .route("/jwks.json", web::get().to(jwks::jwks))
                .route("/authorize", web::get().to(authorize::authorize_get))
                .route("/authorize", web::post().to(authorize::authorize_post))
                .route("/token", web::post().to(token::token))
                .route("/revoke", web::post().to(revoke::revoke))
                .route("/introspect", web::post().to(introspect::introspect)),
        )
        .service(web::scope("/admin/v1").configure(admin::configure));
}
