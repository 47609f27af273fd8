//! With Redis or the database stopped or slowed down, grantd fails closed: introspection and the
//! grants that need the dependency answer 503 `temporarily_unavailable` within two seconds,
//! never "active" for a token it cannot check; `/readyz` says so; nothing issued is missing from
//! the audit log; and it recovers by itself once the dependency is back.
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use base64::Engine;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;
use serde_json::Value;

use crate::fault_proxy::FaultProxy;
use crate::helpers::{
    eventually, free_port, postgres_database, settings_for, spawn_node, spawn_with_settings,
    start_redis, test_database, StoreKind, TestApp,
};
use crate::revocation::{cc_token, introspect_as, revoke_as};

/// What a request may take while a dependency fails: its deadline (one second) and some slack.
const QUICKLY: Duration = Duration::from_secs(2);

/// Runs `request`, asserting that it is answered within `QUICKLY`.
async fn quickly<T>(what: &str, request: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let answer = request.await;
    let took = started.elapsed();
    assert!(took < QUICKLY, "{what} answered in {took:?}");
    answer
}

async fn status_of(app: &TestApp, path: &str) -> u16 {
    app.http
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Repeats `request` until it answers 503 (`temporarily_unavailable`, or `unavailable` in the
/// admin API's format) for at most five seconds, each time quickly and with 200 or 503 only;
/// returns the bodies of the 200s.
async fn until_unavailable<F, Fut>(what: &str, mut request: F) -> Vec<Value>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = (u16, Value)>,
{
    let started = Instant::now();
    let mut granted = Vec::new();
    loop {
        let (status, body) = quickly(what, request()).await;
        match status {
            200 => granted.push(body),
            503 => {
                let code = body["error"].as_str().unwrap_or_default();
                assert!(
                    ["temporarily_unavailable", "unavailable"].contains(&code),
                    "{what}: {body}"
                );
                return granted;
            }
            other => panic!("{what}: {other} {body}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: still answering 200"
        );
    }
}

fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

fn stop_redis(port: u16) {
    let status = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "shutdown", "nosave"])
        .status()
        .expect("redis-cli is installed with redis-server");
    // `shutdown` closes the connection before answering, so its exit status says nothing.
    let _ = status;
    crate::helpers::wait_until(Duration::from_secs(5), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
}

#[tokio::test]
async fn with_redis_down_grantd_fails_closed_and_recovers_by_itself() {
    // Arrange: a node on its own Redis.
    let port = free_port();
    let redis = start_redis(port);
    let database = test_database().await;
    let app = spawn_with_settings(
        &database,
        settings_for(&database, Some(SecretString::from(redis.url.clone()))),
    )
    .await;
    let f = app.fixture().await;
    let client = (f.client_id.as_str(), f.client_secret.as_str());
    let token = cc_token(&app, &f, None).await;
    let revoked = cc_token(&app, &f, None).await;
    revoke_as(&app, &f.slug, client, &revoked).await;

    // Act: Redis goes away.
    stop_redis(port);

    // Assert: 503, quickly, never "active".
    for candidate in [&token, &revoked] {
        let started = Instant::now();
        let (status, body) = introspect_as(&app, &f.slug, client, candidate).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered in {:?}",
            started.elapsed()
        );
    }
    // A failed authentication cannot be counted against the throttle: fail closed as well.
    let response = app
        .post_token_raw(
            &f.slug,
            Some((&f.client_id, "wrong")),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the process lives");

    // Redis comes back on the same port, empty (it had no persistence): the node recovers
    // without a restart, and since the revocation of `revoked` is lost, it treats every token
    // issued before the loss as inactive.
    let _redis = start_redis(port);
    let recovered = eventually(Duration::from_secs(10), || async {
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    assert!(recovered, "/readyz recovered");
    for earlier in [&token, &revoked] {
        let (status, body) = introspect_as(&app, &f.slug, client, earlier).await;
        assert_eq!(
            (status, body["active"].as_bool()),
            (200, Some(false)),
            "{body}"
        );
    }
    let fresh = cc_token(&app, &f, None).await;
    let (status, body) = introspect_as(&app, &f.slug, client, &fresh).await;
    assert_eq!(
        (status, body["active"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
}

#[tokio::test]
async fn with_redis_slowed_down_grantd_answers_503_quickly_and_recovers() {
    // Arrange: a node whose Redis is behind a proxy the test controls.
    let redis_port = free_port();
    let _redis = start_redis(redis_port);
    let proxy = FaultProxy::start(redis_port).await;
    let database = test_database().await;
    let redis_url = format!("redis://127.0.0.1:{}", proxy.port);
    let app = spawn_with_settings(
        &database,
        settings_for(&database, Some(SecretString::from(redis_url))),
    )
    .await;
    let f = app.fixture().await;
    let client = (f.client_id.as_str(), f.client_secret.as_str());
    let token = cc_token(&app, &f, None).await;
    let revoked = cc_token(&app, &f, None).await;
    assert_eq!(revoke_as(&app, &f.slug, client, &revoked).await, 200);

    // Act: every reply of Redis now takes three seconds.
    proxy.slow(Duration::from_secs(3));

    // Assert: 503 within two seconds, never "active"; /readyz agrees.
    for candidate in [&token, &revoked] {
        let (status, body) = quickly(
            "introspection",
            introspect_as(&app, &f.slug, client, candidate),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{body}"
        );
    }
    assert_eq!(quickly("/readyz", status_of(&app, "/readyz")).await, 503);

    // Redis is fast again: the node recovers without a restart, and the revocation made before
    // the slowdown still holds.
    proxy.restore();
    let recovered = eventually(Duration::from_secs(15), || async {
        status_of(&app, "/readyz").await == 200
    })
    .await;
    assert!(recovered, "/readyz recovered");
    let (_, body) = introspect_as(&app, &f.slug, client, &token).await;
    assert_eq!(body["active"], true, "{body}");
    let (_, body) = introspect_as(&app, &f.slug, client, &revoked).await;
    assert_eq!(body["active"], false, "{body}");
}

#[tokio::test]
async fn with_the_database_slowed_down_or_stopped_grantd_answers_503_quickly_and_loses_no_audit_event(
) {
    // Arrange: a node on PostgreSQL behind a proxy the test controls.
    let direct = postgres_database().await;
    let proxy = FaultProxy::start(direct.port()).await;
    let database = direct.through(proxy.port);
    let app = spawn_node(&database, StoreKind::Redis).await;
    let f = app.fixture().await;
    let client = (f.client_id.as_str(), f.client_secret.as_str());
    let early = cc_token(&app, &f, None).await;
    let mut issued = vec![jti_of(&early)];

    for fault in ["slowed down", "stopped"] {
        // Act
        match fault {
            "slowed down" => proxy.slow(Duration::from_secs(3)),
            _ => proxy.cut(),
        }

        // Assert: what the caches hold (at most 400 ms old) may still serve for a moment;
        // every answer is quick, and once they expire it is 503.
        let granted = until_unavailable(&format!("database {fault}: token"), || {
            app.post_token(
                &f.slug,
                Some(client),
                &[("grant_type", "client_credentials")],
            )
        })
        .await;
        issued.extend(
            granted
                .iter()
                .map(|body| jti_of(body["access_token"].as_str().unwrap())),
        );
        until_unavailable(&format!("database {fault}: introspection"), || {
            introspect_as(&app, &f.slug, client, &early)
        })
        .await;
        let tenant_path = format!("/tenants/{}", f.slug);
        until_unavailable(&format!("database {fault}: admin API"), || {
            app.admin(reqwest::Method::GET, &tenant_path, None)
        })
        .await;
        assert_eq!(quickly("/readyz", status_of(&app, "/readyz")).await, 503);
        assert_eq!(status_of(&app, "/healthz").await, 200, "the process lives");

        // The database is back: the node recovers without a restart.
        proxy.restore();
        let recovered = eventually(Duration::from_secs(15), || async {
            status_of(&app, "/readyz").await == 200
        })
        .await;
        assert!(recovered, "database {fault}: /readyz recovered");
        issued.push(jti_of(&cc_token(&app, &f, None).await));
    }

    // Every token handed out, during the faults included, is in the audit log (read from the
    // database itself: there may be more events than a page of the admin API holds).
    let db = sea_orm::Database::connect(&direct.url).await.unwrap();
    let recorded = || async {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT target FROM audit_event WHERE action = 'token.issued'",
            ))
            .await
            .unwrap();
        let targets: HashSet<String> = rows
            .iter()
            .map(|row| row.try_get::<String>("", "target").unwrap())
            .collect();
        issued
            .iter()
            .all(|jti| targets.contains(&format!("jti:{jti}")))
    };
    let all_recorded = eventually(Duration::from_secs(15), recorded).await;
    assert!(all_recorded, "{} issuances, not all recorded", issued.len());
}
