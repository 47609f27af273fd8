use crate::audit::{AdminThing, AdminVerb, AuditAction};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{field, is_unique_violation, record, tenant_or_404};
use crate::crypto::hash_password;
use crate::db;
use crate::domain::parse_username;
use crate::error::AdminError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct UserOut {
    pub id: uuid::Uuid,
    pub username: String,
}

pub async fn create(
    state: &AppState,
    actor: &str,
    slug: &str,
    input: CreateUser,
) -> Result<UserOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let username = field("username", parse_username(&input.username))?;
    let length = input.password.chars().count();
    if !(8..=1024).contains(&length) {
        return Err(AdminError::field(
            "password",
            "must be 8 to 1024 characters",
        ));
    }
    let password = input.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(anyhow::Error::from)??;
    let user =
        match db::users::insert(&state.db, tenant.model.id, &username, hash, Utc::now()).await {
            Ok(user) => user,
            Err(e) if is_unique_violation(&e) => {
                return Err(AdminError::Conflict(
                    "username: this username is taken".into(),
                ))
            }
            Err(e) => return Err(anyhow::Error::from(e).into()),
        };
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::User, AdminVerb::Created),
        format!("user:{}", user.id),
        String::new(),
    )
    .await?;
    Ok(UserOut {
        id: user.id,
        username: user.username,
    })
}
