//! The command line: `serve` (the default), `migrate`, and admin operations without the HTTP
//! server, for bootstrap and scripts. Each prints the same JSON the admin API answers.
use std::io::Read;

use clap::{Parser, Subcommand};

use crate::admin::{api_keys, apps, clients, revocations, tenants, users};
use crate::config::Settings;
use crate::state::AppState;

/// Who the audit log names for CLI changes.
const ACTOR: &str = "cli";

#[derive(Debug, Parser)]
#[command(
    name = "grantd",
    version,
    about = "OAuth 2.0 authorization server and token-exchange service"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Apps (audiences) of a tenant.
    #[command(subcommand)]
    App(AppCommand),
    /// OAuth clients of a tenant.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Users of a tenant.
    #[command(subcommand)]
    User(UserCommand),
    /// API keys of an app.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Revoke every token of a tenant issued until now, or those of a client, subject or app.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        client: Option<String>,
        #[arg(long)]
        subject: Option<String>,
        #[arg(long)]
        app: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// Repeat for several scopes.
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// `confidential` or `public`.
        #[arg(long = "type", default_value = "confidential")]
        client_type: String,
        #[arg(long = "grant-type", required = true)]
        grant_types: Vec<String>,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long = "app")]
        app_ids: Vec<String>,
        /// Exempts a legacy confidential client from PKCE (every client needs it by default).
        #[arg(long = "no-pkce")]
        no_pkce: bool,
        /// Holds the client to one method (RFC 7591 name: client_secret_basic,
        /// client_secret_post; none for a public client). Default: the type's defaults.
        #[arg(long = "token-endpoint-auth-method")]
        token_endpoint_auth_method: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Reads the password from standard input, so that it stays out of shell history.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        app: String,
        #[arg(long)]
        name: String,
    },
}

/// Runs an admin command and returns its JSON output.
pub async fn run_admin(settings: &Settings, command: Command) -> anyhow::Result<serde_json::Value> {
    let state = AppState::connect(settings).await?;
    let output = execute(&state, command).await;
    state.audit.close().await;
    output
}

async fn execute(state: &AppState, command: Command) -> anyhow::Result<serde_json::Value> {
    let fail = |e: crate::error::AdminError| anyhow::anyhow!("{e}");
    let value = match command {
        Command::Tenant(TenantCommand::Create { slug, name }) => serde_json::to_value(
            tenants::create(state, ACTOR, tenants::CreateTenant { slug, name })
                .await
                .map_err(fail)?,
        )?,
        Command::App(AppCommand::Create {
            tenant,
            name,
            scopes,
        }) => serde_json::to_value(
            apps::create(state, ACTOR, &tenant, apps::CreateApp { name, scopes })
                .await
                .map_err(fail)?,
        )?,
        Command::Client(ClientCommand::Create {
            tenant,
            name,
            client_type,
            grant_types,
            redirect_uris,
            scopes,
            app_ids,
            no_pkce,
            token_endpoint_auth_method,
        }) => {
            let input = clients::CreateClient {
                name,
                client_type,
                grant_types,
                redirect_uris,
                scopes,
                app_ids,
                require_pkce: Some(!no_pkce),
                token_endpoint_auth_method,
            };
            serde_json::to_value(
                clients::create(state, ACTOR, &tenant, input)
                    .await
                    .map_err(fail)?,
            )?
        }
        Command::User(UserCommand::Create { tenant, username }) => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            serde_json::to_value(
                users::create(
                    state,
                    ACTOR,
                    &tenant,
                    users::CreateUser { username, password },
                )
                .await
                .map_err(fail)?,
            )?
        }
        Command::ApiKey(ApiKeyCommand::Create { tenant, app, name }) => serde_json::to_value(
            api_keys::create(state, ACTOR, &tenant, &app, api_keys::CreateApiKey { name })
                .await
                .map_err(fail)?,
        )?,
        Command::Revoke { .. } if !state.shared_store => {
            anyhow::bail!("grantd revoke needs GRANTD_REDIS_URL: this command's in-process store would forget the mark when it exits")
        }
        Command::Revoke {
            tenant,
            client,
            subject,
            app,
            reason,
        } => {
            let input = revocations::BulkRevocation {
                client_id: client,
                subject,
                app_id: app,
                reason,
            };
            serde_json::to_value(
                revocations::revoke(state, ACTOR, &tenant, input)
                    .await
                    .map_err(fail)?,
            )?
        }
        Command::Serve | Command::Migrate => anyhow::bail!("not an admin command"),
    };
    Ok(value)
}
