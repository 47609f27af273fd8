//! An app's own backend protected by `grantd-resource`: it accepts only grantd access tokens
//! whose audience is this app.
//!
//! ```text
//! cargo run --example resource_server -- \
//!     --issuer http://127.0.0.1:8080/t/acme --audience <app audience> [--bind 127.0.0.1:9000]
//! ```
//!
//! Try it against a running grantd (`GRANTD_ADMIN_TOKEN=admin cargo run`):
//!
//! ```text
//! A='Authorization: Bearer admin'; G=http://127.0.0.1:8080
//! curl -s -H "$A" $G/admin/v1/tenants -d '{"slug":"acme","name":"Acme"}' -H 'content-type: application/json'
//! curl -s -H "$A" $G/admin/v1/tenants/acme/apps -H 'content-type: application/json' \
//!      -d '{"name":"chat","scopes":["chat:read","chat:write"]}'
//! #   → note "id" and "audience"
//! curl -s -H "$A" $G/admin/v1/tenants/acme/clients -H 'content-type: application/json' \
//!      -d '{"name":"bot","type":"confidential","grant_types":["client_credentials"],
//!           "scopes":["chat:read","chat:write"],"app_ids":["<app id>"]}'
//! #   → note "client_id" and "client_secret"
//! cargo run --example resource_server -- --issuer $G/t/acme --audience '<audience>'
//!
//! T=$(curl -s -u '<client_id>:<client_secret>' $G/t/acme/token \
//!      -d grant_type=client_credentials -d scope=chat:read --data-urlencode 'resource=<audience>' | jq -r .access_token)
//! curl -i -H "Authorization: Bearer $T" http://127.0.0.1:9000/v1/whoami          # 200
//! curl -i -X POST -H "Authorization: Bearer $T" http://127.0.0.1:9000/v1/chat-messages  # 403 insufficient_scope
//! curl -i http://127.0.0.1:9000/v1/whoami                                          # 401, no error code
//! ```
//!
//! A token with `scope=chat:write` may post; a tenant-wide token (no `resource`) is refused with
//! `error="invalid_token"`. With `--introspection-client-id` and `RS_CLIENT_SECRET` set (a
//! confidential client listing the app in `app_ids`), every request is also checked with
//! grantd's introspection endpoint, so a revoked token is refused at once rather than at its
//! expiry.
use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Parser;
use grantd_resource::{BearerError, BearerToken, ResourceServer};
use serde_json::json;

#[derive(Parser)]
#[command(about = "An example resource server accepting grantd access tokens")]
struct Args {
    /// The tenant's issuer, `{PUBLIC_URL}/t/{slug}`.
    #[arg(long)]
    issuer: String,
    /// The app's audience, as the admin API returned it.
    #[arg(long)]
    audience: String,
    #[arg(long, default_value = "127.0.0.1:9000")]
    bind: String,
    /// Introspect every token as this confidential client.
    #[arg(long, env = "RS_CLIENT_ID", requires = "introspection_client_secret")]
    introspection_client_id: Option<String>,
    /// Its secret (from the environment, so that it stays out of `ps`).
    #[arg(long, env = "RS_CLIENT_SECRET", hide_env_values = true)]
    introspection_client_secret: Option<String>,
}

/// Any valid token for this app.
async fn whoami(token: BearerToken) -> HttpResponse {
    let claims = &token.claims;
    HttpResponse::Ok().json(json!({
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "app_id": claims.app_id,
    }))
}

/// Needs `chat:write`. The body is taken as plain text.
async fn post_chat_message(token: BearerToken, text: String) -> Result<HttpResponse, BearerError> {
    token.require_scope("chat:write")?;
    Ok(HttpResponse::Created().json(json!({"from": token.claims.sub, "text": text})))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut builder = ResourceServer::builder(&args.issuer, &args.audience);
    if let (Some(id), Some(secret)) = (
        args.introspection_client_id,
        args.introspection_client_secret,
    ) {
        builder = builder.introspection(id, secret);
    }
    let kit = web::Data::new(builder.build()?);
    tracing::info!(bind = %args.bind, issuer = %args.issuer, "resource server listening");
    HttpServer::new(move || {
        App::new()
            .app_data(kit.clone())
            .route("/v1/whoami", web::get().to(whoami))
            .route("/v1/chat-messages", web::post().to(post_chat_message))
    })
    .bind(&args.bind)?
    .run()
    .await?;
    Ok(())
}
