//! SIGTERM: grantd stops accepting, finishes what is in flight, flushes the audit log and exits 0;
//! nothing it issued is missing from the audit log.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{free_port, test_database, REDIS};

#[tokio::test]
async fn sigterm_flushes_every_issuance_to_the_audit_log_and_exits_zero() {
    // Arrange: a real grantd process.
    let database = test_database().await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_grantd"))
        .env("GRANTD_BIND", format!("127.0.0.1:{port}"))
        .env("GRANTD_DATABASE_URL", &database.url)
        .env("GRANTD_REDIS_URL", &REDIS.url)
        .env("GRANTD_REDIS_PREFIX", &database.redis_prefix)
        .env("GRANTD_ADMIN_TOKEN", &database.admin_token)
        .env("GRANTD_MASTER_KEY", &database.master_key)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "grantd did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = |path: &str, body: serde_json::Value| {
        http.post(format!("{base}/admin/v1{path}"))
            .bearer_auth(&database.admin_token)
            .json(&body)
            .send()
    };
    admin(
        "/tenants",
        serde_json::json!({"slug": "sd", "name": "Shutdown"}),
    )
    .await
    .unwrap();
    let client: serde_json::Value = admin("/tenants/sd/clients", serde_json::json!({"name": "c", "type": "confidential", "grant_types": ["client_credentials"]}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    // Act: issue tokens, then SIGTERM right after the last one.
    let issued: i64 = 300;
    let requests = (0..issued).map(|_| {
        http.post(format!("{base}/t/sd/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    });
    let answers = futures_util::future::join_all(requests).await;
    assert!(answers
        .iter()
        .all(|a| a.as_ref().is_ok_and(|r| r.status() == 200)));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    // Draining: still serving, but no longer ready, so that a load balancer moves away first.
    let drained = crate::helpers::eventually(Duration::from_secs(1), || async {
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 503)
    })
    .await;
    assert!(drained, "/readyz says 503 while draining");
    let during = http
        .post(format!("{base}/t/sd/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        during.status(),
        200,
        "requests are still served while draining"
    );
    let exited = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            exited.elapsed() < Duration::from_secs(15),
            "grantd did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    // Assert
    assert!(status.success(), "{status:?}");
    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_event WHERE action = 'token.issued'",
        ))
        .await
        .unwrap()
        .unwrap();
    let recorded: i64 = row.try_get("", "n").unwrap();
    assert_eq!(recorded, issued + 1, "every issuance is in the audit log");
}
