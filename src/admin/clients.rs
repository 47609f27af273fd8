use crate::audit::{AdminThing, AdminVerb, AuditAction};
use std::collections::BTreeSet;

use chrono::Utc;
use entity::client;
use sea_orm::Set;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    double_option, double_option_object, field, is_unique_violation, record, tenant_or_404,
    validate_rate_limit, validate_scopes, RateLimit,
};
use crate::cache::TenantView;
use crate::client_auth::{AuthMethod, ClientKind};
use crate::crypto::random_token;
use crate::db::{self, json_strings, strings_of};
use crate::domain::{parse_absolute_uri, parse_display_name, AppId, ExchangePolicy};
use crate::error::AdminError;
use crate::protocol::{self, GRANT_AUTHORIZATION_CODE};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub app_ids: Vec<String>,
    /// Default true; only a confidential client may be exempted.
    pub require_pkce: Option<bool>,
    /// RFC 7591 name; absent: the type's defaults.
    pub token_endpoint_auth_method: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchClient {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub client_type: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub app_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option_object")]
    pub rate_limit: Option<Option<RateLimit>>,
    pub credential_profiles: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option_object")]
    pub exchange: Option<Option<ExchangePolicy>>,
    pub require_pkce: Option<bool>,
    /// `null` goes back to the type's defaults.
    #[serde(default, deserialize_with = "double_option")]
    pub token_endpoint_auth_method: Option<Option<String>>,
}

#[derive(Debug, Serialize)]
pub struct ClientOut {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub app_ids: Vec<String>,
    pub credential_profiles: Vec<String>,
    pub exchange: Option<serde_json::Value>,
    pub rate_limit: Option<serde_json::Value>,
    pub require_pkce: bool,
    /// The registered method, or the first of the type's defaults.
    pub token_endpoint_auth_method: String,
}

impl std::fmt::Display for ClientOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "client {}", self.client_id)
    }
}

fn out(model: client::Model, client_secret: Option<String>) -> ClientOut {
    let kind = ClientKind::parse(&model.client_type).unwrap_or(ClientKind::Confidential);
    ClientOut {
        token_endpoint_auth_method: model
            .token_endpoint_auth_method
            .unwrap_or_else(|| kind.default_methods()[0].as_str().to_owned()),
        client_id: model.client_id,
        client_secret,
        name: model.name,
        client_type: model.client_type,
        grant_types: strings_of(&model.grant_types),
        redirect_uris: strings_of(&model.redirect_uris),
        scopes: strings_of(&model.scopes),
        app_ids: strings_of(&model.app_ids),
        credential_profiles: strings_of(&model.credential_profiles),
        exchange: model.exchange,
        rate_limit: model.rate_limit,
        require_pkce: model.require_pkce,
    }
}

/// The fields that must agree with each other, checked together on create and on patch.
struct Shape {
    client_type: String,
    grant_types: Vec<String>,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    app_ids: Vec<String>,
    require_pkce: bool,
    token_endpoint_auth_method: Option<String>,
}

fn check_shape(tenant: &TenantView, shape: Shape) -> Result<Shape, AdminError> {
    let Some(kind) = ClientKind::parse(&shape.client_type) else {
        return Err(AdminError::field(
            "type",
            "must be \"confidential\" or \"public\"",
        ));
    };
    if let Some(name) = shape.token_endpoint_auth_method.as_deref() {
        let allowed = kind.allowed_methods();
        if !AuthMethod::parse(name).is_some_and(|m| allowed.contains(&m)) {
            let names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            return Err(AdminError::field(
                "token_endpoint_auth_method",
                format!("a {} client uses {}", shape.client_type, names.join(" or ")),
            ));
        }
    }
    if shape.grant_types.is_empty() {
        return Err(AdminError::field(
            "grant_types",
            "at least one grant type is required",
        ));
    }
    let grant_types: BTreeSet<String> = shape.grant_types.into_iter().collect();
    if let Some(unknown) = grant_types
        .iter()
        .find(|g| !protocol::GRANT_TYPES.contains(&g.as_str()))
    {
        let _ = unknown;
        return Err(AdminError::field(
            "grant_types",
            format!(
                "unknown grant type; use {}",
                protocol::GRANT_TYPES.join(", ")
            ),
        ));
    }
    if kind == ClientKind::Public
        && grant_types
            .iter()
            .any(|g| g == protocol::GRANT_CLIENT_CREDENTIALS || g == protocol::GRANT_TOKEN_EXCHANGE)
    {
        return Err(AdminError::field("grant_types", "a public client cannot authenticate, so it may not use client_credentials or token exchange"));
    }
    if kind == ClientKind::Public && !shape.require_pkce {
        return Err(AdminError::field(
            "require_pkce",
            "a public client always uses PKCE; only a confidential client may be exempted",
        ));
    }
    if shape.redirect_uris.len() > 32 {
        return Err(AdminError::field(
            "redirect_uris",
            "at most 32 redirect URIs",
        ));
    }
    let redirect_uris = shape
        .redirect_uris
        .iter()
        .map(|uri| field("redirect_uris", parse_absolute_uri(uri)))
        .collect::<Result<Vec<_>, _>>()?;
    if grant_types.contains(GRANT_AUTHORIZATION_CODE) && redirect_uris.is_empty() {
        return Err(AdminError::field(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    let scopes = validate_scopes("scopes", &shape.scopes)?;
    let mut app_ids = Vec::with_capacity(shape.app_ids.len());
    for raw in &shape.app_ids {
        let id: Uuid = raw
            .parse()
            .map_err(|_| AdminError::field("app_ids", "each app id must be a UUID"))?;
        if !tenant.apps.contains_key(&AppId(id)) {
            return Err(AdminError::field(
                "app_ids",
                "names an app that is not in this tenant",
            ));
        }
        app_ids.push(id.to_string());
    }
    app_ids.sort();
    app_ids.dedup();
    Ok(Shape {
        client_type: shape.client_type,
        grant_types: grant_types.into_iter().collect(),
        redirect_uris,
        scopes,
        app_ids,
        require_pkce: shape.require_pkce,
        token_endpoint_auth_method: shape.token_endpoint_auth_method,
    })
}

pub async fn create(
    state: &AppState,
    actor: &str,
    slug: &str,
    input: CreateClient,
) -> Result<ClientOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let name = field("name", parse_display_name(&input.name))?;
    let shape = check_shape(
        &tenant,
        Shape {
            client_type: input.client_type,
            grant_types: input.grant_types,
            redirect_uris: input.redirect_uris,
            scopes: input.scopes,
            app_ids: input.app_ids,
            require_pkce: input.require_pkce.unwrap_or(true),
            token_endpoint_auth_method: input.token_endpoint_auth_method,
        },
    )?;
    let client_id = random_token(16);
    let secret = (shape.client_type == "confidential").then(|| random_token(32));
    let now = Utc::now();
    let model = client::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.model.id),
        client_id: Set(client_id.clone()),
        name: Set(name),
        client_type: Set(shape.client_type),
        secret_hash: Set(secret.as_deref().map(|s| state.crypto.secret_digest(s))),
        grant_types: Set(json_strings(&shape.grant_types)),
        redirect_uris: Set(json_strings(&shape.redirect_uris)),
        scopes: Set(json_strings(&shape.scopes)),
        app_ids: Set(json_strings(&shape.app_ids)),
        credential_profiles: Set(json_strings::<String>(&[])),
        exchange: Set(None),
        rate_limit: Set(None),
        require_pkce: Set(shape.require_pkce),
        token_endpoint_auth_method: Set(shape.token_endpoint_auth_method),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let model = match db::clients::insert(&state.db, model).await {
        Ok(model) => model,
        Err(e) if is_unique_violation(&e) => {
            return Err(AdminError::Conflict("client_id collision; retry".into()))
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    state.cache.forget_client(&client_id);
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::Client, AdminVerb::Created),
        format!("client:{client_id}"),
        format!(
            "type={} grant_types={}",
            model.client_type,
            strings_of(&model.grant_types).join(" ")
        ),
    )
    .await?;
    Ok(out(model, secret))
}

async fn find(
    state: &AppState,
    tenant: &TenantView,
    client_id: &str,
) -> Result<client::Model, AdminError> {
    if !crate::domain::is_client_id_shape(client_id) {
        return Err(AdminError::not_found("client"));
    }
    db::clients::find_by_client_id(&state.db, client_id)
        .await
        .map_err(anyhow::Error::from)?
        .filter(|c| c.tenant_id == tenant.model.id)
        .ok_or_else(|| AdminError::not_found("client"))
}

pub async fn get(state: &AppState, slug: &str, client_id: &str) -> Result<ClientOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    Ok(out(find(state, &tenant, client_id).await?, None))
}

pub async fn patch(
    state: &AppState,
    actor: &str,
    slug: &str,
    client_id: &str,
    input: PatchClient,
) -> Result<ClientOut, AdminError> {
    let tenant = tenant_or_404(state, slug).await?;
    let current = find(state, &tenant, client_id).await?;
    if input
        .client_type
        .as_deref()
        .is_some_and(|t| t != current.client_type)
    {
        return Err(AdminError::field(
            "type",
            "a client's type cannot change; create a new client",
        ));
    }
    let shape = check_shape(
        &tenant,
        Shape {
            client_type: current.client_type.clone(),
            grant_types: input
                .grant_types
                .unwrap_or_else(|| strings_of(&current.grant_types)),
            redirect_uris: input
                .redirect_uris
                .unwrap_or_else(|| strings_of(&current.redirect_uris)),
            scopes: input.scopes.unwrap_or_else(|| strings_of(&current.scopes)),
            app_ids: input
                .app_ids
                .unwrap_or_else(|| strings_of(&current.app_ids)),
            require_pkce: input.require_pkce.unwrap_or(current.require_pkce),
            token_endpoint_auth_method: input
                .token_endpoint_auth_method
                .unwrap_or_else(|| current.token_endpoint_auth_method.clone()),
        },
    )?;
    let mut model: client::ActiveModel = current.into();
    if let Some(name) = input.name {
        model.name = Set(field("name", parse_display_name(&name))?);
    }
    model.grant_types = Set(json_strings(&shape.grant_types));
    model.redirect_uris = Set(json_strings(&shape.redirect_uris));
    model.scopes = Set(json_strings(&shape.scopes));
    model.app_ids = Set(json_strings(&shape.app_ids));
    model.require_pkce = Set(shape.require_pkce);
    model.token_endpoint_auth_method = Set(shape.token_endpoint_auth_method);
    if let Some(rate_limit) = input.rate_limit {
        model.rate_limit = Set(validate_rate_limit(rate_limit)?);
    }
    if let Some(profiles) = input.credential_profiles {
        model.credential_profiles = Set(json_strings(
            &check_profiles(state, &tenant, profiles).await?,
        ));
    }
    if let Some(exchange) = input.exchange {
        model.exchange = Set(exchange.map(check_exchange).transpose()?);
    }
    model.updated_at = Set(Utc::now());
    let model = db::clients::update(&state.db, model)
        .await
        .map_err(anyhow::Error::from)?;
    state.cache.forget_client(client_id);
    record(
        state,
        tenant.model.id,
        actor,
        AuditAction::Admin(AdminThing::Client, AdminVerb::Updated),
        format!("client:{client_id}"),
        String::new(),
    )
    .await?;
    Ok(out(model, None))
}

async fn check_profiles(
    state: &AppState,
    tenant: &TenantView,
    mut names: Vec<String>,
) -> Result<Vec<String>, AdminError> {
    let known: BTreeSet<String> = db::credential_profiles::list(&state.db, tenant.model.id)
        .await
        .map_err(anyhow::Error::from)?
        .into_iter()
        .map(|p| p.name)
        .collect();
    if names.iter().any(|n| !known.contains(n)) {
        return Err(AdminError::field(
            "credential_profiles",
            "names a profile that does not exist in this tenant",
        ));
    }
    names.sort();
    names.dedup();
    Ok(names)
}

fn check_exchange(policy: ExchangePolicy) -> Result<serde_json::Value, AdminError> {
    let known = [
        protocol::TOKEN_TYPE_ACCESS_TOKEN,
        protocol::TOKEN_TYPE_API_KEY,
    ];
    if policy
        .subject_token_types
        .iter()
        .any(|t| !known.contains(&t.as_str()))
    {
        return Err(AdminError::field(
            "exchange.subject_token_types",
            format!("use {}", known.join(" or ")),
        ));
    }
    if !(1..=protocol::ACCESS_TOKEN_TTL).contains(&policy.max_lifetime_seconds) {
        return Err(AdminError::field(
            "exchange.max_lifetime_seconds",
            format!("must be 1 to {}", protocol::ACCESS_TOKEN_TTL),
        ));
    }
    Ok(serde_json::to_value(policy).map_err(anyhow::Error::from)?)
}
