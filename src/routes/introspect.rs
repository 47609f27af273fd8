//! `POST {issuer}/introspect` (RFC 7662). A client sees the access tokens issued to it and those
//! whose audience is one of its apps, and the refresh tokens issued to it; anything else, like
//! anything expired, used or revoked, is `{"active": false}`. Revocation state that cannot be
//! read is a 503, never "active".
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use tracing_actix_web::RootSpan;

use super::oauth_form::{self, Callers};
use crate::cache::ClientView;
use crate::error::OAuthError;
use crate::grants::{refresh_token, GrantContext};
use crate::state::AppState;
use crate::token_status::active_access_token;
use crate::tokens::AccessClaims;

pub async fn introspect(
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
    if form.client.is_public {
        return Err(OAuthError::invalid_client(
            "introspection needs an authenticated confidential client",
        ));
    }
    let token = form
        .fields
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let ctx = GrantContext {
        state,
        tenant: &form.tenant,
        client: &form.client,
        now: Utc::now(),
    };
    // RFC 7662 §2.1: the hint only says where to look first; a token not found there is looked
    // for as the other kind, so a wrong hint never makes an active token look inactive.
    let body = if form.fields.get("token_type_hint").map(String::as_str) == Some("refresh_token") {
        match refresh_answer(&ctx, token).await? {
            Some(body) => Some(body),
            None => access_answer(&ctx, token).await?,
        }
    } else {
        match access_answer(&ctx, token).await? {
            Some(body) => Some(body),
            None => refresh_answer(&ctx, token).await?,
        }
    };
    let body = body.unwrap_or_else(|| json!({"active": false}));
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(body))
}

async fn access_answer(ctx: &GrantContext<'_>, token: &str) -> Result<Option<Value>, OAuthError> {
    let Some(active) = active_access_token(ctx.state, ctx.tenant, token).await? else {
        return Ok(None);
    };
    if !may_see(ctx.client, &active.claims) {
        return Ok(None);
    }
    let mut body = serde_json::to_value(&active.claims).map_err(anyhow::Error::from)?;
    body["active"] = json!(true);
    body["token_type"] = json!("Bearer");
    if let Some(fields) = body.as_object_mut() {
        // Provenance links are revocation bookkeeping, not claims a resource server needs.
        fields.remove("fam");
        fields.remove("src");
    }
    Ok(Some(body))
}

/// A refresh token, for the client it was issued to only: its family's user, the scope a refresh
/// would issue now, and when the family ends.
async fn refresh_answer(ctx: &GrantContext<'_>, token: &str) -> Result<Option<Value>, OAuthError> {
    let Some(found) = refresh_token::introspect(ctx, token).await? else {
        return Ok(None);
    };
    let tenant = ctx.tenant;
    let mut body = json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": found.record.client_id,
        "sub": found.record.user_id.to_string(),
        "iat": found.record.issued_at_ms / 1000,
        "exp": found.record.family_expires_at,
        "iss": tenant.issuer,
        "tid": tenant.model.id.to_string(),
    });
    if !found.scope.is_empty() {
        body["scope"] = json!(found.scope.to_string());
    }
    Ok(Some(body))
}

/// The caller sees its own tokens, and tokens for one of its apps.
pub fn may_see(client: &ClientView, claims: &AccessClaims) -> bool {
    claims.client_id == client.model.client_id
        || claims
            .app_id
            .as_deref()
            .and_then(|id| id.parse::<Uuid>().ok())
            .is_some_and(|id| client.app_ids.contains(&id))
}
