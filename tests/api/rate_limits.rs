//! Per-client and per-tenant budgets (GCRA in the shared store) and the throttle on failed
//! client authentication: 429 with `Retry-After` and an RFC 6749 body.
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_two_nodes};

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
