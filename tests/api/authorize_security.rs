//! The authorization endpoint under attack: unauthenticated requests that try to fill the state
//! store, oversized parameters, a cookie planted before sign-in, a Redis that may evict
//! revocation state, and clients that skip PKCE.
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::json;

use crate::authorization_code::{
    get_page, hidden, param, post_page, query_of, start, user_fixture, PASSWORD, REDIRECT,
};
use crate::helpers::{
    eventually, free_port, settings_for, spawn_app, spawn_node, spawn_with_settings,
    start_redis_with, test_database, StoreKind, REDIS,
};

async fn redis_keys(prefix: &str) -> usize {
    let client = redis::Client::open(REDIS.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = conn.keys(format!("{prefix}:*")).await.unwrap();
    keys.len()
}

#[tokio::test]
async fn authorization_requests_store_nothing_until_someone_signs_in() {
    let database = test_database().await;
    let app = spawn_node(&database, StoreKind::Redis).await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let before = redis_keys(&database.redis_prefix).await;
    let long_state = "s".repeat(1000);
    for _ in 0..30 {
        let url = format!("{}&state={long_state}", start(&app, &f, &["chat:read"]).url);
        let url = url.replacen("state=", "ignored=", 1);
        let page = get_page(&app, &url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.cookie.is_some());
    }
    assert_eq!(
        redis_keys(&database.redis_prefix).await,
        before,
        "a pending request lives in the browser's cookie, not in Redis"
    );
}

#[tokio::test]
async fn oversized_authorization_parameters_are_refused_clearly() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let base = start(&app, &f, &["chat:read"]).url;
    let without_state = base.replacen("state=", "ignored=", 1);

    let long_state = get_page(&app, &format!("{without_state}&state={}", "s".repeat(1025))).await;
    assert_eq!(long_state.status, 400);
    assert!(
        long_state.body.contains("longer than 1024 characters"),
        "{}",
        long_state.body
    );
    assert!(long_state.location.is_none(), "never echoed in a redirect");

    let long_scope = get_page(
        &app,
        &format!(
            "{}&scope={}",
            base.replacen("scope=", "x=", 1),
            "a".repeat(1025)
        ),
    )
    .await;
    assert_eq!(long_scope.status, 302);
    let query = query_of(long_scope.location.as_deref().unwrap());
    assert_eq!(param(&query, "error"), Some("invalid_request"));
    assert!(param(&query, "error_description")
        .unwrap()
        .contains("scope is longer than 1024"));

    let long_nonce = get_page(&app, &format!("{base}&nonce={}", "n".repeat(256))).await;
    assert_eq!(long_nonce.status, 302);
    let query = query_of(long_nonce.location.as_deref().unwrap());
    assert_eq!(param(&query, "error"), Some("invalid_request"));
}

/// Login session fixation: an attacker starts a request, plants its cookie in the victim's
/// browser, and waits for the victim to sign in. The attacker's cookie and CSRF token must not
/// be able to approve anything afterwards.
#[tokio::test]
async fn a_cookie_planted_before_sign_in_cannot_approve_for_the_victim() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let started = start(&app, &f, &["chat:read"]);
    let attacker = get_page(&app, &started.url).await;
    let planted = attacker.cookie.clone().unwrap();
    let attacker_csrf = hidden(&attacker.body, "csrf_token").unwrap();

    // The victim signs in with the planted cookie.
    let victim = post_page(
        &app,
        &f.slug,
        Some(&planted),
        &[
            ("csrf_token", &attacker_csrf),
            ("username", &f.username),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(victim.status, 200, "{}", victim.body);
    let renewed = victim.cookie.clone().expect("sign-in sets a new cookie");
    let victim_csrf = hidden(&victim.body, "csrf_token").unwrap();
    assert_ne!(renewed, planted);
    assert_ne!(victim_csrf, attacker_csrf);

    // The attacker, holding only what it planted, tries to approve.
    for csrf in [&attacker_csrf, &victim_csrf] {
        let approve = post_page(
            &app,
            &f.slug,
            Some(&planted),
            &[("csrf_token", csrf), ("decision", "approve")],
        )
        .await;
        assert_ne!(approve.status, 302, "no redirect with a code");
        assert!(approve.location.is_none());
    }
    // The victim's own browser still completes, once.
    let done = post_page(
        &app,
        &f.slug,
        Some(&renewed),
        &[("csrf_token", &victim_csrf), ("decision", "approve")],
    )
    .await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(param(&query_of(&done.location.unwrap()), "code").is_some());
    let again = post_page(
        &app,
        &f.slug,
        Some(&renewed),
        &[("csrf_token", &victim_csrf), ("decision", "approve")],
    )
    .await;
    assert_eq!(again.status, 400, "one decision per request");
    assert!(again.body.contains("already completed"));
}

#[tokio::test]
async fn on_https_the_cookie_is_a_host_cookie() {
    let database = test_database().await;
    let mut settings = settings_for(&database, None);
    settings.public_url = Some("https://login.example.test".into());
    let app = spawn_with_settings(&database, settings).await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let response = app.http.get(start(&app, &f, &[]).url).send().await.unwrap();
    let set_cookie = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.starts_with(&format!("__Host-grantd_authz_{}=", f.slug)),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("Secure") && set_cookie.contains("Path=/;"));
    assert!(!set_cookie.contains("Domain"));
}

#[tokio::test]
async fn grantd_refuses_a_redis_that_may_evict_its_keys() {
    let redis = start_redis_with(
        free_port(),
        "--maxmemory 2mb --maxmemory-policy volatile-lru",
    );
    let database = test_database().await;
    let settings = settings_for(&database, Some(redis.url.clone().into()));
    let refused = grantd::startup::Application::build(settings).await;
    let message = format!("{:#}", refused.err().expect("grantd must refuse to start"));
    assert!(
        message.contains("maxmemory-policy is volatile-lru") && message.contains("noeviction"),
        "{message}"
    );
}

#[tokio::test]
async fn readiness_fails_while_redis_may_evict_and_says_why() {
    let redis = start_redis_with(free_port(), "--maxmemory 64mb");
    let database = test_database().await;
    let app = spawn_with_settings(
        &database,
        settings_for(&database, Some(redis.url.clone().into())),
    )
    .await;
    let ready = || async {
        let response = app.http.get(app.url("/readyz")).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(ready().await.0, 200);
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let set_policy = |policy: &'static str| {
        let mut conn = conn.clone();
        async move {
            let _: () = redis::cmd("CONFIG")
                .arg("SET")
                .arg("maxmemory-policy")
                .arg(policy)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    };
    set_policy("allkeys-lru").await;
    let (status, body) = ready().await;
    assert_eq!(status, 503);
    assert!(body.contains("maxmemory-policy is allkeys-lru"), "{body}");
    set_policy("noeviction").await;
    assert!(eventually(Duration::from_secs(3), || async { ready().await.0 == 200 }).await);
}

#[tokio::test]
async fn confidential_clients_need_pkce_unless_exempted() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let client = app
        .create_client(
            &f.slug,
            json!({"name": "legacy web app", "type": "confidential",
                   "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT],
                   "scopes": ["chat:read"]}),
        )
        .await;
    assert_eq!(client["require_pkce"], true);
    let client_id = client["client_id"].as_str().unwrap();
    let url = app.url(&format!(
        "/t/{}/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&state=xyz",
        f.slug
    ));
    let refused = get_page(&app, &url).await;
    assert_eq!(refused.status, 302);
    let query = query_of(refused.location.as_deref().unwrap());
    assert_eq!(param(&query, "error"), Some("invalid_request"));
    assert!(param(&query, "error_description").unwrap().contains("PKCE"));

    let (status, patched) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/tenants/{}/clients/{client_id}", f.slug),
            Some(json!({"require_pkce": false})),
        )
        .await;
    assert_eq!((status, &patched["require_pkce"]), (200, &json!(false)));
    assert!(
        eventually(Duration::from_secs(3), || async {
            get_page(&app, &url).await.status == 200
        })
        .await
    );

    let (status, body) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/tenants/{}/clients/{}", f.slug, f.client_id),
            Some(json!({"require_pkce": false})),
        )
        .await;
    assert_eq!(status, 422, "a public client always uses PKCE: {body}");
}

#[tokio::test]
async fn throttled_sign_ins_are_audited_once_and_unknown_names_are_masked() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let login = get_page(&app, &start(&app, &f, &[]).url).await;
    let cookie = login.cookie.unwrap();
    let csrf = hidden(&login.body, "csrf_token").unwrap();
    let typed_password = "correct-horse-typed-as-username";
    for _ in 0..15 {
        post_page(
            &app,
            &f.slug,
            Some(&cookie),
            &[
                ("csrf_token", &csrf),
                ("username", typed_password),
                ("password", "x"),
            ],
        )
        .await;
    }
    let events = app
        .audit_events_with(&f.slug, |e| e["detail"] == "throttled")
        .await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["action"] == "login.failed")
        .collect();
    let throttled = failed.iter().filter(|e| e["detail"] == "throttled").count();
    assert_eq!(throttled, 1, "{failed:?}");
    assert_eq!(failed.len(), 11, "ten refusals, then one throttled row");
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(typed_password) && !text.contains("horse"));
    assert!(failed
        .iter()
        .all(|e| e["actor"].as_str().unwrap().starts_with("user:unknown#")));
}

#[tokio::test]
async fn behind_a_trusted_proxy_sign_in_is_throttled_per_forwarded_address() {
    let database = test_database().await;
    let mut settings = settings_for(&database, Some(REDIS.url.clone().into()));
    settings.trusted_proxies = "127.0.0.1/32".parse().unwrap();
    let app = spawn_with_settings(&database, settings).await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let login = get_page(&app, &start(&app, &f, &[]).url).await;
    let cookie = login.cookie.unwrap();
    let csrf = hidden(&login.body, "csrf_token").unwrap();
    let attempt = |forwarded: &'static str, username: String| {
        let request = app
            .http
            .post(app.url(&format!("/t/{}/authorize", f.slug)))
            .header(reqwest::header::COOKIE, &cookie)
            .header("x-forwarded-for", forwarded)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", username.as_str()),
                ("password", "wrong"),
            ]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // Distinct names, so that only the per-address limit (30 a minute) can refuse.
    let mut statuses = Vec::new();
    for i in 0..31 {
        statuses.push(attempt("203.0.113.7", format!("guess{i}")).await);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        attempt("203.0.113.8", "someone-else".into()).await,
        200,
        "another user behind the same proxy is not throttled"
    );
}

#[tokio::test]
async fn a_repeated_resource_at_authorization_names_one_app_and_two_apps_are_invalid_target() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let base = start(&app, &f, &["chat:read"]).url;
    let resource = |value: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("resource", value)
            .finish()
    };
    let same = get_page(
        &app,
        &format!("{base}&{}&{}", resource(&f.audience), resource(&f.audience)),
    )
    .await;
    assert_eq!(same.status, 200, "{}", same.body);
    let two = get_page(
        &app,
        &format!("{base}&{}&{}", resource(&f.audience), resource(&f.issuer)),
    )
    .await;
    assert_eq!(two.status, 302);
    let query = query_of(two.location.as_deref().unwrap());
    assert_eq!(param(&query, "error"), Some("invalid_target"));
    let repeated_state = get_page(&app, &format!("{base}&state=again")).await;
    assert_eq!(repeated_state.status, 400, "other parameters stay single");
}
