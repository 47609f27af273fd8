//! Budgets at the OAuth endpoints: the `rate_limit` of the client and of its tenant (GCRA in the
//! state store, one budget for every node), and the throttle on failed client authentication
//! (at most 20 a minute per client id and address, whatever the settings).
//!
//! Only requests that may use the endpoint are charged. A public client proves nothing by
//! sending its `client_id`, so its requests are charged per address: anyone who knows the id
//! can spend only the budget of their own address, never the tenant's or another caller's.
use crate::audit::AuditAction;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

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

/// Refuses with 429 once the client's or the tenant's budget is spent. An authenticated client
/// spends the shared budgets; a public client spends copies of them kept for `address` alone.
/// The first refusal of a burst (one a minute per bucket) is an audit event, not every one.
pub async fn enforce(
    state: &AppState,
    tenant: &TenantView,
    client: &ClientView,
    address: Option<IpAddr>,
) -> Result<(), OAuthError> {
    let unauthenticated = match (client.is_public(), address) {
        (false, _) => String::new(),
        (true, Some(address)) => format!("@{address}"),
        (true, None) => "@unknown".to_owned(),
    };
    let budgets = [
        (
            format!("client:{}{unauthenticated}", client.model.client_id),
            client.model.rate_limit.as_ref(),
        ),
        (
            format!("tenant{unauthenticated}"),
            tenant.model.rate_limit.as_ref(),
        ),
    ];
    for (bucket, limit) in budgets {
        let Some(limit) = limit.and_then(|v| serde_json::from_value::<Limit>(v.clone()).ok())
        else {
            continue;
        };
        let wait = state
            .store
            .throttle(tenant.id(), &bucket, limit.per_second, limit.burst)
            .await
            .map_err(|e| OAuthError::Unavailable(e.into()))?;
        if let Some(wait_ms) = wait {
            let first = state
                .store
                .hit(tenant.id(), &format!("refused:{bucket}"), 60)
                .await
                .map(|n| n == 1)
                .unwrap_or(false);
            if first {
                state
                    .audit(AuditEntry {
                        tenant_id: Some(tenant.model.id),
                        actor: format!("client:{}", client.model.client_id),
                        action: AuditAction::RateLimitExceeded,
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
    /// The throttle's key for a presented client id and address. The id is whatever the request
    /// said (up to the size of a form), so it is hashed to keep keys short.
    pub fn key(tenant: Uuid, client_id: &str, address: Option<IpAddr>) -> String {
        let id = Sha256::digest(client_id.as_bytes());
        let address = address.map(|a| a.to_string()).unwrap_or_default();
        format!("{tenant}:{}:{address}", hex::encode(&id[..16]))
    }

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
            .hit(tenant.id(), &format!("authfail:{key}"), 60)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failed_auth_key_is_bounded_whatever_the_client_id() {
        let tenant = Uuid::nil();
        let address = Some("2001:db8::1".parse().unwrap());
        let short = FailedAuth::key(tenant, "c", address);
        let huge = FailedAuth::key(tenant, &"x".repeat(8 * 1024), address);
        assert_eq!(short.len(), huge.len());
        assert!(huge.len() < 100, "{huge}");
        assert!(!huge.contains("xxxx"));
    }

    #[test]
    fn the_failed_auth_key_tells_client_ids_and_addresses_apart() {
        let tenant = Uuid::nil();
        let one = Some("192.0.2.1".parse().unwrap());
        let two = Some("192.0.2.2".parse().unwrap());
        assert_ne!(
            FailedAuth::key(tenant, "a", one),
            FailedAuth::key(tenant, "b", one)
        );
        assert_ne!(
            FailedAuth::key(tenant, "a", one),
            FailedAuth::key(tenant, "a", two)
        );
    }
}
