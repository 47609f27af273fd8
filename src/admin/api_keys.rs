use crate::audit::{AdminThing, AdminVerb, AuditAction};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::apps::parse_app_id;
use super::{field, record, tenant_or_404};
use crate::crypto::random_token;
use crate::db;
use crate::domain::parse_display_name;
use crate::error::AdminError;
use crate::state::AppState;

/// Prefix of every app API key, so that secret scanners can find leaked ones.
use crate::protocol::API_KEY_PREFIX;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct CreatedApiKey {
    pub id: Uuid,
    pub name: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct ApiKeyOut {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

async fn app_of(
    state: &AppState,
    tenant_id: Uuid,
    app_id: &str,
) -> Result<entity::app::Model, AdminError> {
    db::apps::find(&state.db, tenant_id, parse_app_id(app_id)?)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| AdminError::not_found("app"))
}

pub async fn create(
    state: &AppState,
    actor: &str,
    slug: &str,
    app_id: &str,
    input: CreateApiKey,
) -> Result<CreatedApiKey, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let app = app_of(state, tenant.model.id, app_id).await?;
    let name = field("name", parse_display_name(&input.name))?;
    let key = format!("{API_KEY_PREFIX}{}", random_token(32));
    let model = db::api_keys::insert(
        &state.db,
        tenant.model.id,
        app.id,
        &name,
        state.crypto.secret_digest(&key),
        Utc::now(),
    )
    .await
    .map_err(anyhow::Error::from)?;
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::ApiKey, AdminVerb::Created),
        format!("api_key:{}", model.id),
        format!("app={}", app.id),
    )
    .await?;
    Ok(CreatedApiKey {
        id: model.id,
        name: model.name,
        key,
        created_at: model.created_at,
    })
}

pub async fn list(
    state: &AppState,
    slug: &str,
    app_id: &str,
) -> Result<Vec<ApiKeyOut>, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let app = app_of(state, tenant.model.id, app_id).await?;
    let keys = db::api_keys::list(&state.db, app.id)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(keys
        .into_iter()
        .map(|k| ApiKeyOut {
            id: k.id,
            name: k.name,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        })
        .collect())
}

pub async fn delete(
    state: &AppState,
    actor: &str,
    slug: &str,
    app_id: &str,
    key_id: &str,
) -> Result<(), AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let app = app_of(state, tenant.model.id, app_id).await?;
    let key_id: Uuid = key_id
        .parse()
        .map_err(|_| AdminError::not_found("api key"))?;
    // Tokens exchanged from the key carry its id as a source; marking it kills them at once. The
    // mark goes first, so that a failure leaves the key alive (retry) rather than its tokens.
    let ttl = (crate::protocol::ACCESS_TOKEN_TTL + 60) as u64;
    let source = crate::protocol::api_key_source(key_id);
    state
        .store
        .revoke_jti(tenant.id(), &source, ttl)
        .await
        .map_err(|e| AdminError::Unavailable(e.into()))?;
    if !db::api_keys::delete(&state.db, app.id, key_id)
        .await
        .map_err(anyhow::Error::from)?
    {
        return Err(AdminError::not_found("api key"));
    }
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::ApiKey, AdminVerb::Deleted),
        format!("api_key:{key_id}"),
        format!("app={}", app.id),
    )
    .await?;
    Ok(())
}
