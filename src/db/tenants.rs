use chrono::{DateTime, Utc};
use entity::tenant;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JsonValue, QueryFilter, Set,
};
use uuid::Uuid;

pub async fn insert(
    db: &impl ConnectionTrait,
    slug: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<tenant::Model, DbErr> {
    tenant::ActiveModel {
        id: Set(Uuid::new_v4()),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        rate_limit: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn find_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await
}

pub async fn update(
    db: &impl ConnectionTrait,
    model: tenant::Model,
    name: Option<String>,
    rate_limit: Option<Option<JsonValue>>,
    now: DateTime<Utc>,
) -> Result<tenant::Model, DbErr> {
    let mut active: tenant::ActiveModel = model.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(rate_limit) = rate_limit {
        active.rate_limit = Set(rate_limit);
    }
    active.updated_at = Set(now);
    active.update(db).await
}
