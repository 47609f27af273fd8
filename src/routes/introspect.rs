//! `POST {issuer}/introspect` (RFC 7662): `oauth::introspection` decides, this shapes the answer.
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};

use tracing_actix_web::RootSpan;

use super::oauth_form::{self, Callers};
use crate::error::OAuthError;
use crate::grants::refresh_token::RefreshIntrospection;
use crate::oauth::introspection::{self, Introspection};
use crate::ports::ClientCall;
use crate::state::AppState;
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
    let hint = form.fields.get("token_type_hint").map(String::as_str);
    let body = match introspection::introspect(&call, token, hint).await? {
        Introspection::Inactive => json!({"active": false}),
        Introspection::AccessToken(claims) => access_answer(&claims)?,
        Introspection::RefreshToken(found) => refresh_answer(&call, found),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(body))
}

fn access_answer(claims: &AccessClaims) -> Result<Value, OAuthError> {
    let mut body = serde_json::to_value(claims).map_err(anyhow::Error::from)?;
    body["active"] = json!(true);
    body["token_type"] = json!("Bearer");
    if let Some(fields) = body.as_object_mut() {
        // Provenance links are revocation bookkeeping, not claims a resource server needs.
        fields.remove("fam");
        fields.remove("src");
    }
    Ok(body)
}

/// A refresh token, for the client it was issued to only: its family's user, the scope a refresh
/// would issue now, and when the family ends.
fn refresh_answer(call: &ClientCall<'_>, found: RefreshIntrospection) -> Value {
    let tenant = call.tenant;
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
    body
}
