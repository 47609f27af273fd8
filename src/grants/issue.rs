//! Minting an access token and recording its issuance.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{AuditEntry, Outcome};
use crate::cache::TenantView;
use crate::domain::ScopeSet;
use crate::error::OAuthError;
use crate::tokens::AccessClaims;

pub struct AccessTokenSpec<'a> {
    pub grant_type: &'static str,
    pub sub: String,
    pub client_id: &'a str,
    pub audience: String,
    pub app_id: Option<Uuid>,
    pub scope: &'a ScopeSet,
    pub ttl_secs: i64,
    pub family: Option<String>,
    pub exchange: ExchangeClaims,
}

/// What an exchanged token carries beyond the usual claims.
#[derive(Default)]
pub struct ExchangeClaims {
    pub cred_profile: Option<String>,
    pub act: Option<crate::tokens::Actor>,
    pub src: Vec<crate::tokens::Source>,
}

pub async fn issue_access_token(
    state: &crate::state::AppState,
    tenant: &TenantView,
    spec: AccessTokenSpec<'_>,
    now: DateTime<Utc>,
) -> Result<(String, AccessClaims), OAuthError> {
    let signer = tenant
        .signer
        .as_ref()
        .ok_or_else(|| OAuthError::Unavailable(anyhow::anyhow!("tenant has no signing key")))?;
    let iat = now.timestamp();
    let claims = AccessClaims {
        iss: tenant.issuer.clone(),
        sub: spec.sub,
        aud: spec.audience,
        client_id: spec.client_id.to_owned(),
        scope: (!spec.scope.is_empty()).then(|| spec.scope.to_string()),
        iat,
        exp: iat + spec.ttl_secs,
        // UUIDv7: its timestamp says to the millisecond when the token was issued, which the
        // "revoked before" marks are compared with.
        jti: Uuid::now_v7().simple().to_string(),
        tid: tenant.model.id.to_string(),
        app_id: spec.app_id.map(|id| id.to_string()),
        cred_profile: spec.exchange.cred_profile,
        act: spec.exchange.act,
        src: spec.exchange.src,
        fam: spec.family,
    };
    let token = signer.sign(&claims)?;
    crate::metrics::token_issued(spec.grant_type, &tenant.model.slug);
    let action = match spec.grant_type {
        crate::protocol::GRANT_REFRESH_TOKEN => "token.refreshed",
        // The exchange grant records its own event, with the exchange's details.
        crate::protocol::GRANT_TOKEN_EXCHANGE => return Ok((token, claims)),
        _ => "token.issued",
    };
    state
        .audit(AuditEntry {
            tenant_id: Some(tenant.model.id),
            actor: format!("client:{}", claims.client_id),
            action,
            target: format!("jti:{}", claims.jti),
            outcome: Outcome::Granted,
            detail: format!(
                "grant={} sub={} aud={} scope={} kid={}",
                spec.grant_type,
                claims.sub,
                claims.aud,
                claims.scope.as_deref().unwrap_or(""),
                signer.kid()
            ),
        })
        .await?;
    Ok((token, claims))
}
