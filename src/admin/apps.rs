use crate::audit::{AdminThing, AdminVerb, AuditAction};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{field, record, tenant_or_404, validate_scopes};
use crate::cache::app_audience;
use crate::db;
use crate::domain::parse_display_name;
use crate::error::AdminError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchApp {
    pub api_enabled: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct AppOut {
    pub id: Uuid,
    pub name: String,
    pub audience: String,
    pub scopes: Vec<String>,
    pub api_enabled: bool,
}

fn out(issuer: &str, model: entity::app::Model) -> AppOut {
    AppOut {
        audience: app_audience(issuer, model.id),
        scopes: db::strings_of(&model.scopes),
        id: model.id,
        name: model.name,
        api_enabled: model.api_enabled,
    }
}

pub fn parse_app_id(raw: &str) -> Result<Uuid, AdminError> {
    raw.parse().map_err(|_| AdminError::not_found("app"))
}

pub async fn create(
    state: &AppState,
    actor: &str,
    slug: &str,
    input: CreateApp,
) -> Result<AppOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let name = field("name", parse_display_name(&input.name))?;
    let scopes = validate_scopes("scopes", &input.scopes)?;
    let app = db::apps::insert(&state.db, tenant.model.id, &name, &scopes, Utc::now())
        .await
        .map_err(anyhow::Error::from)?;
    state.cache.forget_tenant(slug);
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::App, AdminVerb::Created),
        format!("app:{}", app.id),
        format!("scopes={}", scopes.join(" ")),
    )
    .await?;
    Ok(out(&tenant.issuer, app))
}

pub async fn list(state: &AppState, slug: &str) -> Result<Vec<AppOut>, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let apps = db::apps::list(&state.db, tenant.model.id)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(apps.into_iter().map(|a| out(&tenant.issuer, a)).collect())
}

pub async fn get(state: &AppState, slug: &str, app_id: &str) -> Result<AppOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let app = db::apps::find(&state.db, tenant.model.id, parse_app_id(app_id)?)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| AdminError::not_found("app"))?;
    Ok(out(&tenant.issuer, app))
}

pub async fn patch(
    state: &AppState,
    actor: &str,
    slug: &str,
    app_id: &str,
    input: PatchApp,
) -> Result<AppOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let app = db::apps::find(&state.db, tenant.model.id, parse_app_id(app_id)?)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| AdminError::not_found("app"))?;
    let app = match input.api_enabled {
        Some(enabled) => db::apps::set_enabled(&state.db, app, enabled, Utc::now())
            .await
            .map_err(anyhow::Error::from)?,
        None => app,
    };
    state.cache.forget_tenant(slug);
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::App, AdminVerb::Updated),
        format!("app:{}", app.id),
        format!("api_enabled={}", app.api_enabled),
    )
    .await?;
    Ok(out(&tenant.issuer, app))
}
