//! RFC 8414 authorization server metadata, served at `{issuer}/.well-known/…` and at
//! `/.well-known/oauth-authorization-server/t/{slug}` (§3.1's path-insertion form). It lists only
//! what works at each endpoint (§2); `token_endpoint_auth_signing_alg_values_supported`, which §2
//! requires only beside `private_key_jwt` or `client_secret_jwt`, is left out while neither
//! exists: an empty list tells a client nothing it can use.
use actix_web::{web, HttpResponse};

use crate::client_auth::AuthMethod;
use crate::error::AdminError;
use crate::protocol::GRANT_TYPES;
use crate::state::AppState;

pub async fn metadata(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> actix_web::Result<HttpResponse> {
    let Some(tenant) = state.tenant(&slug).await.map_err(super::unavailable)? else {
        return Err(AdminError::not_found("tenant").into());
    };
    let issuer = &tenant.issuer;
    let mut scopes: Vec<&String> = tenant
        .apps
        .values()
        .flat_map(|app| app.scopes.iter())
        .collect();
    scopes.sort();
    scopes.dedup();
    // Revocation, like the token endpoint, takes public clients (RFC 7009 §2.1); introspection
    // answers only clients that prove who they are, so `none` is not listed for it (§2 of
    // RFC 8414 lists what works at each endpoint).
    let methods = AuthMethod::ALL.map(AuthMethod::as_str);
    let authenticating: Vec<&str> = AuthMethod::ALL
        .into_iter()
        .filter(|m| m.authenticates())
        .map(AuthMethod::as_str)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "key_context_endpoint": format!("{issuer}/key-context"),
        "grant_types_supported": GRANT_TYPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "scopes_supported": scopes,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": authenticating,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{}/docs", state.public_url),
    })))
}
