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
    let record = match peeked {
        Taken::Fresh(payload) => {
            serde_json::from_str::<RefreshRecord>(&payload).map_err(anyhow::Error::from)?
        }
        unknown_or_used => return Err(refusal(ctx, unknown_or_used).await),
    };
    let allowed = match standing(ctx, &record).await? {
        Standing::Live(allowed) => allowed,
        Standing::Expired => {
            return Err(OAuthError::invalid_grant("the refresh token has expired"))
        }
        Standing::Revoked => {
            return Err(OAuthError::invalid_grant("the refresh token was revoked"))
        }
        Standing::Ended(why) => {
            revoke_family(ctx, &record, why).await?;
            return Err(OAuthError::invalid_grant(why));
        }
    };
    let next = RefreshRecord {
        scope: narrowed_scope(request, &allowed)?.to_string(),
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

/// What a family (or the code that starts one) is good for now.
pub enum Standing {
    /// Usable, for at most these scopes.
    Live(ScopeSet),
    Expired,
    Revoked,
    /// Over for good, for this reason: the family is to be revoked.
    Ended(&'static str),
}

/// Judges a family against the present: alive and unrevoked, its user still there, and its app
/// still enabled and still one of the client's. Its scope shrinks to what the client (and the
/// app) may still get, so that a scope taken from the client since the sign-in is never issued
/// again, as Keycloak does on refresh. Only reads: what a dead family costs is the caller's call.
pub async fn standing(
    ctx: &GrantContext<'_>,
    record: &RefreshRecord,
) -> Result<Standing, OAuthError> {
    if record.family_expires_at <= ctx.now.timestamp() {
        return Ok(Standing::Expired);
    }
    let tenant_id = ctx.tenant.model.id;
    let query = RevocationQuery {
        jtis: Vec::new(),
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
        return Ok(Standing::Revoked);
    }
    let user_exists = ctx
        .state
        .user_exists(tenant_id, record.user_id)
        .await
        .map_err(OAuthError::Unavailable)?;
    let app = match record.app_id {
        None => None,
        Some(id) => match ctx.tenant.apps.get(&id) {
            Some(app) if app.api_enabled => Some(app),
            _ => return Ok(Standing::Ended("the user or the app is no longer active")),
        },
    };
    if !user_exists {
        return Ok(Standing::Ended("the user or the app is no longer active"));
    }
    // The authorization endpoint would refuse this app to the client now; so does every later
    // use of what it granted then.
    if app.is_some_and(|app| !ctx.client.app_ids.contains(&app.id)) {
        return Ok(Standing::Ended(
            "the client may no longer get tokens for this app",
        ));
    }
    let granted = ScopeSet::parse(&record.scope).unwrap_or_default();
    let allowed = granted.intersection(&ctx.client.scopes);
    Ok(Standing::Live(match app {
        Some(app) => allowed.intersection(&app.scopes),
        None => allowed,
    }))
}

/// `scope` may narrow what the family may still get, never widen it.
fn narrowed_scope(request: &TokenRequest, allowed: &ScopeSet) -> Result<ScopeSet, OAuthError> {
    let Some(raw) = request.scope.as_deref() else {
        return Ok(allowed.clone());
    };
    let asked =
        ScopeSet::parse(raw).ok_or_else(|| OAuthError::invalid_scope("scope is malformed"))?;
    if !asked.is_subset(allowed) {
        return Err(OAuthError::invalid_scope(
            "a refresh may narrow the scope, never widen it",
        ));
    }
    Ok(asked)
}

/// What RFC 7662 says of a live refresh token to the client it was issued to.
pub struct RefreshIntrospection {
    pub record: RefreshRecord,
    /// What a refresh would issue now.
    pub scope: ScopeSet,
}

/// Looks a refresh token up for introspection, without redeeming or rotating it. `None` for
/// anything a refresh by this client would refuse: unknown (or another client's: the digest is
/// bound to the client), used, expired, revoked or ended.
pub async fn introspect(
    ctx: &GrantContext<'_>,
    presented: &str,
) -> Result<Option<RefreshIntrospection>, OAuthError> {
    let client_id = &ctx.client.model.client_id;
    let digest = bound_digest(client_id, presented);
    let peeked = ctx
        .state
        .store
        .peek_once(ctx.tenant.model.id, OnceKind::RefreshToken, &digest)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    let Taken::Fresh(payload) = peeked else {
        return Ok(None);
    };
    let Ok(record) = serde_json::from_str::<RefreshRecord>(&payload) else {
        return Ok(None);
    };
    if record.client_id != *client_id || !ctx.client.allows_grant(GRANT_REFRESH_TOKEN) {
        return Ok(None);
    }
    match standing(ctx, &record).await? {
        Standing::Live(scope) => Ok(Some(RefreshIntrospection { record, scope })),
        _ => Ok(None),
    }
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
