//! `POST {issuer}/token` (RFC 6749 §3.2).
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use tracing_actix_web::RootSpan;

use super::oauth_form::{self, Callers};
use crate::error::OAuthError;
use crate::grants::dispatch;
use crate::ports::ClientCall;
use crate::state::AppState;

pub async fn token(
    request: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
    span: RootSpan,
) -> Result<HttpResponse, OAuthError> {
    oauth_form::answer(&span, &slug, handle(&request, &slug, payload, &state)).await
}

async fn handle(
    request: &HttpRequest,
    slug: &str,
    payload: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, OAuthError> {
    let form = oauth_form::read(state, request, slug, payload, Callers::AnyClient).await?;
    let call = ClientCall {
        ports: state.ports(),
        tenant: &form.tenant,
        client: &form.client,
        now: Utc::now(),
    };
    let response = dispatch(&call, form.fields).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
