use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "client")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The public OAuth `client_id`.
    #[sea_orm(unique)]
    pub client_id: String,
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// HMAC-SHA-256 of the secret under the server pepper; null for public clients.
    pub secret_hash: Option<String>,
    pub grant_types: Json,
    pub redirect_uris: Json,
    pub scopes: Json,
    pub app_ids: Json,
    pub credential_profiles: Json,
    /// Token-exchange policy, null = the contract's defaults.
    pub exchange: Option<Json>,
    pub rate_limit: Option<Json>,
    /// Whether authorization requests must carry a PKCE challenge; only confidential clients
    /// may be exempted.
    pub require_pkce: bool,
    /// RFC 7591 name; null = the defaults of `client_type` (both secret methods, or `none`).
    pub token_endpoint_auth_method: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
