use actix_web::{web, HttpResponse};

use super::{created, json_body, ACTOR};
use crate::admin::apps;
use crate::error::AdminError;
use crate::state::AppState;

pub async fn create(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    Ok(created(
        apps::create(&state, ACTOR, &slug, json_body(body).await?).await?,
    ))
}

pub async fn list(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    Ok(HttpResponse::Ok().json(apps::list(&state, &slug).await?))
}

pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (slug, app_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(apps::get(&state, &slug, &app_id).await?))
}

pub async fn patch(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (slug, app_id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(apps::patch(&state, ACTOR, &slug, &app_id, json_body(body).await?).await?))
}
