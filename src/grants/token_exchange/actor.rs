//! Delegation (RFC 8693 §4.1): with an actor token, the result says who acts for the subject.
use super::subject::Subject;
use super::GrantContext;
use crate::error::OAuthError;
use crate::protocol::{TokenRequest, TOKEN_TYPE_ACCESS_TOKEN};
use crate::token_status::active_access_token;

/// The `act` claim of the result: the actor, with its own `act` nested when its token carries
/// one; without an actor, the subject's own delegation chain is kept.
pub async fn resolve(
    ctx: &GrantContext<'_>,
    request: &TokenRequest,
    may_act: bool,
    subject: &Subject,
) -> Result<Option<serde_json::Value>, OAuthError> {
    let Some(actor_token) = request.actor_token.as_deref() else {
        if request.actor_token_type.is_some() {
            return Err(OAuthError::invalid_request(
                "actor_token_type without actor_token",
            ));
        }
        return Ok(subject.act.clone());
    };
    match request.actor_token_type.as_deref() {
        Some(TOKEN_TYPE_ACCESS_TOKEN) => {}
        Some(_) => return Err(OAuthError::invalid_request("unsupported actor_token_type")),
        None => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is required with actor_token",
            ))
        }
    }
    if !may_act {
        return Err(OAuthError::unauthorized_client(
            "the client's exchange policy does not allow acting for others",
        ));
    }
    let actor = active_access_token(ctx.state, ctx.tenant, actor_token)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the actor token is not active"))?;
    let mut act = serde_json::json!({"sub": actor.claims.sub});
    if let Some(prior) = actor.claims.act {
        act["act"] = prior;
    }
    Ok(Some(act))
}
