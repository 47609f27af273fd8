//! One contract, two stores: every test runs against the in-process store and a real Redis.
use std::sync::Arc;

use grantd::domain::{AppId, TenantId};
use grantd::store::{
    MarkScope, MemoryStore, OnceKind, RedisStore, RevocationQuery, StateStore, Successor, Taken,
};
use uuid::Uuid;

use crate::helpers::REDIS;

async fn stores() -> Vec<(&'static str, Arc<dyn StateStore>)> {
    let prefix = format!("test-{}", Uuid::new_v4().simple());
    let redis = RedisStore::connect(&REDIS.url, &prefix)
        .await
        .expect("redis answers");
    vec![
        ("memory", Arc::new(MemoryStore::new(&prefix))),
        ("redis", Arc::new(redis)),
    ]
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn a_single_use_value_is_fresh_once_then_used() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        store
            .put_once(tenant, OnceKind::AuthorizationCode, "h1", "payload", 60)
            .await
            .unwrap();
        assert_eq!(
            store
                .take_once(tenant, OnceKind::AuthorizationCode, "h1", 60)
                .await
                .unwrap(),
            Taken::Fresh("payload".into()),
            "{name}"
        );
        assert_eq!(
            store
                .take_once(tenant, OnceKind::AuthorizationCode, "h1", 60)
                .await
                .unwrap(),
            Taken::Used("payload".into()),
            "{name}"
        );
        assert_eq!(
            store
                .take_once(tenant, OnceKind::AuthorizationCode, "nope", 60)
                .await
                .unwrap(),
            Taken::Unknown,
            "{name}"
        );
    }
}

#[tokio::test]
async fn values_are_separated_by_tenant_and_kind() {
    for (name, store) in stores().await {
        let (a, b) = (TenantId(Uuid::new_v4()), TenantId(Uuid::new_v4()));
        store
            .put_once(a, OnceKind::RefreshToken, "h", "p", 60)
            .await
            .unwrap();
        assert_eq!(
            store
                .take_once(b, OnceKind::RefreshToken, "h", 60)
                .await
                .unwrap(),
            Taken::Unknown,
            "{name}"
        );
        assert_eq!(
            store
                .take_once(a, OnceKind::AuthorizationCode, "h", 60)
                .await
                .unwrap(),
            Taken::Unknown,
            "{name}"
        );
    }
}

#[tokio::test]
async fn of_twenty_concurrent_rotations_exactly_one_stores_its_successor() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        store
            .put_once(tenant, OnceKind::RefreshToken, "old", "p0", 60)
            .await
            .unwrap();
        let attempts = (0..20).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let digest = format!("next{i}");
                let next = Successor {
                    digest: &digest,
                    payload: "p1",
                    ttl_secs: 60,
                };
                let taken = store
                    .rotate_once(tenant, OnceKind::RefreshToken, "old", 60, next)
                    .await
                    .unwrap();
                (digest, taken)
            })
        });
        let results: Vec<_> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let winners: Vec<&String> = results
            .iter()
            .filter(|(_, taken)| *taken == Taken::Fresh("p0".into()))
            .map(|(digest, _)| digest)
            .collect();
        assert_eq!(winners.len(), 1, "{name}");
        for (digest, taken) in &results {
            let stored = store
                .peek_once(tenant, OnceKind::RefreshToken, digest)
                .await
                .unwrap();
            if digest == winners[0] {
                assert_eq!(stored, Taken::Fresh("p1".into()), "{name}: the successor");
            } else {
                assert_eq!(*taken, Taken::Used("p0".into()), "{name}");
                assert_eq!(
                    stored,
                    Taken::Unknown,
                    "{name}: a loser's successor is not stored"
                );
            }
        }
    }
}

#[tokio::test]
async fn of_twenty_concurrent_redemptions_exactly_one_is_fresh() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        store
            .put_once(tenant, OnceKind::RefreshToken, "race", "p", 60)
            .await
            .unwrap();
        let attempts = (0..20).map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .take_once(tenant, OnceKind::RefreshToken, "race", 60)
                    .await
                    .unwrap()
            })
        });
        let results = futures_util::future::join_all(attempts).await;
        let fresh = results
            .iter()
            .filter(|r| matches!(r.as_ref().unwrap(), Taken::Fresh(_)))
            .count();
        let used = results
            .iter()
            .filter(|r| matches!(r.as_ref().unwrap(), Taken::Used(_)))
            .count();
        assert_eq!((fresh, used), (1, 19), "{name}");
    }
}

#[tokio::test]
async fn marks_expire_after_their_ttl() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        // After the store began: what came before counts as lost (see the epoch).
        let t0 = now_ms();
        let query = RevocationQuery {
            jtis: vec!["short".into()],
            issued_at: t0,
            ..Default::default()
        };
        store.revoke_jti(tenant, "short", 1).await.unwrap();
        assert!(store.is_revoked(tenant, &query).await.unwrap(), "{name}");
        let gone = crate::helpers::eventually(std::time::Duration::from_secs(3), || async {
            !store.is_revoked(tenant, &query).await.unwrap()
        })
        .await;
        assert!(gone, "{name}");
    }
}

#[tokio::test]
async fn revoked_jtis_and_families_are_revoked() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        // After the store began: what came before counts as lost (see the epoch).
        let t0 = now_ms();
        let query = |jti: &str, fam: &str| RevocationQuery {
            jtis: vec![jti.into()],
            families: vec![fam.into()],
            issued_at: t0 + 100,
            ..Default::default()
        };
        assert!(
            !store.is_revoked(tenant, &query("j1", "f1")).await.unwrap(),
            "{name}"
        );
        store.revoke_jti(tenant, "j1", 60).await.unwrap();
        store.revoke_family(tenant, "f2", 60).await.unwrap();
        assert!(
            store.is_revoked(tenant, &query("j1", "f1")).await.unwrap(),
            "{name}"
        );
        assert!(
            store.is_revoked(tenant, &query("j9", "f2")).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.is_revoked(tenant, &query("j9", "f9")).await.unwrap(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn revoked_before_marks_cover_tokens_issued_until_then() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        // After the store began: what came before counts as lost (see the epoch).
        let t0 = now_ms();
        let client = MarkScope {
            client: Some("c1".into()),
            ..MarkScope::tenant()
        };
        store
            .revoke_before(tenant, &client, t0 + 1_000, 60)
            .await
            .unwrap();
        store
            .revoke_before(tenant, &client, t0 + 500, 60)
            .await
            .unwrap();
        let query = |iat: i64, marks: Vec<MarkScope>| RevocationQuery {
            marks,
            issued_at: iat,
            ..Default::default()
        };
        assert!(
            store
                .is_revoked(tenant, &query(t0 + 1_000, vec![client.clone()]))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store
                .is_revoked(tenant, &query(t0 + 1_001, vec![client.clone()]))
                .await
                .unwrap(),
            "{name}: a later mark wins over an earlier one"
        );
        assert!(
            !store
                .is_revoked(
                    tenant,
                    &query(
                        t0 + 10,
                        vec![MarkScope {
                            client: Some("c2".into()),
                            ..MarkScope::tenant()
                        }]
                    )
                )
                .await
                .unwrap(),
            "{name}"
        );
        store
            .revoke_before(tenant, &MarkScope::tenant(), t0 + 2_000, 60)
            .await
            .unwrap();
        assert!(
            store
                .is_revoked(
                    tenant,
                    &query(
                        t0 + 1_500,
                        MarkScope::covering("c9", "s9", Some(AppId(Uuid::nil())))
                    )
                )
                .await
                .unwrap(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_combined_mark_covers_only_tokens_matching_all_its_fields() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        // After the store began: what came before counts as lost (see the epoch).
        let t0 = now_ms();
        let app = AppId(Uuid::new_v4());
        let user_at_client = MarkScope {
            client: Some("c1".into()),
            subject: Some("alice".into()),
            app: None,
        };
        store
            .revoke_before(tenant, &user_at_client, t0 + 1_000, 60)
            .await
            .unwrap();
        let check = |client: &str, subject: &str| RevocationQuery {
            marks: MarkScope::covering(client, subject, Some(app)),
            issued_at: t0 + 900,
            ..Default::default()
        };
        assert!(
            store
                .is_revoked(tenant, &check("c1", "alice"))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store.is_revoked(tenant, &check("c1", "bob")).await.unwrap(),
            "{name}"
        );
        assert!(
            !store
                .is_revoked(tenant, &check("c2", "alice"))
                .await
                .unwrap(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn withdrawn_keys_and_peeked_values() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        // After the store began: what came before counts as lost (see the epoch).
        let t0 = now_ms();
        store.revoke_kid(tenant, "k1", 60).await.unwrap();
        let by_kid = |kid: &str| RevocationQuery {
            kids: vec![kid.into()],
            issued_at: t0,
            ..Default::default()
        };
        assert!(
            store.is_revoked(tenant, &by_kid("k1")).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.is_revoked(tenant, &by_kid("k2")).await.unwrap(),
            "{name}"
        );
        store
            .put_once(tenant, OnceKind::RefreshToken, "r", "p", 60)
            .await
            .unwrap();
        assert_eq!(
            store
                .peek_once(tenant, OnceKind::RefreshToken, "r")
                .await
                .unwrap(),
            Taken::Fresh("p".into()),
            "{name}"
        );
        store
            .take_once(tenant, OnceKind::RefreshToken, "r", 60)
            .await
            .unwrap();
        assert_eq!(
            store
                .peek_once(tenant, OnceKind::RefreshToken, "r")
                .await
                .unwrap(),
            Taken::Used("p".into()),
            "{name}: used values stay visible, as used"
        );
        assert_eq!(
            store
                .peek_once(tenant, OnceKind::RefreshToken, "x")
                .await
                .unwrap(),
            Taken::Unknown,
            "{name}"
        );
    }
}

#[tokio::test]
async fn hits_count_within_a_window() {
    for (name, store) in stores().await {
        let tenant = TenantId(Uuid::new_v4());
        for expected in 1..=3 {
            assert_eq!(
                store.hit(tenant, "client:c1", 60).await.unwrap(),
                expected,
                "{name}"
            );
        }
        assert_eq!(
            store.hit(tenant, "client:c2", 60).await.unwrap(),
            1,
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_emptied_redis_makes_everything_issued_before_inactive() {
    let prefix = format!("test-{}", Uuid::new_v4().simple());
    let store = RedisStore::connect(&REDIS.url, &prefix).await.unwrap();
    let tenant = TenantId(Uuid::new_v4());
    // A token issued a second ago, before the loss below.
    let issued_at = now_ms() - 1_000;
    let query = |issued_at| RevocationQuery {
        jtis: vec!["j".into()],
        issued_at,
        ..Default::default()
    };
    store.revoke_jti(tenant, "j", 60).await.unwrap();
    assert!(store.is_revoked(tenant, &query(issued_at)).await.unwrap());

    // Redis loses this deployment's data (restart without persistence, FLUSHALL, eviction).
    let client = redis::Client::open(REDIS.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();

    // The revocation of `j` is gone, yet a token issued before the loss is not active again;
    // one issued after it is.
    assert!(store.is_revoked(tenant, &query(issued_at)).await.unwrap());
    let later = now_ms() + 1;
    let other = RevocationQuery {
        jtis: vec!["k".into()],
        issued_at: later,
        ..Default::default()
    };
    assert!(!store.is_revoked(tenant, &other).await.unwrap());
}

#[tokio::test]
async fn redis_keys_carry_the_prefix_kind_and_tenant_and_a_ttl() {
    let prefix = format!("test-{}", Uuid::new_v4().simple());
    let store = RedisStore::connect(&REDIS.url, &prefix).await.unwrap();
    let tenant = TenantId(Uuid::new_v4());
    store
        .put_once(tenant, OnceKind::AuthorizationCode, "digest", "p", 60)
        .await
        .unwrap();
    store.revoke_jti(tenant, "j", 60).await.unwrap();
    let client = redis::Client::open(REDIS.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if key == format!("{prefix}:epoch") {
            assert_eq!(ttl, -1, "the epoch outlives every token");
            continue;
        }
        assert!(key.starts_with(&format!("{prefix}:{tenant}:")), "{key}");
        assert!(ttl > 0 && ttl <= 60, "{key} has ttl {ttl}");
    }
}
