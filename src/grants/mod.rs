//! The token endpoint's grants, one module per `grant_type`. No actix types in here.
mod authorization_code;
mod client_credentials;
mod issue;
pub mod records;
pub mod refresh_token;
mod target;
pub mod token_exchange;

use chrono::{DateTime, Utc};

pub use issue::{issue_access_token, AccessTokenSpec, ExchangeClaims};
pub use target::{resolve_target, resolve_targets};

use crate::cache::{ClientView, TenantView};
use crate::error::OAuthError;
use crate::protocol::{self, TokenRequest, TokenResponse};
use crate::state::AppState;

/// What a grant needs to know about the request's context.
pub struct GrantContext<'a> {
    pub state: &'a AppState,
    pub tenant: &'a TenantView,
    pub client: &'a ClientView,
    pub now: DateTime<Utc>,
}

pub async fn dispatch(
    ctx: &GrantContext<'_>,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = request
        .grant_type
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if !protocol::GRANT_TYPES.contains(&grant_type) {
        return Err(OAuthError::unsupported_grant_type(
            "this grant_type is not supported",
        ));
    }
    if !ctx.client.allows_grant(grant_type) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use this grant_type",
        ));
    }
    match grant_type {
        protocol::GRANT_CLIENT_CREDENTIALS => client_credentials::grant(ctx, request).await,
        protocol::GRANT_AUTHORIZATION_CODE => authorization_code::grant(ctx, request).await,
        protocol::GRANT_REFRESH_TOKEN => refresh_token::grant(ctx, request).await,
        protocol::GRANT_TOKEN_EXCHANGE => token_exchange::grant(ctx, request).await,
        _ => Err(OAuthError::unsupported_grant_type(
            "this grant_type is not supported yet",
        )),
    }
}
