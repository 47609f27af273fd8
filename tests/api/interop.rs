//! What a strict third-party client library found (issue 11, finding 8): the metadata lists
//! only what works, repeated `resource`/`audience` values are read as RFC 8707 §2 and RFC 8693
//! §2.1 allow, and a refresh token introspects (RFC 7662) for the client it was issued to.
use reqwest::Method;
use serde_json::{json, Value};

use crate::authorization_code::{authorize, param, start, UserFixture, PASSWORD, REDIRECT};
use crate::helpers::{spawn_app, spawn_app_with, StoreKind, TestApp};
use crate::revocation::{cc_token, introspect_as, revoke_as};

const STORES: [StoreKind; 2] = [StoreKind::Redis, StoreKind::Memory];

// --- metadata ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_metadata_lists_only_auth_methods_that_work_at_each_endpoint() {
    // Arrange
    let app = spawn_app().await;
    let f = app.fixture().await;
    let public = app
        .create_client(
            &f.slug,
            json!({"name": "spa", "type": "public", "grant_types": ["authorization_code"],
                   "redirect_uris": [REDIRECT], "scopes": ["chat:read"], "app_ids": [f.app_id]}),
        )
        .await;
    let public_id = public["client_id"].as_str().unwrap();
    // Act
    let metadata = app.metadata(&f.slug).await;
    // Assert: introspection refuses public clients, so it does not list `none`.
    let methods = |name: &str| -> Vec<String> {
        serde_json::from_value(metadata[name].clone()).unwrap_or_else(|_| panic!("{name}"))
    };
    let introspection = methods("introspection_endpoint_auth_methods_supported");
    assert_eq!(introspection, ["client_secret_basic", "client_secret_post"]);
    let token = cc_token(&app, &f, None).await;
    let (status, body) =
        introspect_as(&app, &f.slug, (&f.client_id, &f.client_secret), &token).await;
    assert_eq!((status, body["active"].as_bool()), (200, Some(true)));
    let response = app
        .http
        .post(metadata["introspection_endpoint"].as_str().unwrap())
        .form(&[
            ("token", token.as_str()),
            ("client_id", &f.client_id),
            ("client_secret", &f.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "client_secret_post works");
    let response = app
        .http
        .post(metadata["introspection_endpoint"].as_str().unwrap())
        .form(&[("token", token.as_str()), ("client_id", public_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "`none` does not work, and is not listed"
    );
    // Revocation does take public clients (RFC 7009 §2.1), and lists `none`.
    assert!(methods("revocation_endpoint_auth_methods_supported").contains(&"none".to_owned()));
    let response = app
        .http
        .post(metadata["revocation_endpoint"].as_str().unwrap())
        .form(&[("token", "whatever"), ("client_id", public_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(methods("token_endpoint_auth_methods_supported").contains(&"none".to_owned()));
    // No JWT-based client authentication exists, so no empty signing-algorithm list either.
    assert!(
        metadata
            .get("token_endpoint_auth_signing_alg_values_supported")
            .is_none(),
        "{metadata}"
    );
}

// --- repeated resource / audience -------------------------------------------------------------

async fn cc_raw(app: &TestApp, f: &crate::helpers::Fixture, body: &str) -> (u16, Value) {
    let response = app
        .post_token_raw(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            body.to_owned(),
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn a_resource_or_audience_repeated_with_one_value_names_that_app() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let aud = enc(&f.audience);
    for body in [
        format!("grant_type=client_credentials&resource={aud}&resource={aud}"),
        format!("grant_type=client_credentials&audience={aud}&audience={aud}"),
        format!("grant_type=client_credentials&resource={aud}&audience={aud}&resource={aud}"),
    ] {
        let (status, token) = cc_raw(&app, &f, &body).await;
        assert_eq!(status, 200, "{body}: {token}");
        let claims = crate::helpers::verify_with_jwks(
            &app,
            &f.slug,
            token["access_token"].as_str().unwrap(),
            &f.audience,
        )
        .await;
        assert_eq!(
            (claims["aud"].as_str(), claims["app_id"].as_str()),
            (Some(f.audience.as_str()), Some(f.app_id.as_str()))
        );
    }
}

#[tokio::test]
async fn several_distinct_resources_are_invalid_target_not_a_parse_error() {
    // Arrange: two apps, both of which the client may reach.
    let app = spawn_app().await;
    let f = app.fixture().await;
    let second = app.create_app(&f.slug, &["chat:read"]).await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}/clients/{}", f.slug, f.client_id),
            Some(json!({"app_ids": [f.app_id, second["id"]]})),
        )
        .await;
    assert_eq!(status, 200);
    let (a, b) = (enc(&f.audience), enc(second["audience"].as_str().unwrap()));
    for body in [
        format!("grant_type=client_credentials&resource={a}&resource={b}"),
        format!("grant_type=client_credentials&audience={a}&audience={b}"),
        format!("grant_type=client_credentials&resource={a}&resource={a}&audience={b}"),
    ] {
        // Act
        let (status, error) = cc_raw(&app, &f, &body).await;
        // Assert
        assert_eq!(
            (status, error["error"].as_str()),
            (400, Some("invalid_target")),
            "{body}: {error}"
        );
        assert!(
            error["error_description"]
                .as_str()
                .unwrap()
                .contains("one resource at a time"),
            "{error}"
        );
    }
    // Every other parameter still appears at most once (RFC 6749 §3.1).
    let (status, error) = cc_raw(
        &app,
        &f,
        "grant_type=client_credentials&scope=chat:read&scope=chat:write",
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(error["error_description"]
        .as_str()
        .unwrap()
        .contains("`scope` is repeated"));
}

// --- refresh-token introspection --------------------------------------------------------------

/// A tenant whose user signs in through a confidential client with the refresh grant.
async fn confidential_user_client(app: &TestApp) -> (UserFixture, String) {
    let slug = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let tenant = app.create_tenant(&slug).await;
    let chat = app.create_app(&slug, &["chat:read", "chat:write"]).await;
    let client = app
        .create_client(
            &slug,
            json!({"name": "web app", "type": "confidential",
                   "grant_types": ["authorization_code", "refresh_token"],
                   "redirect_uris": [REDIRECT], "scopes": ["chat:read", "chat:write"],
                   "app_ids": [chat["id"]]}),
        )
        .await;
    let (status, user) = app
        .post_admin(
            &format!("/tenants/{slug}/users"),
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201);
    let f = UserFixture {
        issuer: tenant["issuer"].as_str().unwrap().to_owned(),
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        audience: chat["audience"].as_str().unwrap().to_owned(),
        username: "alice".into(),
        user_id: user["id"].as_str().unwrap().to_owned(),
        slug,
    };
    (f, client["client_secret"].as_str().unwrap().to_owned())
}

async fn introspect_with_hint(
    app: &TestApp,
    slug: &str,
    client: (&str, &str),
    token: &str,
    hint: Option<&str>,
) -> Value {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    let response = app
        .http
        .post(app.url(&format!("/t/{slug}/introspect")))
        .basic_auth(client.0, Some(client.1))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_refresh_token_introspects_active_for_the_client_it_was_issued_to() {
    for store in STORES {
        // Arrange
        let app = spawn_app_with(store).await;
        let (f, secret) = confidential_user_client(&app).await;
        let me = (f.client_id.as_str(), secret.as_str());
        let started = start(&app, &f, &["chat:read"]);
        let query = authorize(&app, &f, &started.url, "approve").await;
        let (status, tokens) = app
            .post_token(
                &f.slug,
                Some(me),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", param(&query, "code").unwrap()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", started.verifier.secret()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{tokens}");
        let rt = tokens["refresh_token"].as_str().unwrap();
        let before = chrono::Utc::now().timestamp();
        // Act: with no hint, the right hint and a wrong one (RFC 7662 §2.1).
        for hint in [
            None,
            Some("refresh_token"),
            Some("access_token"),
            Some("junk"),
        ] {
            let body = introspect_with_hint(&app, &f.slug, me, rt, hint).await;
            // Assert
            assert_eq!(body["active"], true, "hint {hint:?}: {body}");
            assert_eq!(body["token_type"], "refresh_token");
            assert_eq!(body["client_id"], f.client_id);
            assert_eq!(body["sub"], f.user_id);
            assert_eq!(body["scope"], "chat:read");
            let exp = body["exp"].as_i64().unwrap();
            assert!(exp > before + 29 * 24 * 3600, "the family's end: {body}");
            assert!(body["iat"].as_i64().unwrap() <= chrono::Utc::now().timestamp());
            assert!(body["tid"].is_string());
        }
        // An access token with the refresh hint is found all the same.
        let access = tokens["access_token"].as_str().unwrap();
        let body = introspect_with_hint(&app, &f.slug, me, access, Some("refresh_token")).await;
        assert_eq!(
            (body["active"].as_bool(), body["token_type"].as_str()),
            (Some(true), Some("Bearer"))
        );
        // Another client, even one whose app the family is for, sees nothing.
        let stranger = app
            .create_client(
                &f.slug,
                json!({"name": "other", "type": "confidential", "grant_types": ["client_credentials"]}),
            )
            .await;
        let stranger = (
            stranger["client_id"].as_str().unwrap(),
            stranger["client_secret"].as_str().unwrap(),
        );
        assert_eq!(
            introspect_with_hint(&app, &f.slug, stranger, rt, Some("refresh_token")).await,
            json!({"active": false})
        );
        // Introspection consumed nothing: the token still refreshes, once.
        let (status, rotated) = app
            .post_token(
                &f.slug,
                Some(me),
                &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            )
            .await;
        assert_eq!(status, 200, "{rotated}");
        let next = rotated["refresh_token"].as_str().unwrap();
        assert_eq!(
            introspect_with_hint(&app, &f.slug, me, rt, None).await,
            json!({"active": false}),
            "a rotated refresh token is used up"
        );
        assert_eq!(
            introspect_with_hint(&app, &f.slug, me, next, None).await["active"],
            true
        );
        // A revoked family introspects inactive.
        assert_eq!(revoke_as(&app, &f.slug, me, next).await, 200);
        assert_eq!(
            introspect_with_hint(&app, &f.slug, me, next, Some("refresh_token")).await,
            json!({"active": false})
        );
    }
}

#[tokio::test]
async fn a_token_exchange_takes_a_repeated_audience_for_one_app_and_refuses_two_apps() {
    // Arrange
    let app = spawn_app().await;
    let w = crate::token_exchange::world(&app).await;
    let subject = w.subject_token(&app, "chat:read").await;
    let x = crate::token_exchange::World::aud(&w.x);
    let y = crate::token_exchange::World::aud(&w.y);
    let base = [
        ("subject_token", subject.as_str()),
        ("subject_token_type", crate::token_exchange::ACCESS),
    ];
    // Act
    let (status, same) = w
        .exchange(
            &app,
            &[
                &base[..],
                &[("audience", x), ("audience", x), ("resource", x)],
            ]
            .concat(),
        )
        .await;
    let (refused, two) = w
        .exchange(
            &app,
            &[&base[..], &[("audience", x), ("audience", y)]].concat(),
        )
        .await;
    // Assert
    assert_eq!(status, 200, "{same}");
    let claims =
        crate::helpers::verify_with_jwks(&app, &w.slug, same["access_token"].as_str().unwrap(), x)
            .await;
    assert_eq!(claims["app_id"], w.x["id"]);
    assert_eq!(
        (refused, two["error"].as_str()),
        (400, Some("invalid_target")),
        "{two}"
    );
}
