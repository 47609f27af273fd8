//! The token endpoint's grants, one module per `grant_type`. No actix types in here: a grant
//! reads its typed request, works through the narrow `Ports`, and returns what to issue, which
//! `issuance` alone turns into a token response.
//!
//! To add a grant: a `GrantType` variant (`protocol.rs`), a module here with its `Request` and
//! `grant`, and one arm in each of `GrantRequest::parse` and `dispatch`.
pub mod authorization_code;
pub mod client_credentials;
mod issuance;
pub mod records;
pub mod refresh_token;
mod scope;
mod target;
pub mod token_exchange;

#[cfg(test)]
pub(crate) mod testing;

pub use issuance::{issue, ExtraClaims, Issue, Issued, RefreshIssue};
pub use scope::{narrow, within, ScopeRefusal};
pub use target::{resolve_target, resolve_targets, Targets};

use crate::domain::Form;
use crate::error::OAuthError;
use crate::ports::ClientCall;
use crate::protocol::{GrantType, TokenResponse};

/// A token request, parsed for its grant.
#[derive(Debug)]
pub enum GrantRequest {
    ClientCredentials(client_credentials::Request),
    AuthorizationCode(authorization_code::Request),
    RefreshToken(refresh_token::Request),
    TokenExchange(token_exchange::Request),
}

impl GrantRequest {
    /// The form's `grant_type`: present and one grantd supports.
    pub fn grant_type(form: &mut Form) -> Result<GrantType, OAuthError> {
        let name = form
            .take("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
        GrantType::parse(&name)
            .ok_or_else(|| OAuthError::unsupported_grant_type("this grant_type is not supported"))
    }

    /// The rest of the form, read as `grant` reads it. No look-ups: pure parsing.
    pub fn parse(grant: GrantType, form: Form) -> Result<Self, OAuthError> {
        Ok(match grant {
            GrantType::ClientCredentials => {
                Self::ClientCredentials(client_credentials::Request::from_form(form))
            }
            GrantType::AuthorizationCode => {
                Self::AuthorizationCode(authorization_code::Request::from_form(form)?)
            }
            GrantType::RefreshToken => Self::RefreshToken(refresh_token::Request::from_form(form)?),
            GrantType::TokenExchange => {
                Self::TokenExchange(token_exchange::Request::from_form(form))
            }
        })
    }
}

/// Runs the token request in `form` for the authenticated client.
pub async fn dispatch(ctx: &ClientCall<'_>, mut form: Form) -> Result<TokenResponse, OAuthError> {
    let grant = GrantRequest::grant_type(&mut form)?;
    if !ctx.client.allows_grant(grant.as_str()) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use this grant_type",
        ));
    }
    Ok(run(ctx, GrantRequest::parse(grant, form)?).await?.response)
}

/// Runs a parsed request's grant and issues what it decided.
pub async fn run(ctx: &ClientCall<'_>, request: GrantRequest) -> Result<Issued, OAuthError> {
    let issue = match request {
        GrantRequest::ClientCredentials(request) => client_credentials::grant(ctx, request)?,
        GrantRequest::AuthorizationCode(request) => authorization_code::grant(ctx, request).await?,
        GrantRequest::RefreshToken(request) => refresh_token::grant(ctx, request).await?,
        GrantRequest::TokenExchange(request) => token_exchange::grant(ctx, request).await?,
    };
    issuance::issue(ctx, issue).await
}

macro_rules! grant_request_from {
    ($($variant:ident => $module:ident),* $(,)?) => {$(
        impl From<$module::Request> for GrantRequest {
            fn from(request: $module::Request) -> Self {
                Self::$variant(request)
            }
        }
    )*};
}

grant_request_from! {
    ClientCredentials => client_credentials,
    AuthorizationCode => authorization_code,
    RefreshToken => refresh_token,
    TokenExchange => token_exchange,
}
