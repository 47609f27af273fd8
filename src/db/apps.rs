use chrono::{DateTime, Utc};
use entity::app;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

use super::json_strings;

pub async fn insert(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    name: &str,
    scopes: &[String],
    now: DateTime<Utc>,
) -> Result<app::Model, DbErr> {
    app::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        name: Set(name.to_owned()),
        scopes: Set(json_strings(scopes)),
        api_enabled: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn list(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Vec<app::Model>, DbErr> {
    app::Entity::find()
        .filter(app::Column::TenantId.eq(tenant_id))
        .order_by_asc(app::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<app::Model>, DbErr> {
    app::Entity::find_by_id(id)
        .filter(app::Column::TenantId.eq(tenant_id))
        .one(db)
        .await
}

pub async fn set_enabled(
    db: &impl ConnectionTrait,
    model: app::Model,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<app::Model, DbErr> {
    let mut active: app::ActiveModel = model.into();
    active.api_enabled = Set(enabled);
    active.updated_at = Set(now);
    active.update(db).await
}
