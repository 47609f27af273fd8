//! Bulk revocation as "revoked before" marks: one write, whatever the number of live tokens.
use crate::audit::AuditAction;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{record, tenant_or_404};
use crate::domain::{is_client_id_shape, AppId};
use crate::error::AdminError;
use crate::protocol::REFRESH_TOKEN_TTL;
use crate::state::AppState;
use crate::store::MarkScope;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkRevocation {
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub app_id: Option<String>,
    /// Why, for the audit log.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Revoked {
    pub revoked_before: i64,
}

/// Revokes every token of the tenant matching all the given fields, issued until now.
pub async fn revoke(
    state: &AppState,
    actor: &str,
    slug: &str,
    input: BulkRevocation,
) -> Result<Revoked, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    if input
        .client_id
        .as_deref()
        .is_some_and(|c| !is_client_id_shape(c))
    {
        return Err(AdminError::field("client_id", "is not a client id"));
    }
    if input
        .subject
        .as_deref()
        .is_some_and(|s| s.is_empty() || s.len() > 255 || s.chars().any(char::is_control))
    {
        return Err(AdminError::field(
            "subject",
            "must be 1 to 255 characters without control characters",
        ));
    }
    let app = input
        .app_id
        .as_deref()
        .map(|raw| {
            raw.parse::<AppId>()
                .map_err(|_| AdminError::field("app_id", "must be a UUID"))
        })
        .transpose()?;
    if app.is_some_and(|id| !tenant.apps.contains_key(&id)) {
        return Err(AdminError::field(
            "app_id",
            "names an app that is not in this tenant",
        ));
    }
    let reason = input.reason.unwrap_or_default();
    if reason.len() > 500 || reason.chars().any(char::is_control) {
        return Err(AdminError::field(
            "reason",
            "must be at most 500 characters without control characters",
        ));
    }
    let scope = MarkScope {
        client: input.client_id,
        subject: input.subject,
        app,
    };
    let now = Utc::now();
    let at = now.timestamp_millis();
    crate::metrics::revocation("bulk");
    state
        .store
        .revoke_before(tenant.id(), &scope, at, REFRESH_TOKEN_TTL as u64)
        .await
        .map_err(|e| AdminError::Unavailable(e.into()))?;
    let target = format!(
        "client={} subject={} app={}",
        scope.client.as_deref().unwrap_or("*"),
        scope.subject.as_deref().unwrap_or("*"),
        scope
            .app
            .map(|a| a.to_string())
            .unwrap_or_else(|| "*".into())
    );
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::RevocationBulk,
        target,
        reason,
    )
    .await?;
    Ok(Revoked {
        revoked_before: now.timestamp(),
    })
}
