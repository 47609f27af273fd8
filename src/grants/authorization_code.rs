//! RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5–4.6). Codes are single-use: a second redemption
//! fails and revokes what the first one issued (RFC 6749 §4.1.2).
use super::records::{bound_digest, CodeRecord, RefreshRecord};
use super::refresh_token::{revoke_family, standing, user_tokens, Standing};
use super::{ClientCall, Issue};
use crate::domain::Form;
use crate::error::OAuthError;
use crate::pkce;
use crate::protocol::{GrantType, REFRESH_TOKEN_TTL};
use crate::store::{OnceKind, Taken};

/// How long a redeemed code is remembered, so that a replay is detected.
const USED_CODE_TTL: u64 = 600;

#[derive(Debug)]
pub struct Request {
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: Option<String>,
}

impl Request {
    pub fn from_form(mut form: Form) -> Result<Self, OAuthError> {
        Ok(Self {
            code: form
                .take("code")
                .ok_or_else(|| OAuthError::invalid_request("code is required"))?,
            redirect_uri: form
                .take("redirect_uri")
                .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?,
            code_verifier: form.take("code_verifier"),
        })
    }
}

pub async fn grant<'t>(ctx: &ClientCall<'t>, request: Request) -> Result<Issue<'t>, OAuthError> {
    let client_id = &ctx.client.model.client_id;
    let tenant_id = ctx.tenant.id();
    let taken = ctx
        .ports
        .store
        .take_once(
            tenant_id,
            OnceKind::AuthorizationCode,
            &bound_digest(client_id, &request.code),
            USED_CODE_TTL,
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    let record: CodeRecord = match taken {
        Taken::Fresh(payload) => serde_json::from_str(&payload).map_err(anyhow::Error::from)?,
        Taken::Used(payload) => {
            let record: CodeRecord = serde_json::from_str(&payload).map_err(anyhow::Error::from)?;
            revoke_family(ctx, &record.family, "authorization code reused").await?;
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used",
            ));
        }
        Taken::Unknown => {
            return Err(OAuthError::invalid_grant(
                "unknown or expired authorization code",
            ))
        }
    };
    if record.redirect_uri != request.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    check_pkce(&record, request.code_verifier.as_deref())?;
    let mut refresh = RefreshRecord {
        family: record.family,
        client_id: client_id.clone(),
        user_id: record.user_id,
        scope: record.scope,
        app_id: record.app_id,
        // The code's own issue time until it is judged: a "revoked before" mark set since the
        // code was minted covers it.
        issued_at_ms: record.issued_at_ms,
        family_expires_at: ctx.now.timestamp() + REFRESH_TOKEN_TTL,
    };
    // Held to the client, user and app as they are now, like every later use of the family.
    let scope = match standing(ctx, &refresh).await? {
        Standing::Live(allowed) => allowed,
        Standing::Expired | Standing::Revoked => {
            return Err(OAuthError::invalid_grant(
                "the authorization code was revoked",
            ))
        }
        Standing::Ended(why) => return Err(OAuthError::invalid_grant(why)),
    };
    refresh.scope = scope.to_string();
    refresh.issued_at_ms = ctx.now.timestamp_millis();
    Ok(user_tokens(
        ctx,
        GrantType::AuthorizationCode,
        refresh,
        scope,
    ))
}

fn check_pkce(record: &CodeRecord, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (&record.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            if !pkce::is_valid_verifier(verifier) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)",
                ));
            }
            if !pkce::verify_s256(verifier, challenge) {
                return Err(OAuthError::invalid_grant("PKCE verification failed"));
            }
            Ok(())
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "the authorization request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::testing::World;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn redeem(code: &str, verifier: Option<&str>) -> Request {
        Request {
            code: code.into(),
            redirect_uri: World::REDIRECT_URI.into(),
            code_verifier: verifier.map(Into::into),
        }
    }

    #[tokio::test]
    async fn a_code_is_redeemed_once_for_an_access_and_a_refresh_token() {
        let world = World::new();
        let code = world.code(Some(&World::challenge(VERIFIER))).await;
        let issued = world.issue(redeem(&code, Some(VERIFIER))).await.unwrap();
        assert_eq!(issued.claims.sub, world.user.to_string());
        assert!(issued.claims.fam.is_some());
        assert!(issued.response.refresh_token.is_some());
        assert_eq!(world.audited(), ["token.issued"]);
    }

    #[tokio::test]
    async fn a_second_redemption_fails_and_revokes_the_family_of_the_first() {
        let world = World::new();
        let code = world.code(Some(&World::challenge(VERIFIER))).await;
        let first = world.issue(redeem(&code, Some(VERIFIER))).await.unwrap();
        let again = world
            .issue(redeem(&code, Some(VERIFIER)))
            .await
            .unwrap_err();
        assert_eq!(again.code().as_str(), "invalid_grant");
        assert!(
            world
                .family_revoked(first.claims.fam.as_deref().unwrap())
                .await
        );
        assert_eq!(world.audited(), ["token.issued", "token.revoked"]);
    }

    #[tokio::test]
    async fn a_wrong_verifier_a_missing_one_or_a_downgrade_is_invalid_grant() {
        let world = World::new();
        let challenge = World::challenge(VERIFIER);
        let wrong = "x".repeat(43);
        for (challenge, verifier) in [
            (Some(challenge.as_str()), Some(wrong.as_str())),
            (Some(challenge.as_str()), None),
            (None, Some(VERIFIER)),
        ] {
            let code = world.code(challenge).await;
            let refused = world.issue(redeem(&code, verifier)).await.unwrap_err();
            assert_eq!(refused.code().as_str(), "invalid_grant", "{verifier:?}");
        }
        assert!(world.audited().is_empty());
    }

    #[tokio::test]
    async fn another_redirect_uri_is_refused() {
        let world = World::new();
        let code = world.code(None).await;
        let mut request = redeem(&code, None);
        request.redirect_uri = "https://app.example/other".into();
        let refused = world.issue(request).await.unwrap_err();
        assert!(refused.to_string().contains("redirect_uri"), "{refused}");
    }

    #[test]
    fn code_and_redirect_uri_are_required() {
        let error = Request::from_form(Form::default()).unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_request");
    }
}
