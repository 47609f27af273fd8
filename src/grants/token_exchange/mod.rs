//! RFC 8693 token exchange into app-scoped tokens: a tenant token or an app's API key becomes a
//! short-lived token usable at one app only, with the app's key context (credential profile,
//! delegation). The client's exchange policy is enforced on every exchange, and every outcome,
//! granted or refused, is an audit event.
mod actor;
mod subject;

pub use subject::api_key_source;

use chrono::Utc;
use sea_orm::prelude::Uuid;

use super::{issue_access_token, AccessTokenSpec, ExchangeClaims, GrantContext};
use crate::audit::{AuditEntry, Outcome};
use crate::db;
use crate::domain::ScopeSet;
use crate::error::OAuthError;
use crate::protocol::{TokenRequest, TokenResponse, GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN};

pub async fn grant(
    ctx: &GrantContext<'_>,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let result = exchange(ctx, request).await;
    crate::metrics::exchange(if result.is_ok() { "granted" } else { "refused" });
    let (outcome, target, detail) = match &result {
        Ok((_, jti, detail)) => (Outcome::Granted, format!("jti:{jti}"), detail.clone()),
        Err(OAuthError::Rejected { code, description }) => {
            let asked = request
                .audience
                .first()
                .or(request.resource.first())
                .map_or("", String::as_str);
            let target = format!("target:{}", asked.chars().take(300).collect::<String>());
            (Outcome::Refused, target, format!("{code}: {description}"))
        }
        Err(_) => return result.map(|(response, _, _)| response),
    };
    ctx.state
        .audit(AuditEntry {
            tenant_id: Some(ctx.tenant.model.id),
            actor: format!("client:{}", ctx.client.model.client_id),
            action: "token.exchanged",
            target,
            outcome,
            detail,
        })
        .await?;
    result.map(|(response, _, _)| response)
}

async fn exchange(
    ctx: &GrantContext<'_>,
    request: &TokenRequest,
) -> Result<(TokenResponse, String, String), OAuthError> {
    let policy = &ctx.client.exchange;
    let subject_token = request
        .subject_token
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
    let subject_type = request
        .subject_token_type
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("subject_token_type is required"))?;
    subject::check_type(subject_type)?;
    if !policy.subject_token_types.iter().any(|t| t == subject_type) {
        return Err(OAuthError::unauthorized_client(
            "the client's exchange policy does not allow this subject_token_type",
        ));
    }
    if request
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != TOKEN_TYPE_ACCESS_TOKEN)
    {
        return Err(OAuthError::invalid_request(
            "only access tokens can be requested",
        ));
    }
    if request.audience.is_empty() && request.resource.is_empty() {
        return Err(OAuthError::invalid_request(
            "audience (or resource) naming the target app is required",
        ));
    }
    let app = super::resolve_targets(ctx.tenant, ctx.client, &request.resource, &request.audience)?
        .ok_or_else(|| OAuthError::invalid_target("no target app"))?;
    let subject = subject::resolve(ctx, subject_type, subject_token, app.id).await?;
    let delegation = actor::resolve(ctx, request, policy.may_act, &subject, app).await?;
    let allowed = subject
        .scope
        .intersection(&app.scopes)
        .intersection(&ctx.client.scopes);
    let scope = match request.scope.as_deref() {
        Some(raw) => {
            let asked = ScopeSet::parse(raw)
                .ok_or_else(|| OAuthError::invalid_scope("scope is malformed"))?;
            if !asked.is_subset(&allowed) {
                return Err(OAuthError::invalid_scope(
                    "the scope exceeds the subject's, the app's or the client's",
                ));
            }
            asked
        }
        None => allowed,
    };
    let cred_profile = match request.credential_profile.as_deref() {
        Some(name) => Some(check_profile(ctx, name).await?),
        None => None,
    };
    let now = ctx.now.timestamp();
    // No longer than what is left of the subject token, nor of the actor token.
    let ttl = [subject.expires_at, delegation.expires_at]
        .into_iter()
        .flatten()
        .fold(policy.max_lifetime_seconds, |ttl, exp| ttl.min(exp - now));
    if ttl <= 0 {
        return Err(OAuthError::invalid_grant(
            "the subject or actor token has expired",
        ));
    }
    let act = delegation.act;
    let mut src = subject.sources;
    for link in delegation.sources {
        if !src.iter().any(|known| known.jti == link.jti) {
            src.push(link);
        }
    }
    let client_id = &ctx.client.model.client_id;
    let detail = format!(
        "subject_token_type={subject_type} sub={} app={} scope={scope} cred_profile={} act={}",
        subject.sub,
        app.id,
        cred_profile.as_deref().unwrap_or("-"),
        act.as_ref()
            .map(|a| a.chain().collect::<Vec<_>>().join("<"))
            .unwrap_or_else(|| "-".into()),
    );
    let (access_token, claims) = issue_access_token(
        ctx.state,
        ctx.tenant,
        AccessTokenSpec {
            grant_type: GRANT_TOKEN_EXCHANGE,
            sub: subject.sub,
            client_id,
            audience: app.audience.clone(),
            app_id: Some(app.id),
            scope: &scope,
            ttl_secs: ttl,
            family: subject.family,
            exchange: ExchangeClaims {
                cred_profile,
                act,
                src,
            },
        },
        ctx.now,
    )
    .await?;
    let response = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope: claims.scope,
        refresh_token: None,
        issued_token_type: Some(TOKEN_TYPE_ACCESS_TOKEN),
    };
    Ok((response, claims.jti, detail))
}

/// A credential profile must exist in the tenant (else `invalid_request`) and be one the client
/// was given (else `unauthorized_client`).
async fn check_profile(ctx: &GrantContext<'_>, name: &str) -> Result<String, OAuthError> {
    let valid_name = !name.is_empty() && name.len() <= 63 && !name.contains('\0');
    let exists = valid_name
        && db::credential_profiles::find_by_name(&ctx.state.db, ctx.tenant.model.id, name)
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?
            .is_some();
    if !exists {
        return Err(OAuthError::invalid_request("unknown credential_profile"));
    }
    if !ctx.client.credential_profiles.iter().any(|p| p == name) {
        return Err(OAuthError::unauthorized_client(
            "the client may not select this credential_profile",
        ));
    }
    Ok(name.to_owned())
}

/// Records that an API key was used, at most once a minute per key, off the request path.
pub fn touch_api_key(
    state: &crate::state::AppState,
    key_id: Uuid,
    last_used: Option<chrono::DateTime<Utc>>,
) {
    let now = Utc::now();
    if last_used.is_some_and(|at| now - at < chrono::Duration::seconds(60)) {
        return;
    }
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = db::api_keys::touch(&db, key_id, now).await {
            tracing::warn!(error.cause_chain = ?e, "recording an API key's last use failed");
        }
    });
}
