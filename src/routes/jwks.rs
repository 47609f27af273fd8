//! The tenant's published keys (RFC 7517). `max-age` is what key rotation's publish delay
//! assumes a resource server caches them for.
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::AdminError;
use crate::state::AppState;

use crate::protocol::JWKS_MAX_AGE_SECS;

pub async fn jwks(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> actix_web::Result<HttpResponse> {
    let Some(tenant) = state.tenant(&slug).await.map_err(super::unavailable)? else {
        return Err(AdminError::not_found("tenant").into());
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
        .json(serde_json::json!({"keys": tenant.jwks})))
}
