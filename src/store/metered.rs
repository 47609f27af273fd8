//! A store decorator that times every call and counts its failures.
use std::time::Instant;

use async_trait::async_trait;

use crate::domain::TenantId;

use super::{MarkScope, OnceKind, RevocationQuery, StateStore, StoreResult, Successor, Taken};
use crate::metrics::store_call;

pub struct Metered<S>(pub S);

async fn timed<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    let started = Instant::now();
    let result = call.await;
    store_call(operation, started, result.is_ok());
    result
}

#[async_trait]
impl<S: StateStore> StateStore for Metered<S> {
    async fn ping(&self) -> StoreResult<()> {
        timed("ping", self.0.ping()).await
    }

    async fn misconfiguration(&self) -> StoreResult<Option<String>> {
        timed("misconfiguration", self.0.misconfiguration()).await
    }

    async fn put_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        payload: &str,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        timed(
            "put_once",
            self.0.put_once(tenant, kind, digest, payload, ttl_secs),
        )
        .await
    }

    async fn take_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
    ) -> StoreResult<Taken> {
        timed(
            "take_once",
            self.0.take_once(tenant, kind, digest, used_ttl_secs),
        )
        .await
    }

    async fn rotate_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
        next: Successor<'_>,
    ) -> StoreResult<Taken> {
        timed(
            "rotate_once",
            self.0
                .rotate_once(tenant, kind, digest, used_ttl_secs, next),
        )
        .await
    }

    async fn peek_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
    ) -> StoreResult<Taken> {
        timed("peek_once", self.0.peek_once(tenant, kind, digest)).await
    }

    async fn revoke_kid(&self, tenant: TenantId, kid: &str, ttl_secs: u64) -> StoreResult<()> {
        timed("revoke_kid", self.0.revoke_kid(tenant, kid, ttl_secs)).await
    }

    async fn revoke_jti(&self, tenant: TenantId, jti: &str, ttl_secs: u64) -> StoreResult<()> {
        timed("revoke_jti", self.0.revoke_jti(tenant, jti, ttl_secs)).await
    }

    async fn revoke_family(
        &self,
        tenant: TenantId,
        family: &str,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        timed(
            "revoke_family",
            self.0.revoke_family(tenant, family, ttl_secs),
        )
        .await
    }

    async fn revoke_before(
        &self,
        tenant: TenantId,
        scope: &MarkScope,
        at: i64,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        timed(
            "revoke_before",
            self.0.revoke_before(tenant, scope, at, ttl_secs),
        )
        .await
    }

    async fn is_revoked(&self, tenant: TenantId, query: &RevocationQuery) -> StoreResult<bool> {
        timed("is_revoked", self.0.is_revoked(tenant, query)).await
    }

    async fn throttle(
        &self,
        tenant: TenantId,
        bucket: &str,
        per_second: u32,
        burst: u32,
    ) -> StoreResult<Option<u64>> {
        timed(
            "throttle",
            self.0.throttle(tenant, bucket, per_second, burst),
        )
        .await
    }

    async fn hit(&self, tenant: TenantId, bucket: &str, window_secs: u64) -> StoreResult<u64> {
        timed("hit", self.0.hit(tenant, bucket, window_secs)).await
    }
}
