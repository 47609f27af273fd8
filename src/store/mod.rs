//! Short-lived state shared by every node: authorization codes, refresh tokens and their
//! families, revocation marks and rate-limit counters. Redis in production; an in-process map
//! for a single dev node. Both pass the same contract tests (`tests/api/store_contract.rs`).
mod gcra;
mod keys;
mod memory;
mod metered;
mod redis;

use async_trait::async_trait;

use crate::domain::{AppId, TenantId};

pub use gcra::Budget;
pub use keys::KeyBuilder;
pub use memory::MemoryStore;
pub use metered::Metered;
pub use redis::RedisStore;

/// The store could not answer; callers fail closed with 503.
#[derive(Debug, thiserror::Error)]
#[error("state store unavailable: {0}")]
pub struct StoreError(pub String);

pub type StoreResult<T> = Result<T, StoreError>;

/// Values that may be redeemed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnceKind {
    AuthorizationCode,
    RefreshToken,
}

/// What `rotate_once` stores in place of the value it redeems.
#[derive(Debug, Clone, Copy)]
pub struct Successor<'a> {
    pub digest: &'a str,
    pub payload: &'a str,
    pub ttl_secs: u64,
}

/// What redeeming a single-use value found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// First redemption: the payload stored with it.
    Fresh(String),
    /// Already redeemed: the payload, so the caller can revoke what the first use issued.
    Used(String),
    Unknown,
}

impl Taken {
    /// What a read of the fresh and the used key found.
    fn peeked(fresh: Option<String>, used: Option<String>) -> Self {
        match (fresh, used) {
            (Some(payload), _) => Self::Fresh(payload),
            (None, Some(payload)) => Self::Used(payload),
            (None, None) => Self::Unknown,
        }
    }
}

/// Whose "revoked before" mark: the tokens that match every field given. All fields `None` is
/// the whole tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkScope {
    pub client: Option<String>,
    pub subject: Option<String>,
    pub app: Option<AppId>,
}

impl MarkScope {
    pub fn tenant() -> Self {
        Self::default()
    }

    /// The marks that can cover a token of this client, subject and app: one per subset of the
    /// three (2³ = 8, the empty one being the tenant), so that a revocation is one write and a
    /// check one multi-get, whatever the number of live tokens.
    pub fn covering(client: &str, subject: &str, app: Option<AppId>) -> Vec<MarkScope> {
        let mut marks = Vec::with_capacity(8);
        for bits in 0u8..8 {
            if bits & 4 != 0 && app.is_none() {
                continue;
            }
            marks.push(MarkScope {
                client: (bits & 1 != 0).then(|| client.to_owned()),
                subject: (bits & 2 != 0).then(|| subject.to_owned()),
                app: if bits & 4 != 0 { app } else { None },
            });
        }
        marks
    }
}

/// Everything that can make one token dead, checked in a single round trip.
#[derive(Debug, Clone, Default)]
pub struct RevocationQuery {
    /// The token's own `jti` and those of the tokens it was derived from.
    pub jtis: Vec<String>,
    /// The refresh families it belongs to.
    pub families: Vec<String>,
    /// The signing keys that signed it (withdrawn keys are marked).
    pub kids: Vec<String>,
    /// The marks whose time is compared with `issued_at`.
    pub marks: Vec<MarkScope>,
    /// Unix milliseconds; a token issued at or before a mark's time is revoked.
    pub issued_at: i64,
}

#[async_trait]
pub trait StateStore: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;

    /// Why this store, as configured, cannot keep grantd's guarantees (a Redis that may evict
    /// keys would drop revocation marks silently); `None` when it can.
    async fn misconfiguration(&self) -> StoreResult<Option<String>> {
        Ok(None)
    }

    /// Stores `payload` under the digest of a single-use value for `ttl_secs`.
    async fn put_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        payload: &str,
        ttl_secs: u64,
    ) -> StoreResult<()>;

    /// Redeems atomically: of concurrent callers exactly one sees `Fresh`; later ones see `Used`
    /// for `used_ttl_secs`.
    async fn take_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
    ) -> StoreResult<Taken>;

    /// `take_once`, and only when the value was fresh, `put_once` of its successor (same kind),
    /// in one atomic step: a rotation never leaves the old value used and the new one unstored.
    async fn rotate_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
        next: Successor<'_>,
    ) -> StoreResult<Taken>;

    /// Marks one access token dead until `ttl_secs` (its remaining lifetime) has passed.
    async fn revoke_jti(&self, tenant: TenantId, jti: &str, ttl_secs: u64) -> StoreResult<()>;

    /// Reads a single-use value without redeeming it: whether it is fresh or used, and its
    /// payload either way (e.g. to revoke what it belongs to).
    async fn peek_once(&self, tenant: TenantId, kind: OnceKind, digest: &str)
        -> StoreResult<Taken>;

    /// Marks a withdrawn signing key: every token it signed is dead.
    async fn revoke_kid(&self, tenant: TenantId, kid: &str, ttl_secs: u64) -> StoreResult<()>;

    /// Marks a refresh family, and every token issued from it, dead.
    async fn revoke_family(&self, tenant: TenantId, family: &str, ttl_secs: u64)
        -> StoreResult<()>;

    /// Everything of `scope` issued at or before `at` (unix milliseconds) is dead.
    async fn revoke_before(
        &self,
        tenant: TenantId,
        scope: &MarkScope,
        at: i64,
        ttl_secs: u64,
    ) -> StoreResult<()>;

    async fn is_revoked(&self, tenant: TenantId, query: &RevocationQuery) -> StoreResult<bool>;

    /// One request against a GCRA budget of `per_second` with bursts of `burst`, shared by every
    /// node. `Ok(None)` when allowed; else how many milliseconds to wait.
    async fn throttle(
        &self,
        tenant: TenantId,
        bucket: &str,
        per_second: u32,
        burst: u32,
    ) -> StoreResult<Option<u64>>;

    /// Counts one hit in a fixed window of `window_secs` and returns the count so far.
    async fn hit(&self, tenant: TenantId, bucket: &str, window_secs: u64) -> StoreResult<u64>;
}
