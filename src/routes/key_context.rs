//! `POST {issuer}/key-context`: `oauth::key_context` decides, this shapes the answer.
use actix_web::HttpResponse;
use grantd_resource::wire::{self, ActiveKeyContext};

use super::oauth_form::{no_store, token_parameter, Callers, Endpoint};
use crate::domain::Form;
use crate::error::OAuthError;
use crate::oauth::key_context::{may_ask, resolve, KeyContext as Resolved};
use crate::ports::ClientCall;

pub struct KeyContext;

impl Endpoint for KeyContext {
    const CALLERS: Callers = Callers::Confidential;

    async fn answer(call: &ClientCall<'_>, fields: Form) -> Result<HttpResponse, OAuthError> {
        may_ask(call.client)?;
        let token = token_parameter(&fields)?;
        let context = match resolve(call, token).await? {
            Resolved::Inactive => None,
            Resolved::Active {
                claims,
                app_id,
                profile,
            } => {
                let claims = claims.wire;
                Some(ActiveKeyContext {
                    tid: claims.tid,
                    app_id: app_id.to_string(),
                    sub: claims.sub,
                    client_id: claims.client_id,
                    scope: claims.scope,
                    exp: claims.exp,
                    credential_profile: profile,
                })
            }
        };
        let body = wire::KeyContext {
            active: context.is_some(),
            context,
        };
        Ok(no_store().json(body))
    }
}
