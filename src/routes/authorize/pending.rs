//! A pending authorization request, sealed into the browser's cookie (AES-GCM under a key
//! derived from the master key, bound to the tenant). grantd keeps nothing for a request until
//! someone has signed in, so unauthenticated requests cannot fill the state store; the one thing
//! stored is a marker that the request's single decision was taken.
//!
//! Signing in replaces the cookie, its id and its CSRF token: a cookie planted in a browser
//! before its user signed in never carries that user.
use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PENDING_TTL_SECS;
use crate::cache::ClientView;
use crate::crypto::{random_token, sha256_hex};
use crate::domain::{AppId, TenantId};
use crate::error::OAuthError;
use crate::state::AppState;

/// Browsers keep cookies of up to 4096 bytes, name and attributes included.
const MAX_SEALED_LEN: usize = 3800;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// Names this request's one decision.
    pub id: String,
    pub client_id: String,
    /// SHA-256 of the redirect URI: resolved against the client's registered URIs again at the
    /// decision, which keeps the cookie small and refuses a URI unregistered meanwhile.
    pub redirect_uri_digest: String,
    pub state: Option<String>,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub app_id: Option<AppId>,
    pub csrf_token: String,
    pub user_id: Option<Uuid>,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Pending {
    /// A fresh id, CSRF token and lifetime: for a new request, and again at sign-in.
    pub fn renewed(self) -> Self {
        Self {
            id: random_token(16),
            csrf_token: random_token(24),
            expires_at: Utc::now().timestamp() + PENDING_TTL_SECS as i64,
            ..self
        }
    }

    pub fn redirect_uri_digest_of(uri: &str) -> String {
        sha256_hex(uri)
    }

    /// The registered redirect URI this request names, if the client still registers it.
    pub fn redirect_uri<'c>(&self, client: &'c ClientView) -> Option<&'c str> {
        client
            .redirect_uris
            .iter()
            .find(|uri| sha256_hex(uri) == self.redirect_uri_digest)
            .map(String::as_str)
    }
}

fn context(tenant: Uuid) -> String {
    format!("authorization_request:{tenant}")
}

/// The request sealed as a cookie value; `None` when it would not fit in a cookie.
pub fn seal(state: &AppState, tenant: Uuid, pending: &Pending) -> Result<String, OAuthError> {
    let payload = serde_json::to_vec(pending).map_err(anyhow::Error::from)?;
    let sealed = state
        .crypto
        .seal_for_browser(&context(tenant), &payload)
        .map_err(OAuthError::Unexpected)?;
    if sealed.len() > MAX_SEALED_LEN {
        return Err(OAuthError::invalid_request(
            "the authorization request is too large",
        ));
    }
    Ok(sealed)
}

/// The browser's pending request for this tenant, if its cookie opens and has not expired.
pub fn load(state: &AppState, request: &HttpRequest, slug: &str, tenant: Uuid) -> Option<Pending> {
    let cookie = request.cookie(&cookie_name(slug, secure(state)))?;
    let payload = state
        .crypto
        .open_from_browser(&context(tenant), cookie.value())
        .ok()?;
    let pending: Pending = serde_json::from_slice(&payload).ok()?;
    (pending.expires_at > Utc::now().timestamp()).then_some(pending)
}

/// Claims the request's one decision: of two concurrent decisions, only one gets `true`.
pub async fn claim_decision(
    state: &AppState,
    tenant: TenantId,
    pending: &Pending,
) -> Result<bool, OAuthError> {
    let taken = state
        .store
        .hit(
            tenant,
            &format!("authz-decided:{}", pending.id),
            PENDING_TTL_SECS,
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    Ok(taken == 1)
}

fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

/// On https a `__Host-` cookie (Secure, path `/`, no domain: no sibling host can plant it), one
/// per tenant; on plain http (development) a cookie scoped to the endpoint's path.
fn cookie_name(slug: &str, secure: bool) -> String {
    if secure {
        format!("__Host-grantd_authz_{slug}")
    } else {
        "grantd_authz".to_owned()
    }
}

pub fn cookie(state: &AppState, slug: &str, value: String) -> Cookie<'static> {
    let secure = secure(state);
    let path = if secure {
        "/".to_owned()
    } else {
        format!("/t/{slug}/authorize")
    };
    Cookie::build(cookie_name(slug, secure), value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(
            PENDING_TTL_SECS as i64,
        ))
        .finish()
}

pub fn expired_cookie(state: &AppState, slug: &str) -> Cookie<'static> {
    let mut cookie = cookie(state, slug, String::new());
    cookie.make_removal();
    cookie
}
