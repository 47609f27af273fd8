//! Request limits: each refused with a clear 4xx, none able to hold the server.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use crate::helpers::{settings_for, spawn_app, spawn_with_settings, test_database};

fn raw_exchange(address: &str, request: &[u8], wait: Duration) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn oversize_headers_are_431() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-junk", "a".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    let ok = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), 200, "the server still answers");
}

#[tokio::test]
async fn a_request_head_that_never_finishes_is_408_within_the_timeout() {
    let app = spawn_app().await;
    let address = app.address.clone();
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        raw_exchange(
            &address,
            b"POST /t/x/token HTTP/1.1\r\nHost: x\r\n",
            Duration::from_secs(8),
        )
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.60}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_never_finishes_is_408_within_the_deadline() {
    let app = spawn_app().await;
    let started = Instant::now();
    let send = |request: String| {
        let address = app.address.clone();
        tokio::task::spawn_blocking(move || {
            raw_exchange(&address, request.as_bytes(), Duration::from_secs(12))
        })
    };
    // Heads complete, bodies promised 100 bytes and cut short.
    let oauth = send(
        "POST /t/x/token HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
         grant_type="
            .into(),
    );
    let admin = send(format!(
        "POST /admin/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"slug\":",
        app.admin_token
    ));
    let (oauth, admin) = (oauth.await.unwrap(), admin.await.unwrap());
    assert!(oauth.starts_with("HTTP/1.1 408"), "{oauth:.60}");
    assert!(oauth.contains(r#""error":"invalid_request""#), "{oauth}");
    assert!(admin.starts_with("HTTP/1.1 408"), "{admin:.60}");
    assert!(admin.contains(r#""error":"request_timeout""#), "{admin}");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_idle_ones_time_out() {
    // Arrange: one worker taking two connections at once.
    let database = test_database().await;
    let mut settings = settings_for(&database, None);
    settings.workers = NonZeroUsize::new(1);
    settings.max_connections = NonZeroUsize::new(2).unwrap();
    let app = spawn_with_settings(&database, settings).await;
    let host = app.address.trim_start_matches("http://").to_owned();

    // Act: two connections that never send a request fill it; a third asks for /healthz.
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&host).unwrap()).collect();
    let started = Instant::now();
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    let waited = started.elapsed();

    // Assert: served only once the idle ones were closed for not sending a request in time.
    assert_eq!(response.status(), 200);
    assert!(
        waited >= Duration::from_secs(2),
        "served at once: the cap did not hold ({waited:?})"
    );
    assert!(
        waited < Duration::from_secs(6),
        "the idle connections held the worker ({waited:?})"
    );
    drop(idle);
}

#[tokio::test]
async fn deeply_nested_json_and_oversize_bodies_are_refused_without_a_500() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = app
        .http
        .post(app.url("/admin/v1/tenants"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let big = format!("{{\"slug\": \"a\", \"name\": \"{}\"}}", "n".repeat(200_000));
    let response = app
        .http
        .post(app.url("/admin/v1/tenants"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
}
