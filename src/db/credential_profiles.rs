use chrono::{DateTime, Utc};
use entity::credential_profile;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

pub async fn insert(
    db: &impl ConnectionTrait,
    id: Uuid,
    tenant_id: Uuid,
    name: &str,
    provider: &str,
    secret_enc: String,
    now: DateTime<Utc>,
) -> Result<credential_profile::Model, DbErr> {
    credential_profile::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        name: Set(name.to_owned()),
        provider: Set(provider.to_owned()),
        secret_enc: Set(secret_enc),
        created_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<Vec<credential_profile::Model>, DbErr> {
    credential_profile::Entity::find()
        .filter(credential_profile::Column::TenantId.eq(tenant_id))
        .order_by_asc(credential_profile::Column::Name)
        .all(db)
        .await
}

pub async fn find_by_name(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    name: &str,
) -> Result<Option<credential_profile::Model>, DbErr> {
    credential_profile::Entity::find()
        .filter(credential_profile::Column::TenantId.eq(tenant_id))
        .filter(credential_profile::Column::Name.eq(name))
        .one(db)
        .await
}
