//! RFC 7662. A client sees the access tokens issued to it and those whose audience is one of its
//! apps, and the refresh tokens issued to it; anything else, like anything expired, used or
//! revoked, is inactive. Revocation state that cannot be read is an error, never "active".

use crate::cache::ClientView;
use crate::domain::AppId;
use crate::error::OAuthError;
use crate::grants::refresh_token::{self, RefreshIntrospection};
use crate::ports::ClientCall;
use crate::token_status::active_access_token;
use crate::tokens::AccessClaims;

pub enum Introspection {
    Inactive,
    AccessToken(Box<AccessClaims>),
    RefreshToken(RefreshIntrospection),
}

/// RFC 7662 §2.1: the hint only says where to look first; a token not found there is looked for
/// as the other kind, so a wrong hint never makes an active token look inactive.
pub async fn introspect(
    call: &ClientCall<'_>,
    token: &str,
    hint: Option<&str>,
) -> Result<Introspection, OAuthError> {
    let found = if hint == Some("refresh_token") {
        match refresh(call, token).await? {
            Introspection::Inactive => access(call, token).await?,
            found => found,
        }
    } else {
        match access(call, token).await? {
            Introspection::Inactive => refresh(call, token).await?,
            found => found,
        }
    };
    Ok(found)
}

async fn access(call: &ClientCall<'_>, token: &str) -> Result<Introspection, OAuthError> {
    Ok(
        match active_access_token(&call.ports, call.tenant, token, call.now.timestamp()).await? {
            Some(active) if may_see(call.client, &active.claims) => {
                Introspection::AccessToken(Box::new(active.claims))
            }
            _ => Introspection::Inactive,
        },
    )
}

async fn refresh(call: &ClientCall<'_>, token: &str) -> Result<Introspection, OAuthError> {
    Ok(match refresh_token::introspect(call, token).await? {
        Some(found) => Introspection::RefreshToken(found),
        None => Introspection::Inactive,
    })
}

/// The caller sees its own tokens, and tokens for one of its apps.
pub fn may_see(client: &ClientView, claims: &AccessClaims) -> bool {
    claims.client_id == client.model.client_id
        || claims
            .app_id
            .as_deref()
            .and_then(|id| id.parse::<AppId>().ok())
            .is_some_and(|id| client.app_ids.contains(&id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::client_credentials;
    use crate::grants::testing::World;

    #[tokio::test]
    async fn an_access_token_is_active_until_its_exp_on_the_callers_clock() {
        let world = World::new();
        let issued = world
            .issue(client_credentials::Request::default())
            .await
            .unwrap();
        let token = &issued.response.access_token;
        let lifetime = issued.response.expires_in as i64;
        let at = |secs| introspect_at(&world, token, secs);
        assert!(
            matches!(at(lifetime - 1).await, Introspection::AccessToken(claims)
            if claims.jti == issued.claims.jti)
        );
        assert!(matches!(at(lifetime).await, Introspection::Inactive));
    }

    #[tokio::test]
    async fn another_client_sees_a_token_only_when_it_serves_the_tokens_app() {
        let world = World::new();
        let tenant_wide = world
            .issue(client_credentials::Request::default())
            .await
            .unwrap();
        let mut stranger = world.other_client("erp");
        let call = world.call_as(&stranger, 0);
        let answer = introspect(&call, &tenant_wide.response.access_token, None).await;
        assert!(matches!(answer.unwrap(), Introspection::Inactive));

        let app_token = world
            .issue(client_credentials::Request {
                scope: None,
                targets: crate::grants::Targets {
                    resource: vec![world.app().audience.clone()],
                    audience: Vec::new(),
                },
            })
            .await
            .unwrap();
        stranger.app_ids = vec![world.app().id];
        let call = world.call_as(&stranger, 0);
        let answer = introspect(&call, &app_token.response.access_token, None).await;
        assert!(matches!(answer.unwrap(), Introspection::AccessToken(_)));
    }

    async fn introspect_at(world: &World, token: &str, later_secs: i64) -> Introspection {
        let call = world.call_as(&world.client, later_secs);
        introspect(&call, token, Some("access_token"))
            .await
            .unwrap()
    }
}
