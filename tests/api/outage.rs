//! With Redis down grantd fails closed: introspection and the grants that need Redis answer 503
//! `temporarily_unavailable` quickly, `/readyz` says so, and it recovers by itself.
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::helpers::{
    eventually, free_port, settings_for, spawn_with_settings, start_redis, test_database,
};
use crate::revocation::{cc_token, introspect_as, revoke_as};

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

    // Redis comes back on the same port: the node recovers without a restart.
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
    let (status, body) = introspect_as(&app, &f.slug, client, &token).await;
    assert_eq!(
        (status, body["active"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
}
