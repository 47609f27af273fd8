//! Budgets at the OAuth endpoints: the `rate_limit` of the client and of its tenant (GCRA in the
//! state store, one budget for every node), and the throttle on failed client authentication
//! (at most 20 a minute per client id and address, whatever the settings).
use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Deserialize;

use crate::audit::{AuditEntry, Outcome};
use crate::cache::{ClientView, TenantView};
use crate::error::OAuthError;
use crate::state::AppState;

const FAILED_AUTH_PER_MINUTE: u64 = 20;

#[derive(Deserialize)]
struct Limit {
    per_second: u32,
    burst: u32,
}

/// Refuses with 429 once the client's or the tenant's budget is spent. The first refusal of a
/// burst (one a minute per bucket) is an audit event, not every one.
pub async fn enforce(
    state: &AppState,
    tenant: &TenantView,
    client: &ClientView,
) -> Result<(), OAuthError> {
    let budgets = [
        (
            format!("client:{}", client.model.client_id),
            client.model.rate_limit.as_ref(),
        ),
        ("tenant".to_owned(), tenant.model.rate_limit.as_ref()),
    ];
    for (bucket, limit) in budgets {
        let Some(limit) = limit.and_then(|v| serde_json::from_value::<Limit>(v.clone()).ok())
        else {
            continue;
        };
        let wait = state
            .store
            .throttle(tenant.model.id, &bucket, limit.per_second, limit.burst)
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?;
        if let Some(wait_ms) = wait {
            let first = state
                .store
                .hit(tenant.model.id, &format!("refused:{bucket}"), 60)
                .await
                .map(|n| n == 1)
                .unwrap_or(false);
            if first {
                state
                    .audit(AuditEntry {
                        tenant_id: Some(tenant.model.id),
                        actor: format!("client:{}", client.model.client_id),
                        action: "rate_limit.exceeded",
                        target: bucket,
                        outcome: Outcome::Refused,
                        detail: format!("per_second={} burst={}", limit.per_second, limit.burst),
                    })
                    .await?;
            }
            return Err(OAuthError::Throttled {
                retry_after_secs: wait_ms.div_ceil(1000).max(1),
            });
        }
    }
    Ok(())
}

/// Client ids and addresses that failed authentication too often, kept per node so that the
/// check costs nothing on the hot path; the count itself is shared through the state store.
#[derive(Default)]
pub struct FailedAuth {
    blocked: Mutex<HashMap<String, Instant>>,
}

impl FailedAuth {
    /// `Some(seconds)` while `key` is blocked.
    pub fn blocked_for(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock();
        match blocked.get(key) {
            Some(until) if *until > now => Some((*until - now).as_secs().max(1)),
            Some(_) => {
                blocked.remove(key);
                None
            }
            None => None,
        }
    }

    /// Counts a failure; `true` when it crosses the limit (and blocks `key` here for a minute).
    pub async fn failed(
        &self,
        state: &AppState,
        tenant: &TenantView,
        key: &str,
    ) -> Result<bool, OAuthError> {
        let count = state
            .store
            .hit(tenant.model.id, &format!("authfail:{key}"), 60)
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?;
        if count <= FAILED_AUTH_PER_MINUTE {
            return Ok(false);
        }
        let mut blocked = self.blocked.lock();
        if blocked.len() > 100_000 {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(key.to_owned(), Instant::now() + Duration::from_secs(60));
        Ok(true)
    }
}
