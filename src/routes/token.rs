//! `POST {issuer}/token` (RFC 6749 §3.2): `grants::dispatch` decides.
use actix_web::http::header;
use actix_web::HttpResponse;

use super::oauth_form::{no_store, Callers, Endpoint};
use crate::domain::Form;
use crate::error::OAuthError;
use crate::grants::dispatch;
use crate::ports::ClientCall;

pub struct Token;

impl Endpoint for Token {
    const CALLERS: Callers = Callers::AnyClient;

    async fn answer(call: &ClientCall<'_>, fields: Form) -> Result<HttpResponse, OAuthError> {
        let response = dispatch(call, fields).await?;
        Ok(no_store()
            .insert_header((header::PRAGMA, "no-cache"))
            .json(response))
    }
}
