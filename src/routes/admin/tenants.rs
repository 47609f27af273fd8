use actix_web::{web, HttpResponse};

use super::{created, json_body, ACTOR};
use crate::admin::{keys, revocations, tenants, users};
use crate::error::AdminError;
use crate::state::AppState;

pub async fn create(
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    Ok(created(
        tenants::create(&state, ACTOR, json_body(body).await?).await?,
    ))
}

pub async fn get(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    Ok(HttpResponse::Ok().json(tenants::get(&state, &slug).await?))
}

pub async fn patch(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    Ok(
        HttpResponse::Ok()
            .json(tenants::patch(&state, ACTOR, &slug, json_body(body).await?).await?),
    )
}

pub async fn create_user(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    Ok(created(
        users::create(&state, ACTOR, &slug, json_body(body).await?).await?,
    ))
}

pub async fn rotate_keys(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let input = json_body(body).await?;
    Ok(HttpResponse::Ok().json(keys::rotate(&state, ACTOR, &slug, input).await?))
}

pub async fn revoke(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let input = json_body(body).await?;
    Ok(HttpResponse::Ok().json(revocations::revoke(&state, ACTOR, &slug, input).await?))
}
