//! A pending authorization request, kept in the state store between the pages under a digest of
//! the browser's cookie value.
use actix_web::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{COOKIE, PENDING_TTL_SECS};
use crate::crypto::sha256_hex;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::store::{OnceKind, Taken};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub app_id: Option<Uuid>,
    pub csrf_token: String,
    pub user_id: Option<Uuid>,
    pub username: Option<String>,
}

pub async fn save(
    state: &AppState,
    tenant: Uuid,
    cookie_value: &str,
    pending: &Pending,
) -> Result<(), OAuthError> {
    let payload = serde_json::to_string(pending).map_err(anyhow::Error::from)?;
    state
        .store
        .put_once(
            tenant,
            OnceKind::AuthorizationRequest,
            &sha256_hex(cookie_value),
            &payload,
            PENDING_TTL_SECS,
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))
}

pub async fn load(
    state: &AppState,
    tenant: Uuid,
    cookie_value: &str,
) -> Result<Option<Pending>, OAuthError> {
    let payload = state
        .store
        .peek_once(
            tenant,
            OnceKind::AuthorizationRequest,
            &sha256_hex(cookie_value),
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    Ok(payload.and_then(|p| serde_json::from_str(&p).ok()))
}

/// Ends the request: of two concurrent decisions, only one gets it.
pub async fn finish(
    state: &AppState,
    tenant: Uuid,
    cookie_value: &str,
) -> Result<Option<Pending>, OAuthError> {
    let taken = state
        .store
        .take_once(
            tenant,
            OnceKind::AuthorizationRequest,
            &sha256_hex(cookie_value),
            1,
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    Ok(match taken {
        Taken::Fresh(payload) => serde_json::from_str(&payload).ok(),
        _ => None,
    })
}

pub fn cookie(slug: &str, value: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, value.to_owned())
        .path(format!("/t/{slug}/authorize"))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(
            PENDING_TTL_SECS as i64,
        ))
        .finish()
}

pub fn expired_cookie(slug: &str) -> Cookie<'static> {
    let mut cookie = cookie(slug, "", false);
    cookie.make_removal();
    cookie
}
