use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(unique)]
    pub kid: String,
    pub alg: String,
    /// PKCS#8 private key sealed with AES-256-GCM under the master key, base64.
    pub private_key_enc: String,
    /// The public JWK (JSON object).
    pub public_jwk: Json,
    pub signs_from: DateTimeUtc,
    /// Set when a newer key takes over; the key stays published until its last token expires.
    pub superseded_at: Option<DateTimeUtc>,
    /// Set when the key is withdrawn as compromised: its tokens are inactive at once.
    pub withdrawn_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The sealing context of `private_key_enc`: 1 = `signing_key:{kid}` (legacy, re-sealed at
    /// start), 2 = `signing_key:{tenant_id}:{kid}`.
    pub seal_version: i16,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
