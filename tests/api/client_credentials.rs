use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{eventually, spawn_app, spawn_two_nodes, verify_with_jwks};

#[tokio::test]
async fn the_oauth2_crate_gets_a_token_that_verifies_against_the_jwks() {
    // Arrange
    let app = spawn_app().await;
    let f = app.fixture().await;
    let metadata = app.metadata(&f.slug).await;
    let client = BasicClient::new(ClientId::new(f.client_id.clone()))
        .set_client_secret(ClientSecret::new(f.client_secret.clone()))
        .set_token_uri(
            TokenUrl::new(metadata["token_endpoint"].as_str().unwrap().to_owned()).unwrap(),
        );
    // Act
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("chat:read".into()))
        .request_async(&app.http)
        .await
        .expect("client credentials grant");
    // Assert
    let claims = verify_with_jwks(&app, &f.slug, token.access_token().secret(), &f.issuer).await;
    assert_eq!(claims["iss"], f.issuer);
    assert_eq!(claims["sub"], f.client_id);
    assert_eq!(claims["client_id"], f.client_id);
    assert_eq!(
        claims["aud"], f.issuer,
        "without a resource the token is tenant-wide"
    );
    assert_eq!(claims["scope"], "chat:read");
    assert!(claims.get("app_id").is_none());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
    let (_, tenant) = app
        .admin(Method::GET, &format!("/tenants/{}", f.slug), None)
        .await;
    assert_eq!(claims["tid"], tenant["id"]);
    assert_eq!(token.expires_in(), Some(Duration::from_secs(600)));
    assert!(token.refresh_token().is_none());
}

#[tokio::test]
async fn client_secret_post_works_too() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let metadata = app.metadata(&f.slug).await;
    let client = BasicClient::new(ClientId::new(f.client_id.clone()))
        .set_client_secret(ClientSecret::new(f.client_secret.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(
            TokenUrl::new(metadata["token_endpoint"].as_str().unwrap().to_owned()).unwrap(),
        );
    let token = client
        .exchange_client_credentials()
        .request_async(&app.http)
        .await
        .expect("grant");
    let claims = verify_with_jwks(&app, &f.slug, token.access_token().secret(), &f.issuer).await;
    assert_eq!(
        claims["scope"], "chat:read chat:write",
        "no scope asked: all the client's scopes"
    );
}

#[tokio::test]
async fn responses_are_not_cacheable() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let response = app
        .post_token_raw(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn a_resource_or_audience_scopes_the_token_to_one_app() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    for param in ["resource", "audience"] {
        let (status, body) = app
            .post_token(
                &f.slug,
                Some((&f.client_id, &f.client_secret)),
                &[("grant_type", "client_credentials"), (param, &f.audience)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let claims = verify_with_jwks(
            &app,
            &f.slug,
            body["access_token"].as_str().unwrap(),
            &f.audience,
        )
        .await;
        assert_eq!(claims["aud"], f.audience);
        assert_eq!(claims["app_id"], f.app_id);
    }
}

#[tokio::test]
async fn an_app_the_client_may_not_reach_is_invalid_target() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let other = app.fixture().await;
    let unlisted = app.create_app(&f.slug, &["chat:read"]).await;
    for target in [
        other.audience.as_str(),
        unlisted["audience"].as_str().unwrap(),
        "https://evil.example/apps/x",
    ] {
        let (status, body) = app
            .post_token(
                &f.slug,
                Some((&f.client_id, &f.client_secret)),
                &[("grant_type", "client_credentials"), ("resource", target)],
            )
            .await;
        assert_eq!(status, 400, "{target}");
        assert_eq!(body["error"], "invalid_target");
    }
    let (status, body) = app
        .post_token(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            &[
                ("grant_type", "client_credentials"),
                ("resource", &f.audience),
                ("audience", &other.audience),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
}

#[tokio::test]
async fn a_disabled_app_gets_no_tokens_and_an_enabled_one_does_again() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let path = format!("/tenants/{}/apps/{}", f.slug, f.app_id);
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", f.audience.as_str()),
    ];
    app.admin(Method::PATCH, &path, Some(json!({"api_enabled": false})))
        .await;
    let (status, body) = app
        .post_token(&f.slug, Some((&f.client_id, &f.client_secret)), &form)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    app.admin(Method::PATCH, &path, Some(json!({"api_enabled": true})))
        .await;
    let (status, _) = app
        .post_token(&f.slug, Some((&f.client_id, &f.client_secret)), &form)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn scopes_outside_the_clients_are_invalid_scope() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    for scope in ["admin", "chat:read admin", "bad\"scope", "a  b"] {
        let (status, body) = app
            .post_token(
                &f.slug,
                Some((&f.client_id, &f.client_secret)),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(status, 400, "{scope}");
        assert_eq!(body["error"], "invalid_scope", "{scope}");
    }
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let other = app.fixture().await;
    let cases: Vec<(Option<(&str, &str)>, &str)> = vec![
        (
            Some((&f.client_id, "wrong-secret")),
            "grant_type=client_credentials",
        ),
        (
            Some(("no-such-client", "x")),
            "grant_type=client_credentials",
        ),
        (
            Some((&other.client_id, &other.client_secret)),
            "grant_type=client_credentials",
        ),
        (None, "grant_type=client_credentials"),
        (
            None,
            "grant_type=client_credentials&client_id=no-such-client&client_secret=x",
        ),
    ];
    for (basic, body) in cases {
        let response = app.post_token_raw(&f.slug, basic, body).await;
        assert_eq!(response.status(), 401, "{basic:?} {body}");
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], "invalid_client");
    }
}

#[tokio::test]
async fn malformed_basic_headers_are_invalid_client() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    for header in [
        "Basic",
        "Basic !!!notbase64",
        "Basic Og==",
        "Digest abc",
        "Basic dXNlcg==",
    ] {
        let response = app
            .http
            .post(app.url(&format!("/t/{}/token", f.slug)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", header)
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], "invalid_client");
    }
}

#[tokio::test]
async fn grant_type_problems_get_their_rfc_errors() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let basic = Some((f.client_id.as_str(), f.client_secret.as_str()));
    let cases = [
        ("scope=chat%3Aread", "invalid_request"),
        (
            "grant_type=password&username=a&password=b",
            "unsupported_grant_type",
        ),
        (
            "grant_type=authorization_code&code=x",
            "unauthorized_client",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            "invalid_request",
        ),
    ];
    for (body, error) in cases {
        let response = app.post_token_raw(&f.slug, basic, body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], error, "{body}");
        assert!(json["error_description"].is_string());
    }
}

#[tokio::test]
async fn an_unknown_tenant_is_404() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_token(
            "no-such-tenant",
            Some(("a", "b")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn issuances_are_audit_events() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let (_, body) = app
        .post_token(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let claims = verify_with_jwks(
        &app,
        &f.slug,
        body["access_token"].as_str().unwrap(),
        &f.issuer,
    )
    .await;
    let target = format!("jti:{}", claims["jti"].as_str().unwrap());
    let recorded = eventually(Duration::from_secs(5), || async {
        app.audit_events(&f.slug)
            .await
            .iter()
            .any(|e| e["action"] == "token.issued" && e["target"] == target)
    })
    .await;
    assert!(recorded);
}

#[tokio::test]
async fn an_admin_change_on_one_node_is_seen_by_another_within_a_second() {
    // Arrange: two nodes on one database and one Redis.
    let (node1, node2) = spawn_two_nodes().await;
    let f = node1.fixture().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", f.audience.as_str()),
    ];
    let (status, _) = node2
        .post_token(&f.slug, Some((&f.client_id, &f.client_secret)), &form)
        .await;
    assert_eq!(status, 200);
    // Act: disable the app through node 1.
    node1
        .admin(
            Method::PATCH,
            &format!("/tenants/{}/apps/{}", f.slug, f.app_id),
            Some(json!({"api_enabled": false})),
        )
        .await;
    let changed = std::time::Instant::now();
    // Assert: node 2 refuses within a second.
    let refused = eventually(Duration::from_millis(1000), || async {
        node2
            .post_token(&f.slug, Some((&f.client_id, &f.client_secret)), &form)
            .await
            .0
            == 400
    })
    .await;
    assert!(refused, "node 2 still issued after {:?}", changed.elapsed());
}
