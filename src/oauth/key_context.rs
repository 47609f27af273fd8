//! What an app-scoped token lets the app's backend do, including the decrypted secret of the
//! selected credential profile: the only way a stored provider secret leaves grantd, and every
//! call is an audit event.

use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::cache::ClientView;
use crate::domain::AppId;
use crate::error::OAuthError;
use crate::ports::{ClientCall, CredentialProfileSecret};
use crate::token_status::active_access_token;
use crate::tokens::AccessClaims;

/// The scope a caller needs.
pub const KEY_CONTEXT_SCOPE: &str = "grantd:key-context";

pub enum KeyContext {
    Inactive,
    Active {
        claims: Box<AccessClaims>,
        app_id: AppId,
        profile: Option<CredentialProfileSecret>,
    },
}

/// Whether the client may ask at all: it must hold `KEY_CONTEXT_SCOPE`.
pub fn may_ask(client: &ClientView) -> Result<(), OAuthError> {
    if !client.scopes.contains(KEY_CONTEXT_SCOPE) {
        return Err(OAuthError::unauthorized_client(
            "the client lacks the grantd:key-context scope",
        ));
    }
    Ok(())
}

/// The key context of `token`, for a caller that `may_ask`.
pub async fn resolve(call: &ClientCall<'_>, token: &str) -> Result<KeyContext, OAuthError> {
    let caller = call.client;
    let active = active_access_token(&call.ports, call.tenant, token, call.now.timestamp()).await?;
    let app_id = active
        .as_ref()
        .and_then(|a| a.claims.app_id.as_deref())
        .and_then(|id| id.parse::<AppId>().ok())
        .filter(|id| caller.app_ids.contains(id));
    let (Some(active), Some(app_id)) = (active, app_id) else {
        audit(
            call,
            "-",
            Outcome::Refused,
            "inactive or not for the caller's apps",
        )
        .await?;
        return Ok(KeyContext::Inactive);
    };
    let claims = active.claims;
    let profile = match claims.cred_profile.as_deref() {
        None => None,
        Some(name) => {
            let found = call
                .ports
                .directory
                .credential_profile_secret(call.tenant.id(), name)
                .await
                .map_err(OAuthError::Unavailable)?;
            let Some(profile) = found else {
                let why = "credential profile no longer exists";
                audit(call, &claims.jti, Outcome::Refused, why).await?;
                return Ok(KeyContext::Inactive);
            };
            Some(profile)
        }
    };
    let detail = format!(
        "app={app_id} cred_profile={}",
        claims.cred_profile.as_deref().unwrap_or("-")
    );
    audit(call, &claims.jti, Outcome::Granted, &detail).await?;
    Ok(KeyContext::Active {
        claims: Box::new(claims),
        app_id,
        profile,
    })
}

async fn audit(
    call: &ClientCall<'_>,
    jti: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), OAuthError> {
    call.ports
        .audit
        .record(AuditEntry {
            tenant_id: Some(call.tenant.model.id),
            actor: format!("client:{}", call.client.model.client_id),
            action: AuditAction::KeyContextRead,
            target: format!("jti:{jti}"),
            outcome,
            detail: detail.to_owned(),
        })
        .await?;
    Ok(())
}
