//! `POST {issuer}/revoke` (RFC 7009): `oauth::revocation` decides; the answer is always 200.
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use tracing_actix_web::RootSpan;

use super::oauth_form::{self, Callers};
use crate::error::OAuthError;
use crate::oauth::revocation;
use crate::ports::ClientCall;
use crate::state::AppState;

pub async fn revoke(
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
    let token = form
        .fields
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let call = ClientCall {
        ports: state.ports(),
        tenant: &form.tenant,
        client: &form.client,
        now: Utc::now(),
    };
    revocation::revoke(&call, token).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .finish())
}
