//! An LLM-app API in the style of Dify's `POST /v1/chat-messages`, protected by grantd instead of
//! a permanent app key. It accepts only app-scoped tokens for its own app (`grantd-resource`),
//! asks grantd's key-context endpoint which provider credential profile the caller's runs must
//! use, and answers with the app, the caller and the profile's name — never the secret, which it
//! would hand to the model provider.
//!
//! ```text
//! GRANTD_ISSUER=http://127.0.0.1:8080/t/acme APP_AUDIENCE=<app audience> \
//! KEY_CONTEXT_CLIENT_ID=<backend client id> KEY_CONTEXT_CLIENT_SECRET=<its secret> \
//!   cargo run --example chat_api            # listens on 127.0.0.1:9100 (CHAT_API_BIND)
//! ```
//!
//! The backend client is a confidential client of the tenant with scope `grantd:key-context`
//! and the app in its `app_ids`. The README walks through the whole migration: permanent key →
//! exchange → short-lived token → API call → revocation → 401.
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use grantd_resource::wire::KeyContext as KeyContextAnswer;
use grantd_resource::{BearerError, BearerToken, ResourceServer};
use serde_json::{json, Value};

/// What the API needs to know to call grantd's key-context endpoint.
#[derive(Clone)]
pub struct KeyContext {
    pub endpoint: String,
    pub client_id: String,
    pub client_secret: String,
    pub http: reqwest::Client,
}

/// Mounts the API; `kit` verifies tokens, `key_context` resolves them.
pub fn configure(cfg: &mut web::ServiceConfig, kit: ResourceServer, key_context: KeyContext) {
    cfg.app_data(web::Data::new(kit))
        .app_data(web::Data::new(key_context))
        .route("/v1/chat-messages", web::post().to(chat_messages));
}

async fn chat_messages(
    request: HttpRequest,
    token: BearerToken,
    key_context: web::Data<KeyContext>,
    body: web::Json<Value>,
) -> Result<HttpResponse, BearerError> {
    token.require_scope("chat:write")?;
    let raw = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_owned())
        .unwrap_or_default();
    // The key context also tells whether the token is still active: a revoked token stops here.
    let context = match resolve(&key_context, &raw).await {
        Ok(KeyContextAnswer {
            context: Some(context),
            ..
        }) => context,
        Ok(_) => return Ok(unauthorized("the token is no longer active")),
        Err(_) => {
            return Ok(HttpResponse::ServiceUnavailable()
                .json(json!({"error": "temporarily_unavailable"})))
        }
    };
    // A real app would now call its model provider with the profile's secret.
    let profile = context.credential_profile.map(|p| p.name);
    Ok(HttpResponse::Ok().json(json!({
        "answer": format!("echo: {}", body.get("query").and_then(Value::as_str).unwrap_or("")),
        "app_id": context.app_id,
        "caller": {"sub": context.sub, "client_id": context.client_id},
        "credential_profile": profile,
    })))
}

async fn resolve(key_context: &KeyContext, token: &str) -> reqwest::Result<KeyContextAnswer> {
    key_context
        .http
        .post(&key_context.endpoint)
        .basic_auth(&key_context.client_id, Some(&key_context.client_secret))
        .form(&[("token", token)])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

fn unauthorized(description: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            "www-authenticate",
            format!(r#"Bearer error="invalid_token", error_description="{description}""#),
        ))
        .json(json!({"error": "invalid_token", "error_description": description}))
}

#[allow(dead_code)]
#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).map_err(|_| anyhow::anyhow!("{name} must be set"));
    let issuer = env("GRANTD_ISSUER")?;
    let kit = ResourceServer::builder(&issuer, env("APP_AUDIENCE")?).build()?;
    let key_context = KeyContext {
        endpoint: format!("{issuer}/key-context"),
        client_id: env("KEY_CONTEXT_CLIENT_ID")?,
        client_secret: env("KEY_CONTEXT_CLIENT_SECRET")?,
        http: reqwest::Client::new(),
    };
    let bind = std::env::var("CHAT_API_BIND").unwrap_or_else(|_| "127.0.0.1:9100".into());
    println!("chat API listening on http://{bind}");
    HttpServer::new(move || {
        App::new().configure(|cfg| configure(cfg, kit.clone(), key_context.clone()))
    })
    .bind(bind)?
    .run()
    .await?;
    Ok(())
}
