//! Refresh families and authorization codes against a client narrowed since they were issued
//! (issue 11, finding 2): an app taken out of the client's `app_ids` ends the family, a scope
//! taken out of its `scopes` is left out of everything issued from then on, and a code minted
//! before the change is held to the client as it is when redeemed.
use reqwest::Method;
use serde_json::{json, Value};

use crate::authorization_code::{authorize, param, redeem, start, user_fixture, UserFixture};
use crate::helpers::{spawn_app_with, StoreKind, TestApp};
use crate::revocation::introspect_as;

const STORES: [StoreKind; 2] = [StoreKind::Redis, StoreKind::Memory];

pub async fn refresh(
    app: &TestApp,
    f: &UserFixture,
    token: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", f.client_id.as_str()),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.post_token(&f.slug, None, &form).await
}

/// A confidential client that lists the fixture's app: the app's own backend.
pub async fn app_backend(app: &TestApp, f: &UserFixture) -> (String, String) {
    let id = app_id(app, f).await;
    let rs = app
        .create_client(
            &f.slug,
            json!({"name": "chat backend", "type": "confidential",
                   "grant_types": ["client_credentials"], "app_ids": [id]}),
        )
        .await;
    (
        rs["client_id"].as_str().unwrap().into(),
        rs["client_secret"].as_str().unwrap().into(),
    )
}

pub async fn app_id(app: &TestApp, f: &UserFixture) -> String {
    let (_, apps) = app
        .admin(Method::GET, &format!("/tenants/{}/apps", f.slug), None)
        .await;
    apps[0]["id"].as_str().unwrap().to_owned()
}

async fn patch_client(app: &TestApp, f: &UserFixture, body: Value) {
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}/clients/{}", f.slug, f.client_id),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A code for `scopes`, app-scoped to the fixture's app when `for_app`.
async fn code(app: &TestApp, f: &UserFixture, scopes: &[&str], for_app: bool) -> (String, String) {
    let started = start(app, f, scopes);
    let url = if for_app {
        let resource: String =
            url::form_urlencoded::byte_serialize(f.audience.as_bytes()).collect();
        format!("{}&resource={resource}", started.url)
    } else {
        started.url.clone()
    };
    let query = authorize(app, f, &url, "approve").await;
    (
        param(&query, "code").unwrap().to_owned(),
        started.verifier.secret().clone(),
    )
}

async fn active_at(app: &TestApp, f: &UserFixture, rs: &(String, String), token: &str) -> Value {
    let (status, body) = introspect_as(app, &f.slug, (&rs.0, &rs.1), token).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_family_whose_app_was_taken_from_the_client_refreshes_no_more() {
    for store in STORES {
        // Arrange: an app-scoped family, then the app is taken out of the client's app_ids.
        let app = spawn_app_with(store).await;
        let f = user_fixture(&app, &["authorization_code", "refresh_token"]).await;
        let rs = app_backend(&app, &f).await;
        let (code, verifier) = code(&app, &f, &["chat:read"], true).await;
        let (status, tokens) = redeem(&app, &f, &code, Some(&verifier)).await;
        assert_eq!(status, 200, "{tokens}");
        let first_access = tokens["access_token"].as_str().unwrap();
        let rt = tokens["refresh_token"].as_str().unwrap();
        assert_eq!(active_at(&app, &f, &rs, first_access).await["active"], true);
        patch_client(&app, &f, json!({"app_ids": []})).await;
        // Act
        let (status, body) = refresh(&app, &f, rt, None).await;
        // Assert: refused, and the family is revoked, the access token it issued included.
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        assert!(body.get("access_token").is_none());
        assert_eq!(
            active_at(&app, &f, &rs, first_access).await["active"],
            false,
            "the family's access token dies with it"
        );
        // Giving the app back does not revive the family.
        let id = app_id(&app, &f).await;
        patch_client(&app, &f, json!({"app_ids": [id]})).await;
        let (status, body) = refresh(&app, &f, rt, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
}

#[tokio::test]
async fn a_scope_taken_from_the_client_is_left_out_of_every_refresh() {
    for store in STORES {
        // Arrange: a family of chat:read and chat:write; the client then loses chat:write.
        let app = spawn_app_with(store).await;
        let f = user_fixture(&app, &["authorization_code", "refresh_token"]).await;
        let rs = app_backend(&app, &f).await;
        let (code, verifier) = code(&app, &f, &["chat:read", "chat:write"], true).await;
        let (status, tokens) = redeem(&app, &f, &code, Some(&verifier)).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["scope"], "chat:read chat:write");
        patch_client(&app, &f, json!({"scopes": ["chat:read"]})).await;
        // Act
        let (status, refreshed) =
            refresh(&app, &f, tokens["refresh_token"].as_str().unwrap(), None).await;
        // Assert: the refresh is narrowed to what the client may still get.
        assert_eq!(status, 200, "{refreshed}");
        assert_eq!(refreshed["scope"], "chat:read");
        let seen = active_at(&app, &f, &rs, refreshed["access_token"].as_str().unwrap()).await;
        assert_eq!(seen["active"], true);
        assert_eq!(
            seen["scope"], "chat:read",
            "the app's backend never sees chat:write"
        );
        // Asking for the removed scope is invalid_scope, and leaves the token usable.
        let rt = refreshed["refresh_token"].as_str().unwrap();
        let (status, body) = refresh(&app, &f, rt, Some("chat:write")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );
        // Giving the scope back to the client does not widen the family again.
        patch_client(&app, &f, json!({"scopes": ["chat:read", "chat:write"]})).await;
        let (status, again) = refresh(&app, &f, rt, None).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["scope"], "chat:read");
    }
}

#[tokio::test]
async fn a_code_minted_before_its_app_was_taken_from_the_client_is_not_redeemed() {
    for store in STORES {
        let app = spawn_app_with(store).await;
        let f = user_fixture(&app, &["authorization_code", "refresh_token"]).await;
        let (code, verifier) = code(&app, &f, &["chat:read"], true).await;
        patch_client(&app, &f, json!({"app_ids": []})).await;
        let (status, body) = redeem(&app, &f, &code, Some(&verifier)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        assert!(body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn a_code_minted_before_a_scope_was_taken_from_the_client_issues_only_what_is_left() {
    for store in STORES {
        // Arrange: a tenant-wide code, then an app-scoped one, both minted before the change.
        let app = spawn_app_with(store).await;
        let f = user_fixture(&app, &["authorization_code", "refresh_token"]).await;
        let rs = app_backend(&app, &f).await;
        let tenant_wide = code(&app, &f, &["chat:read", "chat:write"], false).await;
        let for_app = code(&app, &f, &["chat:read", "chat:write"], true).await;
        patch_client(&app, &f, json!({"scopes": ["chat:read"]})).await;
        for (code, verifier, app_scoped) in [
            (tenant_wide.0, tenant_wide.1, false),
            (for_app.0, for_app.1, true),
        ] {
            // Act
            let (status, tokens) = redeem(&app, &f, &code, Some(&verifier)).await;
            // Assert
            assert_eq!(status, 200, "{tokens}");
            assert_eq!(tokens["scope"], "chat:read");
            if app_scoped {
                let seen = active_at(&app, &f, &rs, tokens["access_token"].as_str().unwrap()).await;
                assert_eq!(
                    (seen["active"].as_bool(), seen["scope"].as_str()),
                    (Some(true), Some("chat:read"))
                );
            }
            let (status, refreshed) =
                refresh(&app, &f, tokens["refresh_token"].as_str().unwrap(), None).await;
            assert_eq!(status, 200, "{refreshed}");
            assert_eq!(
                refreshed["scope"], "chat:read",
                "the family keeps the narrowed scope"
            );
        }
    }
}
