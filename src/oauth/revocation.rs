//! RFC 7009. A refresh token kills its family; an access token is dead everywhere until it
//! expires. Unknown tokens and other clients' tokens change nothing (§2.2: "invalid tokens do
//! not cause an error response").
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::error::OAuthError;
use crate::grants::records::{bound_digest, RefreshRecord};
use crate::grants::refresh_token::kill_family;
use crate::ports::ClientCall;
use crate::store::{OnceKind, Taken};

#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    AccessToken {
        jti: String,
    },
    Family {
        family: String,
    },
    /// Unknown, or not the caller's.
    Nothing,
}

pub async fn revoke(call: &ClientCall<'_>, token: &str) -> Result<Revoked, OAuthError> {
    let client_id = &call.client.model.client_id;
    let tenant_id = call.tenant.id();
    let revoked = if let Ok((claims, _)) = call.tenant.verifier.verify(token, call.now.timestamp())
    {
        if claims.client_id != *client_id || claims.tid != tenant_id.to_string() {
            Revoked::Nothing
        } else {
            let ttl = (claims.exp - call.now.timestamp()).max(1) as u64;
            call.ports
                .store
                .revoke_jti(tenant_id, &claims.jti, ttl)
                .await
                .map_err(|e| OAuthError::Unavailable(e.into()))?;
            crate::metrics::revocation("access_token");
            Revoked::AccessToken {
                jti: claims.wire.jti,
            }
        }
    } else {
        let found = call
            .ports
            .store
            .peek_once(
                tenant_id,
                OnceKind::RefreshToken,
                &bound_digest(client_id, token),
            )
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?;
        let record = match found {
            Taken::Fresh(payload) | Taken::Used(payload) => {
                serde_json::from_str::<RefreshRecord>(&payload).ok()
            }
            Taken::Unknown => None,
        };
        match record {
            Some(record) => {
                kill_family(call, &record.family).await?;
                Revoked::Family {
                    family: record.family,
                }
            }
            None => Revoked::Nothing,
        }
    };
    let target = match &revoked {
        Revoked::AccessToken { jti } => format!("jti:{jti}"),
        Revoked::Family { family } => format!("family:{family}"),
        Revoked::Nothing => return Ok(revoked),
    };
    call.ports
        .audit
        .record(AuditEntry {
            tenant_id: Some(tenant_id.0),
            actor: format!("client:{client_id}"),
            action: AuditAction::TokenRevoked,
            target,
            outcome: Outcome::Granted,
            detail: "revocation endpoint".into(),
        })
        .await?;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::client_credentials;
    use crate::grants::testing::World;
    use crate::oauth::introspection::{introspect, Introspection};

    #[tokio::test]
    async fn a_revoked_access_token_is_inactive_and_another_clients_revocation_changes_nothing() {
        let world = World::new();
        let issued = world
            .issue(client_credentials::Request::default())
            .await
            .unwrap();
        let token = issued.response.access_token.clone();

        let stranger = world.other_client("erp");
        let refused = revoke(&world.call_as(&stranger, 0), &token).await.unwrap();
        assert_eq!(refused, Revoked::Nothing);
        assert!(matches!(
            introspect(&world.call(), &token, None).await.unwrap(),
            Introspection::AccessToken(_)
        ));

        let revoked = revoke(&world.call(), &token).await.unwrap();
        assert_eq!(
            revoked,
            Revoked::AccessToken {
                jti: issued.claims.jti.clone()
            }
        );
        assert!(matches!(
            introspect(&world.call(), &token, None).await.unwrap(),
            Introspection::Inactive
        ));
        assert_eq!(world.audited(), ["token.issued", "token.revoked"]);
    }

    #[tokio::test]
    async fn an_unknown_token_revokes_nothing_and_records_nothing() {
        let world = World::new();
        let answer = revoke(&world.call(), "not-a-token").await.unwrap();
        assert_eq!(answer, Revoked::Nothing);
        assert!(world.audited().is_empty());
    }
}
