use actix_web::{web, HttpResponse};

use super::{created, json_body, ACTOR};
use crate::admin::clients;
use crate::error::AdminError;
use crate::state::AppState;

pub async fn create(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    Ok(created(
        clients::create(&state, ACTOR, &slug, json_body(body).await?).await?,
    ))
}

pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (slug, client_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(clients::get(&state, &slug, &client_id).await?))
}

pub async fn patch(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (slug, client_id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(clients::patch(&state, ACTOR, &slug, &client_id, json_body(body).await?).await?))
}
