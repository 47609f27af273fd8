//! The authorization endpoint's decisions (RFC 6749 §4.1.1–4.1.2, PKCE RFC 7636, resource
//! indicators RFC 8707): whether a request may proceed to sign-in, and the code an approved
//! request gets. The pages, cookies and redirects around them are `routes::authorize`.
use uuid::Uuid;

use crate::cache::{ClientView, TenantView};
use crate::crypto::random_token;
use crate::domain::{AppId, Form, ScopeSet, UserId};
use crate::grants::records::{bound_digest, CodeRecord};
use crate::grants::{narrow, resolve_target, ScopeRefusal};
use crate::pkce;
use crate::ports::Ports;
use crate::protocol::{GrantType, AUTHORIZATION_CODE_TTL};
use crate::store::{OnceKind, StoreError};

/// A refused request, for the error redirect: (RFC 6749 §4.1.2.1 `error`, description).
pub type Refusal = (&'static str, &'static str);

/// What an acceptable request asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub scope: ScopeSet,
    pub code_challenge: Option<String>,
    pub app_id: Option<AppId>,
}

/// Bounds on what a request may carry into its sealed cookie (the rest is bounded by the
/// client's registration).
const BOUNDED_PARAMETERS: [(&str, usize, &str); 4] = [
    ("scope", 1024, "scope is longer than 1024 characters"),
    ("nonce", 255, "nonce is longer than 255 characters"),
    ("resource", 2000, "resource is longer than 2000 characters"),
    (
        "code_challenge",
        128,
        "code_challenge is longer than 128 characters",
    ),
];

/// The request's parameters, checked for a client whose redirect URI is already known good.
pub fn check_request(
    tenant: &TenantView,
    client: &ClientView,
    query: &Form,
) -> Result<AuthorizationRequest, Refusal> {
    if !client.allows_grant(GrantType::AuthorizationCode.as_str()) {
        return Err((
            "unauthorized_client",
            "the client may not use the authorization code grant",
        ));
    }
    for (name, limit, too_long) in BOUNDED_PARAMETERS {
        let mut values = query.get(name).into_iter().chain(query.all(name));
        if values.any(|value| value.len() > limit) {
            return Err(("invalid_request", too_long));
        }
    }
    match query.get("response_type").map(String::as_str) {
        Some("code") => {}
        Some(_) => {
            return Err((
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
        None => return Err(("invalid_request", "response_type is required")),
    }
    let challenge = query.get("code_challenge");
    match query.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        Some(_) => return Err(("invalid_request", "code_challenge_method must be S256")),
        None if challenge.is_some() => {
            return Err(("invalid_request", "code_challenge_method must be S256"))
        }
        None => {}
    }
    if challenge.is_none() && client.requires_pkce() {
        return Err((
            "invalid_request",
            "this client must use PKCE (code_challenge with S256)",
        ));
    }
    if challenge.is_some_and(|c| !pkce::is_valid_challenge(c)) {
        return Err((
            "invalid_request",
            "code_challenge must be a base64url SHA-256 (43 characters)",
        ));
    }
    let resources = query.all("resource");
    if resources.iter().any(|other| *other != resources[0]) {
        return Err((
            "invalid_target",
            "grantd issues a token for one resource at a time",
        ));
    }
    let app = resolve_target(tenant, client, resources.first().map(String::as_str), None).map_err(
        |_| {
            (
                "invalid_target",
                "the client may not get tokens for this resource",
            )
        },
    )?;
    let allowed = match app {
        Some(app) => client.scopes.intersection(&app.scopes),
        None => client.scopes.clone(),
    };
    let scope = narrow(query.get("scope").map(String::as_str), &allowed).map_err(|refusal| {
        let description = match refusal {
            ScopeRefusal::Malformed => "scope is malformed",
            ScopeRefusal::Exceeds => "the requested scope exceeds what the client may get",
        };
        ("invalid_scope", description)
    })?;
    Ok(AuthorizationRequest {
        scope,
        code_challenge: challenge.cloned(),
        app_id: app.map(|a| a.id),
    })
}

/// What the user approved, to be redeemed at the token endpoint.
pub struct Approval<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub user_id: UserId,
    pub scope: &'a str,
    pub code_challenge: Option<&'a str>,
    pub app_id: Option<AppId>,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Stores a single-use code for an approved request and returns it.
pub async fn issue_code(
    ports: &Ports<'_>,
    tenant: &TenantView,
    approval: Approval<'_>,
) -> Result<String, StoreError> {
    let code = random_token(32);
    let record = CodeRecord {
        client_id: approval.client_id.to_owned(),
        redirect_uri: approval.redirect_uri.to_owned(),
        code_challenge: approval.code_challenge.map(str::to_owned),
        scope: approval.scope.to_owned(),
        user_id: approval.user_id,
        app_id: approval.app_id,
        issued_at_ms: approval.now.timestamp_millis(),
        family: Uuid::new_v4().simple().to_string(),
    };
    let payload = serde_json::to_string(&record).map_err(|e| StoreError(e.to_string()))?;
    ports
        .store
        .put_once(
            tenant.id(),
            OnceKind::AuthorizationCode,
            &bound_digest(approval.client_id, &code),
            &payload,
            AUTHORIZATION_CODE_TTL as u64,
        )
        .await?;
    Ok(code)
}
