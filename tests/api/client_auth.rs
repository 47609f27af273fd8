//! A client's registered `token_endpoint_auth_method`: shown by the admin API, enforced at every
//! endpoint that authenticates clients, and validated against the client's type.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Fixture, TestApp};

const CLIENT_CREDENTIALS: [(&str, &str); 1] = [("grant_type", "client_credentials")];

/// The token endpoint's status with the fixture client's secret sent each way.
async fn statuses(app: &TestApp, f: &Fixture) -> (u16, u16) {
    let (basic, _) = app
        .post_token(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            &CLIENT_CREDENTIALS,
        )
        .await;
    let mut form = CLIENT_CREDENTIALS.to_vec();
    form.extend([
        ("client_id", f.client_id.as_str()),
        ("client_secret", f.client_secret.as_str()),
    ]);
    let (post, _) = app.post_token(&f.slug, None, &form).await;
    (basic, post)
}

async fn patch_method(app: &TestApp, f: &Fixture, method: Value) -> (u16, Value) {
    app.admin(
        Method::PATCH,
        &format!("/tenants/{}/clients/{}", f.slug, f.client_id),
        Some(json!({ "token_endpoint_auth_method": method })),
    )
    .await
}

#[tokio::test]
async fn a_client_held_to_one_method_is_refused_the_other_until_set_back() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    assert_eq!(
        statuses(&app, &f).await,
        (200, 200),
        "unset: both secret methods"
    );

    let (status, client) = patch_method(&app, &f, json!("client_secret_post")).await;
    assert_eq!(status, 200, "{client}");
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(statuses(&app, &f).await, (401, 200));

    let (status, _) = patch_method(&app, &f, json!("client_secret_basic")).await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&app, &f).await, (200, 401));

    let (status, client) = patch_method(&app, &f, Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(statuses(&app, &f).await, (200, 200));
}

#[tokio::test]
async fn the_wrong_method_is_401_invalid_client_with_a_challenge_at_introspection_too() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    patch_method(&app, &f, json!("client_secret_post")).await;
    let response = app
        .http
        .post(app.url(&format!("/t/{}/introspect", f.slug)))
        .basic_auth(&f.client_id, Some(&f.client_secret))
        .form(&[("token", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Basic realm="grantd""#
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "client authentication failed");
}

#[tokio::test]
async fn the_admin_api_shows_the_default_method_of_each_type() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let (_, confidential) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/clients/{}", f.slug, f.client_id),
            None,
        )
        .await;
    assert_eq!(
        confidential["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    let public = app
        .create_client(
            &f.slug,
            json!({"name": "spa", "type": "public", "grant_types": ["authorization_code"],
                   "redirect_uris": ["https://spa.example/cb"]}),
        )
        .await;
    assert_eq!(public["token_endpoint_auth_method"], "none");
    assert!(public.get("client_secret").is_none());
}

#[tokio::test]
async fn a_method_that_does_not_fit_the_type_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let public = json!({"name": "spa", "type": "public", "grant_types": ["authorization_code"],
                        "redirect_uris": ["https://spa.example/cb"]});
    let confidential = json!({"name": "c", "type": "confidential",
                              "grant_types": ["client_credentials"]});
    for (base, method) in [
        (&public, json!("client_secret_basic")),
        (&confidential, json!("none")),
        (&confidential, json!("client_secret_jwt")),
        (&confidential, json!("")),
        (&confidential, json!(5)),
    ] {
        let mut body = base.clone();
        body["token_endpoint_auth_method"] = method.clone();
        let (status, answer) = app
            .post_admin(&format!("/tenants/{}/clients", f.slug), body)
            .await;
        assert_eq!(status, 422, "{method} -> {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with("token_endpoint_auth_method"),
            "{answer}"
        );
    }
    let (status, _) = patch_method(&app, &f, json!("none")).await;
    assert_eq!(status, 422);
    assert_eq!(
        statuses(&app, &f).await,
        (200, 200),
        "the refused PATCH left the client as it was"
    );
}

#[tokio::test]
async fn admin_objects_given_as_arrays_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let f = app.fixture().await;
    let client = format!("/tenants/{}/clients/{}", f.slug, f.client_id);
    let tenant = format!("/tenants/{}", f.slug);
    for (path, body, field) in [
        (&client, json!({"rate_limit": [5, 5]}), "rate_limit"),
        (&client, json!({"exchange": [[], true, 60]}), "exchange"),
        (&tenant, json!({"rate_limit": [5, 5]}), "rate_limit"),
        (
            &client,
            json!({"rate_limit": {"per_second": "5", "burst": 5}}),
            "rate_limit.per_second",
        ),
    ] {
        let (status, answer) = app.admin(Method::PATCH, path, Some(body.clone())).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{body} -> {answer}");
        let (_, now) = app.admin(Method::GET, path, None).await;
        assert_eq!(now["rate_limit"], Value::Null, "{path} changed");
    }
    let (_, now) = app.admin(Method::GET, &client, None).await;
    assert_eq!(now["exchange"], Value::Null);
}
