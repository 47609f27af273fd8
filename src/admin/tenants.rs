use crate::audit::{AdminThing, AdminVerb, AuditAction};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{
    double_option_object, field, is_unique_violation, record, validate_rate_limit, RateLimit,
};
use crate::db;
use crate::domain::{parse_display_name, parse_slug};
use crate::error::AdminError;
use crate::state::{signing_key_context, AppState};
use crate::tokens::generate_es256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchTenant {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option_object")]
    pub rate_limit: Option<Option<RateLimit>>,
}

#[derive(Debug, Serialize)]
pub struct TenantOut {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    pub issuer: String,
    pub rate_limit: Option<serde_json::Value>,
}

fn out(state: &AppState, model: entity::tenant::Model) -> TenantOut {
    TenantOut {
        issuer: state.issuer(&model.slug),
        id: model.id,
        slug: model.slug,
        name: model.name,
        rate_limit: model.rate_limit,
    }
}

/// Creates a tenant and its first ES256 signing key, in one transaction.
pub async fn create(
    state: &AppState,
    actor: &str,
    input: CreateTenant,
) -> Result<TenantOut, AdminError> {
    let slug = field("slug", parse_slug(&input.slug))?;
    let name = field("name", parse_display_name(&input.name))?;
    let now = Utc::now();
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let (pkcs8, jwk) = generate_es256(&kid)?;
    let txn = state.db.begin().await.map_err(anyhow::Error::from)?;
    let tenant = match db::tenants::insert(&txn, &slug, &name, now).await {
        Ok(tenant) => tenant,
        Err(e) if is_unique_violation(&e) => {
            return Err(AdminError::Conflict("slug: this slug is taken".into()))
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    let key = db::signing_keys::NewKey {
        tenant_id: tenant.id,
        kid: kid.clone(),
        private_key_enc: state
            .crypto
            .seal(&signing_key_context(tenant.id, &kid), &pkcs8)?,
        public_jwk: jwk,
        signs_from: now,
    };
    db::signing_keys::insert(&txn, key, now)
        .await
        .map_err(anyhow::Error::from)?;
    txn.commit().await.map_err(anyhow::Error::from)?;
    state.cache.forget_tenant(&slug);
    record(
        state,
        tenant.id,
        actor,
        AuditAction::Admin(AdminThing::Tenant, AdminVerb::Created),
        format!("tenant:{slug}"),
        format!("kid={kid}"),
    )
    .await?;
    Ok(out(state, tenant))
}

pub async fn get(state: &AppState, slug: &str) -> Result<TenantOut, AdminError> {
    let tenant = super::tenant_or_404(state, slug).await?;
    Ok(out(state, tenant.model.clone()))
}

pub async fn patch(
    state: &AppState,
    actor: &str,
    slug: &str,
    input: PatchTenant,
) -> Result<TenantOut, AdminError> {
    let tenant = super::tenant_or_404(state, slug).await?;
    let name = input
        .name
        .map(|n| field("name", parse_display_name(&n)))
        .transpose()?;
    let rate_limit = input.rate_limit.map(validate_rate_limit).transpose()?;
    let model = db::tenants::update(
        &state.db,
        tenant.model.clone(),
        name,
        rate_limit,
        Utc::now(),
    )
    .await
    .map_err(anyhow::Error::from)?;
    state.cache.forget_tenant(slug);
    record(
        state,
        model.id,
        actor,
        AuditAction::Admin(AdminThing::Tenant, AdminVerb::Updated),
        format!("tenant:{slug}"),
        String::new(),
    )
    .await?;
    Ok(out(state, model))
}
