//! RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2): every use rotates; a used
//! token presented again revokes its whole family, the access tokens issued from it included.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::records::{bound_digest, RefreshRecord};
use super::{issue_access_token, AccessTokenSpec, GrantContext};
use crate::audit::{AuditEntry, Outcome};
use crate::crypto::random_token;
use crate::domain::ScopeSet;
use crate::error::OAuthError;
use crate::protocol::{
    access_token_ttl, TokenRequest, TokenResponse, GRANT_REFRESH_TOKEN, REFRESH_TOKEN_TTL,
};
use crate::store::{MarkScope, OnceKind, RevocationQuery, Successor, Taken};
use crate::tokens::AccessClaims;

pub async fn grant(
    ctx: &GrantContext<'_>,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let presented = request
        .refresh_token
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let client_id = &ctx.client.model.client_id;
    let tenant_id = ctx.tenant.model.id;
    let digest = bound_digest(client_id, presented);
    let store = &ctx.state.store;
    // Everything that can refuse the request is checked on a read of the token first, and the
    // rotation (the token used and its successor stored, in one step) comes last: of concurrent
    // uses exactly one then succeeds, even while the others, finding the token used, revoke its
    // family (which then kills what the winner got); and a failure before it, a store timeout
    // included, leaves the token as it was, to be presented again.
    let peeked = store
        .peek_once(tenant_id, OnceKind::RefreshToken, &digest)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    let Some(record) = peeked.and_then(|p| serde_json::from_str::<RefreshRecord>(&p).ok()) else {
        // Unknown, or used already: redeeming it tells which.
        let taken = store
            .take_once(
                tenant_id,
                OnceKind::RefreshToken,
                &digest,
                REFRESH_TOKEN_TTL as u64,
            )
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?;
        return Err(refusal(ctx, taken).await);
    };
    check(ctx, &record, ctx.now.timestamp()).await?;
    let next = RefreshRecord {
        scope: narrowed_scope(request, &record)?.to_string(),
        issued_at_ms: ctx.now.timestamp_millis(),
        ..record
    };
    let refresh_token = random_token(32);
    let taken = store
        .rotate_once(
            tenant_id,
            OnceKind::RefreshToken,
            &digest,
            REFRESH_TOKEN_TTL as u64,
            Successor {
                digest: &bound_digest(client_id, &refresh_token),
                payload: &serde_json::to_string(&next).map_err(anyhow::Error::from)?,
                ttl_secs: remaining_secs(&next, ctx.now),
            },
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    if !matches!(taken, Taken::Fresh(_)) {
        return Err(refusal(ctx, taken).await);
    }
    let (access_token, claims) = user_access_token(ctx, GRANT_REFRESH_TOKEN, &next).await?;
    Ok(token_response(access_token, &claims, Some(refresh_token)))
}

/// Why a refresh token that could not be redeemed is refused; a used one revokes its family.
async fn refusal(ctx: &GrantContext<'_>, taken: Taken) -> OAuthError {
    let Taken::Used(payload) = taken else {
        return OAuthError::invalid_grant("unknown, expired or revoked refresh token");
    };
    let record: RefreshRecord = match serde_json::from_str(&payload) {
        Ok(record) => record,
        Err(e) => return anyhow::Error::from(e).into(),
    };
    crate::metrics::refresh_reuse_detected();
    match revoke_family(ctx, &record, "refresh token reused").await {
        Ok(()) => {
            OAuthError::invalid_grant("the refresh token was already used; its family is revoked")
        }
        Err(e) => e,
    }
}

/// A refresh token lives as long as what is left of its family.
fn remaining_secs(record: &RefreshRecord, now: DateTime<Utc>) -> u64 {
    (record.family_expires_at - now.timestamp()).max(1) as u64
}

/// The family must be alive and unrevoked, and its user and app still active: a deleted user or
/// a disabled app ends the family.
async fn check(ctx: &GrantContext<'_>, record: &RefreshRecord, now: i64) -> Result<(), OAuthError> {
    if record.family_expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let tenant_id = ctx.tenant.model.id;
    let query = RevocationQuery {
        families: vec![record.family.clone()],
        marks: MarkScope::covering(
            &record.client_id,
            &record.user_id.to_string(),
            record.app_id,
        ),
        issued_at: record.issued_at_ms,
        ..Default::default()
    };
    let revoked = ctx
        .state
        .store
        .is_revoked(tenant_id, &query)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    if revoked {
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
    }
    let user_exists = ctx
        .state
        .user_exists(tenant_id, record.user_id)
        .await
        .map_err(OAuthError::Unavailable)?;
    let app_ok = record
        .app_id
        .is_none_or(|id| ctx.tenant.apps.get(&id).is_some_and(|a| a.api_enabled));
    if !user_exists || !app_ok {
        revoke_family(ctx, record, "user or app no longer active").await?;
        return Err(OAuthError::invalid_grant(
            "the user or the app is no longer active",
        ));
    }
    Ok(())
}

/// `scope` may narrow what the family was granted, never widen it.
fn narrowed_scope(request: &TokenRequest, record: &RefreshRecord) -> Result<ScopeSet, OAuthError> {
    let granted = ScopeSet::parse(&record.scope).unwrap_or_default();
    let Some(raw) = request.scope.as_deref() else {
        return Ok(granted);
    };
    let asked =
        ScopeSet::parse(raw).ok_or_else(|| OAuthError::invalid_scope("scope is malformed"))?;
    if !asked.is_subset(&granted) {
        return Err(OAuthError::invalid_scope(
            "a refresh may narrow the scope, never widen it",
        ));
    }
    Ok(asked)
}

/// Issues an access token and the first refresh token of `record`'s family.
pub async fn issue_user_tokens(
    ctx: &GrantContext<'_>,
    grant_type: &'static str,
    record: RefreshRecord,
) -> Result<TokenResponse, OAuthError> {
    let (access_token, claims) = user_access_token(ctx, grant_type, &record).await?;
    let refresh_token = if ctx.client.allows_grant(GRANT_REFRESH_TOKEN) {
        let token = random_token(32);
        let payload = serde_json::to_string(&record).map_err(anyhow::Error::from)?;
        ctx.state
            .store
            .put_once(
                ctx.tenant.model.id,
                OnceKind::RefreshToken,
                &bound_digest(&ctx.client.model.client_id, &token),
                &payload,
                remaining_secs(&record, ctx.now),
            )
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?;
        Some(token)
    } else {
        None
    };
    Ok(token_response(access_token, &claims, refresh_token))
}

fn token_response(
    access_token: String,
    claims: &AccessClaims,
    refresh_token: Option<String>,
) -> TokenResponse {
    TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope: claims.scope.clone(),
        refresh_token,
        issued_token_type: None,
    }
}

/// The access token of a user's family: app-scoped when the family is.
async fn user_access_token(
    ctx: &GrantContext<'_>,
    grant_type: &'static str,
    record: &RefreshRecord,
) -> Result<(String, AccessClaims), OAuthError> {
    let scope = ScopeSet::parse(&record.scope).unwrap_or_default();
    let (audience, app_id) = match record.app_id.and_then(|id| ctx.tenant.apps.get(&id)) {
        Some(app) => (app.audience.clone(), Some(app.id)),
        None => (ctx.tenant.issuer.clone(), None),
    };
    issue_access_token(
        ctx.state,
        ctx.tenant,
        AccessTokenSpec {
            grant_type,
            sub: record.user_id.to_string(),
            client_id: &ctx.client.model.client_id,
            audience,
            app_id,
            scope: &scope,
            ttl_secs: access_token_ttl(app_id.is_some()),
            family: Some(record.family.clone()),
            exchange: Default::default(),
        },
        ctx.now,
    )
    .await
}

/// Kills a family and everything issued from it, and says so in the audit log.
pub async fn revoke_family(
    ctx: &GrantContext<'_>,
    record: &RefreshRecord,
    why: &str,
) -> Result<(), OAuthError> {
    revoke_family_id(ctx.state, ctx.tenant.model.id, &record.family).await?;
    tracing::warn!(target: "security", family = %record.family, client_id = %record.client_id, "{why}: refresh family revoked");
    ctx.state
        .audit(AuditEntry {
            tenant_id: Some(ctx.tenant.model.id),
            actor: format!("client:{}", ctx.client.model.client_id),
            action: "token.revoked",
            target: format!("family:{}", record.family),
            outcome: Outcome::Granted,
            detail: why.to_owned(),
        })
        .await?;
    Ok(())
}

pub async fn revoke_family_id(
    state: &crate::state::AppState,
    tenant_id: Uuid,
    family: &str,
) -> Result<(), OAuthError> {
    crate::metrics::revocation("refresh_family");
    state
        .store
        .revoke_family(tenant_id, family, REFRESH_TOKEN_TTL as u64)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))
}
