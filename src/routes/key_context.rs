//! `POST {issuer}/key-context`: an app's backend resolves an app-scoped token into what it may do
//! with it, including the decrypted secret of the selected credential profile. This is the only
//! way a stored provider secret leaves grantd, and every call is an audit event.
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tracing_actix_web::RootSpan;
use uuid::Uuid;

use super::oauth_form::{self, Callers};
use crate::audit::{AuditEntry, Backlogged, Outcome};
use crate::db;
use crate::error::OAuthError;
use crate::state::{credential_profile_context, AppState};
use crate::token_status::active_access_token;

/// The scope a caller needs.
pub const KEY_CONTEXT_SCOPE: &str = "grantd:key-context";

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
    let caller = &form.client;
    if caller.is_public {
        return Err(OAuthError::invalid_client(
            "key context needs an authenticated confidential client",
        ));
    }
    if !caller.scopes.contains(KEY_CONTEXT_SCOPE) {
        return Err(OAuthError::unauthorized_client(
            "the client lacks the grantd:key-context scope",
        ));
    }
    let token = form
        .fields
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let active = active_access_token(state, &form.tenant, token).await?;
    let app_id = active
        .as_ref()
        .and_then(|a| a.claims.app_id.as_deref())
        .and_then(|id| id.parse::<Uuid>().ok())
        .filter(|id| caller.app_ids.contains(id));
    let (Some(active), Some(app_id)) = (active, app_id) else {
        audit(
            state,
            &form.tenant.model.id,
            &caller.model.client_id,
            "-",
            Outcome::Refused,
            "inactive or not for the caller's apps",
        )
        .await?;
        return Ok(no_store(json!({"active": false})));
    };
    let claims = active.claims;
    let profile = match claims.cred_profile.as_deref() {
        None => serde_json::Value::Null,
        Some(name) => {
            let found =
                db::credential_profiles::find_by_name(&state.db, form.tenant.model.id, name)
                    .await
                    .map_err(|e| OAuthError::Unavailable(e.into()))?;
            let Some(profile) = found else {
                audit(
                    state,
                    &form.tenant.model.id,
                    &caller.model.client_id,
                    &claims.jti,
                    Outcome::Refused,
                    "credential profile no longer exists",
                )
                .await?;
                return Ok(no_store(json!({"active": false})));
            };
            let secret = state
                .crypto
                .open(&credential_profile_context(profile.id), &profile.secret_enc)?;
            let secret = String::from_utf8(secret).map_err(anyhow::Error::from)?;
            json!({"name": profile.name, "provider": profile.provider, "secret": secret})
        }
    };
    audit(
        state,
        &form.tenant.model.id,
        &caller.model.client_id,
        &claims.jti,
        Outcome::Granted,
        &format!(
            "app={app_id} cred_profile={}",
            claims.cred_profile.as_deref().unwrap_or("-")
        ),
    )
    .await?;
    Ok(no_store(json!({
        "active": true,
        "tid": claims.tid,
        "app_id": app_id,
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "exp": claims.exp,
        "credential_profile": profile,
    })))
}

fn no_store(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(body)
}

async fn audit(
    state: &AppState,
    tenant_id: &Uuid,
    caller: &str,
    jti: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), Backlogged> {
    state
        .audit(AuditEntry {
            tenant_id: Some(*tenant_id),
            actor: format!("client:{caller}"),
            action: "key_context.read",
            target: format!("jti:{jti}"),
            outcome,
            detail: detail.to_owned(),
        })
        .await
}
