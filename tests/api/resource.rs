//! `grantd::resource`, the resource-server kit: an app's backend started in-process on a free
//! port, fed real tokens by a real grantd, asserted on the wire (RFC 6750 §3 challenges).
use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use grantd::tokens::{generate_es256, Signer};
use grantd_resource::{BearerError, BearerToken, ResourceServer};
use serde_json::{json, Value};

use crate::helpers::{eventually, free_port, spawn_app, Fixture, TestApp};
use crate::revocation::revoke_as;

async fn whoami(token: BearerToken) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "sub": token.claims.sub,
        "client_id": token.claims.client_id,
        "scope": token.claims.scope,
        "app_id": token.claims.app_id,
    }))
}

async fn post_chat_message(token: BearerToken) -> Result<HttpResponse, BearerError> {
    token.require_scope("chat:write")?;
    Ok(HttpResponse::Created().json(json!({"from": token.claims.sub})))
}

/// The app's backend, using `kit`; answers its base URL.
fn spawn_backend(kit: ResourceServer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let kit = web::Data::new(kit);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(kit.clone())
            .route("/v1/whoami", web::get().to(whoami))
            .route("/v1/chat-messages", web::post().to(post_chat_message))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

fn kit_for(f: &Fixture) -> ResourceServer {
    ResourceServer::builder(&f.issuer, &f.audience)
        .build()
        .unwrap()
}

/// A client-credentials token for `resource` (or tenant-wide) with `scope` (or all).
async fn token(app: &TestApp, f: &Fixture, resource: Option<&str>, scope: Option<&str>) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, body) = app
        .post_token(&f.slug, Some((&f.client_id, &f.client_secret)), &form)
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

struct Answer {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

async fn call(backend: &str, method: &str, token: Option<&str>) -> Answer {
    let http = reqwest::Client::new();
    let mut request = match method {
        "GET" => http.get(format!("{backend}/v1/whoami")),
        _ => http.post(format!("{backend}/v1/chat-messages")),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    Answer {
        status: response.status().as_u16(),
        challenge,
        body: response.json().await.unwrap_or(Value::Null),
    }
}

fn assert_invalid_token(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 401, "{what}: {}", answer.body);
    let challenge = answer.challenge.as_deref().unwrap_or_default();
    assert!(challenge.starts_with("Bearer "), "{what}: {challenge}");
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
    assert_eq!(answer.body["error"], "invalid_token", "{what}");
}

/// Valid-looking claims for `f`'s app, signed by a key grantd never published.
fn forged(f: &Fixture, kid: &str, exp: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": f.issuer, "sub": f.client_id, "aud": f.audience, "client_id": f.client_id,
        "scope": "chat:read chat:write", "iat": now - 60, "exp": exp, "jti": "forged",
        "tid": "forged", "app_id": f.app_id,
    });
    let (pkcs8, _) = generate_es256(kid).unwrap();
    Signer::from_pkcs8(kid, &pkcs8)
        .unwrap()
        .sign(&claims)
        .unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn an_app_token_is_accepted_and_its_claims_reach_the_handler() {
    // Arrange
    let app = spawn_app().await;
    let f = app.fixture().await;
    let backend = spawn_backend(kit_for(&f));
    let token = token(&app, &f, Some(&f.audience), None).await;
    // Act
    let answer = call(&backend, "GET", Some(&token)).await;
    // Assert
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["sub"], f.client_id);
    assert_eq!(answer.body["client_id"], f.client_id);
    assert_eq!(answer.body["app_id"], f.app_id);
    assert_eq!(answer.body["scope"], "chat:read chat:write");
}

#[tokio::test]
async fn a_request_without_a_bearer_token_gets_a_challenge_without_an_error_code() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let backend = spawn_backend(kit_for(&f));
    let http = reqwest::Client::new();
    let bare = http.get(format!("{backend}/v1/whoami"));
    let basic = http
        .get(format!("{backend}/v1/whoami"))
        .basic_auth(&f.client_id, Some(&f.client_secret));
    for request in [bare, basic] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(!challenge.contains("error="), "RFC 6750 §3.1: {challenge}");
        assert_eq!(challenge, format!("Bearer realm=\"{}\"", f.audience));
    }
}

#[tokio::test]
async fn a_tenant_wide_token_is_refused_as_invalid_token() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let backend = spawn_backend(kit_for(&f));
    let tenant_wide = token(&app, &f, None, None).await;
    let answer = call(&backend, "GET", Some(&tenant_wide)).await;
    assert_invalid_token(&answer, "aud = issuer");
    assert_eq!(
        answer.body["error_description"],
        "the token is for another audience"
    );
}

#[tokio::test]
async fn tokens_of_another_tenant_or_another_app_are_refused() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let g = app.fixture().await;
    let backend = spawn_backend(kit_for(&f));
    let other_tenant = token(&app, &g, Some(&g.audience), None).await;
    assert_invalid_token(
        &call(&backend, "GET", Some(&other_tenant)).await,
        "another tenant",
    );
    // Another app of the same tenant, for which the same client may get tokens.
    let other_app = app.create_app(&f.slug, &["chat:read"]).await;
    let other_audience = other_app["audience"].as_str().unwrap();
    let (status, _) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/tenants/{}/clients/{}", f.slug, f.client_id),
            Some(json!({"app_ids": [f.app_id, other_app["id"]]})),
        )
        .await;
    assert_eq!(status, 200);
    let for_other_app = token(&app, &f, Some(other_audience), Some("chat:read")).await;
    let answer = call(&backend, "GET", Some(&for_other_app)).await;
    assert_invalid_token(&answer, "another app");
    assert_eq!(
        answer.body["error_description"],
        "the token is for another audience"
    );
}

#[tokio::test]
async fn forged_malformed_and_expired_tokens_are_refused() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let backend = spawn_backend(kit_for(&f));
    let real = token(&app, &f, Some(&f.audience), None).await;
    let now = chrono::Utc::now().timestamp();
    // A genuine header and signature around the claims of another genuine token.
    let other = token(&app, &f, Some(&f.audience), Some("chat:read")).await;
    let parts: Vec<&str> = real.split('.').collect();
    let spliced = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    let cases = [
        (
            forged(&f, "unknown-kid", now + 300),
            "signed by an unknown key",
        ),
        (forged(&f, &kid_of(&real), now + 300), "bad signature"),
        // Expired long ago and signed by a key outside the JWKS: the signature is checked first,
        // so a forgery never learns that its claims are expired. Expiry itself, leeway included,
        // is tested with a pinned clock in src/resource/verify.rs.
        (forged(&f, &kid_of(&real), now - 3600), "bad signature"),
        ("not-a-jwt".to_owned(), "malformed token"),
        (spliced, "bad signature"),
    ];
    for (token, description) in &cases {
        let answer = call(&backend, "GET", Some(token)).await;
        assert_invalid_token(&answer, description);
        assert_eq!(answer.body["error_description"], *description);
    }
    assert_eq!(call(&backend, "GET", Some(&real)).await.status, 200);
}

#[tokio::test]
async fn a_revoked_token_is_refused_with_introspection_and_accepted_until_expiry_without() {
    // Arrange: two backends, one of which introspects every token.
    let app = spawn_app().await;
    let f = app.fixture().await;
    let local_only = spawn_backend(kit_for(&f));
    let introspecting = spawn_backend(
        ResourceServer::builder(&f.issuer, &f.audience)
            .introspection(&f.client_id, &f.client_secret)
            .build()
            .unwrap(),
    );
    let token = token(&app, &f, Some(&f.audience), None).await;
    assert_eq!(call(&introspecting, "GET", Some(&token)).await.status, 200);
    // Act
    let status = revoke_as(&app, &f.slug, (&f.client_id, &f.client_secret), &token).await;
    assert_eq!(status, 200);
    // Assert
    let answer = call(&introspecting, "GET", Some(&token)).await;
    assert_invalid_token(&answer, "revoked, introspected");
    assert_eq!(
        answer.body["error_description"],
        "the access token is not active"
    );
    // A JWT checked locally stays valid until its exp (at most 5 minutes for an app token):
    // that is the price of not asking grantd on every request.
    assert_eq!(call(&local_only, "GET", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn introspection_with_wrong_client_credentials_fails_closed() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let backend = spawn_backend(
        ResourceServer::builder(&f.issuer, &f.audience)
            .introspection(&f.client_id, "wrong-secret")
            .build()
            .unwrap(),
    );
    let token = token(&app, &f, Some(&f.audience), None).await;
    let answer = call(&backend, "GET", Some(&token)).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn an_unreachable_issuer_fails_closed_with_503() {
    let issuer = format!("http://127.0.0.1:{}/t/acme", free_port());
    let f = Fixture {
        slug: "acme".into(),
        audience: format!("{issuer}/apps/x"),
        issuer,
        app_id: "x".into(),
        client_id: "c".into(),
        client_secret: "s".into(),
    };
    let backend = spawn_backend(kit_for(&f));
    let token = forged(&f, "k1", chrono::Utc::now().timestamp() + 300);
    let answer = call(&backend, "GET", Some(&token)).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["error"], "temporarily_unavailable");
    assert_eq!(answer.challenge, None);
}

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope_naming_it() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let backend = spawn_backend(kit_for(&f));
    let read_only = token(&app, &f, Some(&f.audience), Some("chat:read")).await;
    let writer = token(&app, &f, Some(&f.audience), Some("chat:write")).await;
    let answer = call(&backend, "POST", Some(&read_only)).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(
        answer.challenge.as_deref(),
        Some("Bearer error=\"insufficient_scope\", scope=\"chat:write\"")
    );
    assert_eq!(answer.body["error"], "insufficient_scope");
    assert_eq!(answer.body["scope"], "chat:write");
    assert_eq!(call(&backend, "GET", Some(&read_only)).await.status, 200);
    assert_eq!(call(&backend, "POST", Some(&writer)).await.status, 201);
}

#[tokio::test]
async fn after_a_compromised_rotation_new_tokens_verify_once_the_kit_refetches_the_jwks() {
    // Arrange: the kit has fetched the JWKS for a token of the old key.
    let app = spawn_app().await;
    let f = app.fixture().await;
    let interval = Duration::from_secs(2);
    let backend = spawn_backend(
        ResourceServer::builder(&f.issuer, &f.audience)
            .refetch_interval(interval)
            .build()
            .unwrap(),
    );
    let old = token(&app, &f, Some(&f.audience), None).await;
    assert_eq!(call(&backend, "GET", Some(&old)).await.status, 200);
    let fetched_at = Instant::now();
    // Act: the old key is withdrawn and the new one signs at once.
    let (status, rotated) = app
        .post_admin(
            &format!("/tenants/{}/keys/rotate", f.slug),
            json!({"compromised": true}),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = token(&app, &f, Some(&f.audience), None).await;
    assert_eq!(kid_of(&new), rotated["kid"].as_str().unwrap());
    // Assert: within the refetch interval an unknown kid is refused without a fetch; after it,
    // the refetch finds the new key.
    let first = call(&backend, "GET", Some(&new)).await;
    if fetched_at.elapsed() < interval {
        assert_invalid_token(&first, "unknown kid within the refetch interval");
    }
    let accepted = eventually(Duration::from_secs(10), || async {
        call(&backend, "GET", Some(&new)).await.status == 200
    })
    .await;
    assert!(accepted, "the new key was never fetched");
    // The refetched set no longer holds the withdrawn key.
    assert_invalid_token(
        &call(&backend, "GET", Some(&old)).await,
        "the withdrawn key",
    );
}
