//! RFC 8693 token exchange into app-scoped tokens, exchange policy, cascades and key context.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_two_nodes, verify_with_jwks, TestApp};
use crate::revocation::{introspect_as, revoke_as};

mod delegation;

pub const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const API_KEY: &str = "urn:grantd:token-type:api-key";

pub struct Creds {
    pub id: String,
    pub secret: String,
}

impl Creds {
    pub fn pair(&self) -> (&str, &str) {
        (&self.id, &self.secret)
    }
}

/// Two apps X and Y; a subject client with a tenant-wide token; an exchanger that may target
/// both; a resource server for X that may read key context.
pub struct World {
    pub slug: String,
    pub issuer: String,
    pub x: Value,
    pub y: Value,
    pub subject: Creds,
    pub exchanger: Creds,
    pub rs: Creds,
}

async fn client(app: &TestApp, slug: &str, body: Value) -> Creds {
    let c = app.create_client(slug, body).await;
    Creds {
        id: c["client_id"].as_str().unwrap().into(),
        secret: c["client_secret"].as_str().unwrap().into(),
    }
}

pub async fn world(app: &TestApp) -> World {
    let slug = format!("x{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let tenant = app.create_tenant(&slug).await;
    let x = app.create_app(&slug, &["chat:read", "chat:write"]).await;
    let y = app.create_app(&slug, &["chat:read", "files:read"]).await;
    let all = ["chat:read", "chat:write", "files:read"];
    let subject = client(app, &slug, json!({"name": "crm", "type": "confidential", "grant_types": ["client_credentials"], "scopes": all})).await;
    let exchanger = client(
        app,
        &slug,
        json!({"name": "gateway", "type": "confidential", "grant_types": [EXCHANGE], "scopes": all, "app_ids": [x["id"], y["id"]]}),
    )
    .await;
    let rs = client(
        app,
        &slug,
        json!({"name": "x-backend", "type": "confidential", "grant_types": ["client_credentials"], "scopes": ["grantd:key-context"], "app_ids": [x["id"]]}),
    )
    .await;
    World {
        issuer: tenant["issuer"].as_str().unwrap().into(),
        slug,
        x,
        y,
        subject,
        exchanger,
        rs,
    }
}

impl World {
    pub fn aud(app: &Value) -> &str {
        app["audience"].as_str().unwrap()
    }

    pub async fn subject_token(&self, app: &TestApp, scope: &str) -> String {
        let (status, body) = app
            .post_token(
                &self.slug,
                Some(self.subject.pair()),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().into()
    }

    pub async fn exchange(&self, app: &TestApp, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![("grant_type", EXCHANGE)];
        form.extend_from_slice(extra);
        app.post_token(&self.slug, Some(self.exchanger.pair()), &form)
            .await
    }

    pub async fn api_key(&self, app: &TestApp, of: &Value) -> (String, String) {
        let (status, body) = app
            .post_admin(
                &format!(
                    "/tenants/{}/apps/{}/api-keys",
                    self.slug,
                    of["id"].as_str().unwrap()
                ),
                json!({"name": "legacy"}),
            )
            .await;
        assert_eq!(status, 201);
        (
            body["id"].as_str().unwrap().into(),
            body["key"].as_str().unwrap().into(),
        )
    }

    pub async fn patch_exchanger(&self, app: &TestApp, body: Value) {
        let (status, answer) = app
            .admin(
                Method::PATCH,
                &format!("/tenants/{}/clients/{}", self.slug, self.exchanger.id),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    pub async fn is_active(&self, app: &TestApp, token: &str) -> bool {
        let (status, body) = introspect_as(app, &self.slug, self.exchanger.pair(), token).await;
        assert_eq!(status, 200, "{body}");
        body["active"] == true
    }
}

#[tokio::test]
async fn a_tenant_token_becomes_a_token_for_one_app() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let subject = w
        .subject_token(&app, "chat:read chat:write files:read")
        .await;
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", World::aud(&w.x)),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["expires_in"], 300, "the app-scoped default");
    let claims = verify_with_jwks(
        &app,
        &w.slug,
        body["access_token"].as_str().unwrap(),
        World::aud(&w.x),
    )
    .await;
    assert_eq!(claims["aud"], World::aud(&w.x));
    assert_eq!(claims["app_id"], w.x["id"]);
    assert_eq!(claims["sub"], w.subject.id, "the subject's sub is kept");
    assert_eq!(claims["client_id"], w.exchanger.id);
    assert_eq!(
        claims["scope"], "chat:read chat:write",
        "subject ∩ app ∩ client"
    );
}

#[tokio::test]
async fn an_api_key_becomes_a_token_for_its_own_app_only() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (key_id, key) = w.api_key(&app, &w.x).await;
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &key),
                ("subject_token_type", API_KEY),
                ("resource", World::aud(&w.x)),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_with_jwks(
        &app,
        &w.slug,
        body["access_token"].as_str().unwrap(),
        World::aud(&w.x),
    )
    .await;
    assert_eq!(claims["sub"], format!("apikey:{key_id}"));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &key),
                ("subject_token_type", API_KEY),
                ("audience", World::aud(&w.y)),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "the key of X never works for Y"
    );
    let (_, listed) = app
        .admin(
            Method::GET,
            &format!(
                "/tenants/{}/apps/{}/api-keys",
                w.slug,
                w.x["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let used = crate::helpers::eventually(std::time::Duration::from_secs(3), || async {
        let (_, listed) = app
            .admin(
                Method::GET,
                &format!(
                    "/tenants/{}/apps/{}/api-keys",
                    w.slug,
                    w.x["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        listed[0]["last_used_at"].is_string()
    })
    .await;
    assert!(used, "{listed}");
}

#[tokio::test]
async fn deleting_an_api_key_kills_what_was_exchanged_from_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (key_id, key) = w.api_key(&app, &w.x).await;
    let (_, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &key),
                ("subject_token_type", API_KEY),
                ("audience", World::aud(&w.x)),
            ],
        )
        .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(w.is_active(&app, &token).await);
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!(
                "/tenants/{}/apps/{}/api-keys/{key_id}",
                w.slug,
                w.x["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(!w.is_active(&app, &token).await);
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &key),
                ("subject_token_type", API_KEY),
                ("audience", World::aud(&w.x)),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn request_errors_follow_rfc_8693() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let subject = w.subject_token(&app, "chat:read").await;
    let x = World::aud(&w.x);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("subject_token", &subject), ("audience", x)],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", "urn:x:unknown"),
                ("audience", x),
            ],
            "invalid_request",
        ),
        (
            vec![("subject_token_type", ACCESS), ("audience", x)],
            "invalid_request",
        ),
        (
            vec![("subject_token", &subject), ("subject_token_type", ACCESS)],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", "garbage"),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("subject_token", "gk_nope"),
                ("subject_token_type", API_KEY),
                ("audience", x),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", "https://elsewhere.example"),
            ],
            "invalid_target",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
                ("scope", "files:read"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
                ("scope", "chat:write"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                ),
            ],
            "invalid_request",
        ),
    ];
    for (form, error) in cases {
        let (status, body) = w.exchange(&app, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{form:?}"
        );
    }
}

#[tokio::test]
async fn an_app_scoped_subject_cannot_move_to_another_app() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, x_token) = w
        .exchange(
            &app,
            &[
                ("subject_token", &w.subject_token(&app, "chat:read").await),
                ("subject_token_type", ACCESS),
                ("audience", World::aud(&w.x)),
            ],
        )
        .await;
    let x_token = x_token["access_token"].as_str().unwrap();
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", x_token),
                ("subject_token_type", ACCESS),
                ("audience", World::aud(&w.y)),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    let (status, _) = w
        .exchange(
            &app,
            &[
                ("subject_token", x_token),
                ("subject_token_type", ACCESS),
                ("audience", World::aud(&w.x)),
            ],
        )
        .await;
    assert_eq!(status, 200, "re-exchanging at the same app is allowed");
}

#[tokio::test]
async fn the_exchange_policy_is_enforced_and_audited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let subject = w.subject_token(&app, "chat:read").await;
    let actor = w.subject_token(&app, "chat:read").await;
    let x = World::aud(&w.x);
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
                ("actor_token", &actor),
                ("actor_token_type", ACCESS),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "may_act defaults to false"
    );
    w.patch_exchanger(&app, json!({"exchange": {"subject_token_types": [API_KEY], "may_act": false, "max_lifetime_seconds": 60}})).await;
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "access tokens are not allowed any more"
    );
    let (_, key) = w.api_key(&app, &w.x).await;
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &key),
                ("subject_token_type", API_KEY),
                ("audience", x),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 60, "max_lifetime_seconds");
    let counts = |events: &[Value]| {
        let count = |outcome: &str| {
            events
                .iter()
                .filter(|e| e["action"] == "token.exchanged" && e["outcome"] == outcome)
                .count()
        };
        (count("refused"), count("granted"))
    };
    let recorded = crate::helpers::eventually(std::time::Duration::from_secs(3), || async {
        let (refused, granted) = counts(&app.audit_events(&w.slug).await);
        refused >= 2 && granted >= 1
    })
    .await;
    let events = app.audit_events(&w.slug).await;
    assert!(recorded, "{events:?}");
    assert!(events.iter().any(|e| e["outcome"] == "refused"
        && e["detail"]
            .as_str()
            .unwrap()
            .contains("unauthorized_client")));
    assert!(
        !serde_json::to_string(&events).unwrap().contains(&key),
        "no API key in the audit log"
    );
}

#[tokio::test]
async fn the_lifetime_never_outlives_the_subject() {
    let app = spawn_app().await;
    let w = world(&app).await;
    w.patch_exchanger(&app, json!({"exchange": {"max_lifetime_seconds": 600}}))
        .await;
    let subject = w.subject_token(&app, "chat:read").await;
    let (_, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", World::aud(&w.x)),
            ],
        )
        .await;
    let subject_claims = verify_with_jwks(&app, &w.slug, &subject, &w.issuer).await;
    let claims = verify_with_jwks(
        &app,
        &w.slug,
        body["access_token"].as_str().unwrap(),
        World::aud(&w.x),
    )
    .await;
    assert!(claims["exp"].as_i64().unwrap() <= subject_claims["exp"].as_i64().unwrap());
}

#[tokio::test]
async fn delegation_carries_act_nested_when_the_actor_is_delegated_too() {
    let app = spawn_app().await;
    let w = world(&app).await;
    w.patch_exchanger(&app, json!({"exchange": {"may_act": true}}))
        .await;
    let x = World::aud(&w.x);
    let subject = w.subject_token(&app, "chat:read").await;
    let actor = w.subject_token(&app, "chat:read").await;
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
                ("actor_token", &actor),
                ("actor_token_type", ACCESS),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let delegated = body["access_token"].as_str().unwrap().to_owned();
    let claims = verify_with_jwks(&app, &w.slug, &delegated, x).await;
    assert_eq!(claims["act"], json!({"sub": w.subject.id}));
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
                ("actor_token", &delegated),
                ("actor_token_type", ACCESS),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_with_jwks(&app, &w.slug, body["access_token"].as_str().unwrap(), x).await;
    assert_eq!(
        claims["act"],
        json!({"sub": w.subject.id, "act": {"sub": w.subject.id}})
    );
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
                ("actor_token", &actor),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "actor_token without its type"
    );
}

#[tokio::test]
async fn credential_profiles_must_exist_and_be_given_to_the_client() {
    let app = spawn_app().await;
    let w = world(&app).await;
    for name in ["client_a_openai", "client_b_openai"] {
        let (status, _) = app
            .post_admin(
                &format!("/tenants/{}/credential-profiles", w.slug),
                json!({"name": name, "provider": "openai", "secret": format!("sk-{name}")}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let x = World::aud(&w.x);
    let subject = w.subject_token(&app, "chat:read").await;
    let with = |profile: &'static str| {
        vec![
            ("subject_token", subject.clone()),
            ("subject_token_type", ACCESS.into()),
            ("audience", x.to_owned()),
            ("credential_profile", profile.into()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| {
        v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let send = |form: Vec<(&'static str, String)>| {
        let w = &w;
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.exchange(app, &pairs).await
        }
    };
    let (status, body) = send(as_refs(&with("client_a_openai"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "no profile given yet"
    );
    w.patch_exchanger(&app, json!({"credential_profiles": ["client_a_openai"]}))
        .await;
    let (status, body) = send(as_refs(&with("client_a_openai"))).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_with_jwks(&app, &w.slug, body["access_token"].as_str().unwrap(), x).await;
    assert_eq!(claims["cred_profile"], "client_a_openai");
    assert!(!body.to_string().contains("sk-client_a_openai"));
    let (status, body) = send(as_refs(&with("client_b_openai"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, body) = send(as_refs(&with("no_such_profile"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, answer) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}/clients/{}", w.slug, w.exchanger.id),
            Some(json!({"credential_profiles": ["no_such_profile"]})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
}

#[tokio::test]
async fn key_context_gives_the_apps_backend_the_profile_secret_and_nobody_else() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.post_admin(
        &format!("/tenants/{}/credential-profiles", w.slug),
        json!({"name": "client_a_openai", "provider": "openai", "secret": "sk-live-abc"}),
    )
    .await;
    w.patch_exchanger(&app, json!({"credential_profiles": ["client_a_openai"]}))
        .await;
    let subject = w.subject_token(&app, "chat:read").await;
    let exchange = |audience: String| {
        let (w, app, subject) = (&w, &app, subject.clone());
        async move {
            let (status, body) = w
                .exchange(
                    app,
                    &[
                        ("subject_token", &subject),
                        ("subject_token_type", ACCESS),
                        ("audience", &audience),
                        ("credential_profile", "client_a_openai"),
                    ],
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let for_x = exchange(World::aud(&w.x).to_owned()).await;
    let for_y = exchange(World::aud(&w.y).to_owned()).await;
    let key_context = |creds: (&str, &str), token: &str| {
        let request = app
            .http
            .post(app.url(&format!("/t/{}/key-context", w.slug)))
            .basic_auth(creds.0, Some(creds.1))
            .form(&[("token", token)]);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = key_context(w.rs.pair(), &for_x).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["app_id"], w.x["id"]);
    assert_eq!(body["sub"], w.subject.id);
    assert_eq!(body["client_id"], w.exchanger.id);
    assert_eq!(
        body["credential_profile"],
        json!({"name": "client_a_openai", "provider": "openai", "secret": "sk-live-abc"})
    );
    let (_, body) = key_context(w.rs.pair(), &for_y).await;
    assert_eq!(
        body,
        json!({"active": false}),
        "not one of the caller's apps"
    );
    let (_, body) = key_context(w.rs.pair(), &subject).await;
    assert_eq!(
        body,
        json!({"active": false}),
        "a tenant-wide token is not app-scoped"
    );
    let (status, body) = key_context((&w.rs.id, "wrong"), &for_x).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, _) = key_context(w.exchanger.pair(), &for_x).await;
    assert_eq!(status, 400, "a caller without grantd:key-context");
    revoke_as(&app, &w.slug, w.exchanger.pair(), &for_x).await;
    let (_, body) = key_context(w.rs.pair(), &for_x).await;
    assert_eq!(body, json!({"active": false}), "revoked");
    let recorded = crate::helpers::eventually(std::time::Duration::from_secs(3), || async {
        app.audit_events(&w.slug)
            .await
            .iter()
            .filter(|e| e["action"] == "key_context.read")
            .count()
            >= 3
    })
    .await;
    assert!(recorded);
    let events = app.audit_events(&w.slug).await;
    assert!(!serde_json::to_string(&events)
        .unwrap()
        .contains("sk-live-abc"));
}

#[tokio::test]
async fn revoking_the_subject_revokes_what_was_exchanged_from_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let x = World::aud(&w.x);
    // By the subject token itself.
    let subject = w.subject_token(&app, "chat:read").await;
    let (_, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
        )
        .await;
    let exchanged = body["access_token"].as_str().unwrap().to_owned();
    let (_, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &exchanged),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
        )
        .await;
    let twice = body["access_token"].as_str().unwrap().to_owned();
    assert!(w.is_active(&app, &exchanged).await && w.is_active(&app, &twice).await);
    assert_eq!(
        revoke_as(&app, &w.slug, w.subject.pair(), &subject).await,
        200
    );
    assert!(!w.is_active(&app, &exchanged).await);
    assert!(!w.is_active(&app, &twice).await, "down the whole chain");
    // By a bulk mark on the subject's client.
    let subject = w.subject_token(&app, "chat:read").await;
    let (_, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
        )
        .await;
    let exchanged = body["access_token"].as_str().unwrap().to_owned();
    app.post_admin(
        &format!("/tenants/{}/revocations", w.slug),
        json!({"client_id": w.subject.id}),
    )
    .await;
    assert!(!w.is_active(&app, &exchanged).await);
}

#[tokio::test]
async fn a_disabled_app_or_client_status_is_checked_at_every_use() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let x = World::aud(&w.x);
    let subject = w.subject_token(&app, "chat:read").await;
    let (_, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
        )
        .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let path = format!("/tenants/{}/apps/{}", w.slug, w.x["id"].as_str().unwrap());
    app.admin(Method::PATCH, &path, Some(json!({"api_enabled": false})))
        .await;
    assert!(!w.is_active(&app, &token).await);
    let (status, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    app.admin(Method::PATCH, &path, Some(json!({"api_enabled": true})))
        .await;
    assert!(w.is_active(&app, &token).await);
}

#[tokio::test]
async fn cascades_hold_across_two_nodes() {
    let (node1, node2) = spawn_two_nodes().await;
    let w = world(&node1).await;
    let x = World::aud(&w.x);
    let subject = w.subject_token(&node1, "chat:read").await;
    let (_, body) = w
        .exchange(
            &node1,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", x),
            ],
        )
        .await;
    let exchanged = body["access_token"].as_str().unwrap().to_owned();
    assert!(w.is_active(&node2, &exchanged).await);
    revoke_as(&node1, &w.slug, w.subject.pair(), &subject).await;
    assert!(
        !w.is_active(&node2, &exchanged).await,
        "on the very next request at node 2"
    );
}

/// No combination of subject, audience, scope and client yields a token beyond policy.
#[tokio::test]
async fn no_combination_exceeds_what_policy_allows() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let z = app.create_app(&w.slug, &["chat:read", "admin"]).await;
    let narrow = client(&app, &w.slug, json!({"name": "narrow", "type": "confidential", "grant_types": [EXCHANGE], "scopes": ["chat:read"], "app_ids": [w.x["id"]]})).await;
    let (_, key_x) = w.api_key(&app, &w.x).await;
    let (_, key_y) = w.api_key(&app, &w.y).await;
    let tenant_token = w
        .subject_token(&app, "chat:read chat:write files:read")
        .await;
    let narrow_subject = w.subject_token(&app, "chat:read").await;
    let (_, x_scoped) = w
        .exchange(
            &app,
            &[
                ("subject_token", &tenant_token),
                ("subject_token_type", ACCESS),
                ("audience", World::aud(&w.x)),
            ],
        )
        .await;
    let x_scoped = x_scoped["access_token"].as_str().unwrap().to_owned();
    let subjects: Vec<(&str, &str, Option<&Value>, Vec<&str>)> = vec![
        (
            tenant_token.as_str(),
            ACCESS,
            None,
            vec!["chat:read", "chat:write", "files:read"],
        ),
        (narrow_subject.as_str(), ACCESS, None, vec!["chat:read"]),
        (
            x_scoped.as_str(),
            ACCESS,
            Some(&w.x),
            vec!["chat:read", "chat:write"],
        ),
        (
            key_x.as_str(),
            API_KEY,
            Some(&w.x),
            vec!["chat:read", "chat:write"],
        ),
        (
            key_y.as_str(),
            API_KEY,
            Some(&w.y),
            vec!["chat:read", "files:read"],
        ),
    ];
    let clients: Vec<(&Creds, Vec<&Value>, Vec<&str>)> = vec![
        (
            &w.exchanger,
            vec![&w.x, &w.y],
            vec!["chat:read", "chat:write", "files:read"],
        ),
        (&narrow, vec![&w.x], vec!["chat:read"]),
    ];
    let targets = [&w.x, &w.y, &z];
    let scopes = [
        None,
        Some("chat:read"),
        Some("chat:write"),
        Some("files:read"),
        Some("admin"),
        Some("chat:read files:read"),
    ];
    let mut granted = 0;
    for (token, kind, bound_app, subject_scopes) in &subjects {
        for (creds, client_apps, client_scopes) in &clients {
            for target in targets {
                for scope in scopes {
                    let mut form = vec![
                        ("grant_type", EXCHANGE),
                        ("subject_token", *token),
                        ("subject_token_type", *kind),
                        ("audience", World::aud(target)),
                    ];
                    if let Some(scope) = scope {
                        form.push(("scope", scope));
                    }
                    let (status, body) = app.post_token(&w.slug, Some(creds.pair()), &form).await;
                    if status != 200 {
                        assert_eq!(status, 400, "{body}");
                        continue;
                    }
                    granted += 1;
                    let claims = verify_with_jwks(
                        &app,
                        &w.slug,
                        body["access_token"].as_str().unwrap(),
                        World::aud(target),
                    )
                    .await;
                    assert!(
                        client_apps.iter().any(|a| a["id"] == claims["app_id"]),
                        "app outside the client's"
                    );
                    assert_eq!(claims["app_id"], target["id"]);
                    if let Some(bound) = bound_app {
                        assert_eq!(
                            claims["app_id"], bound["id"],
                            "an app-bound subject moved apps"
                        );
                    }
                    let app_scopes: Vec<&str> = target["scopes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap())
                        .collect();
                    for s in claims["scope"]
                        .as_str()
                        .unwrap_or("")
                        .split(' ')
                        .filter(|s| !s.is_empty())
                    {
                        assert!(
                            subject_scopes.contains(&s)
                                && app_scopes.contains(&s)
                                && client_scopes.contains(&s),
                            "{s} exceeds policy"
                        );
                    }
                }
            }
        }
    }
    assert!(
        granted >= 10,
        "the table exercised successful exchanges too ({granted})"
    );
}
