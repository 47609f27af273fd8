//! `POST {issuer}/introspect` (RFC 7662). A client sees the tokens issued to it and the tokens
//! whose audience is one of its apps; anything else, like anything expired or revoked, is
//! `{"active": false}`. Revocation state that cannot be read is a 503, never "active".
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use uuid::Uuid;

use tracing_actix_web::RootSpan;

use super::oauth_form::{self, Callers};
use crate::cache::ClientView;
use crate::error::OAuthError;
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
    let active = active_access_token(state, &form.tenant, token).await?;
    let body = match active {
        Some(active) if may_see(&form.client, &active.claims) => {
            let mut body = serde_json::to_value(&active.claims).map_err(anyhow::Error::from)?;
            body["active"] = json!(true);
            body["token_type"] = json!("Bearer");
            if let Some(fields) = body.as_object_mut() {
                // Provenance links are revocation bookkeeping, not claims a resource server needs.
                fields.remove("fam");
                fields.remove("src");
            }
            body
        }
        _ => json!({"active": false}),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(body))
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
