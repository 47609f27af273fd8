//! RFC 6749 §4.4: the client acts on its own behalf. No refresh token (§4.4.3).
use super::{issue_access_token, resolve_targets, AccessTokenSpec, GrantContext};
use crate::domain::ScopeSet;
use crate::error::OAuthError;
use crate::protocol::{access_token_ttl, TokenRequest, TokenResponse, GRANT_CLIENT_CREDENTIALS};

pub async fn grant(
    ctx: &GrantContext<'_>,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let app = resolve_targets(ctx.tenant, ctx.client, &request.resource, &request.audience)?;
    let allowed = match app {
        Some(app) => ctx.client.scopes.intersection(&app.scopes),
        None => ctx.client.scopes.clone(),
    };
    let scope = match request.scope.as_deref() {
        Some(raw) => {
            let asked = ScopeSet::parse(raw)
                .ok_or_else(|| OAuthError::invalid_scope("scope is malformed"))?;
            if !asked.is_subset(&allowed) {
                return Err(OAuthError::invalid_scope(
                    "the requested scope exceeds what the client may get",
                ));
            }
            asked
        }
        None => allowed,
    };
    let (audience, app_id) = match app {
        Some(app) => (app.audience.clone(), Some(app.id)),
        None => (ctx.tenant.issuer.clone(), None),
    };
    let client_id = &ctx.client.model.client_id;
    let (access_token, claims) = issue_access_token(
        ctx.state,
        ctx.tenant,
        AccessTokenSpec {
            grant_type: GRANT_CLIENT_CREDENTIALS,
            sub: client_id.clone(),
            client_id,
            audience,
            app_id,
            scope: &scope,
            ttl_secs: access_token_ttl(app_id.is_some()),
            family: None,
            exchange: Default::default(),
        },
        ctx.now,
    )
    .await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope: claims.scope,
        refresh_token: None,
        issued_token_type: None,
    })
}
