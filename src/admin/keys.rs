//! Phased signing-key rotation: the new key is published at once and signs from `signs_from`,
//! so that a resource server caching the JWKS for its `max-age` never meets a token it cannot
//! verify; the old key stays published until its last token has expired. A compromised key is
//! withdrawn at once instead, and its tokens become inactive everywhere.
use crate::audit::AuditAction;
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};

use super::{record, tenant_or_404};
use crate::db;
use crate::error::AdminError;
use crate::protocol::ACCESS_TOKEN_TTL;
use crate::protocol::JWKS_MAX_AGE_SECS;
use crate::state::{signing_key_context, AppState};
use crate::tokens::generate_es256;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    #[serde(default, deserialize_with = "crate::domain::whole_number_opt")]
    pub publish_delay_seconds: Option<i64>,
    #[serde(default)]
    pub compromised: bool,
}

#[derive(Debug, Serialize)]
pub struct Rotated {
    pub kid: String,
    pub signs_from: i64,
}

pub async fn rotate(
    state: &AppState,
    actor: &str,
    slug: &str,
    input: Rotate,
) -> Result<Rotated, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let delay = match (input.compromised, input.publish_delay_seconds) {
        (true, Some(_)) => {
            return Err(AdminError::field(
                "publish_delay_seconds",
                "a compromised key is replaced at once",
            ))
        }
        (true, None) => 0,
        (false, None) => JWKS_MAX_AGE_SECS as i64,
        (false, Some(d)) if (0..=86_400).contains(&d) => d,
        (false, Some(_)) => {
            return Err(AdminError::field(
                "publish_delay_seconds",
                "must be 0 to 86400",
            ))
        }
    };
    let now = Utc::now();
    let signs_from = now + Duration::seconds(delay);
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let (pkcs8, jwk) = generate_es256(&kid)?;
    let private_key_enc = state
        .crypto
        .seal(&signing_key_context(tenant.model.id, &kid), &pkcs8)?;
    // Read before the transaction: on SQLite a transaction that reads and then writes can fail
    // to upgrade its lock under concurrent writers.
    let existing = db::signing_keys::list(&state.db, tenant.model.id)
        .await
        .map_err(anyhow::Error::from)?;
    let txn = state.db.begin().await.map_err(anyhow::Error::from)?;
    let mut withdrawn = Vec::new();
    for key in existing
        .into_iter()
        // A compromise withdraws every key still published; a phased rotation supersedes the
        // keys that sign now or were going to.
        .filter(|k| k.withdrawn_at.is_none() && (input.compromised || k.superseded_at.is_none()))
    {
        let kid = key.kid.clone();
        let mut active: entity::signing_key::ActiveModel = key.into();
        if input.compromised {
            active.withdrawn_at = Set(Some(now));
            withdrawn.push(kid);
        } else {
            active.superseded_at = Set(Some(signs_from));
        }
        active.update(&txn).await.map_err(anyhow::Error::from)?;
    }
    let key = db::signing_keys::NewKey {
        tenant_id: tenant.model.id,
        kid: kid.clone(),
        private_key_enc,
        public_jwk: jwk,
        signs_from,
    };
    db::signing_keys::insert(&txn, key, now)
        .await
        .map_err(anyhow::Error::from)?;
    txn.commit().await.map_err(anyhow::Error::from)?;
    // Every node checks these marks on every introspection, so a withdrawal is seen at once.
    for old in &withdrawn {
        state
            .store
            .revoke_kid(tenant.id(), old, (ACCESS_TOKEN_TTL + 60) as u64)
            .await
            .map_err(|e| AdminError::Unavailable(e.into()))?;
    }
    state.cache.forget_tenant(slug);
    let detail = if input.compromised {
        format!("compromised; withdrawn={}", withdrawn.join(","))
    } else {
        format!("phased; publish_delay_seconds={delay}")
    };
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::KeyRotated,
        format!("kid:{kid}"),
        detail,
    )
    .await?;
    Ok(Rotated {
        kid,
        signs_from: signs_from.timestamp(),
    })
}
