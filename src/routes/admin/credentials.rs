//! App API keys and credential profiles: secrets that are shown once, or never.
use actix_web::{web, HttpResponse};

use super::{created, json_body, ACTOR};
use crate::admin::{api_keys, credential_profiles};
use crate::error::AdminError;
use crate::state::AppState;

pub async fn create_api_key(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (slug, app_id) = path.into_inner();
    Ok(created(
        api_keys::create(&state, ACTOR, &slug, &app_id, json_body(body).await?).await?,
    ))
}

pub async fn list_api_keys(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (slug, app_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(api_keys::list(&state, &slug, &app_id).await?))
}

pub async fn delete_api_key(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (slug, app_id, key_id) = path.into_inner();
    api_keys::delete(&state, ACTOR, &slug, &app_id, &key_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn create_profile(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    Ok(created(
        credential_profiles::create(&state, ACTOR, &slug, json_body(body).await?).await?,
    ))
}

pub async fn list_profiles(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    Ok(HttpResponse::Ok().json(credential_profiles::list(&state, &slug).await?))
}
