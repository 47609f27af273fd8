//! The example LLM-app API (`examples/chat_api.rs`) driven end to end: a permanent key is
//! exchanged for a short-lived token, the token calls the API, the API learns the caller's
//! credential profile from grantd, and after a revocation the same call is refused.
use std::net::TcpListener;

use actix_web::{App, HttpServer};
use serde_json::{json, Value};

use crate::helpers::spawn_app;
use crate::token_exchange::{world, World, API_KEY};

#[path = "../../examples/chat_api.rs"]
#[allow(dead_code)]
mod example;

#[tokio::test]
async fn permanent_key_to_exchange_to_api_call_to_revocation() {
    // Arrange: grantd, a tenant with app X, a credential profile, and X's backend.
    let app = spawn_app().await;
    let w = world(&app).await;
    app.post_admin(
        &format!("/tenants/{}/credential-profiles", w.slug),
        json!({"name": "client_a_openai", "provider": "openai", "secret": "sk-live-secret"}),
    )
    .await;
    w.patch_exchanger(&app, json!({"credential_profiles": ["client_a_openai"]}))
        .await;
    let kit = grantd_resource::ResourceServer::builder(&w.issuer, World::aud(&w.x))
        .build()
        .unwrap();
    let key_context = example::KeyContext {
        endpoint: format!("{}/key-context", w.issuer),
        client_id: w.rs.id.clone(),
        client_secret: w.rs.secret.clone(),
        http: reqwest::Client::new(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}/v1/chat-messages", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new().configure(|cfg| example::configure(cfg, kit.clone(), key_context.clone()))
    })
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    let call = |token: String| {
        let request = app
            .http
            .post(&api)
            .bearer_auth(token)
            .json(&json!({"query": "hello"}));
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    // Act: the legacy key is exchanged for a token for app X with the caller's profile.
    let (_, key) = w.api_key(&app, &w.x).await;
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &key),
                ("subject_token_type", API_KEY),
                ("audience", World::aud(&w.x)),
                ("scope", "chat:write"),
                ("credential_profile", "client_a_openai"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, answer) = call(token.clone()).await;

    // Assert: the API knows its app, the caller and the profile, and never shows the secret.
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["app_id"], w.x["id"]);
    assert_eq!(answer["caller"]["client_id"], w.exchanger.id);
    assert!(answer["caller"]["sub"]
        .as_str()
        .unwrap()
        .starts_with("apikey:"));
    assert_eq!(answer["credential_profile"], "client_a_openai");
    assert!(!answer.to_string().contains("sk-live-secret"));
    // The raw key itself is not a bearer token the API accepts.
    let (status, _) = call(key.clone()).await;
    assert_eq!(status, 401);
    // A token for app Y does not work at X.
    let (_, key_y) = w.api_key(&app, &w.y).await;
    let (_, for_y) = w
        .exchange(
            &app,
            &[
                ("subject_token", &key_y),
                ("subject_token_type", API_KEY),
                ("audience", World::aud(&w.y)),
            ],
        )
        .await;
    let (status, _) = call(for_y["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 401);
    // Revoking the token makes the next call a 401.
    let response = app
        .http
        .post(app.url(&format!("/t/{}/revoke", w.slug)))
        .basic_auth(&w.exchanger.id, Some(&w.exchanger.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, answer) = call(token).await;
    assert_eq!(status, 401, "{answer}");
}
