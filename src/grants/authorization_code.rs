//! RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5–4.6). Codes are single-use: a second redemption
//! fails and revokes what the first one issued (RFC 6749 §4.1.2).
use super::records::{bound_digest, CodeRecord, RefreshRecord};
use super::refresh_token::{issue_user_tokens, revoke_family_id, standing, Standing};
use super::GrantContext;
use crate::audit::{AuditEntry, Outcome};
use crate::error::OAuthError;
use crate::pkce;
use crate::protocol::{TokenRequest, TokenResponse, GRANT_AUTHORIZATION_CODE, REFRESH_TOKEN_TTL};
use crate::store::{OnceKind, Taken};

/// How long a redeemed code is remembered, so that a replay is detected.
const USED_CODE_TTL: u64 = 600;

pub async fn grant(
    ctx: &GrantContext<'_>,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = request
        .code
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = request
        .redirect_uri
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let client_id = &ctx.client.model.client_id;
    let tenant_id = ctx.tenant.model.id;
    let taken = ctx
        .state
        .store
        .take_once(
            tenant_id,
            OnceKind::AuthorizationCode,
            &bound_digest(client_id, code),
            USED_CODE_TTL,
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    let record: CodeRecord = match taken {
        Taken::Fresh(payload) => serde_json::from_str(&payload).map_err(anyhow::Error::from)?,
        Taken::Used(payload) => {
            let record: CodeRecord = serde_json::from_str(&payload).map_err(anyhow::Error::from)?;
            revoke_family_id(ctx.state, tenant_id, &record.family).await?;
            tracing::warn!(target: "security", family = %record.family, %client_id, "authorization code reused: what it issued is revoked");
            ctx.state
                .audit(AuditEntry {
                    tenant_id: Some(tenant_id),
                    actor: format!("client:{client_id}"),
                    action: "token.revoked",
                    target: format!("family:{}", record.family),
                    outcome: Outcome::Granted,
                    detail: "authorization code reused".into(),
                })
                .await?;
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
    if record.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    check_pkce(&record, request.code_verifier.as_deref())?;
    let now = ctx.now.timestamp();
    let mut refresh = RefreshRecord {
        family: record.family,
        client_id: client_id.clone(),
        user_id: record.user_id,
        scope: record.scope,
        app_id: record.app_id,
        // The code's own issue time until it is judged: a "revoked before" mark set since the
        // code was minted covers it.
        issued_at_ms: record.issued_at_ms,
        family_expires_at: now + REFRESH_TOKEN_TTL,
    };
    // Held to the client, user and app as they are now, like every later use of the family.
    refresh.scope = match standing(ctx, &refresh).await? {
        Standing::Live(allowed) => allowed.to_string(),
        Standing::Expired | Standing::Revoked => {
            return Err(OAuthError::invalid_grant(
                "the authorization code was revoked",
            ))
        }
        Standing::Ended(why) => return Err(OAuthError::invalid_grant(why)),
    };
    refresh.issued_at_ms = ctx.now.timestamp_millis();
    issue_user_tokens(ctx, GRANT_AUTHORIZATION_CODE, refresh).await
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
