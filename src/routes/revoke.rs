//! `POST {issuer}/revoke` (RFC 7009): `oauth::revocation` decides; the answer is always 200.
use actix_web::HttpResponse;

use super::oauth_form::{no_store, token_parameter, Callers, Endpoint};
use crate::domain::Form;
use crate::error::OAuthError;
use crate::oauth::revocation;
use crate::ports::ClientCall;

pub struct Revoke;

impl Endpoint for Revoke {
    const CALLERS: Callers = Callers::AnyClient;

    async fn answer(call: &ClientCall<'_>, fields: Form) -> Result<HttpResponse, OAuthError> {
        revocation::revoke(call, token_parameter(&fields)?).await?;
        Ok(no_store().finish())
    }
}
