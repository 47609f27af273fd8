//! `POST {issuer}/revoke` (RFC 7009). A refresh token kills its family; an access token is dead
//! everywhere until it expires. Unknown tokens and other clients' tokens get 200 and change
//! nothing (§2.2: "invalid tokens do not cause an error response").
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use tracing_actix_web::RootSpan;

use super::oauth_form::{self, Callers};
use crate::audit::{AuditEntry, Outcome};
use crate::error::OAuthError;
use crate::grants::records::{bound_digest, RefreshRecord};
use crate::grants::refresh_token::revoke_family_id;
use crate::state::AppState;
use crate::store::{OnceKind, Taken};

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
    let client_id = &form.client.model.client_id;
    let tenant_id = form.tenant.model.id;
    let revoked = if let Ok((claims, _)) = form.tenant.verifier.verify(token) {
        if claims.client_id != *client_id || claims.tid != tenant_id.to_string() {
            None
        } else {
            let ttl = (claims.exp - Utc::now().timestamp()).max(1) as u64;
            state
                .store
                .revoke_jti(tenant_id, &claims.jti, ttl)
                .await
                .map_err(|e| OAuthError::Unavailable(e.into()))?;
            crate::metrics::revocation("access_token");
            Some(format!("jti:{}", claims.jti))
        }
    } else {
        let found = state
            .store
            .peek_once(
                tenant_id,
                OnceKind::RefreshToken,
                &bound_digest(client_id, token),
            )
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?;
        let payload = match found {
            Taken::Fresh(payload) | Taken::Used(payload) => Some(payload),
            Taken::Unknown => None,
        };
        match payload.and_then(|payload| serde_json::from_str::<RefreshRecord>(&payload).ok()) {
            Some(record) => {
                revoke_family_id(state, tenant_id, &record.family).await?;
                Some(format!("family:{}", record.family))
            }
            None => None,
        }
    };
    if let Some(target) = revoked {
        state
            .audit(AuditEntry {
                tenant_id: Some(tenant_id),
                actor: format!("client:{client_id}"),
                action: "token.revoked",
                target,
                outcome: Outcome::Granted,
                detail: "revocation endpoint".into(),
            })
            .await?;
    }
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .finish())
}
