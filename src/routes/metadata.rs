//! RFC 8414 authorization server metadata, served at `{issuer}/.well-known/…` and at
//! `/.well-known/oauth-authorization-server/t/{slug}` (§3.1's path-insertion form). It lists only
//! what works at each endpoint (§2); `token_endpoint_auth_signing_alg_values_supported`, which §2
//! requires only beside `private_key_jwt` or `client_secret_jwt`, is left out while neither
//! exists: an empty list tells a client nothing it can use.
use actix_web::{web, HttpResponse};
use grantd_resource::wire::Metadata;

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
    let methods: Vec<String> = AuthMethod::ALL.map(|m| m.as_str().to_owned()).into();
    let authenticating = AuthMethod::ALL
        .into_iter()
        .filter(|m| m.authenticates())
        .map(|m| m.as_str().to_owned())
        .collect();
    let endpoint = |path: &str| Some(format!("{issuer}/{path}"));
    let strings = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
    Ok(HttpResponse::Ok().json(Metadata {
        issuer: issuer.clone(),
        token_endpoint: endpoint("token"),
        authorization_endpoint: endpoint("authorize"),
        jwks_uri: endpoint("jwks.json"),
        revocation_endpoint: endpoint("revoke"),
        introspection_endpoint: endpoint("introspect"),
        key_context_endpoint: endpoint("key-context"),
        grant_types_supported: strings(&GRANT_TYPES),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        scopes_supported: scopes.into_iter().cloned().collect(),
        code_challenge_methods_supported: strings(&["S256"]),
        token_endpoint_auth_methods_supported: methods.clone(),
        revocation_endpoint_auth_methods_supported: methods,
        introspection_endpoint_auth_methods_supported: authenticating,
        authorization_response_iss_parameter_supported: true,
        service_documentation: Some(format!("{}/docs", state.public_url)),
    }))
}
