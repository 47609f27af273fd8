use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, StoreKind};

#[tokio::test]
async fn creating_a_tenant_returns_its_issuer() {
    let app = spawn_app().await;
    let body = app.create_tenant("acme").await;
    assert_eq!(body["slug"], "acme");
    assert_eq!(body["issuer"], app.url("/t/acme"));
    assert!(body["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    let (status, fetched) = app.admin(Method::GET, "/tenants/acme", None).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["id"], body["id"]);
}

#[tokio::test]
async fn a_taken_slug_is_409() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let (status, body) = app
        .post_admin("/tenants", json!({"slug": "acme", "name": "Other"}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "conflict");
}

#[tokio::test]
async fn bad_slugs_are_422_naming_the_field() {
    let app = spawn_app().await;
    for slug in [
        "Acme",
        "a b",
        "",
        "x'; DROP TABLE tenant; --",
        &"a".repeat(64),
    ] {
        let (status, body) = app
            .post_admin("/tenants", json!({"slug": slug, "name": "n"}))
            .await;
        assert_eq!(status, 422, "{slug:?}: {body}");
        assert!(
            body["message"].as_str().unwrap().starts_with("slug"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_admin_api_refuses_missing_and_wrong_tokens() {
    let app = spawn_app().await;
    let missing = app
        .http
        .get(app.url("/admin/v1/tenants/acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let wrong = app
        .http
        .post(app.url("/admin/v1/tenants"))
        .bearer_auth("not-the-token")
        .json(&json!({"slug": "acme", "name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    let (status, _) = app.admin(Method::GET, "/tenants/acme", None).await;
    assert_eq!(status, 404, "nothing was created by the refused call");
}

#[tokio::test]
async fn without_an_admin_token_configured_everyone_gets_401() {
    let database = crate::helpers::test_database().await;
    let mut settings = crate::helpers::settings_for(&database, None);
    settings.admin_token = None;
    let app = crate::helpers::spawn_with_settings(&database, settings).await;
    let (status, _) = app
        .post_admin("/tenants", json!({"slug": "acme", "name": "Acme"}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn apps_get_an_audience_and_can_be_disabled() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let created = app.create_app("acme", &["chat:read"]).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["api_enabled"], true);
    assert_eq!(created["audience"], app.url(&format!("/t/acme/apps/{id}")));
    let (status, patched) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/acme/apps/{id}"),
            Some(json!({"api_enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["api_enabled"], false);
}

#[tokio::test]
async fn client_fields_are_validated_with_422_naming_the_field() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    app.create_tenant("other").await;
    let foreign_app = app.create_app("other", &["x"]).await;
    let base = json!({"name": "c", "type": "confidential", "grant_types": ["client_credentials"]});
    let cases = [
        (json!({"grant_types": ["password"]}), "grant_types"),
        (json!({"grant_types": []}), "grant_types"),
        (json!({"scopes": ["has space"]}), "scopes"),
        (json!({"scopes": ["quote\"d"]}), "scopes"),
        (json!({"app_ids": [foreign_app["id"]]}), "app_ids"),
        (json!({"app_ids": ["not-a-uuid"]}), "app_ids"),
        (
            json!({"grant_types": ["authorization_code"], "redirect_uris": ["not a uri"]}),
            "redirect_uris",
        ),
        (
            json!({"grant_types": ["authorization_code"], "redirect_uris": []}),
            "redirect_uris",
        ),
        (json!({"type": "public"}), "grant_types"),
        (json!({"type": "secret"}), "type"),
        (json!({"grant_types": "client_credentials"}), "grant_types"),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = app.post_admin("/tenants/acme/clients", body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert!(
            answer["message"].as_str().unwrap().starts_with(field),
            "{body} -> {answer}"
        );
    }
}

#[tokio::test]
async fn client_secrets_are_shown_once_and_never_again() {
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    assert!(fixture.client_secret.len() >= 43, "256 bits of entropy");
    assert!(fixture
        .client_secret
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    let (status, body) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/clients/{}", fixture.slug, fixture.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.get("client_secret").is_none());
    assert!(!body.to_string().contains(&fixture.client_secret));
    let (status, patched) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}/clients/{}", fixture.slug, fixture.client_id),
            Some(json!({"scopes": ["chat:read"]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["scopes"], json!(["chat:read"]));
    assert!(!patched.to_string().contains(&fixture.client_secret));
}

#[tokio::test]
async fn users_are_created_once_per_username() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let (status, body) = app
        .post_admin(
            "/tenants/acme/users",
            json!({"username": "alice", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["username"], "alice");
    assert!(body.get("password").is_none());
    let (status, _) = app
        .post_admin(
            "/tenants/acme/users",
            json!({"username": "alice", "password": "another password"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, body) = app
        .post_admin(
            "/tenants/acme/users",
            json!({"username": "bob", "password": "short"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["message"].as_str().unwrap().starts_with("password"));
}

#[tokio::test]
async fn api_keys_are_shown_once_listed_without_the_key_and_deletable() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let chat = app.create_app("acme", &["chat:read"]).await;
    let base = format!(
        "/tenants/acme/apps/{}/api-keys",
        chat["id"].as_str().unwrap()
    );
    let (status, created) = app.post_admin(&base, json!({"name": "legacy"})).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("gk_") && key.len() > 40);
    let (status, listed) = app.admin(Method::GET, &base, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "legacy");
    assert!(listed[0].get("last_used_at").is_some());
    assert!(!listed.to_string().contains(key));
    let id = created["id"].as_str().unwrap();
    let (status, _) = app
        .admin(Method::DELETE, &format!("{base}/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .admin(Method::DELETE, &format!("{base}/{id}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn credential_profile_secrets_are_never_returned() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let secret = "sk-live-0123456789abcdef";
    let (status, created) = app
        .post_admin(
            "/tenants/acme/credential-profiles",
            json!({"name": "client_a_openai", "provider": "openai", "secret": secret}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(!created.to_string().contains(secret));
    let (status, listed) = app
        .admin(Method::GET, "/tenants/acme/credential-profiles", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["name"], "client_a_openai");
    assert!(!listed.to_string().contains(secret));
}

#[tokio::test]
async fn admin_changes_are_audit_events_newest_first() {
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    let complete = crate::helpers::eventually(std::time::Duration::from_secs(5), || async {
        app.audit_events(&fixture.slug).await.len() >= 3
    })
    .await;
    let events = app.audit_events(&fixture.slug).await;
    assert!(complete, "{events:?}");
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "admin.client.created",
            "admin.app.created",
            "admin.tenant.created"
        ]
    );
    assert!(events
        .iter()
        .all(|e| e["outcome"] == "granted" && e["actor"] == "admin-api"));
    assert!(!serde_json::to_string(&events)
        .unwrap()
        .contains(&fixture.client_secret));
}

#[tokio::test]
async fn audit_events_page_with_before_and_next_before() {
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    crate::helpers::eventually(std::time::Duration::from_secs(5), || async {
        app.audit_events(&fixture.slug).await.len() >= 3
    })
    .await;
    let (_, first) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/audit-events?limit=2", fixture.slug),
            None,
        )
        .await;
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let next = first["next_before"].as_str().unwrap();
    let (_, second) = app
        .admin(
            Method::GET,
            &format!(
                "/tenants/{}/audit-events?limit=2&before={next}",
                fixture.slug
            ),
            None,
        )
        .await;
    assert_eq!(second["events"][0]["action"], "admin.tenant.created");
    let (status, _) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/audit-events?limit=0", fixture.slug),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_cli_creates_what_the_admin_api_sees() {
    let database = crate::helpers::test_database().await;
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_grantd"))
            .args(args)
            .env("GRANTD_DATABASE_URL", &database.url)
            .env("GRANTD_MASTER_KEY", &database.master_key)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let tenant = run(&["tenant", "create", "--slug", "cli", "--name", "From CLI"]);
    assert_eq!(tenant["slug"], "cli");
    let chat = run(&[
        "app",
        "create",
        "--tenant",
        "cli",
        "--name",
        "chat",
        "--scope",
        "chat:read",
    ]);
    let app_id = chat["id"].as_str().unwrap();
    let client = run(&[
        "client",
        "create",
        "--tenant",
        "cli",
        "--name",
        "svc",
        "--grant-type",
        "client_credentials",
        "--scope",
        "chat:read",
        "--app",
        app_id,
    ]);
    assert!(client["client_secret"].as_str().is_some());
    let app = crate::helpers::spawn_node(&database, StoreKind::Memory).await;
    let (status, fetched) = app.admin(Method::GET, "/tenants/cli", None).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["id"], tenant["id"]);
    let (status, token) = app
        .post_token(
            "cli",
            Some((
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            )),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 200, "{token}");
}

#[tokio::test]
async fn an_empty_or_blank_admin_token_is_refused_at_start() {
    for token in ["", "   "] {
        // Arrange
        let database = crate::helpers::test_database().await;
        let mut settings = crate::helpers::settings_for(&database, None);
        settings.admin_token = Some(secrecy::SecretString::from(token));
        // Act
        let started = grantd::startup::Application::build(settings).await;
        // Assert
        let Err(error) = started else {
            panic!("grantd started with the admin token {token:?}");
        };
        let message = format!("{error:#}");
        assert!(message.contains("GRANTD_ADMIN_TOKEN"), "{message}");
        assert!(
            message.contains("unset"),
            "says how to turn it off: {message}"
        );
    }
}
