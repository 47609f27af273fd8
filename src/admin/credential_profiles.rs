use crate::audit::{AdminThing, AdminVerb, AuditAction};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{field, is_unique_violation, record, tenant_or_404};
use crate::db;
use crate::domain::parse_slug;
use crate::error::AdminError;
use crate::state::{credential_profile_context, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProfile {
    pub name: String,
    pub provider: String,
    pub secret: String,
}

#[derive(Debug, Serialize)]
pub struct ProfileOut {
    pub id: Uuid,
    pub name: String,
    pub provider: String,
}

fn parse_profile_name(value: &str) -> Result<String, &'static str> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| value.to_owned())
        .ok_or("must be 1 to 63 characters of A-Z a-z 0-9 _ -")
}

pub async fn create(
    state: &AppState,
    actor: &str,
    slug: &str,
    input: CreateProfile,
) -> Result<ProfileOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let name = field("name", parse_profile_name(&input.name))?;
    let provider = field("provider", parse_slug(&input.provider))?;
    if input.secret.is_empty() || input.secret.len() > 8192 {
        return Err(AdminError::field("secret", "must be 1 to 8192 bytes"));
    }
    let id = Uuid::new_v4();
    let sealed = state
        .crypto
        .seal(&credential_profile_context(id), input.secret.as_bytes())?;
    let model = match db::credential_profiles::insert(
        &state.db,
        id,
        tenant.model.id,
        &name,
        &provider,
        sealed,
        Utc::now(),
    )
    .await
    {
        Ok(model) => model,
        Err(e) if is_unique_violation(&e) => {
            return Err(AdminError::Conflict(
                "name: this profile name is taken".into(),
            ))
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::CredentialProfile, AdminVerb::Created),
        format!("credential_profile:{name}"),
        format!("provider={provider}"),
    )
    .await?;
    Ok(ProfileOut {
        id: model.id,
        name: model.name,
        provider: model.provider,
    })
}

pub async fn list(state: &AppState, slug: &str) -> Result<Vec<ProfileOut>, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let profiles = db::credential_profiles::list(&state.db, tenant.model.id)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(profiles
        .into_iter()
        .map(|p| ProfileOut {
            id: p.id,
            name: p.name,
            provider: p.provider,
        })
        .collect())
}
