//! A JWK Set, cached. A key set is kept for the `max-age` its response names (grantd publishes a
//! new key that long before it signs with it; other issuers say how long theirs hold); a token
//! naming a `kid` the cache does not hold makes it fetch the set again, at most once per
//! `refetch_interval`, so that a flood of tokens with made-up `kid`s cannot turn into a flood of
//! fetches. One fetch runs at a time; the requests that wait for it use its result.
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use parking_lot::Mutex;

use crate::{JoseError, KeySet};

/// How long a key set is trusted when its response names no `max-age` (grantd's own value).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// One fetched key set.
pub struct Fetched {
    pub keys: KeySet,
    pub max_age: Duration,
}

pub struct JwksCache {
    refetch_interval: Duration,
    state: Mutex<State>,
    /// Held while a fetch runs, so that concurrent misses share one fetch.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Option<KeySet>,
    fetched_at: Option<Instant>,
    max_age: Duration,
    /// The last fetch started, successful or not: the rate limit counts from here.
    attempted_at: Option<Instant>,
}

enum Step {
    Use(Arc<DecodingKey>),
    Fetch,
    UnknownKey,
    Unavailable,
}

impl JwksCache {
    pub fn new(refetch_interval: Duration) -> Self {
        Self {
            refetch_interval,
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The key named `kid` at `now`, fetching the set with `fetch` when the cache has no set yet,
    /// when its set is older than its `max-age`, or when it does not know `kid`, but never twice
    /// within `refetch_interval`.
    pub async fn key<F, Fut>(
        &self,
        kid: &str,
        now: Instant,
        fetch: F,
    ) -> Result<Arc<DecodingKey>, JoseError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, JoseError>>,
    {
        if let Step::Use(key) = self.step(kid, now) {
            return Ok(key);
        }
        let _one_fetch_at_a_time = self.fetching.lock().await;
        match self.step(kid, now) {
            Step::Use(key) => Ok(key),
            Step::UnknownKey => Err(JoseError::UnknownKey),
            Step::Unavailable => Err(JoseError::Unavailable),
            Step::Fetch => {
                self.state.lock().attempted_at = Some(now);
                match fetch().await {
                    Ok(fetched) => {
                        let key = fetched.keys.get(kid).cloned();
                        let mut state = self.state.lock();
                        state.keys = Some(fetched.keys);
                        state.fetched_at = Some(now);
                        state.max_age = fetched.max_age;
                        key.ok_or(JoseError::UnknownKey)
                    }
                    // A set past its max-age still beats no answer, when it has the key.
                    Err(error) => self
                        .state
                        .lock()
                        .keys
                        .as_ref()
                        .and_then(|keys| keys.get(kid).cloned())
                        .ok_or(error),
                }
            }
        }
    }

    fn step(&self, kid: &str, now: Instant) -> Step {
        let state = self.state.lock();
        let may_fetch = state
            .attempted_at
            .is_none_or(|at| now.saturating_duration_since(at) >= self.refetch_interval);
        let Some(keys) = &state.keys else {
            return if may_fetch {
                Step::Fetch
            } else {
                Step::Unavailable
            };
        };
        let fresh = state
            .fetched_at
            .is_some_and(|at| now.saturating_duration_since(at) < state.max_age);
        match keys.get(kid) {
            Some(key) if fresh || !may_fetch => Step::Use(key.clone()),
            Some(_) | None if may_fetch => Step::Fetch,
            _ => Step::UnknownKey,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const INTERVAL: Duration = Duration::from_secs(5);

    fn keys(kids: &[&str]) -> KeySet {
        let jwks: Vec<_> = kids
            .iter()
            .map(|kid| crate::testing::es256_key(kid).1)
            .collect();
        KeySet::from_jwks(&jwks).unwrap()
    }

    /// A fetcher that counts its calls and serves `kids` (or fails when `None`).
    struct Source {
        calls: AtomicUsize,
        kids: Mutex<Option<Vec<&'static str>>>,
        max_age: Duration,
    }

    impl Source {
        fn new(kids: Option<Vec<&'static str>>) -> Self {
            Self {
                calls: AtomicUsize::new(0),
                kids: Mutex::new(kids),
                max_age: DEFAULT_MAX_AGE,
            }
        }

        async fn fetch(&self) -> Result<Fetched, JoseError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            match self.kids.lock().clone() {
                Some(kids) => Ok(Fetched {
                    keys: keys(&kids),
                    max_age: self.max_age,
                }),
                None => Err(JoseError::Unavailable),
            }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    async fn get(
        cache: &JwksCache,
        source: &Source,
        kid: &str,
        at: Instant,
    ) -> Result<(), JoseError> {
        cache.key(kid, at, || source.fetch()).await.map(|_| ())
    }

    #[tokio::test]
    async fn the_first_use_fetches_and_a_known_kid_never_refetches_while_fresh() {
        let cache = JwksCache::new(INTERVAL);
        let source = Source::new(Some(vec!["k1"]));
        let t0 = Instant::now();
        for secs in [0, 1, 10, 299] {
            get(&cache, &source, "k1", t0 + Duration::from_secs(secs))
                .await
                .unwrap();
        }
        assert_eq!(source.calls(), 1);
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_at_most_once_per_interval() {
        let cache = JwksCache::new(INTERVAL);
        let source = Source::new(Some(vec!["k1"]));
        let t0 = Instant::now();
        get(&cache, &source, "k1", t0).await.unwrap();
        for millis in [1, 1000, 4999] {
            let at = t0 + Duration::from_millis(millis);
            assert_eq!(
                get(&cache, &source, "forged", at).await,
                Err(JoseError::UnknownKey)
            );
        }
        assert_eq!(source.calls(), 1, "no fetch within the interval");
        get(&cache, &source, "forged", t0 + INTERVAL)
            .await
            .unwrap_err();
        assert_eq!(source.calls(), 2, "one fetch once the interval passed");
        get(
            &cache,
            &source,
            "forged",
            t0 + INTERVAL + Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert_eq!(source.calls(), 2);
    }

    #[tokio::test]
    async fn a_rotated_key_is_found_by_the_refetch_and_a_withdrawn_one_is_dropped() {
        let cache = JwksCache::new(INTERVAL);
        let source = Source::new(Some(vec!["old"]));
        let t0 = Instant::now();
        get(&cache, &source, "old", t0).await.unwrap();
        *source.kids.lock() = Some(vec!["new"]);
        let later = t0 + Duration::from_secs(6);
        get(&cache, &source, "new", later).await.unwrap();
        assert_eq!(source.calls(), 2);
        assert_eq!(
            get(&cache, &source, "old", later).await,
            Err(JoseError::UnknownKey)
        );
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let cache = JwksCache::new(INTERVAL);
        let source = Source::new(Some(vec!["k1"]));
        let t0 = Instant::now();
        let results =
            futures_util::future::join_all((0..8).map(|_| get(&cache, &source, "k1", t0))).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(source.calls(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_key_set_fails_closed_and_is_retried_after_the_interval() {
        let cache = JwksCache::new(INTERVAL);
        let source = Source::new(None);
        let t0 = Instant::now();
        assert_eq!(
            get(&cache, &source, "k1", t0).await,
            Err(JoseError::Unavailable)
        );
        assert_eq!(
            get(&cache, &source, "k1", t0 + Duration::from_secs(1)).await,
            Err(JoseError::Unavailable)
        );
        assert_eq!(source.calls(), 1);
        *source.kids.lock() = Some(vec!["k1"]);
        get(&cache, &source, "k1", t0 + INTERVAL).await.unwrap();
        assert_eq!(source.calls(), 2);
    }

    #[tokio::test]
    async fn a_stale_set_is_refreshed_and_still_used_while_the_issuer_is_down() {
        let cache = JwksCache::new(INTERVAL);
        let source = Source::new(Some(vec!["k1"]));
        let t0 = Instant::now();
        get(&cache, &source, "k1", t0).await.unwrap();
        *source.kids.lock() = None;
        let stale = t0 + DEFAULT_MAX_AGE;
        get(&cache, &source, "k1", stale).await.unwrap();
        assert_eq!(source.calls(), 2, "past max-age the set is fetched again");
        assert_eq!(
            get(&cache, &source, "k2", stale + Duration::from_secs(1)).await,
            Err(JoseError::UnknownKey)
        );
    }
}
