//! `POST {issuer}/introspect` (RFC 7662): `oauth::introspection` decides, this shapes the answer.
use actix_web::HttpResponse;
use grantd_resource::wire;
use serde_json::{json, Value};

use super::oauth_form::{no_store, token_parameter, Callers, Endpoint};
use crate::domain::Form;
use crate::error::OAuthError;
use crate::grants::refresh_token::RefreshIntrospection;
use crate::oauth::introspection::{self, Introspection};
use crate::ports::ClientCall;
use crate::tokens::{AccessClaims, SenderConstraint};

pub struct Introspect;

impl Endpoint for Introspect {
    const CALLERS: Callers = Callers::Confidential;

    async fn answer(call: &ClientCall<'_>, fields: Form) -> Result<HttpResponse, OAuthError> {
        let token = token_parameter(&fields)?;
        let hint = fields.get("token_type_hint").map(String::as_str);
        // Serialised straight from the wire types: no intermediate JSON value on this hot path.
        let response = match introspection::introspect(call, token, hint).await? {
            Introspection::Inactive => no_store().json(wire::Introspection {
                active: false,
                token_type: None,
                claims: None,
            }),
            Introspection::AccessToken(claims) => no_store().json(access_answer(*claims)),
            Introspection::RefreshToken(found) => no_store().json(refresh_answer(call, found)),
        };
        Ok(response)
    }
}

fn access_answer(claims: AccessClaims) -> wire::Introspection {
    wire::Introspection {
        active: true,
        token_type: Some(SenderConstraint::of(&claims).token_type().to_owned()),
        // The wire claims only: provenance links are revocation bookkeeping, not claims a
        // resource server needs.
        claims: Some(claims.wire),
    }
}

/// A refresh token, for the client it was issued to only: its family's user, the scope a refresh
/// would issue now, and when the family ends.
fn refresh_answer(call: &ClientCall<'_>, found: RefreshIntrospection) -> Value {
    let tenant = call.tenant;
    let mut body = json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": found.record.client_id,
        "sub": found.record.user_id.to_string(),
        "iat": found.record.issued_at_ms / 1000,
        "exp": found.record.family_expires_at,
        "iss": tenant.issuer,
        "tid": tenant.model.id.to_string(),
    });
    if !found.scope.is_empty() {
        body["scope"] = json!(found.scope.to_string());
    }
    body
}
