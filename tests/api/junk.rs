//! Hostile input everywhere: it gets a 4xx in the right format, never a 500, and stored data
//! stays intact.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

fn junk_values() -> Vec<String> {
    vec![
        "' OR '1'='1".into(),
        "\"; DROP TABLE client; --".into(),
        "\u{0}\u{1}\u{7f}\r\n".into(),
        "%00%ff".into(),
        "x".repeat(10_000),
        "🦀".repeat(100),
        "../../etc/passwd".into(),
        "${jndi:ldap://x}".into(),
    ]
}

async fn still_intact(app: &TestApp, slug: &str, client_id: &str, client_secret: &str) {
    let (status, _) = app
        .admin(Method::GET, &format!("/tenants/{slug}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post_token(
            slug,
            Some((client_id, client_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn junk_in_every_token_field_gets_an_oauth_error_never_a_500() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let fields = [
        "grant_type",
        "scope",
        "resource",
        "audience",
        "client_id",
        "client_secret",
        "code",
        "refresh_token",
        "subject_token",
    ];
    for field in fields {
        for value in junk_values() {
            let mut form = vec![("grant_type", "client_credentials".to_owned())];
            form.retain(|(k, _)| *k != field);
            form.push((field, value.clone()));
            let body = serde_urlencoded::to_string(&form).unwrap();
            let basic = (!field.starts_with("client_"))
                .then_some((f.client_id.as_str(), f.client_secret.as_str()));
            let response = app.post_token_raw(&f.slug, basic, body).await;
            let status = response.status().as_u16();
            assert!(
                (400..500).contains(&status) || status == 200,
                "{field}={value:.40?} -> {status}"
            );
            if status != 200 {
                let json: Value = response.json().await.expect("an RFC 6749 JSON error");
                assert!(json["error"].is_string(), "{field}");
            }
        }
    }
    still_intact(&app, &f.slug, &f.client_id, &f.client_secret).await;
}

#[tokio::test]
async fn invalid_utf8_and_wrong_content_types_are_invalid_request() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let basic = Some((f.client_id.as_str(), f.client_secret.as_str()));
    let response = app
        .post_token_raw(
            &f.slug,
            basic,
            b"grant_type=client_credentials&scope=%ff%fe".to_vec(),
        )
        .await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"], "invalid_request");
    let response = app
        .http
        .post(app.url(&format!("/t/{}/token", f.slug)))
        .basic_auth(&f.client_id, Some(&f.client_secret))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    still_intact(&app, &f.slug, &f.client_id, &f.client_secret).await;
}

#[tokio::test]
async fn an_oversize_body_is_413_in_the_oauth_format() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(100_000)
    );
    let response = app
        .post_token_raw(&f.slug, Some((&f.client_id, &f.client_secret)), body)
        .await;
    assert_eq!(response.status(), 413);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"], "invalid_request");
    still_intact(&app, &f.slug, &f.client_id, &f.client_secret).await;
}

#[tokio::test]
async fn junk_in_every_admin_field_gets_a_4xx_never_a_500() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("/tenants".into(), vec!["slug", "name"]),
        (format!("/tenants/{}/apps", f.slug), vec!["name", "scopes"]),
        (
            format!("/tenants/{}/clients", f.slug),
            vec![
                "name",
                "type",
                "grant_types",
                "redirect_uris",
                "scopes",
                "app_ids",
            ],
        ),
        (
            format!("/tenants/{}/users", f.slug),
            vec!["username", "password"],
        ),
        (
            format!("/tenants/{}/credential-profiles", f.slug),
            vec!["name", "provider"],
        ),
    ];
    let valid = json!({
        "slug": "valid", "name": "n", "scopes": ["a"], "type": "confidential",
        "grant_types": ["client_credentials"], "redirect_uris": [], "app_ids": [],
        "username": "u", "password": "longenough", "provider": "openai", "secret": "s",
    });
    for (path, fields) in cases {
        for field in fields {
            for value in junk_values() {
                let mut body = valid.clone();
                body[field] = if valid[field].is_array() {
                    json!([value])
                } else {
                    json!(value)
                };
                let (status, answer) = app.post_admin(&path, body).await;
                assert!(
                    (400..500).contains(&status),
                    "{path} {field}={value:.30?} -> {status} {answer}"
                );
                assert!(
                    answer["error"].is_string() && answer["message"].is_string(),
                    "{answer}"
                );
            }
        }
    }
    for raw in ["{", "[]", "null", "{\"slug\": 1}", &"[".repeat(10_000)] {
        let response = app
            .http
            .post(app.url("/admin/v1/tenants"))
            .bearer_auth(&app.admin_token)
            .header("content-type", "application/json")
            .body(raw.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(status == 400 || status == 422, "{raw:.20} -> {status}");
    }
    let path = format!("/tenants/{}/apps/{}", f.slug, "not-a-uuid");
    let (status, _) = app
        .admin(Method::PATCH, &path, Some(json!({"api_enabled": false})))
        .await;
    assert_eq!(status, 404);
    still_intact(&app, &f.slug, &f.client_id, &f.client_secret).await;
}

#[tokio::test]
async fn junk_in_admin_paths_is_404_never_a_500() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    for junk in ["%00", "%27%20OR%201%3D1", "..%2F..", &"x".repeat(2000)] {
        for path in [
            format!("/tenants/{junk}"),
            format!("/tenants/{}/clients/{junk}", f.slug),
            format!("/tenants/{}/apps/{junk}", f.slug),
            format!("/tenants/{}/apps/{}/api-keys/{junk}", f.slug, f.app_id),
        ] {
            let method = if path.contains("api-keys") {
                Method::DELETE
            } else {
                Method::GET
            };
            let (status, _) = app.admin(method, &path, None).await;
            assert_eq!(status, 404, "{path:.80}");
        }
    }
    still_intact(&app, &f.slug, &f.client_id, &f.client_secret).await;
}
