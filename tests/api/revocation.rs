//! RFC 7009 revocation, RFC 7662 introspection, bulk revocation marks and key rotation.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Fixture, TestApp};

pub async fn cc_token(app: &TestApp, f: &Fixture, resource: Option<&str>) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    let (status, body) = app
        .post_token(&f.slug, Some((&f.client_id, &f.client_secret)), &form)
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub async fn introspect_as(
    app: &TestApp,
    slug: &str,
    client: (&str, &str),
    token: &str,
) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(&format!("/t/{slug}/introspect")))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn introspect(app: &TestApp, f: &Fixture, token: &str) -> Value {
    let (status, body) = introspect_as(app, &f.slug, (&f.client_id, &f.client_secret), token).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn revoke_as(app: &TestApp, slug: &str, client: (&str, &str), token: &str) -> u16 {
    app.http
        .post(app.url(&format!("/t/{slug}/revoke")))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn introspection_returns_the_claims_of_an_active_token() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let token = cc_token(&app, &f, Some(&f.audience)).await;
    let body = introspect(&app, &f, &token).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], f.client_id);
    assert_eq!(body["aud"], f.audience);
    assert_eq!(body["app_id"], f.app_id);
    assert_eq!(body["iss"], f.issuer);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn revoking_an_access_token_makes_it_inactive() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let token = cc_token(&app, &f, None).await;
    let other = cc_token(&app, &f, None).await;
    assert_eq!(
        revoke_as(&app, &f.slug, (&f.client_id, &f.client_secret), &token).await,
        200
    );
    assert_eq!(introspect(&app, &f, &token).await, json!({"active": false}));
    assert_eq!(
        introspect(&app, &f, &other).await["active"],
        true,
        "only that token"
    );
}

#[tokio::test]
async fn unknown_tokens_get_200_and_other_clients_tokens_are_not_revoked() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let g = app.fixture().await;
    for junk in ["not-a-token", "a.b.c", ""] {
        assert_eq!(
            revoke_as(&app, &f.slug, (&f.client_id, &f.client_secret), junk).await,
            200,
            "{junk}"
        );
    }
    let theirs = cc_token(&app, &g, None).await;
    assert_eq!(
        revoke_as(&app, &g.slug, (&f.client_id, &f.client_secret), &theirs).await,
        401,
        "f is not a client of g's tenant"
    );
    let second = app
        .create_client(
            &g.slug,
            json!({"name": "other", "type": "confidential", "grant_types": ["client_credentials"]}),
        )
        .await;
    let second = (
        second["client_id"].as_str().unwrap(),
        second["client_secret"].as_str().unwrap(),
    );
    assert_eq!(revoke_as(&app, &g.slug, second, &theirs).await, 200);
    assert_eq!(introspect(&app, &g, &theirs).await["active"], true);
}

#[tokio::test]
async fn revocation_and_introspection_need_client_authentication() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let token = cc_token(&app, &f, None).await;
    for path in ["revoke", "introspect"] {
        let response = app
            .http
            .post(app.url(&format!("/t/{}/{path}", f.slug)))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let (status, _) = introspect_as(&app, &f.slug, (&f.client_id, "wrong"), &token).await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        introspect(&app, &f, &token).await["active"],
        true,
        "nothing was revoked"
    );
}

#[tokio::test]
async fn a_client_sees_its_own_tokens_and_those_for_its_apps_only() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let tenant_wide = cc_token(&app, &f, None).await;
    let for_app = cc_token(&app, &f, Some(&f.audience)).await;
    let resource_server = app
        .create_client(&f.slug, json!({"name": "rs", "type": "confidential", "grant_types": ["client_credentials"], "app_ids": [f.app_id]}))
        .await;
    let rs = (
        resource_server["client_id"].as_str().unwrap(),
        resource_server["client_secret"].as_str().unwrap(),
    );
    let stranger = app
        .create_client(&f.slug, json!({"name": "stranger", "type": "confidential", "grant_types": ["client_credentials"]}))
        .await;
    let stranger = (
        stranger["client_id"].as_str().unwrap(),
        stranger["client_secret"].as_str().unwrap(),
    );
    assert_eq!(
        introspect_as(&app, &f.slug, rs, &for_app).await.1["active"],
        true
    );
    assert_eq!(
        introspect_as(&app, &f.slug, rs, &tenant_wide).await.1["active"],
        false
    );
    assert_eq!(
        introspect_as(&app, &f.slug, stranger, &for_app).await.1["active"],
        false
    );
    let other_tenant = app.fixture().await;
    let (_, body) = introspect_as(
        &app,
        &other_tenant.slug,
        (&other_tenant.client_id, &other_tenant.client_secret),
        &for_app,
    )
    .await;
    assert_eq!(body["active"], false, "a token of another tenant");
}

#[tokio::test]
async fn a_disabled_apps_tokens_are_inactive_until_it_is_enabled_again() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let token = cc_token(&app, &f, Some(&f.audience)).await;
    let path = format!("/tenants/{}/apps/{}", f.slug, f.app_id);
    app.admin(Method::PATCH, &path, Some(json!({"api_enabled": false})))
        .await;
    assert_eq!(introspect(&app, &f, &token).await["active"], false);
    app.admin(Method::PATCH, &path, Some(json!({"api_enabled": true})))
        .await;
    assert_eq!(introspect(&app, &f, &token).await["active"], true);
}

#[tokio::test]
async fn bulk_revocation_kills_what_matches_and_nothing_else() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let other = app
        .create_client(&f.slug, json!({"name": "b", "type": "confidential", "grant_types": ["client_credentials"], "scopes": [], "app_ids": [f.app_id]}))
        .await;
    let other_auth = (
        other["client_id"].as_str().unwrap().to_owned(),
        other["client_secret"].as_str().unwrap().to_owned(),
    );
    let mine = cc_token(&app, &f, None).await;
    let (_, theirs) = app
        .post_token(
            &f.slug,
            Some((&other_auth.0, &other_auth.1)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let theirs = theirs["access_token"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post_admin(
            &format!("/tenants/{}/revocations", f.slug),
            json!({"client_id": f.client_id, "reason": "laptop stolen"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked_before"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(introspect(&app, &f, &mine).await["active"], false);
    let (_, body) = introspect_as(&app, &f.slug, (&other_auth.0, &other_auth.1), &theirs).await;
    assert_eq!(body["active"], true, "another client's token lives on");
    // A token issued right after the revocation, even within the same second, is alive.
    let fresh = cc_token(&app, &f, None).await;
    assert_eq!(introspect(&app, &f, &fresh).await["active"], true);
    let events = app
        .audit_events_with(&f.slug, |e| e["action"] == "revocation.bulk")
        .await;
    assert!(events
        .iter()
        .any(|e| e["action"] == "revocation.bulk" && e["detail"] == "laptop stolen"));
}

#[tokio::test]
async fn a_tenant_wide_revocation_kills_every_token_of_the_tenant() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let g = app.fixture().await;
    let tokens = [
        cc_token(&app, &f, None).await,
        cc_token(&app, &f, Some(&f.audience)).await,
    ];
    let other_tenant = cc_token(&app, &g, None).await;
    let (status, _) = app
        .post_admin(&format!("/tenants/{}/revocations", f.slug), json!({}))
        .await;
    assert_eq!(status, 200);
    for token in &tokens {
        assert_eq!(introspect(&app, &f, token).await["active"], false);
    }
    assert_eq!(introspect(&app, &g, &other_tenant).await["active"], true);
}

#[tokio::test]
async fn bulk_revocation_input_is_validated() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let path = format!("/tenants/{}/revocations", f.slug);
    for (body, field) in [
        (json!({"app_id": "nope"}), "app_id"),
        (json!({"app_id": uuid::Uuid::new_v4()}), "app_id"),
        (json!({"client_id": "bad id!"}), "client_id"),
        (json!({"subject": "\u{0}"}), "subject"),
    ] {
        let (status, answer) = app.post_admin(&path, body).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["message"].as_str().unwrap().starts_with(field));
    }
}

async fn jwks_kids(app: &TestApp, slug: &str) -> (Vec<String>, String) {
    let response = app
        .http
        .get(app.url(&format!("/t/{slug}/jwks.json")))
        .send()
        .await
        .unwrap();
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let kids = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    (kids, cache)
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn a_phased_rotation_publishes_first_and_signs_later() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let (before, cache) = jwks_kids(&app, &f.slug).await;
    assert_eq!(before.len(), 1);
    assert_eq!(cache, "public, max-age=300");
    let old_token = cc_token(&app, &f, None).await;
    let (status, rotated) = app
        .post_admin(&format!("/tenants/{}/keys/rotate", f.slug), json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (rotated["signs_from"].as_i64().unwrap() - (now + 300)).abs() <= 2,
        "default delay = JWKS max-age"
    );
    let (after, _) = jwks_kids(&app, &f.slug).await;
    assert!(
        after.contains(&new_kid) && after.contains(&before[0]),
        "both keys published"
    );
    assert_eq!(
        kid_of(&cc_token(&app, &f, None).await),
        before[0],
        "the old key still signs"
    );
    assert_eq!(introspect(&app, &f, &old_token).await["active"], true);
}

#[tokio::test]
async fn a_rotation_without_delay_signs_with_the_new_key_and_keeps_the_old_one_published() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let old_token = cc_token(&app, &f, None).await;
    let (_, rotated) = app
        .post_admin(
            &format!("/tenants/{}/keys/rotate", f.slug),
            json!({"publish_delay_seconds": 0}),
        )
        .await;
    let new_kid = rotated["kid"].as_str().unwrap();
    assert_eq!(kid_of(&cc_token(&app, &f, None).await), new_kid);
    let (kids, _) = jwks_kids(&app, &f.slug).await;
    assert!(
        kids.contains(&kid_of(&old_token)),
        "the old key stays until its tokens expire"
    );
    assert_eq!(introspect(&app, &f, &old_token).await["active"], true);
}

#[tokio::test]
async fn a_compromised_key_is_withdrawn_and_its_tokens_die_at_once() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let old_token = cc_token(&app, &f, None).await;
    let (status, rotated) = app
        .post_admin(
            &format!("/tenants/{}/keys/rotate", f.slug),
            json!({"compromised": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&app, &f, &old_token).await["active"], false);
    let (kids, _) = jwks_kids(&app, &f.slug).await;
    assert_eq!(kids, vec![rotated["kid"].as_str().unwrap().to_owned()]);
    let fresh = cc_token(&app, &f, None).await;
    assert_eq!(kid_of(&fresh), rotated["kid"].as_str().unwrap());
    assert_eq!(introspect(&app, &f, &fresh).await["active"], true);
    let events = app
        .audit_events_with(&f.slug, |e| e["action"] == "key.rotated")
        .await;
    assert!(events.iter().any(|e| e["action"] == "key.rotated"));
}
