use chrono::{DateTime, Utc};
use entity::signing_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JsonValue, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

pub struct NewKey {
    pub tenant_id: Uuid,
    pub kid: String,
    pub private_key_enc: String,
    pub public_jwk: JsonValue,
    pub signs_from: DateTime<Utc>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    key: NewKey,
    now: DateTime<Utc>,
) -> Result<signing_key::Model, DbErr> {
    signing_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(key.tenant_id),
        kid: Set(key.kid),
        alg: Set("ES256".to_owned()),
        private_key_enc: Set(key.private_key_enc),
        public_jwk: Set(key.public_jwk),
        signs_from: Set(key.signs_from),
        superseded_at: Set(None),
        withdrawn_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await
}

/// The tenant's keys, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<Vec<signing_key::Model>, DbErr> {
    signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .order_by_asc(signing_key::Column::SignsFrom)
        .order_by_asc(signing_key::Column::CreatedAt)
        .all(db)
        .await
}
