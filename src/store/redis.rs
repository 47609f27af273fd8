//! The Redis store. Every command has a timeout (the connection manager's response timeout), and
//! the manager reconnects by itself when Redis comes back.
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;

use crate::domain::TenantId;

use super::{
    KeyBuilder, MarkScope, OnceKind, RevocationQuery, StateStore, StoreError, StoreResult,
    Successor, Taken,
};

/// Moves a single-use value to its "used" key and returns it, in one step; given a third key,
/// stores its successor (ARGV[2], for ARGV[3] seconds) in the same step.
const TAKE_ONCE: &str = r"
local v = redis.call('GET', KEYS[1])
if v then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], v, 'EX', ARGV[1])
  if KEYS[3] then redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3]) end
  return {1, v}
end
local u = redis.call('GET', KEYS[2])
if u then return {2, u} end
return {0, ''}
";

/// Keeps the later of two "revoked before" times.
const MARK_MAX: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
local at = tonumber(ARGV[1])
if at > cur then cur = at end
redis.call('SET', KEYS[1], cur, 'EX', ARGV[2])
return cur
";

/// `Budget::admit` (`gcra.rs`) on Redis's clock, so that every node shares one budget. Returns -1
/// when allowed, else the wait in ms.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
if next_tat - now > tolerance then
  return next_tat - now - tolerance
end
redis.call('SET', KEYS[1], next_tat, 'PX', math.max(1, next_tat - now))
return -1
";

const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

pub struct RedisStore {
    keys: KeyBuilder,
    conn: ConnectionManager,
    take_once: Script,
    mark_max: Script,
    hit: Script,
    gcra: Script,
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|_| anyhow::anyhow!("the Redis URL is invalid"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(1000)))
            .set_response_timeout(Some(Duration::from_millis(1000)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        let store = Self {
            keys: KeyBuilder::new(prefix),
            conn,
            take_once: Script::new(TAKE_ONCE),
            mark_max: Script::new(MARK_MAX),
            hit: Script::new(HIT),
            gcra: Script::new(GCRA),
        };
        if let Some(problem) = store
            .misconfiguration()
            .await
            .map_err(|e| anyhow::anyhow!(e.0))?
        {
            anyhow::bail!("{problem}");
        }
        store
            .begin_epoch()
            .await
            .map_err(|e| anyhow::anyhow!(e.0))?;
        Ok(store)
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// `take_once`, storing `next` in the same script when given (`rotate_once`).
    async fn redeem(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
        next: Option<Successor<'_>>,
    ) -> StoreResult<Taken> {
        let mut invocation = self.take_once.prepare_invoke();
        invocation
            .key(self.keys.once(tenant, kind, digest))
            .key(self.keys.once_used(tenant, kind, digest))
            .arg(used_ttl_secs.max(1));
        if let Some(next) = next {
            invocation
                .key(self.keys.once(tenant, kind, next.digest))
                .arg(next.payload)
                .arg(next.ttl_secs.max(1));
        }
        let (state, payload): (i64, String) = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(match state {
            1 => Taken::Fresh(payload),
            2 => Taken::Used(payload),
            _ => Taken::Unknown,
        })
    }

    /// Records when this Redis's data began, unless it already says; returns what it says.
    async fn begin_epoch(&self) -> StoreResult<i64> {
        let key = self.keys.epoch();
        let now = chrono::Utc::now().timestamp_millis();
        let (epoch,): (i64,) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(now)
            .arg("NX")
            .ignore()
            .cmd("GET")
            .arg(&key)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(epoch)
    }
}

/// The only `maxmemory-policy` under which Redis never drops a key that grantd still needs: the
/// `volatile-*` policies evict revocation marks (they have TTLs), `allkeys-*` anything.
const SAFE_EVICTION_POLICY: &str = "noeviction";

/// `maxmemory_policy` from the text of `INFO memory`.
fn eviction_policy(info: &str) -> Option<&str> {
    info.lines()
        .find_map(|line| line.strip_prefix("maxmemory_policy:"))
        .map(str::trim)
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError(e.to_string())
}

#[async_trait]
impl StateStore for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn misconfiguration(&self) -> StoreResult<Option<String>> {
        let info = match redis::cmd("INFO")
            .arg("memory")
            .query_async::<String>(&mut self.conn())
            .await
        {
            Ok(info) => info,
            // A server or proxy that refuses INFO cannot be checked; it is not taken as broken.
            Err(e) if matches!(e.kind(), redis::ErrorKind::Server(_)) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        Ok(eviction_policy(&info)
            .filter(|policy| *policy != SAFE_EVICTION_POLICY)
            .map(|policy| {
                format!(
                    "Redis maxmemory-policy is {policy}, which can evict grantd's revocation \
                     state and bring revoked tokens back; set maxmemory-policy noeviction"
                )
            }))
    }

    async fn put_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        payload: &str,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        redis::cmd("SET")
            .arg(self.keys.once(tenant, kind, digest))
            .arg(payload)
            .arg("EX")
            .arg(ttl_secs.max(1))
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn take_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
    ) -> StoreResult<Taken> {
        self.redeem(tenant, kind, digest, used_ttl_secs, None).await
    }

    async fn rotate_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
        used_ttl_secs: u64,
        next: Successor<'_>,
    ) -> StoreResult<Taken> {
        self.redeem(tenant, kind, digest, used_ttl_secs, Some(next))
            .await
    }

    async fn peek_once(
        &self,
        tenant: TenantId,
        kind: OnceKind,
        digest: &str,
    ) -> StoreResult<Taken> {
        let (fresh, used): (Option<String>, Option<String>) = redis::cmd("MGET")
            .arg(self.keys.once(tenant, kind, digest))
            .arg(self.keys.once_used(tenant, kind, digest))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(Taken::peeked(fresh, used))
    }

    async fn revoke_kid(&self, tenant: TenantId, kid: &str, ttl_secs: u64) -> StoreResult<()> {
        set_flag(&mut self.conn(), self.keys.kid(tenant, kid), ttl_secs).await
    }

    async fn revoke_jti(&self, tenant: TenantId, jti: &str, ttl_secs: u64) -> StoreResult<()> {
        set_flag(&mut self.conn(), self.keys.jti(tenant, jti), ttl_secs).await
    }

    async fn revoke_family(
        &self,
        tenant: TenantId,
        family: &str,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        set_flag(&mut self.conn(), self.keys.family(tenant, family), ttl_secs).await
    }

    async fn revoke_before(
        &self,
        tenant: TenantId,
        scope: &MarkScope,
        at: i64,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        self.mark_max
            .key(self.keys.mark(tenant, scope))
            .arg(at)
            .arg(ttl_secs.max(1))
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn is_revoked(&self, tenant: TenantId, query: &RevocationQuery) -> StoreResult<bool> {
        let ids: Vec<String> = query
            .jtis
            .iter()
            .map(|j| self.keys.jti(tenant, j))
            .chain(query.families.iter().map(|f| self.keys.family(tenant, f)))
            .chain(query.kids.iter().map(|k| self.keys.kid(tenant, k)))
            .collect();
        let marks: Vec<String> = query
            .marks
            .iter()
            .map(|m| self.keys.mark(tenant, m))
            .collect();
        let epoch_key = self.keys.epoch();
        let all: Vec<&String> = ids.iter().chain(marks.iter()).chain([&epoch_key]).collect();
        let mut values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&all)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if values.len() != all.len() {
            return Err(StoreError(
                "MGET answered with the wrong number of values".into(),
            ));
        }
        let epoch = match values.pop().flatten().and_then(|v| v.parse::<i64>().ok()) {
            Some(epoch) => epoch,
            None => {
                // Emptied (restarted without persistence, flushed, evicting): every revocation
                // recorded so far may be gone, so nothing issued before now can be trusted.
                let epoch = self.begin_epoch().await?;
                tracing::warn!(
                    target: "security",
                    epoch,
                    "the state store lost its data: every token issued before now is inactive"
                );
                epoch
            }
        };
        let (id_values, mark_values) = values.split_at(ids.len());
        let dead_id = id_values.iter().any(Option::is_some);
        let marked = mark_values
            .iter()
            .flatten()
            .filter_map(|v| v.parse::<i64>().ok())
            .any(|at| query.issued_at <= at);
        Ok(dead_id || marked || query.issued_at < epoch)
    }

    async fn throttle(
        &self,
        tenant: TenantId,
        bucket: &str,
        per_second: u32,
        burst: u32,
    ) -> StoreResult<Option<u64>> {
        let budget = super::Budget::new(per_second, burst);
        let wait: i64 = self
            .gcra
            .key(self.keys.rate(tenant, bucket))
            .arg(budget.interval_ms)
            .arg(budget.burst)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok((wait >= 0).then_some(wait as u64))
    }

    async fn hit(&self, tenant: TenantId, bucket: &str, window_secs: u64) -> StoreResult<u64> {
        self.hit
            .key(self.keys.rate(tenant, bucket))
            .arg(window_secs.max(1))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }
}

async fn set_flag(conn: &mut ConnectionManager, key: String, ttl_secs: u64) -> StoreResult<()> {
    redis::cmd("SET")
        .arg(key)
        .arg(1)
        .arg("EX")
        .arg(ttl_secs.max(1))
        .query_async::<()>(conn)
        .await
        .map_err(unavailable)
}

#[cfg(test)]
mod tests {
    use super::eviction_policy;

    #[test]
    fn the_eviction_policy_is_read_from_info_memory() {
        let info = "# Memory\r\nused_memory:1000\r\nmaxmemory_policy:volatile-lru\r\n";
        assert_eq!(eviction_policy(info), Some("volatile-lru"));
        assert_eq!(eviction_policy("# Memory\r\n"), None);
    }
}
