//! `POST {issuer}/token` (RFC 6749 §3.2).
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::read_limited;
use crate::client_auth;
use crate::domain::parse_form;
use crate::error::OAuthError;
use crate::grants::{dispatch, GrantContext};
use crate::protocol::TokenRequest;
use crate::state::AppState;

pub const MAX_FORM_BYTES: usize = 32 * 1024;

#[tracing::instrument(skip_all, fields(tenant = %slug, client_id = tracing::field::Empty, error.code = tracing::field::Empty))]
pub async fn token(
    request: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let result = handle(&request, &slug, payload, &state).await;
    match &result {
        Ok(_) => tracing::debug!("token issued"),
        Err(OAuthError::Unexpected(e)) => {
            tracing::error!(error.cause_chain = ?e, "token request failed")
        }
        Err(e) => {
            tracing::Span::current().record("error.code", e.code().as_str());
            tracing::info!(error.code = e.code().as_str(), "token request refused");
        }
    }
    result
}

async fn handle(
    request: &HttpRequest,
    slug: &str,
    payload: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, OAuthError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = read_limited(payload, MAX_FORM_BYTES)
        .await
        .map_err(|_| OAuthError::invalid_request("the body could not be read"))?
        .map_err(|()| OAuthError::TooLarge)?;
    let form = parse_form(&body).map_err(|e| OAuthError::invalid_request(e.describe()))?;
    let tenant = state
        .tenant(slug)
        .await
        .map_err(OAuthError::Unavailable)?
        .ok_or(OAuthError::UnknownTenant)?;
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let presented = client_auth::presented(authorization, &form)?;
    let client = client_auth::authenticate(state, &tenant, &presented).await?;
    tracing::Span::current().record("client_id", client.model.client_id.as_str());
    let token_request = to_token_request(form);
    let ctx = GrantContext {
        state,
        tenant: &tenant,
        client: &client,
        now: Utc::now(),
    };
    let response = dispatch(&ctx, &token_request).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

fn to_token_request(mut form: std::collections::HashMap<String, String>) -> TokenRequest {
    let mut take = |name: &str| form.remove(name);
    TokenRequest {
        grant_type: take("grant_type"),
        scope: take("scope"),
        resource: take("resource"),
        audience: take("audience"),
        code: take("code"),
        redirect_uri: take("redirect_uri"),
        code_verifier: take("code_verifier"),
        refresh_token: take("refresh_token"),
        subject_token: take("subject_token"),
        subject_token_type: take("subject_token_type"),
        actor_token: take("actor_token"),
        actor_token_type: take("actor_token_type"),
        requested_token_type: take("requested_token_type"),
        credential_profile: take("credential_profile"),
    }
}
