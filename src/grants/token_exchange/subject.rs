//! The subject of an exchange: an active access token of this tenant, or an app's API key.

use super::ClientCall;
use crate::domain::{AppId, ScopeSet};
use crate::error::OAuthError;
use crate::protocol::{
    api_key_source, API_KEY_PREFIX, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_API_KEY,
};
use crate::token_status::active_access_token;
use crate::tokens::Source;

pub struct Subject {
    pub sub: String,
    pub scope: ScopeSet,
    /// Unix seconds; `None` for an API key.
    pub expires_at: Option<i64>,
    pub family: Option<String>,
    pub sources: Vec<Source>,
    /// The subject's own delegation chain.
    pub act: Option<crate::tokens::Actor>,
}

pub fn check_type(token_type: &str) -> Result<(), OAuthError> {
    match token_type {
        TOKEN_TYPE_ACCESS_TOKEN | TOKEN_TYPE_API_KEY => Ok(()),
        _ => Err(OAuthError::invalid_request(
            "unsupported subject_token_type",
        )),
    }
}

pub async fn resolve(
    ctx: &ClientCall<'_>,
    token_type: &str,
    token: &str,
    target: AppId,
) -> Result<Subject, OAuthError> {
    if token_type == TOKEN_TYPE_API_KEY {
        return api_key(ctx, token, target).await;
    }
    let active = active_access_token(&ctx.ports, ctx.tenant, token, ctx.now.timestamp())
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the subject token is not active"))?;
    let claims = active.claims;
    // An app-scoped token stays at its app: it cannot be exchanged into another app's token.
    if claims
        .app_id
        .as_deref()
        .is_some_and(|app| app != target.to_string())
    {
        return Err(OAuthError::invalid_target(
            "the subject token is scoped to another app",
        ));
    }
    let mut sources = claims.src.clone();
    sources.push(Source {
        jti: claims.jti.clone(),
        client_id: claims.client_id.clone(),
        app_id: claims.app_id.clone(),
        sub: None,
        fam: None,
    });
    Ok(Subject {
        scope: claims
            .scope
            .as_deref()
            .and_then(ScopeSet::parse)
            .unwrap_or_default(),
        sub: claims.wire.sub,
        expires_at: Some(claims.wire.exp),
        family: claims.fam,
        sources,
        act: claims.wire.act,
    })
}

async fn api_key(ctx: &ClientCall<'_>, key: &str, target: AppId) -> Result<Subject, OAuthError> {
    let invalid = || OAuthError::invalid_grant("the API key is not valid");
    if !key.starts_with(API_KEY_PREFIX) || key.len() > 128 {
        return Err(invalid());
    }
    let found = ctx
        .ports
        .directory
        .api_key(key)
        .await
        .map_err(OAuthError::Unavailable)?
        .filter(|k| k.tenant_id == ctx.tenant.id())
        .ok_or_else(invalid)?;
    if found.app_id != target {
        tracing::warn!(target: "security", key_id = %found.id, "an API key was presented for another app");
        return Err(OAuthError::invalid_target(
            "the API key belongs to another app",
        ));
    }
    let app = ctx.tenant.apps.get(&found.app_id).ok_or_else(invalid)?;
    ctx.ports.directory.api_key_used(&found, ctx.now);
    Ok(Subject {
        sub: format!("apikey:{}", found.id),
        scope: app.scopes.clone(),
        expires_at: None,
        family: None,
        sources: vec![Source {
            jti: api_key_source(found.id),
            client_id: "apikey".into(),
            app_id: Some(found.app_id.to_string()),
            sub: None,
            fam: None,
        }],
        act: None,
    })
}
