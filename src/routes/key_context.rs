//! `POST {issuer}/key-context`: `oauth::key_context` decides, this shapes the answer.
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::json;
use tracing_actix_web::RootSpan;

use super::oauth_form::{self, Callers};
use crate::error::OAuthError;
use crate::oauth::key_context::{may_ask, resolve, KeyContext};
use crate::ports::ClientCall;
use crate::state::AppState;

pub async fn key_context(
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
    let form = oauth_form::read(state, request, slug, payload, Callers::Confidential).await?;
    let call = ClientCall {
        ports: state.ports(),
        tenant: &form.tenant,
        client: &form.client,
        now: Utc::now(),
    };
    may_ask(call.client)?;
    let token = form
        .fields
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let body = match resolve(&call, token).await? {
        KeyContext::Inactive => json!({"active": false}),
        KeyContext::Active {
            claims,
            app_id,
            profile,
        } => json!({
            "active": true,
            "tid": claims.tid,
            "app_id": app_id,
            "sub": claims.sub,
            "client_id": claims.client_id,
            "scope": claims.scope,
            "exp": claims.exp,
            "credential_profile": profile.map(|p| json!({
                "name": p.name, "provider": p.provider, "secret": p.secret,
            })),
        }),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(body))
}
