//! The one way a token leaves grantd: a grant says what to issue (`Issue`), and `issue` turns it
//! into claims, a signature, the token response with its `token_type`, the refresh token's
//! storage, the audit event and the metrics.
use uuid::Uuid;

use super::records::{bound_digest, RefreshRecord};
use super::ClientCall;
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::cache::AppView;
use crate::crypto::random_token;
use crate::domain::ScopeSet;
use crate::error::OAuthError;
use crate::protocol::{access_token_ttl, GrantType, TokenResponse};
use crate::store::OnceKind;
use crate::tokens::{AccessClaims, Actor, Source};
use grantd_resource::wire::Claims;

/// What a grant decided to issue.
pub struct Issue<'a> {
    pub grant: GrantType,
    pub subject: String,
    /// The app the token is for, else the tenant (its issuer is the audience).
    pub app: Option<&'a AppView>,
    pub scope: ScopeSet,
    /// `None`: the contract's default for the audience.
    pub lifetime_secs: Option<i64>,
    /// The refresh family the token comes from: killing the family kills the token.
    pub family: Option<String>,
    pub extra: ExtraClaims,
    pub refresh: RefreshIssue,
    /// RFC 8693 §2.2.1 `issued_token_type`, for exchanges.
    pub issued_token_type: Option<&'static str>,
    /// The audit event's detail, when the grant has more to say than the defaults.
    pub audit_detail: Option<String>,
}

/// What an exchanged token carries beyond the usual claims.
#[derive(Default)]
pub struct ExtraClaims {
    pub cred_profile: Option<String>,
    pub act: Option<Actor>,
    pub src: Vec<Source>,
}

/// The refresh token that goes with the access token.
pub enum RefreshIssue {
    None,
    /// A new family's first token, stored here.
    Start(RefreshRecord),
    /// The successor a rotation already stored atomically.
    Rotated(String),
}

/// What was issued: the response, and the access token's claims.
#[derive(Debug)]
pub struct Issued {
    pub response: TokenResponse,
    pub claims: AccessClaims,
}

pub async fn issue(ctx: &ClientCall<'_>, issue: Issue<'_>) -> Result<Issued, OAuthError> {
    let tenant = ctx.tenant;
    let signer = tenant
        .signer
        .as_ref()
        .ok_or_else(|| OAuthError::Unavailable(anyhow::anyhow!("tenant has no signing key")))?;
    let (audience, app_id) = match issue.app {
        Some(app) => (app.audience.clone(), Some(app.id)),
        None => (tenant.issuer.clone(), None),
    };
    let iat = ctx.now.timestamp();
    let lifetime = issue
        .lifetime_secs
        .unwrap_or_else(|| access_token_ttl(app_id.is_some()));
    let claims = AccessClaims {
        wire: Claims {
            iss: tenant.issuer.clone(),
            sub: issue.subject,
            aud: audience,
            client_id: ctx.client.model.client_id.clone(),
            scope: (!issue.scope.is_empty()).then(|| issue.scope.to_string()),
            iat,
            exp: iat + lifetime,
            nbf: None,
            jti: new_jti(ctx.now),
            tid: tenant.model.id.to_string(),
            app_id: app_id.map(|id| id.to_string()),
            cred_profile: issue.extra.cred_profile,
            act: issue.extra.act,
            cnf: ctx.sender.confirmation(),
        },
        src: issue.extra.src,
        fam: issue.family,
    };
    let access_token = signer.sign(&claims)?;
    crate::metrics::token_issued(issue.grant.as_str(), &tenant.model.slug);
    let action = match issue.grant {
        GrantType::ClientCredentials | GrantType::AuthorizationCode => AuditAction::TokenIssued,
        GrantType::RefreshToken => AuditAction::TokenRefreshed,
        GrantType::TokenExchange => {
            crate::metrics::exchange("granted");
            AuditAction::TokenExchanged
        }
    };
    let detail = issue.audit_detail.unwrap_or_else(|| {
        format!(
            "grant={} sub={} aud={} scope={} kid={}",
            issue.grant,
            claims.sub,
            claims.aud,
            claims.scope.as_deref().unwrap_or(""),
            signer.kid()
        )
    });
    ctx.ports
        .audit
        .record(AuditEntry {
            tenant_id: Some(tenant.model.id),
            actor: format!("client:{}", claims.client_id),
            action,
            target: format!("jti:{}", claims.jti),
            outcome: Outcome::Granted,
            detail,
        })
        .await?;
    let refresh_token = match issue.refresh {
        RefreshIssue::None => None,
        RefreshIssue::Rotated(token) => Some(token),
        RefreshIssue::Start(record) => Some(store_refresh(ctx, &record).await?),
    };
    let response = TokenResponse {
        access_token,
        token_type: ctx.sender.token_type(),
        expires_in: claims.exp - claims.iat,
        scope: claims.scope.clone(),
        refresh_token,
        issued_token_type: issue.issued_token_type,
    };
    Ok(Issued { response, claims })
}

/// UUIDv7 at `now`: its timestamp says to the millisecond when the token was issued, which the
/// "revoked before" marks are compared with.
fn new_jti(now: chrono::DateTime<chrono::Utc>) -> String {
    let ms = now.timestamp_millis().max(0) as u64;
    let ts =
        uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    Uuid::new_v7(ts).simple().to_string()
}

async fn store_refresh(ctx: &ClientCall<'_>, record: &RefreshRecord) -> Result<String, OAuthError> {
    let token = random_token(32);
    let payload = serde_json::to_string(record).map_err(anyhow::Error::from)?;
    ctx.ports
        .store
        .put_once(
            ctx.tenant.id(),
            OnceKind::RefreshToken,
            &bound_digest(&ctx.client.model.client_id, &token),
            &payload,
            record.remaining_secs(ctx.now),
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    Ok(token)
}
