//! Per-client and per-tenant budgets (GCRA in the shared store) and the throttle on failed
//! client authentication: 429 with `Retry-After` and an RFC 6749 body.
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{
    settings_for, spawn_app, spawn_app_with, spawn_two_nodes, spawn_with_settings, test_database,
    Fixture, StoreKind, TestApp, REDIS,
};

#[tokio::test]
async fn a_clients_budget_is_shared_by_every_node() {
    let (node1, node2) = spawn_two_nodes().await;
    let f = node1.fixture().await;
    let (status, _) = node1
        .admin(
            Method::PATCH,
            &format!("/tenants/{}/clients/{}", f.slug, f.client_id),
            Some(json!({"rate_limit": {"per_second": 1, "burst": 3}})),
        )
        .await;
    assert_eq!(status, 200);
    let mut statuses = Vec::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { &node1 } else { &node2 };
        let response = node
            .post_token_raw(
                &f.slug,
                Some((&f.client_id, &f.client_secret)),
                "grant_type=client_credentials",
            )
            .await;
        let status = response.status().as_u16();
        if status == 429 {
            assert!(
                response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "temporarily_unavailable");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "burst 3 across both nodes: {statuses:?}"
    );
    let events = node1
        .audit_events_with(&f.slug, |e| e["action"] == "rate_limit.exceeded")
        .await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["action"] == "rate_limit.exceeded")
            .count(),
        1,
        "only the first refusal of the burst"
    );
}

#[tokio::test]
async fn a_tenants_budget_covers_all_its_clients_and_null_lifts_it() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let path = format!("/tenants/{}", f.slug);
    app.admin(
        Method::PATCH,
        &path,
        Some(json!({"rate_limit": {"per_second": 1, "burst": 1}})),
    )
    .await;
    let first = app
        .post_token_raw(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            "grant_type=client_credentials",
        )
        .await;
    let second = app
        .post_token_raw(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 429)
    );
    let (status, tenant) = app
        .admin(Method::PATCH, &path, Some(json!({"rate_limit": null})))
        .await;
    assert_eq!(
        (status, &tenant["rate_limit"]),
        (200, &serde_json::Value::Null)
    );
    let third = app
        .post_token_raw(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(third.status(), 200);
}

#[tokio::test]
async fn failed_client_authentication_is_throttled_after_twenty_a_minute() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let mut statuses = Vec::new();
    for _ in 0..22 {
        statuses.push(
            app.post_token_raw(
                &f.slug,
                Some((&f.client_id, "wrong")),
                "grant_type=client_credentials",
            )
            .await
            .status()
            .as_u16(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    let right = app
        .post_token_raw(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(
        right.status(),
        429,
        "the address stays throttled for that client id, even with the right secret"
    );
    assert!(right.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn rate_limit_input_is_validated() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    for body in [
        json!({"rate_limit": {"per_second": 0, "burst": 1}}),
        json!({"rate_limit": {"per_second": 1}}),
        json!({"rate_limit": "fast"}),
    ] {
        let (status, answer) = app
            .admin(Method::PATCH, &format!("/tenants/{}", f.slug), Some(body))
            .await;
        assert_eq!(status, 422, "{answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with("rate_limit"),
            "{answer}"
        );
    }
}

const REDIRECT: &str = "https://chat.example.com/callback";

/// A public client of the fixture's tenant, and a tenant budget of `burst` requests.
async fn public_client_and_tenant_budget(app: &TestApp, f: &Fixture, burst: u32) -> String {
    let public = app
        .create_client(
            &f.slug,
            json!({
                "name": "spa", "type": "public",
                "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT],
                "scopes": ["chat:read"], "app_ids": [f.app_id],
            }),
        )
        .await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", f.slug),
            Some(json!({"rate_limit": {"per_second": 1, "burst": burst}})),
        )
        .await;
    assert_eq!(status, 200);
    public["client_id"].as_str().unwrap().to_owned()
}

/// A token request of a public client that passes client authentication (a `client_id` alone)
/// and then fails on its bogus code.
async fn public_token_request(
    app: &TestApp,
    slug: &str,
    client_id: &str,
    forwarded_for: Option<&str>,
) -> u16 {
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", "not-a-code"),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &"v".repeat(43)),
    ])
    .unwrap();
    let mut request = app
        .http
        .post(app.url(&format!("/t/{slug}/token")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn confidential_token_status(app: &TestApp, f: &Fixture, forwarded_for: Option<&str>) -> u16 {
    let mut request = app
        .http
        .post(app.url(&format!("/t/{}/token", f.slug)))
        .header("content-type", "application/x-www-form-urlencoded")
        .basic_auth(&f.client_id, Some(&f.client_secret))
        .body("grant_type=client_credentials");
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn public_client_calls_at_introspection_never_spend_the_tenants_budget() {
    for store in [StoreKind::Redis, StoreKind::Memory] {
        // Arrange
        let app = spawn_app_with(store).await;
        let f = app.fixture().await;
        let public_id = public_client_and_tenant_budget(&app, &f, 3).await;
        let endpoint = app.metadata(&f.slug).await["introspection_endpoint"]
            .as_str()
            .unwrap()
            .to_owned();
        // Act
        let mut answers = Vec::new();
        for _ in 0..12 {
            let response = app
                .http
                .post(&endpoint)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token=x&client_id={public_id}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            answers.push((
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        let confidential = confidential_token_status(&app, &f, None).await;
        // Assert
        assert!(
            answers
                .iter()
                .all(|(status, error)| *status == 401 && error == "invalid_client"),
            "{answers:?}"
        );
        assert_eq!(confidential, 200, "the tenant's budget is untouched");
    }
}

#[tokio::test]
async fn public_client_token_requests_never_spend_a_confidential_clients_budget() {
    for store in [StoreKind::Redis, StoreKind::Memory] {
        // Arrange
        let app = spawn_app_with(store).await;
        let f = app.fixture().await;
        let public_id = public_client_and_tenant_budget(&app, &f, 3).await;
        // Act
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(public_token_request(&app, &f.slug, &public_id, None).await);
        }
        let confidential = confidential_token_status(&app, &f, None).await;
        // Assert
        assert_eq!(
            statuses,
            [400, 400, 400, 429, 429, 429],
            "unauthenticated requests have a budget of their own, per address"
        );
        assert_eq!(confidential, 200);
    }
}

async fn spawn_behind_proxy(store: StoreKind) -> TestApp {
    let database = test_database().await;
    let redis_url = (store == StoreKind::Redis).then(|| SecretString::from(REDIS.url.clone()));
    let mut settings = settings_for(&database, redis_url);
    settings.trusted_proxies = "127.0.0.1/32, ::1".parse().unwrap();
    spawn_with_settings(&database, settings).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_public_budgets_are_per_forwarded_address() {
    for store in [StoreKind::Redis, StoreKind::Memory] {
        // Arrange
        let app = spawn_behind_proxy(store).await;
        let f = app.fixture().await;
        let public_id = public_client_and_tenant_budget(&app, &f, 2).await;
        // Act
        let mut drained = Vec::new();
        for _ in 0..4 {
            drained
                .push(public_token_request(&app, &f.slug, &public_id, Some("198.51.100.7")).await);
        }
        let elsewhere = public_token_request(&app, &f.slug, &public_id, Some("198.51.100.8")).await;
        // Assert
        assert_eq!(drained, [400, 400, 429, 429]);
        assert_eq!(elsewhere, 400, "another address keeps its own budget");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_a_guesser_locks_out_only_its_own_address() {
    for store in [StoreKind::Redis, StoreKind::Memory] {
        // Arrange
        let app = spawn_behind_proxy(store).await;
        let f = app.fixture().await;
        let guesser = "203.0.113.9";
        // Act
        let mut statuses = Vec::new();
        for _ in 0..21 {
            let response = app
                .http
                .post(app.url(&format!("/t/{}/token", f.slug)))
                .header("content-type", "application/x-www-form-urlencoded")
                // What a client sends is kept; the proxy appends the address it saw.
                .header("x-forwarded-for", format!("10.9.9.9, {guesser}"))
                .basic_auth(&f.client_id, Some("wrong"))
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        let guesser_right = confidential_token_status(&app, &f, Some(guesser)).await;
        let other_right = confidential_token_status(&app, &f, Some("203.0.113.10")).await;
        let spoofed_left = confidential_token_status(&app, &f, Some("10.9.9.9")).await;
        // Assert
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
        assert_eq!(guesser_right, 429, "the guesser's address stays blocked");
        assert_eq!(other_right, 200, "another address is not locked out");
        assert_eq!(
            spoofed_left, 200,
            "the left-most entry was the guesser's own claim"
        );
    }
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // Arrange
    let app = spawn_app().await;
    let f = app.fixture().await;
    // Act
    let mut statuses = Vec::new();
    for i in 0..21 {
        let response = app
            .http
            .post(app.url(&format!("/t/{}/token", f.slug)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .basic_auth(&f.client_id, Some("wrong"))
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    // Assert
    assert_eq!(
        statuses.last(),
        Some(&429),
        "a forged header does not buy fresh addresses: {statuses:?}"
    );
}
