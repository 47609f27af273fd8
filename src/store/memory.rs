//! The in-process store for a single dev node: a map with expiry times behind one lock.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::domain::TenantId;

use super::{
    Budget, KeyBuilder, MarkScope, OnceKind, RevocationQuery, StateStore, StoreResult, Successor,
    Taken,
};

pub struct MemoryStore {
    keys: KeyBuilder,
    entries: Mutex<Entries>,
    /// GCRA theoretical arrival times, in milliseconds since `started`.
    tats: Mutex<HashMap<String, u64>>,
    started: Instant,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, (String, Instant)>,
    writes_since_sweep: usize,
}

impl Entries {
    fn get(&self, key: &str, now: Instant) -> Option<&String> {
        self.map
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v)
    }

    fn set(&mut self, key: String, value: String, ttl_secs: u64, now: Instant) {
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= 4096 {
            self.map.retain(|_, (_, expires)| *expires > now);
            self.writes_since_sweep = 0;
        }
        self.map
            .insert(key, (value, now + Duration::from_secs(ttl_secs)));
    }

    fn take(&mut self, key: &str, now: Instant) -> Option<String> {
        match self.map.remove(key) {
            Some((value, expires)) if expires > now => Some(value),
            _ => None,
        }
    }
}

impl MemoryStore {
    pub fn new(prefix: &str) -> Self {
        Self {
            keys: KeyBuilder::new(prefix),
            entries: Mutex::new(Entries::default()),
            tats: Mutex::new(HashMap::new()),
            started: Instant::now(),
        }
    }

    /// `take_once`, storing `next` under the same lock when given (`rotate_once`).
    fn redeem(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
        next: Option<Successor<'_>>,
    ) -> Taken {
        let now = Instant::now();
        let used_key = self.keys.once_used(tenant, kind, digest);
        let mut entries = self.entries.lock();
        if let Some(payload) = entries.take(&self.keys.once(tenant, kind, digest), now) {
            entries.set(used_key, payload.clone(), used_ttl_secs, now);
            if let Some(next) = next {
                let key = self.keys.once(tenant, kind, next.digest);
                entries.set(key, next.payload.to_owned(), next.ttl_secs, now);
            }
            return Taken::Fresh(payload);
        }
        match entries.get(&used_key, now) {
            Some(payload) => Taken::Used(payload.clone()),
            None => Taken::Unknown,
        }
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn put_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        payload: &str,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        let key = self.keys.once(tenant, kind, digest);
        self.entries
            .lock()
            .set(key, payload.to_owned(), ttl_secs, Instant::now());
        Ok(())
    }

    async fn take_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
    ) -> StoreResult<Taken> {
        Ok(self.redeem(tenant, kind, digest, used_ttl_secs, None))
    }

    async fn rotate_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
        next: Successor<'_>,
    ) -> StoreResult<Taken> {
        Ok(self.redeem(tenant, kind, digest, used_ttl_secs, Some(next)))
    }

    async fn peek_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
    ) -> StoreResult<Taken> {
        let now = Instant::now();
        let entries = self.entries.lock();
        Ok(Taken::peeked(
            entries
                .get(&self.keys.once(tenant, kind, digest), now)
                .cloned(),
            entries
                .get(&self.keys.once_used(tenant, kind, digest), now)
                .cloned(),
        ))
    }

    async fn revoke_kid(&self, tenant: TenantId, kid: &str, ttl_secs: u64) -> StoreResult<()> {
        let key = self.keys.kid(tenant, kid);
        self.entries
            .lock()
            .set(key, "1".into(), ttl_secs, Instant::now());
        Ok(())
    }

    async fn revoke_jti(&self, tenant: TenantId, jti: &str, ttl_secs: u64) -> StoreResult<()> {
        let key = self.keys.jti(tenant, jti);
        self.entries
            .lock()
            .set(key, "1".into(), ttl_secs, Instant::now());
        Ok(())
    }

    async fn revoke_family(
        &self,
        tenant: TenantId,
        family: &str,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        let key = self.keys.family(tenant, family);
        self.entries
            .lock()
            .set(key, "1".into(), ttl_secs, Instant::now());
        Ok(())
    }

    async fn revoke_before(
        &self,
        tenant: TenantId,
        scope: &MarkScope,
        at: i64,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        let key = self.keys.mark(tenant, scope);
        let now = Instant::now();
        let mut entries = self.entries.lock();
        let previous = entries
            .get(&key, now)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(i64::MIN);
        entries.set(key, previous.max(at).to_string(), ttl_secs, now);
        Ok(())
    }

    async fn is_revoked(&self, tenant: TenantId, query: &RevocationQuery) -> StoreResult<bool> {
        let now = Instant::now();
        let entries = self.entries.lock();
        let dead_id = query
            .jtis
            .iter()
            .any(|j| entries.get(&self.keys.jti(tenant, j), now).is_some())
            || query
                .families
                .iter()
                .any(|f| entries.get(&self.keys.family(tenant, f), now).is_some())
            || query
                .kids
                .iter()
                .any(|k| entries.get(&self.keys.kid(tenant, k), now).is_some());
        let marked = query.marks.iter().any(|scope| {
            entries
                .get(&self.keys.mark(tenant, scope), now)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|at| query.issued_at <= at)
        });
        Ok(dead_id || marked)
    }

    async fn throttle(
        &self,
        tenant: TenantId,
        bucket: &str,
        per_second: u32,
        burst: u32,
    ) -> StoreResult<Option<u64>> {
        let key = self.keys.rate(tenant, bucket);
        let now = self.started.elapsed().as_millis() as u64;
        let mut tats = self.tats.lock();
        let next = match Budget::new(per_second, burst).admit(tats.get(&key).copied(), now) {
            Ok(next) => next,
            Err(wait_ms) => return Ok(Some(wait_ms)),
        };
        if tats.len() > 100_000 {
            tats.retain(|_, tat| *tat > now);
        }
        tats.insert(key, next);
        Ok(None)
    }

    async fn hit(&self, tenant: TenantId, bucket: &str, window_secs: u64) -> StoreResult<u64> {
        let key = self.keys.rate(tenant, bucket);
        let now = Instant::now();
        let mut entries = self.entries.lock();
        let (count, expires) = match entries.map.get(&key) {
            Some((v, expires)) if *expires > now => (v.parse::<u64>().unwrap_or(0) + 1, *expires),
            _ => (1, now + Duration::from_secs(window_secs)),
        };
        entries.map.insert(key, (count.to_string(), expires));
        Ok(count)
    }
}
